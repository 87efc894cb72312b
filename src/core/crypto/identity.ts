import {P2PError} from '../errors.js'
import {toHex} from '../bytes.js'

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
export type Subtle = SubtleCrypto

export interface Ed25519Options {
  /**
   * The WebCrypto that signs and verifies: the platform's by default. With
   * `null`, or one without Ed25519 (Safari before 17), tweetnacl does,
   * fetched on first use.
   */
  subtle?: Subtle | null
}

/**
 * A fresh identity: a WebCrypto Ed25519 key pair whose private key cannot be
 * read out of the platform (not even by the page), or, where WebCrypto lacks
 * Ed25519 (Safari before 17; `subtle: null`), a seed identity whose module
 * loads only then. Async because WebCrypto makes and exports keys
 * asynchronously (and a key kept in IndexedDB is read the same way).
 */
export async function createIdentity({subtle = globalThis.crypto?.subtle ?? null}: Ed25519Options = {}): Promise<Identity> {
  if (subtle && await hasEd25519(subtle)) {
    const {privateKey, publicKey} = await subtle.generateKey({name: 'Ed25519'}, false, ['sign', 'verify']) as CryptoKeyPair
    return new WebCryptoIdentity(new Uint8Array(await subtle.exportKey('raw', publicKey)), privateKey, subtle)
  }
  const {KeyPairIdentity} = await import('./seed-identity.js')
  return new KeyPairIdentity(undefined, {subtle})
}

/** An identity whose private key is a WebCrypto key (non-extractable when made by createIdentity). */
export class WebCryptoIdentity implements Identity {
  readonly publicKey: Uint8Array
  readonly #privateKey: CryptoKey
  readonly #subtle: Subtle

  constructor(publicKey: Uint8Array, privateKey: CryptoKey, subtle: Subtle) {
    if (!(publicKey instanceof Uint8Array) || publicKey.length !== PUBLIC_KEY_BYTES) {
      throw P2PError.INVALID_ARGUMENT(`a public key is ${PUBLIC_KEY_BYTES} bytes`)
    }
    this.publicKey = publicKey
    this.#privateKey = privateKey
    this.#subtle = subtle
  }

  async sign(message: Uint8Array): Promise<Uint8Array> {
    return new Uint8Array(await this.#subtle.sign({name: 'Ed25519'}, this.#privateKey, message as Uint8Array<ArrayBuffer>))
  }
}

let tweetnacl: Promise<typeof import('tweetnacl')> | undefined

/**
 * tweetnacl is 32 KB minified, needed only where WebCrypto lacks Ed25519: a
 * dynamic import keeps it out of the bundle a page loads (bundlers put it in
 * a chunk of its own, fetched here once).
 */
export function loadTweetnacl(): Promise<typeof import('tweetnacl')> {
  tweetnacl ??= import('tweetnacl').then(m => m.default)
  return tweetnacl
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

/** Whether this WebCrypto has Ed25519 (asked once per WebCrypto). */
export function hasEd25519(subtle: Subtle): Promise<boolean> {
  return native(subtle).ed25519
}

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
