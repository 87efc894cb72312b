/**
 * One error class for the whole kit. Every failure has a stable `code`, and the
 * message starts with it, so logs and tests can match on either.
 *
 * Misuse throws at once; remote or asynchronous failures travel through an
 * `error` event (core objects) or a `p2p-error` DOM event (elements).
 */

/** Each code without its `ERR_` prefix: the name of its factory, `P2PError.NAME(msg)`. */
const NAMES = [
  // misuse of the API
  'INVALID_ARGUMENT', 'DESTROYED',
  // hub (server side answers, client side failures)
  'HUB_UNREACHABLE', 'HUB_REJECTED', 'BODY_TOO_LARGE', 'MALFORMED_JSON', 'RATE_LIMITED', 'TOO_MANY_CHANNELS',
  'TOO_MANY_SUBSCRIBERS', 'BAD_CHANNEL', 'NOT_FOUND', 'METHOD_NOT_ALLOWED', 'ORIGIN_NOT_ALLOWED',
  // peers and protocols
  'MALFORMED_MESSAGE', 'MESSAGE_TOO_LARGE', 'UNKNOWN_PROTOCOL', 'DECRYPT', 'HANDSHAKE', 'INVALID_SIGNATURE',
  'ADMISSION_REFUSED', 'PEER_TIMEOUT', 'CONNECTION_FAILED', 'CONNECTION_CLOSED', 'SELF_CONNECTION',
  'PEER_MISBEHAVING', 'CONNECTION_BUDGET', 'WEBRTC_UNSUPPORTED',
  // files
  'HASH_MISMATCH', 'ABORTED',
  // storage
  'STORAGE_FULL',
  // signed logs
  'NOT_A_WRITER', 'AUTHOR_FROZEN',
  // views
  'VIEW_FAILED',
] as const

export type P2PErrorCode = `ERR_${typeof NAMES[number]}`

type Factory = (msg: string) => P2PError
/** A factory for a failure that has one underneath, kept as `cause`. */
type FactoryWithCause = (msg: string, cause?: unknown) => P2PError

export class P2PError extends Error {
  readonly code: P2PErrorCode

  constructor(code: P2PErrorCode, message: string, options?: {cause?: unknown}) {
    super(`${code}: ${message}`, options)
    this.code = code
    this.name = 'P2PError'
  }

  // The factories are made from NAMES below the class: one line each here would
  // ship thirty near-identical functions to every page.
  declare static INVALID_ARGUMENT: Factory
  static DESTROYED(msg = 'object was destroyed') { return new P2PError('ERR_DESTROYED', msg) }
  declare static HUB_UNREACHABLE: FactoryWithCause
  declare static HUB_REJECTED: Factory
  declare static BODY_TOO_LARGE: Factory
  declare static MALFORMED_JSON: Factory
  declare static RATE_LIMITED: Factory
  declare static TOO_MANY_CHANNELS: Factory
  declare static TOO_MANY_SUBSCRIBERS: Factory
  declare static BAD_CHANNEL: Factory
  declare static NOT_FOUND: Factory
  declare static METHOD_NOT_ALLOWED: Factory
  declare static ORIGIN_NOT_ALLOWED: Factory
  declare static MALFORMED_MESSAGE: Factory
  declare static MESSAGE_TOO_LARGE: Factory
  declare static UNKNOWN_PROTOCOL: Factory
  declare static DECRYPT: Factory
  declare static HANDSHAKE: Factory
  declare static INVALID_SIGNATURE: Factory
  declare static ADMISSION_REFUSED: Factory
  declare static PEER_TIMEOUT: Factory
  declare static CONNECTION_FAILED: FactoryWithCause
  declare static CONNECTION_CLOSED: Factory
  declare static SELF_CONNECTION: Factory
  declare static PEER_MISBEHAVING: FactoryWithCause
  declare static CONNECTION_BUDGET: FactoryWithCause
  declare static WEBRTC_UNSUPPORTED: FactoryWithCause
  declare static HASH_MISMATCH: Factory
  declare static ABORTED: Factory
  declare static STORAGE_FULL: FactoryWithCause
  /** A log entry whose author was not admitted in the entry's causal past. */
  declare static NOT_A_WRITER: Factory
  /** A log entry from an author caught forking: nothing new from it is taken. */
  declare static AUTHOR_FROZEN: Factory
  /** A view's map threw or returned what is not rows: the view stops, with the failure as cause. */
  declare static VIEW_FAILED: FactoryWithCause
}

// Every name gets its factory, but DESTROYED keeps its own (it has a default
// message). The declarations above say which factories take a cause.
const factories = P2PError as unknown as Record<(typeof NAMES)[number], FactoryWithCause>
for (const name of NAMES) {
  factories[name] ??= (msg, cause) => new P2PError(`ERR_${name}`, msg, cause === undefined ? undefined : {cause})
}

/** Wraps anything thrown into a P2PError, keeping the original as `cause`. */
export function toP2PError(err: unknown, code: P2PErrorCode = 'ERR_CONNECTION_FAILED'): P2PError {
  if (err instanceof P2PError) return err
  const message = err instanceof Error ? err.message : String(err)
  return new P2PError(code, message, {cause: err})
}
