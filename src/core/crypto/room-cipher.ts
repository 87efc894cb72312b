import {P2PError} from '../errors.js'
import {fromBase64, fromUtf8, randomBytes, toBase64, utf8} from '../bytes.js'
import {ExpiringMap} from '../expiring-map.js'
import {checkNumber} from '../check.js'

/**
 * Encrypts the signalling messages of a room that has a secret, so the hub and
 * anyone without the secret sees neither who is in the room nor their SDP.
 *
 * AES-256-GCM with a key stretched from the secret by PBKDF2; the salt names the
 * room, so one secret used in two rooms yields two keys. The channel a message is
 * posted to is sealed inside it: the receiver checks it, so a captured message
 * replayed onto another peer's channel is refused. So is the sender's clock: a
 * message opens only within `window` of it, and only once (its IV is
 * remembered for as long as it could still open), so a captured offer cannot be
 * replayed later, nor again now.
 */
export interface Envelope {
  p2p: 'enc1'
  iv: string
  ct: string
}

const PBKDF2_ITERATIONS = 210_000
const IV_BYTES = 12
/** Clocks of a room's pages differ by seconds, the hub delays by less: two minutes either way. */
const DEFAULT_WINDOW = 2 * 60_000
/** IVs remembered at once: far above what a room sends in a window; a flood past it forgets the oldest. */
const MAX_SEEN = 20_000

export interface RoomCipherOptions {
  /** Milliseconds either side of the receiver's clock a message may have been sealed at. */
  window?: number
  /**
   * Milliseconds since the epoch: wall time, since pages compare their clocks
   * (unlike a `Clock`'s monotonic `now`). `Date.now` by default; injectable for tests.
   */
  epochNow?: () => number
}

/** What `open` found: a fresh message, or a genuine one refused as replayed or outside the window. */
export type Opened =
  | {fresh: true, channel: string, message: unknown}
  | {fresh: false, reason: 'replay' | 'expired'}

export class RoomCipher {
  readonly #key: Promise<CryptoKey>
  readonly #window: number
  readonly #epochNow: () => number
  /** IVs of messages opened lately. */
  readonly #seen: ExpiringMap<string, true>

  constructor(secret: string, room: string, {window = DEFAULT_WINDOW, epochNow = Date.now}: RoomCipherOptions = {}) {
    if (!secret) throw P2PError.INVALID_ARGUMENT('a room secret cannot be empty')
    checkNumber('window', window, 1)
    this.#window = window
    this.#epochNow = epochNow
    // A message opens until `window` past its time, which is at most `window` ahead of ours: 2 × window.
    // On the same wall clock as that check, so a clock set forward forgets no IV that could still open.
    this.#seen = new ExpiringMap<string, true>({ttl: 2 * window, max: MAX_SEEN, now: epochNow})
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
      await this.#key, utf8(JSON.stringify({c: channel, t: this.#epochNow(), m: message})) as Uint8Array<ArrayBuffer>,
    )
    return {p2p: 'enc1', iv: toBase64(iv), ct: toBase64(new Uint8Array(ct))}
  }

  /**
   * Throws P2PError DECRYPT for anything that is not a message sealed with this
   * room's key; a genuine one comes back `fresh: false` when it was opened
   * before or sealed outside the window.
   */
  async open(envelope: unknown): Promise<Opened> {
    const e = envelope as Partial<Envelope> | null
    if (!e || typeof e !== 'object' || e.p2p !== 'enc1' || typeof e.iv !== 'string' || typeof e.ct !== 'string') {
      throw P2PError.DECRYPT('not a sealed room message')
    }
    let inner: {c?: unknown, t?: unknown, m?: unknown}
    let iv: Uint8Array
    try {
      iv = fromBase64(e.iv)
      if (iv.length !== IV_BYTES) throw new Error('bad iv')
      const plain = await globalThis.crypto.subtle.decrypt(
        {name: 'AES-GCM', iv: iv as Uint8Array<ArrayBuffer>},
        await this.#key, fromBase64(e.ct) as Uint8Array<ArrayBuffer>,
      )
      inner = JSON.parse(fromUtf8(new Uint8Array(plain))) as typeof inner
      if (typeof inner?.c !== 'string') throw new Error('no channel inside')
      if (typeof inner.t !== 'number' || !Number.isFinite(inner.t)) throw new Error('no time inside')
    } catch (err) {
      throw P2PError.DECRYPT(`cannot open a room message: ${(err as Error).message}`)
    }
    if (Math.abs(this.#epochNow() - inner.t) > this.#window) return {fresh: false, reason: 'expired'}
    // Keyed by the IV as sent: GCM authenticated it, and a fresh one is drawn per message.
    if (!this.#seen.add(toBase64(iv), true)) return {fresh: false, reason: 'replay'}
    return {fresh: true, channel: inner.c, message: inner.m}
  }
}
