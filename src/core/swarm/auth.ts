import {P2PError} from '../errors.js'
import {equal, randomBytes} from '../bytes.js'
import {verify, type Identity} from '../crypto/identity.js'
import {decodeAuth, encodeHello, encodeProof, NONCE_BYTES, proofTranscript} from './messages.js'

export interface AuthOptions {
  identity: Identity
  /** Sends one handshake message to the remote. */
  send: (bytes: Uint8Array) => void
  /** DTLS fingerprints of this connection, as this side sees them (may be empty if unknown). */
  localFingerprint: string
  remoteFingerprint: string
}

/**
 * The identity proof both ends of a fresh connection run before any protocol
 * starts: HELLO (public key + fresh nonce) each way, then PROOF (a signature
 * over both nonces, both keys and both DTLS fingerprints) each way.
 *
 * `result` resolves with the remote's verified public key, or rejects with
 * HANDSHAKE / INVALID_SIGNATURE / SELF_CONNECTION / MALFORMED_MESSAGE. Any
 * message out of order rejects: a handshake has no second chance.
 */
export class Authenticator {
  readonly result: Promise<Uint8Array>
  readonly #opts: AuthOptions
  readonly #nonce = randomBytes(NONCE_BYTES)
  #remoteKey: Uint8Array | null = null
  #remoteNonce: Uint8Array | null = null
  #done = false
  // Messages are handled one at a time: signing a HELLO's answer is async, and
  // the remote's PROOF may arrive meanwhile.
  #queue: Promise<void> = Promise.resolve()
  #resolve!: (key: Uint8Array) => void
  #reject!: (err: P2PError) => void

  constructor(opts: AuthOptions) {
    this.#opts = opts
    this.result = new Promise((resolve, reject) => {
      this.#resolve = resolve
      this.#reject = reject
    })
    // The rejection is always observed by the caller; this keeps an early
    // failure (before the caller awaits) from counting as unhandled.
    this.result.catch(() => {})
  }

  start(): void {
    this.#opts.send(encodeHello(this.#opts.identity.publicKey, this.#nonce))
  }

  /** Feeds one message from the remote. Never throws: failures reject `result`. */
  receive(bytes: Uint8Array): Promise<void> {
    this.#queue = this.#queue.then(() => this.#handle(bytes))
    return this.#queue
  }

  async #handle(bytes: Uint8Array): Promise<void> {
    if (this.#done) return
    try {
      const msg = decodeAuth(bytes)
      if (msg.type === 'hello') {
        if (this.#remoteKey) throw P2PError.HANDSHAKE('second hello')
        if (equal(msg.publicKey, this.#opts.identity.publicKey)) throw P2PError.SELF_CONNECTION('the remote holds our own key')
        this.#remoteKey = msg.publicKey
        this.#remoteNonce = msg.nonce
        const signature = await this.#opts.identity.sign(proofTranscript({
          proverKey: this.#opts.identity.publicKey, verifierKey: msg.publicKey,
          proverNonce: this.#nonce, verifierNonce: msg.nonce,
          proverFingerprint: this.#opts.localFingerprint, verifierFingerprint: this.#opts.remoteFingerprint,
        }))
        if (this.#done) return
        this.#opts.send(encodeProof(signature))
        return
      }
      if (!this.#remoteKey || !this.#remoteNonce) throw P2PError.HANDSHAKE('proof before hello')
      const ok = await verify(proofTranscript({
        proverKey: this.#remoteKey, verifierKey: this.#opts.identity.publicKey,
        proverNonce: this.#remoteNonce, verifierNonce: this.#nonce,
        proverFingerprint: this.#opts.remoteFingerprint, verifierFingerprint: this.#opts.localFingerprint,
      }), msg.signature, this.#remoteKey)
      if (!ok) throw P2PError.INVALID_SIGNATURE('the remote could not prove it holds its key')
      this.#done = true
      this.#resolve(this.#remoteKey)
    } catch (err) {
      this.fail(err instanceof P2PError ? err : P2PError.HANDSHAKE(String(err)))
    }
  }

  fail(err: P2PError): void {
    if (this.#done) return
    this.#done = true
    this.#reject(err)
  }
}
