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

  #webKey: Promise<CryptoKey | null> | undefined

  async sign(message: Uint8Array): Promise<Uint8Array> {
    // Native Ed25519 signs an order of magnitude faster than tweetnacl; the key
    // is imported once (non-extractable) and reused.
    this.#webKey ??= importSigningKey(this.#seed)
    const key = await this.#webKey
    if (key) {
      const signature = await globalThis.crypto.subtle.sign({name: 'Ed25519'}, key, message as Uint8Array<ArrayBuffer>)
      return new Uint8Array(signature)
    }
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

/** PKCS #8 wrapping of a raw Ed25519 seed (RFC 8410): a fixed 16-byte prefix. */
const PKCS8_ED25519_PREFIX = Uint8Array.of(0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20)

async function importSigningKey(seed: Uint8Array): Promise<CryptoKey | null> {
  const subtle = globalThis.crypto?.subtle
  if (!(await hasWebCryptoEd25519(subtle))) return null
  const pkcs8 = new Uint8Array(PKCS8_ED25519_PREFIX.length + seed.length)
  pkcs8.set(PKCS8_ED25519_PREFIX)
  pkcs8.set(seed, PKCS8_ED25519_PREFIX.length)
  try {
    return await subtle.importKey('pkcs8', pkcs8, {name: 'Ed25519'}, false, ['sign'])
  } catch {
    return null
  }
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
      const key = await verifyingKey(subtle, publicKey)
      return await subtle.verify({name: 'Ed25519'}, key, signature as Uint8Array<ArrayBuffer>, message as Uint8Array<ArrayBuffer>)
    } catch {
      // Some engines reject small-order keys at import; tweetnacl decides those.
    }
  }
  return nacl.sign.detached.verify(message, signature, publicKey)
}

// Imported public keys by hex: a room has few authors and each signs many
// messages, so importing once per author, not per message, matters.
const verifyingKeys = new Map<string, Promise<CryptoKey>>()
const MAX_VERIFYING_KEYS = 1024

function verifyingKey(subtle: Subtle, publicKey: Uint8Array): Promise<CryptoKey> {
  const hex = toHex(publicKey)
  let key = verifyingKeys.get(hex)
  if (key) {
    // Most recently used last, so the oldest goes first when the cache is full.
    verifyingKeys.delete(hex)
  } else {
    key = subtle.importKey('raw', publicKey as Uint8Array<ArrayBuffer>, {name: 'Ed25519'}, false, ['verify'])
    key.catch(() => verifyingKeys.delete(hex))
    if (verifyingKeys.size >= MAX_VERIFYING_KEYS) verifyingKeys.delete(verifyingKeys.keys().next().value!)
  }
  verifyingKeys.set(hex, key)
  return key
}

export async function sha256(data: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await globalThis.crypto.subtle.digest('SHA-256', data as Uint8Array<ArrayBuffer>))
}
