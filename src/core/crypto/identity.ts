import {P2PError} from '../errors.js'
import {fromHex, randomBytes, toHex} from '../bytes.js'
import {ed25519PublicKey} from './ed25519-key.js'

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

type Subtle = SubtleCrypto

export interface Ed25519Options {
  /**
   * The WebCrypto that signs and verifies: the platform's by default. With
   * `null`, or one without Ed25519 (Safari before 17), tweetnacl does,
   * fetched on first use.
   */
  subtle?: Subtle | null
}

/** An identity held in memory, from a 32-byte seed (random when omitted). */
export class KeyPairIdentity implements Identity {
  readonly publicKey: Uint8Array
  readonly #seed: Uint8Array
  readonly #subtle: Subtle | null

  constructor(seed: Uint8Array = randomBytes(SEED_BYTES), {subtle = globalThis.crypto?.subtle ?? null}: Ed25519Options = {}) {
    if (!(seed instanceof Uint8Array) || seed.length !== SEED_BYTES) {
      throw P2PError.INVALID_ARGUMENT(`an identity seed is ${SEED_BYTES} bytes`)
    }
    this.#seed = seed.slice()
    this.#subtle = subtle
    this.publicKey = ed25519PublicKey(this.#seed)
  }

  #webKey: Promise<CryptoKey | null> | undefined

  async sign(message: Uint8Array): Promise<Uint8Array> {
    // Native Ed25519 signs an order of magnitude faster than tweetnacl; the key
    // is imported once (non-extractable) and reused.
    this.#webKey ??= importSigningKey(this.#subtle, this.#seed)
    const key = await this.#webKey
    if (key) {
      const signature = await this.#subtle!.sign({name: 'Ed25519'}, key, message as Uint8Array<ArrayBuffer>)
      return new Uint8Array(signature)
    }
    const nacl = await loadTweetnacl()
    const secretKey = new Uint8Array(SEED_BYTES + PUBLIC_KEY_BYTES)
    secretKey.set(this.#seed)
    secretKey.set(this.publicKey, SEED_BYTES)
    return nacl.sign.detached(message, secretKey)
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

let tweetnacl: Promise<typeof import('tweetnacl')> | undefined

/**
 * tweetnacl is 32 KB minified, needed only where WebCrypto lacks Ed25519: a
 * dynamic import keeps it out of the bundle a page loads (bundlers put it in
 * a chunk of its own, fetched here once).
 */
function loadTweetnacl(): Promise<typeof import('tweetnacl')> {
  tweetnacl ??= import('tweetnacl').then(m => m.default)
  return tweetnacl
}

/** PKCS #8 wrapping of a raw Ed25519 seed (RFC 8410): a fixed 16-byte prefix. */
const PKCS8_ED25519_PREFIX = Uint8Array.of(0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20)

async function importSigningKey(subtle: Subtle | null, seed: Uint8Array): Promise<CryptoKey | null> {
  if (!subtle || !(await native(subtle).ed25519)) return null
  const pkcs8 = new Uint8Array(PKCS8_ED25519_PREFIX.length + seed.length)
  pkcs8.set(PKCS8_ED25519_PREFIX)
  pkcs8.set(seed, PKCS8_ED25519_PREFIX.length)
  try {
    return await subtle.importKey('pkcs8', pkcs8, {name: 'Ed25519'}, false, ['sign'])
  } catch {
    return null
  }
}

/** What one WebCrypto offers: whether it has Ed25519, and the public keys imported into it. */
interface Native {
  ed25519: Promise<boolean>
  /**
   * Imported public keys by hex: a room has few authors and each signs many
   * messages, so importing once per author, not per message, matters.
   */
  keys: Map<string, Promise<CryptoKey>>
}

const natives = new WeakMap<Subtle, Native>()
const MAX_VERIFYING_KEYS = 1024

/** Native Ed25519 verification is several times faster than tweetnacl's; detect it once. */
function native(subtle: Subtle): Native {
  let found = natives.get(subtle)
  if (!found) {
    found = {
      ed25519: subtle
        .importKey('raw', new Uint8Array(PUBLIC_KEY_BYTES).fill(1), {name: 'Ed25519'}, false, ['verify'])
        .then(() => true, () => false),
      keys: new Map(),
    }
    natives.set(subtle, found)
  }
  return found
}

/**
 * Verifies an ed25519 signature. Never throws for bad input: a malformed key or
 * signature is simply not valid.
 */
export async function verify(
  message: Uint8Array, signature: Uint8Array, publicKey: Uint8Array,
  {subtle = globalThis.crypto?.subtle ?? null}: Ed25519Options = {},
): Promise<boolean> {
  if (signature.length !== SIGNATURE_BYTES || publicKey.length !== PUBLIC_KEY_BYTES) return false
  if (subtle && await native(subtle).ed25519) {
    try {
      const key = await verifyingKey(subtle, publicKey)
      return await subtle.verify({name: 'Ed25519'}, key, signature as Uint8Array<ArrayBuffer>, message as Uint8Array<ArrayBuffer>)
    } catch {
      // Some engines reject small-order keys at import; tweetnacl decides those.
    }
  }
  return (await loadTweetnacl()).sign.detached.verify(message, signature, publicKey)
}

function verifyingKey(subtle: Subtle, publicKey: Uint8Array): Promise<CryptoKey> {
  const {keys} = native(subtle)
  const hex = toHex(publicKey)
  let key = keys.get(hex)
  if (key) {
    // Most recently used last, so the oldest goes first when the cache is full.
    keys.delete(hex)
  } else {
    key = subtle.importKey('raw', publicKey as Uint8Array<ArrayBuffer>, {name: 'Ed25519'}, false, ['verify'])
    key.catch(() => keys.delete(hex))
    if (keys.size >= MAX_VERIFYING_KEYS) keys.delete(keys.keys().next().value!)
  }
  keys.set(hex, key)
  return key
}

export async function sha256(data: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await globalThis.crypto.subtle.digest('SHA-256', data as Uint8Array<ArrayBuffer>))
}
