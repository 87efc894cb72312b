import {P2PError} from '../errors.js'
import {fromBase64, fromHex, randomBytes, toBase64, toHex} from '../bytes.js'
import {ed25519PublicKey} from './ed25519-key.js'
import {PUBLIC_KEY_BYTES, hasEd25519, loadTweetnacl, type Ed25519Options, type Identity, type Subtle} from './identity.js'

export const SEED_BYTES = 32

/**
 * An identity held in memory, from a 32-byte seed (random when omitted), for an
 * app that persists its key as a seed, and where WebCrypto lacks Ed25519
 * (createIdentity loads this module only then). The public key is derived
 * at once, in JavaScript, so the constructor stays synchronous; a page that
 * makes its identity with createIdentity never loads that code.
 */
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

/**
 * An Ed25519 private key as a JSON Web Key (RFC 8037): what WebCrypto's
 * `exportKey('jwk', privateKey)` gives, less its `ext` and `key_ops`.
 */
export interface Ed25519PrivateJwk {
  kty: 'OKP'
  crv: 'Ed25519'
  /** The public key, base64url. */
  x: string
  /** The 32-byte seed, base64url. */
  d: string
}

/**
 * An identity's private key, to back it up or move it to another browser (treat
 * it as a password: whoever holds it writes as this key). Only an identity made
 * from a seed has one to give: the page identity, importIdentity's and
 * KeyPairIdentity's; a key made by createIdentity cannot be read out, by design.
 */
export function exportIdentity(identity: Identity, format: 'seed'): Uint8Array
export function exportIdentity(identity: Identity, format: 'jwk'): Ed25519PrivateJwk
export function exportIdentity(identity: Identity, format: 'jwk' | 'seed'): Ed25519PrivateJwk | Uint8Array {
  if (!(identity instanceof KeyPairIdentity)) {
    throw P2PError.INVALID_ARGUMENT('only an identity made from a seed can be exported (createIdentity\'s key cannot be read out)')
  }
  const seed = fromHex(identity.exportSeed())
  if (format === 'seed') return seed
  if (format === 'jwk') return {kty: 'OKP', crv: 'Ed25519', x: toBase64Url(identity.publicKey), d: toBase64Url(seed)}
  throw P2PError.INVALID_ARGUMENT(`an identity exports as 'jwk' or 'seed', not ${String(format)}`)
}

/**
 * The identity of a 32-byte seed or of an Ed25519 private JWK (WebCrypto's export
 * of an extractable key works as is). A JWK whose public key is not its seed's is
 * refused: it is damaged, or not what its holder thinks it is.
 */
export function importIdentity(key: Uint8Array | Ed25519PrivateJwk, options?: Ed25519Options): KeyPairIdentity {
  if (key instanceof Uint8Array) return new KeyPairIdentity(key, options)
  const jwk = key as Partial<Ed25519PrivateJwk> | null
  if (jwk?.kty !== 'OKP' || jwk.crv !== 'Ed25519' || typeof jwk.d !== 'string') {
    throw P2PError.INVALID_ARGUMENT('an identity imports from a 32-byte seed or an Ed25519 private JWK (kty OKP, crv Ed25519, d)')
  }
  const identity = new KeyPairIdentity(fromBase64Url(jwk.d), options)
  if (jwk.x !== undefined && jwk.x !== toBase64Url(identity.publicKey)) {
    throw P2PError.INVALID_ARGUMENT('the JWK\'s public key (x) is not the one of its seed (d)')
  }
  return identity
}

function toBase64Url(bytes: Uint8Array): string {
  return toBase64(bytes).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')
}

/** Strict: only the canonical unpadded base64url of some bytes (RFC 7515's encoding in JWKs). */
function fromBase64Url(text: string): Uint8Array {
  const bytes = /^[\w-]*$/.test(text) && text.length % 4 !== 1
    ? fromBase64(text.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat(-text.length & 3))
    : undefined
  if (!bytes || toBase64Url(bytes) !== text) throw P2PError.INVALID_ARGUMENT('a JWK\'s d is base64url without padding')
  return bytes
}

/** PKCS #8 wrapping of a raw Ed25519 seed (RFC 8410): a fixed 16-byte prefix. */
const PKCS8_ED25519_PREFIX = Uint8Array.of(0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20)

async function importSigningKey(subtle: Subtle | null, seed: Uint8Array): Promise<CryptoKey | null> {
  if (!subtle || !(await hasEd25519(subtle))) return null
  const pkcs8 = new Uint8Array(PKCS8_ED25519_PREFIX.length + seed.length)
  pkcs8.set(PKCS8_ED25519_PREFIX)
  pkcs8.set(seed, PKCS8_ED25519_PREFIX.length)
  try {
    return await subtle.importKey('pkcs8', pkcs8, {name: 'Ed25519'}, false, ['sign'])
  } catch {
    return null
  }
}
