import nacl from 'tweetnacl'
import {P2PError} from '../errors.js'
import {fromHex, randomBytes, toHex} from '../bytes.js'

/**
 * A peer's long-lived identity: an ed25519 key pair. The public key is the
 * peer's name everywhere above the hub (hub ids are random and carry no authority).
 *
 * `sign` is async so an identity can live in a hardware-backed or
 * non-extractable WebCrypto key without changing any caller.
 */
export interface Identity {
  readonly publicKey: Uint8Array
  sign(message: Uint8Array): Promise<Uint8Array>
}

export const PUBLIC_KEY_BYTES = 32
export const SIGNATURE_BYTES = 64
const SEED_BYTES = 32

/** An identity held in memory, from a 32-byte seed (random when omitted). */
export class KeyPairIdentity implements Identity {
  readonly publicKey: Uint8Array
  readonly #secretKey: Uint8Array
  readonly #seed: Uint8Array

  constructor(seed: Uint8Array = randomBytes(SEED_BYTES)) {
    if (!(seed instanceof Uint8Array) || seed.length !== SEED_BYTES) {
      throw P2PError.INVALID_ARGUMENT(`an identity seed is ${SEED_BYTES} bytes`)
    }
    const pair = nacl.sign.keyPair.fromSeed(seed)
    this.#seed = seed.slice()
    this.#secretKey = pair.secretKey
    this.publicKey = pair.publicKey
  }

  async sign(message: Uint8Array): Promise<Uint8Array> {
    return nacl.sign.detached(message, this.#secretKey)
  }

  /** The seed as hex, for an app that persists its identity (treat it as a password). */
  exportSeed(): string {
    return toHex(this.#seed)
  }

  static fromSeedHex(hex: string): KeyPairIdentity {
    return new KeyPairIdentity(fromHex(hex))
  }
}

export function generateIdentity(): KeyPairIdentity {
  return new KeyPairIdentity()
}

type Subtle = SubtleCrypto
let webCryptoEd25519: Promise<boolean> | undefined

/** Native Ed25519 verification is several times faster than tweetnacl's; detect it once. */
function hasWebCryptoEd25519(subtle: Subtle | undefined): Promise<boolean> {
  if (!subtle) return Promise.resolve(false)
  webCryptoEd25519 ??= subtle
    .importKey('raw', new Uint8Array(PUBLIC_KEY_BYTES).fill(1), {name: 'Ed25519'}, false, ['verify'])
    .then(() => true, () => false)
  return webCryptoEd25519
}

/**
 * Verifies an ed25519 signature. Never throws for bad input: a malformed key or
 * signature is simply not valid.
 */
export async function verify(message: Uint8Array, signature: Uint8Array, publicKey: Uint8Array): Promise<boolean> {
  if (signature.length !== SIGNATURE_BYTES || publicKey.length !== PUBLIC_KEY_BYTES) return false
  const subtle = globalThis.crypto?.subtle
  if (await hasWebCryptoEd25519(subtle)) {
    try {
      const key = await subtle.importKey('raw', publicKey as Uint8Array<ArrayBuffer>, {name: 'Ed25519'}, false, ['verify'])
      return await subtle.verify({name: 'Ed25519'}, key, signature as Uint8Array<ArrayBuffer>, message as Uint8Array<ArrayBuffer>)
    } catch {
      // Some engines reject small-order keys at import; tweetnacl decides those.
    }
  }
  return nacl.sign.detached.verify(message, signature, publicKey)
}

export async function sha256(data: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await globalThis.crypto.subtle.digest('SHA-256', data as Uint8Array<ArrayBuffer>))
}
