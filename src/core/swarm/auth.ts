import {P2PError} from '../errors.js'
import {equal, randomBytes} from '../bytes.js'
import {verify, type Identity} from '../crypto/identity.js'
import {decodeAuth, encodeHello, encodeProof, NONCE_BYTES, proofTranscript, type AuthSide} from './messages.js'

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
  /** This end as a transcript names it: our key, our fresh nonce, our fingerprint. */
  readonly #local: AuthSide
  /** The remote end, once its hello came. */
  #remote: AuthSide | null = null
  #done = false
  // Messages are handled one at a time: signing a HELLO's answer is async, and
  // the remote's PROOF may arrive meanwhile.
  #queue: Promise<void> = Promise.resolve()
  #resolve!: (key: Uint8Array) => void
  #reject!: (err: P2PError) => void

  constructor(opts: AuthOptions) {
    this.#opts = opts
    this.#local = {key: opts.identity.publicKey, nonce: randomBytes(NONCE_BYTES), fingerprint: opts.localFingerprint}
    this.result = new Promise((resolve, reject) => {
      this.#resolve = resolve
      this.#reject = reject
    })
    // The rejection is always observed by the caller; this keeps an early
    // failure (before the caller awaits) from counting as unhandled.
    this.result.catch(() => {})
  }

  start(): void {
    this.#opts.send(encodeHello(this.#local.key, this.#local.nonce))
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
        if (this.#remote) throw P2PError.HANDSHAKE('second hello')
        if (equal(msg.publicKey, this.#local.key)) throw P2PError.SELF_CONNECTION('the remote holds our own key')
        this.#remote = {key: msg.publicKey, nonce: msg.nonce, fingerprint: this.#opts.remoteFingerprint}
        const signature = await this.#opts.identity.sign(proofTranscript(this.#local, this.#remote))
        if (this.#done) return
        this.#opts.send(encodeProof(signature))
        return
      }
      const remote = this.#remote
      if (!remote) throw P2PError.HANDSHAKE('proof before hello')
      const ok = await verify(proofTranscript(remote, this.#local), msg.signature, remote.key)
      if (!ok) throw P2PError.INVALID_SIGNATURE('the remote could not prove it holds its key')
      this.#done = true
      this.#resolve(remote.key)
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
