import {P2PError} from '../errors.js'
import {fromBase64, fromUtf8, randomBytes, toBase64, utf8} from '../bytes.js'

/**
 * Encrypts the signalling messages of a room that has a secret, so the hub and
 * anyone without the secret sees neither who is in the room nor their SDP.
 *
 * AES-256-GCM with a key stretched from the secret by PBKDF2; the salt names the
 * room, so one secret used in two rooms yields two keys. The channel a message is
 * posted to is sealed inside it: the receiver checks it, so a captured message
 * replayed onto another peer's channel is refused.
 */
export interface Envelope {
  p2p: 'enc1'
  iv: string
  ct: string
}

const PBKDF2_ITERATIONS = 210_000
const IV_BYTES = 12

export class RoomCipher {
  readonly #key: Promise<CryptoKey>

  constructor(secret: string, room: string) {
    if (!secret) throw P2PError.INVALID_ARGUMENT('a room secret cannot be empty')
    const subtle = globalThis.crypto.subtle
    this.#key = subtle
      .importKey('raw', utf8(secret) as Uint8Array<ArrayBuffer>, 'PBKDF2', false, ['deriveKey'])
      .then(base => subtle.deriveKey(
        {name: 'PBKDF2', hash: 'SHA-256', iterations: PBKDF2_ITERATIONS, salt: utf8(`p2p-elements/room/${room}`) as Uint8Array<ArrayBuffer>},
        base, {name: 'AES-GCM', length: 256}, false, ['encrypt', 'decrypt'],
      ))
  }

  async seal(channel: string, message: unknown): Promise<Envelope> {
    const iv = randomBytes(IV_BYTES)
    const ct = await globalThis.crypto.subtle.encrypt(
      {name: 'AES-GCM', iv: iv as Uint8Array<ArrayBuffer>},
      await this.#key, utf8(JSON.stringify({c: channel, m: message})) as Uint8Array<ArrayBuffer>,
    )
    return {p2p: 'enc1', iv: toBase64(iv), ct: toBase64(new Uint8Array(ct))}
  }

  /** Throws P2PError DECRYPT for anything that is not a message sealed with this room's key. */
  async open(envelope: unknown): Promise<{channel: string, message: unknown}> {
    const e = envelope as Partial<Envelope> | null
    if (!e || typeof e !== 'object' || e.p2p !== 'enc1' || typeof e.iv !== 'string' || typeof e.ct !== 'string') {
      throw P2PError.DECRYPT('not a sealed room message')
    }
    try {
      const iv = fromBase64(e.iv)
      if (iv.length !== IV_BYTES) throw new Error('bad iv')
      const plain = await globalThis.crypto.subtle.decrypt(
        {name: 'AES-GCM', iv: iv as Uint8Array<ArrayBuffer>},
        await this.#key, fromBase64(e.ct) as Uint8Array<ArrayBuffer>,
      )
      const inner = JSON.parse(fromUtf8(new Uint8Array(plain))) as {c?: unknown, m?: unknown}
      if (typeof inner?.c !== 'string') throw new Error('no channel inside')
      return {channel: inner.c, message: inner.m}
    } catch (err) {
      throw P2PError.DECRYPT(`cannot open a room message: ${(err as Error).message}`)
    }
  }
}
