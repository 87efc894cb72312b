/**
 * One error class for the whole kit. Every failure has a stable `code`, and the
 * message starts with it, so logs and tests can match on either.
 *
 * Misuse throws at once; remote or asynchronous failures travel through an
 * `error` event (core objects) or a `p2p-error` DOM event (elements).
 */
export type P2PErrorCode =
  // misuse of the API
  | 'ERR_INVALID_ARGUMENT'
  | 'ERR_DESTROYED'
  // hub (server side answers, client side failures)
  | 'ERR_HUB_UNREACHABLE'
  | 'ERR_HUB_REJECTED'
  | 'ERR_BODY_TOO_LARGE'
  | 'ERR_MALFORMED_JSON'
  | 'ERR_RATE_LIMITED'
  | 'ERR_TOO_MANY_CHANNELS'
  | 'ERR_TOO_MANY_SUBSCRIBERS'
  | 'ERR_BAD_CHANNEL'
  | 'ERR_NOT_FOUND'
  | 'ERR_METHOD_NOT_ALLOWED'
  | 'ERR_ORIGIN_NOT_ALLOWED'
  // peers and protocols
  | 'ERR_MALFORMED_MESSAGE'
  | 'ERR_MESSAGE_TOO_LARGE'
  | 'ERR_UNKNOWN_PROTOCOL'
  | 'ERR_DECRYPT'
  | 'ERR_HANDSHAKE'
  | 'ERR_INVALID_SIGNATURE'
  | 'ERR_ADMISSION_REFUSED'
  | 'ERR_PEER_TIMEOUT'
  | 'ERR_CONNECTION_FAILED'
  | 'ERR_CONNECTION_CLOSED'
  | 'ERR_SELF_CONNECTION'
  | 'ERR_PEER_MISBEHAVING'
  | 'ERR_CONNECTION_BUDGET'
  | 'ERR_WEBRTC_UNSUPPORTED'
  // files
  | 'ERR_HASH_MISMATCH'
  | 'ERR_ABORTED'
  // storage
  | 'ERR_STORAGE_FULL'

export class P2PError extends Error {
  readonly code: P2PErrorCode

  constructor(code: P2PErrorCode, message: string, options?: {cause?: unknown}) {
    super(`${code}: ${message}`, options)
    this.code = code
    this.name = 'P2PError'
  }

  static INVALID_ARGUMENT(msg: string) { return new P2PError('ERR_INVALID_ARGUMENT', msg) }
  static DESTROYED(msg = 'object was destroyed') { return new P2PError('ERR_DESTROYED', msg) }
  static HUB_UNREACHABLE(msg: string, cause?: unknown) { return new P2PError('ERR_HUB_UNREACHABLE', msg, {cause}) }
  static HUB_REJECTED(msg: string) { return new P2PError('ERR_HUB_REJECTED', msg) }
  static BODY_TOO_LARGE(msg: string) { return new P2PError('ERR_BODY_TOO_LARGE', msg) }
  static MALFORMED_JSON(msg: string) { return new P2PError('ERR_MALFORMED_JSON', msg) }
  static RATE_LIMITED(msg: string) { return new P2PError('ERR_RATE_LIMITED', msg) }
  static TOO_MANY_CHANNELS(msg: string) { return new P2PError('ERR_TOO_MANY_CHANNELS', msg) }
  static TOO_MANY_SUBSCRIBERS(msg: string) { return new P2PError('ERR_TOO_MANY_SUBSCRIBERS', msg) }
  static BAD_CHANNEL(msg: string) { return new P2PError('ERR_BAD_CHANNEL', msg) }
  static NOT_FOUND(msg: string) { return new P2PError('ERR_NOT_FOUND', msg) }
  static METHOD_NOT_ALLOWED(msg: string) { return new P2PError('ERR_METHOD_NOT_ALLOWED', msg) }
  static ORIGIN_NOT_ALLOWED(msg: string) { return new P2PError('ERR_ORIGIN_NOT_ALLOWED', msg) }
  static MALFORMED_MESSAGE(msg: string) { return new P2PError('ERR_MALFORMED_MESSAGE', msg) }
  static MESSAGE_TOO_LARGE(msg: string) { return new P2PError('ERR_MESSAGE_TOO_LARGE', msg) }
  static UNKNOWN_PROTOCOL(msg: string) { return new P2PError('ERR_UNKNOWN_PROTOCOL', msg) }
  static DECRYPT(msg: string) { return new P2PError('ERR_DECRYPT', msg) }
  static HANDSHAKE(msg: string) { return new P2PError('ERR_HANDSHAKE', msg) }
  static INVALID_SIGNATURE(msg: string) { return new P2PError('ERR_INVALID_SIGNATURE', msg) }
  static ADMISSION_REFUSED(msg: string) { return new P2PError('ERR_ADMISSION_REFUSED', msg) }
  static PEER_TIMEOUT(msg: string) { return new P2PError('ERR_PEER_TIMEOUT', msg) }
  static CONNECTION_FAILED(msg: string, cause?: unknown) { return new P2PError('ERR_CONNECTION_FAILED', msg, {cause}) }
  static CONNECTION_CLOSED(msg: string) { return new P2PError('ERR_CONNECTION_CLOSED', msg) }
  static SELF_CONNECTION(msg: string) { return new P2PError('ERR_SELF_CONNECTION', msg) }
  static PEER_MISBEHAVING(msg: string) { return new P2PError('ERR_PEER_MISBEHAVING', msg) }
  static CONNECTION_BUDGET(msg: string, cause?: unknown) { return new P2PError('ERR_CONNECTION_BUDGET', msg, {cause}) }
  static WEBRTC_UNSUPPORTED(msg: string, cause?: unknown) { return new P2PError('ERR_WEBRTC_UNSUPPORTED', msg, {cause}) }
  static HASH_MISMATCH(msg: string) { return new P2PError('ERR_HASH_MISMATCH', msg) }
  static ABORTED(msg: string) { return new P2PError('ERR_ABORTED', msg) }
  static STORAGE_FULL(msg: string, cause?: unknown) { return new P2PError('ERR_STORAGE_FULL', msg, {cause}) }
}

/** Wraps anything thrown into a P2PError, keeping the original as `cause`. */
export function toP2PError(err: unknown, code: P2PErrorCode = 'ERR_CONNECTION_FAILED'): P2PError {
  if (err instanceof P2PError) return err
  const message = err instanceof Error ? err.message : String(err)
  return new P2PError(code, message, {cause: err})
}
