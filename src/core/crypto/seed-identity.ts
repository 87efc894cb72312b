import {P2PError} from '../errors.js'
import {fromHex, randomBytes, toHex} from '../bytes.js'
import {ed25519PublicKey} from './ed25519-key.js'
import {PUBLIC_KEY_BYTES, hasEd25519, loadTweetnacl, type Ed25519Options, type Identity, type Subtle} from './identity.js'

const SEED_BYTES = 32

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
