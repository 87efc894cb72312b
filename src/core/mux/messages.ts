/**
 * Every wire encoding of the multiplexer, as encode/decode pairs (the format is
 * written down in docs/mux.md). Decoding is the one place where remote bytes are
 * judged: `decodeFrame` throws P2PError MALFORMED_MESSAGE on anything that is not
 * exactly a valid frame, and the mux turns that into dropping the peer.
 *
 * A frame is one transport message: a header byte (type in the low nibble, flags
 * in the high nibble), then a body that depends on the type.
 */
import {P2PError} from '../errors.js'
import {concat, fromUtf8, utf8} from '../bytes.js'

/** The mux protocol and version; a data channel carrying it should be labelled so. */
export const MUX_PROTOCOL = 'p2p-mux/1'

export const FrameType = {
  DATA: 0,
  OPEN: 1,
  CLOSE: 2,
  PING: 3,
  PONG: 4,
  GOODBYE: 5,
} as const
export type FrameType = typeof FrameType[keyof typeof FrameType]

/** DATA: this frame ends a message. */
export const FLAG_FIN = 0x80
/** CLOSE: sent because the remote closed its side first (an answer, not a decision). */
export const FLAG_REPLY = 0x40

const TYPE_MASK = 0x0f
const FLAGS_MASK = 0xf0

/** Channel names and goodbye reasons are length-prefixed by one byte. */
export const MAX_NAME_BYTES = 255
export const MAX_REASON_BYTES = 255
/** Channel ids are unsigned 32-bit varints; 0 means the connection itself. */
export const MAX_CHANNEL_ID = 0xffffffff
/** Header byte plus the longest varint. */
export const MAX_DATA_HEADER = 1 + 5
/** The longest control frame (OPEN with a 255-byte name). */
export const MAX_CONTROL_FRAME = 1 + 5 + 1 + MAX_NAME_BYTES

/**
 * A decoded frame. The mux decodes every frame into one reused object, so the
 * receive path allocates nothing but the payload view; fields a type does not
 * use keep stale values and must not be read.
 */
export interface Frame {
  type: FrameType
  /** DATA: last frame of its message. */
  fin: boolean
  /** CLOSE: the remote closed in answer to our close. */
  reply: boolean
  /** DATA, OPEN, CLOSE: the sender's channel id (≥ 1). */
  id: number
  /** DATA: a view into the received frame, not a copy. */
  payload: Uint8Array
  /** OPEN: the channel name. */
  name: string
  /** PING, PONG: the nonce to echo. */
  nonce: number
  /** GOODBYE: why the remote leaves. */
  reason: string
}

const EMPTY = new Uint8Array(0)

export function createFrame(): Frame {
  return {type: FrameType.DATA, fin: false, reply: false, id: 0, payload: EMPTY, name: '', nonce: 0, reason: ''}
}

// ---- varints ------------------------------------------------------------------

/** Bytes an unsigned LEB128 varint of `n` takes. */
export function varintLength(n: number): number {
  return n < 0x80 ? 1 : n < 0x4000 ? 2 : n < 0x200000 ? 3 : n < 0x10000000 ? 4 : 5
}

/** Writes `n` (0 … 2^32-1) as an unsigned LEB128 varint at `offset`; returns the end offset. */
export function encodeVarint(n: number, buf: Uint8Array, offset: number): number {
  while (n >= 0x80) {
    buf[offset++] = (n & 0x7f) | 0x80
    n >>>= 7
  }
  buf[offset++] = n
  return offset
}

/**
 * Reads a channel id varint at `pos` into `out.id`; returns the end offset.
 * Strict: at most 5 bytes, at most 32 bits, minimal encoding only, so one id
 * has exactly one encoding on the wire.
 */
function readId(bytes: Uint8Array, pos: number, out: Frame): number {
  let value = 0
  let shift = 0
  for (let i = 0; i < 5; i++) {
    if (pos >= bytes.length) throw P2PError.MALFORMED_MESSAGE('truncated varint')
    const b = bytes[pos++]
    value += (b & 0x7f) * 2 ** shift
    if (b < 0x80) {
      if (b === 0 && i > 0) throw P2PError.MALFORMED_MESSAGE('non-minimal varint')
      if (value > MAX_CHANNEL_ID) throw P2PError.MALFORMED_MESSAGE('varint exceeds 32 bits')
      out.id = value
      return pos
    }
    shift += 7
  }
  throw P2PError.MALFORMED_MESSAGE('varint longer than 5 bytes')
}

// ---- encoders -------------------------------------------------------------------

function checkId(id: number): void {
  if (!Number.isInteger(id) || id < 1 || id > MAX_CHANNEL_ID) throw P2PError.INVALID_ARGUMENT(`bad channel id ${id}`)
}

/**
 * Writes a DATA header for channel `id` at the start of `buf` and returns its
 * length; the payload goes right after. The mux's hot path: no allocation.
 */
export function encodeDataHeader(buf: Uint8Array, id: number, fin: boolean): number {
  buf[0] = fin ? FrameType.DATA | FLAG_FIN : FrameType.DATA
  return encodeVarint(id, buf, 1)
}

/** A whole DATA frame in a fresh buffer (tests and tools; the mux writes in place). */
export function encodeData(id: number, payload: Uint8Array, fin = true): Uint8Array {
  checkId(id)
  const out = new Uint8Array(1 + varintLength(id) + payload.length)
  out.set(payload, encodeDataHeader(out, id, fin))
  return out
}

/** UTF-8 bytes of a channel name; throws INVALID_ARGUMENT unless 1 … 255 bytes. */
export function channelNameBytes(name: string): Uint8Array {
  if (typeof name !== 'string') throw P2PError.INVALID_ARGUMENT('channel name must be a string')
  const bytes = utf8(name)
  if (bytes.length < 1 || bytes.length > MAX_NAME_BYTES) {
    throw P2PError.INVALID_ARGUMENT(`channel name must be 1 to ${MAX_NAME_BYTES} bytes of UTF-8`)
  }
  return bytes
}

export function encodeOpen(id: number, name: string | Uint8Array): Uint8Array {
  checkId(id)
  const nameBytes = typeof name === 'string' ? channelNameBytes(name) : name
  const out = new Uint8Array(1 + varintLength(id) + 1 + nameBytes.length)
  out[0] = FrameType.OPEN
  let pos = encodeVarint(id, out, 1)
  out[pos++] = nameBytes.length
  out.set(nameBytes, pos)
  return out
}

export function encodeClose(id: number, reply = false): Uint8Array {
  checkId(id)
  const out = new Uint8Array(1 + varintLength(id))
  out[0] = reply ? FrameType.CLOSE | FLAG_REPLY : FrameType.CLOSE
  encodeVarint(id, out, 1)
  return out
}

function encodeNonce(type: FrameType, nonce: number): Uint8Array {
  const out = new Uint8Array(5)
  out[0] = type
  writeNonce(out, nonce)
  return out
}

/** Rewrites the nonce of an encoded PING or PONG in place (a queued PONG answers the newest PING). */
export function writeNonce(frame: Uint8Array, nonce: number): void {
  new DataView(frame.buffer, frame.byteOffset, frame.byteLength).setUint32(1, nonce >>> 0)
}

export function encodePing(nonce: number): Uint8Array {
  return encodeNonce(FrameType.PING, nonce)
}

export function encodePong(nonce: number): Uint8Array {
  return encodeNonce(FrameType.PONG, nonce)
}

/** GOODBYE never fails: a reason longer than 255 bytes is cut at a character boundary. */
export function encodeGoodbye(reason = ''): Uint8Array {
  let bytes = utf8(reason)
  if (bytes.length > MAX_REASON_BYTES) {
    let end = MAX_REASON_BYTES
    // Back up over UTF-8 continuation bytes (10xxxxxx) so no character is split.
    while (end > 0 && (bytes[end] & 0xc0) === 0x80) end--
    bytes = bytes.subarray(0, end)
  }
  return concat([Uint8Array.of(FrameType.GOODBYE, bytes.length), bytes])
}

// ---- decoder --------------------------------------------------------------------

function readText(bytes: Uint8Array, pos: number, what: string): string {
  // NaN when the length byte itself is missing, which is truncated too.
  const end = pos + 1 + bytes[pos]
  if (!(end <= bytes.length)) throw P2PError.MALFORMED_MESSAGE(`truncated ${what}`)
  if (end < bytes.length) throw P2PError.MALFORMED_MESSAGE(`trailing bytes after ${what}`)
  try {
    return fromUtf8(bytes.subarray(pos + 1, end))
  } catch {
    throw P2PError.MALFORMED_MESSAGE(`${what} is not valid UTF-8`)
  }
}

/** By frame type: its name in errors, and the flags it may carry. */
const TYPES: ReadonlyArray<readonly [string, number]> = [
  ['DATA', FLAG_FIN], ['OPEN', 0], ['CLOSE', FLAG_REPLY], ['PING', 0], ['PONG', 0], ['GOODBYE', 0],
]

/**
 * Decodes one frame into `out` (a fresh object if omitted) and returns it.
 * Throws P2PError MALFORMED_MESSAGE on an empty or truncated frame, an unknown
 * type or flag, a bad varint, channel id 0, a control frame with trailing bytes,
 * an empty or non-UTF-8 name, or an empty frame that does not end its message.
 */
export function decodeFrame(bytes: Uint8Array, out: Frame = createFrame()): Frame {
  if (bytes.length === 0) throw P2PError.MALFORMED_MESSAGE('empty frame')
  const type = (bytes[0] & TYPE_MASK) as FrameType
  const flags = bytes[0] & FLAGS_MASK
  if (!(type in TYPES)) throw P2PError.MALFORMED_MESSAGE(`unknown frame type ${type}`)
  const [what, allowed] = TYPES[type]
  if (flags & ~allowed) throw P2PError.MALFORMED_MESSAGE(`unknown ${what} flags`)
  let pos = 1
  if (type <= FrameType.CLOSE) {
    // DATA, OPEN and CLOSE name a channel; 0 is the connection itself.
    pos = readId(bytes, pos, out)
    if (out.id === 0) throw P2PError.MALFORMED_MESSAGE(`${what} on channel 0`)
  }
  switch (type) {
    case FrameType.DATA:
      out.fin = flags === FLAG_FIN
      if (!out.fin && pos === bytes.length) throw P2PError.MALFORMED_MESSAGE('empty DATA frame that does not end a message')
      out.payload = bytes.subarray(pos)
      break
    case FrameType.OPEN:
      out.name = readText(bytes, pos, 'channel name')
      if (out.name.length === 0) throw P2PError.MALFORMED_MESSAGE('empty channel name')
      break
    case FrameType.CLOSE:
      if (pos !== bytes.length) throw P2PError.MALFORMED_MESSAGE('trailing bytes after CLOSE')
      out.reply = flags === FLAG_REPLY
      break
    case FrameType.GOODBYE:
      out.reason = readText(bytes, pos, 'goodbye reason')
      break
    default:
      // PING and PONG: a 32-bit nonce.
      if (bytes.length !== 5) throw P2PError.MALFORMED_MESSAGE(`${what} must be 5 bytes`)
      out.nonce = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(1)
  }
  out.type = type
  return out
}
