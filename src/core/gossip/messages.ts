/**
 * Every wire encoding of gossip, as encode/decode pairs (the format is written
 * down in docs/gossip.md). Decoding is the one place where a peer's bytes are
 * judged: `decodeGossipFrame` throws a P2PError on anything that is not exactly
 * a valid frame, and the router turns that into a score penalty.
 *
 * A frame is one message on the gossip channel: a header byte (type in the low
 * nibble, flags in the high nibble, as in the multiplexer), then a body that
 * depends on the type.
 */
import {P2PError} from '../errors.js'
import {concat, fromHex, toHex, utf8} from '../bytes.js'
import {PUBLIC_KEY_BYTES, SIGNATURE_BYTES} from '../crypto/identity.js'

export const GossipFrameType = {
  DATA: 0,
  IHAVE: 1,
  GRAFT: 2,
  PRUNE: 3,
} as const
export type GossipFrameType = typeof GossipFrameType[keyof typeof GossipFrameType]

/** DATA: an author key and a signature follow the topic. */
export const FLAG_SIGNED = 0x80
/** IHAVE: recent messages offered over a new link, not news. */
export const FLAG_OFFER = 0x80

const TYPE_MASK = 0x0f
const FLAGS_MASK = 0xf0

export const ID_BYTES = 8
export const MAX_TOPIC_BYTES = 255
/** The hop count is one byte on the wire. */
export const MAX_HOPS = 255
/** Ids per IHAVE or GRAFT frame: a lazy push of a busy moment goes out as several frames. */
export const MAX_BATCH_IDS = 64
export const DEFAULT_MAX_MESSAGE_BYTES = 64 * 1024
/** IHAVE entries: id and hops; offers add a u32 age. */
const IHAVE_ENTRY = ID_BYTES + 1
const OFFER_ENTRY = IHAVE_ENTRY + 4

/** Separates gossip signatures from every other use of the same key (the identity proof signs too). */
export const SIGNATURE_DOMAIN = 'p2p-elements/gossip/v1\0'
const DOMAIN_BYTES = utf8(SIGNATURE_DOMAIN)

/** Where the hop count sits in a DATA frame: relays rewrite it without decoding the rest. */
export const HOPS_OFFSET = 1 + ID_BYTES
const TOPIC_OFFSET = HOPS_OFFSET + 1
/** Header, id, hops, topic length, the longest topic, key and signature. */
export const MAX_DATA_OVERHEAD = TOPIC_OFFSET + 1 + MAX_TOPIC_BYTES + PUBLIC_KEY_BYTES + SIGNATURE_BYTES

// ignoreBOM keeps the mapping between topic bytes and strings one to one: the
// default decoder drops a leading U+FEFF, so two byte strings would be one topic.
const topicDecoder = new TextDecoder('utf-8', {fatal: true, ignoreBOM: true})

export interface DataFrame {
  type: typeof GossipFrameType.DATA
  /** 8 random bytes, as 16 hex characters. */
  id: string
  /** Links crossed before this one: the publisher sends 0. */
  hops: number
  topic: string
  /** Ed25519 public key of the author (signed frames only). */
  author: Uint8Array | null
  signature: Uint8Array | null
  /** A view into the received frame, not a copy. */
  payload: Uint8Array
}

export interface IHaveEntry {
  id: string
  /** Hops of the announcer's copy: how far it is from the publisher. */
  hops: number
  /** Offers only: milliseconds since the announcer received it (a duration, so clocks need not agree). */
  age?: number
}

/** An offered message's age is a u32 of milliseconds on the wire. */
export const MAX_AGE = 0xffffffff

export interface IHaveFrame {
  type: typeof GossipFrameType.IHAVE
  entries: IHaveEntry[]
  /** Sent because the link is new: these messages may be older than the receiver's presence. */
  offer: boolean
}

export interface GraftFrame {
  type: typeof GossipFrameType.GRAFT
  /** Messages to send; empty when the sender only wants eager pushes from now on. */
  ids: string[]
}

export interface PruneFrame {
  type: typeof GossipFrameType.PRUNE
}

export type GossipFrame = DataFrame | IHaveFrame | GraftFrame | PruneFrame

// ---- helpers --------------------------------------------------------------------

/** UTF-8 bytes of a topic; throws INVALID_ARGUMENT unless 1 … 255 bytes of well-formed text. */
export function topicBytes(topic: string): Uint8Array {
  if (typeof topic !== 'string') throw P2PError.INVALID_ARGUMENT('a topic is a string')
  const bytes = utf8(topic)
  if (bytes.length < 1 || bytes.length > MAX_TOPIC_BYTES) {
    throw P2PError.INVALID_ARGUMENT(`a topic is 1 to ${MAX_TOPIC_BYTES} bytes of UTF-8`)
  }
  // A lone surrogate encodes as U+FFFD: peers would see another topic than the one published.
  if (topicDecoder.decode(bytes) !== topic) throw P2PError.INVALID_ARGUMENT('a topic must be well-formed Unicode')
  return bytes
}

function idBytes(id: string): Uint8Array {
  if (typeof id !== 'string' || id.length !== ID_BYTES * 2 || !/^[0-9a-f]+$/.test(id)) {
    throw P2PError.INVALID_ARGUMENT(`a message id is ${ID_BYTES * 2} lowercase hex characters`)
  }
  return fromHex(id)
}

function checkHops(hops: number): void {
  if (!Number.isInteger(hops) || hops < 0 || hops > MAX_HOPS) throw P2PError.INVALID_ARGUMENT(`hops must be 0 to ${MAX_HOPS}`)
}

/**
 * The bytes an author signs: a domain prefix, the id, the topic with its length
 * (so topic and payload cannot trade bytes), and the payload. Hops are left out:
 * every relay changes them.
 */
export function signedBytes(id: string, topic: string, payload: Uint8Array): Uint8Array {
  const tb = topicBytes(topic)
  return concat([DOMAIN_BYTES, idBytes(id), Uint8Array.of(tb.length), tb, payload])
}

// ---- encoders -------------------------------------------------------------------

export interface DataFields {
  id: string
  hops: number
  topic: string
  payload: Uint8Array
  /** Both or neither. */
  author?: Uint8Array | null
  signature?: Uint8Array | null
}

export function encodeData({id, hops, topic, payload, author = null, signature = null}: DataFields): Uint8Array {
  const idb = idBytes(id)
  checkHops(hops)
  const tb = topicBytes(topic)
  if (!(payload instanceof Uint8Array)) throw P2PError.INVALID_ARGUMENT('a payload is a Uint8Array')
  const signed = author !== null || signature !== null
  if (signed && (author?.length !== PUBLIC_KEY_BYTES || signature?.length !== SIGNATURE_BYTES)) {
    throw P2PError.INVALID_ARGUMENT(`a signed message has a ${PUBLIC_KEY_BYTES}-byte key and a ${SIGNATURE_BYTES}-byte signature`)
  }
  const header = signed ? GossipFrameType.DATA | FLAG_SIGNED : GossipFrameType.DATA
  // Header, id, hops (at HOPS_OFFSET) and the topic's length (at TOPIC_OFFSET), then the topic.
  return concat([Uint8Array.of(header), idb, Uint8Array.of(hops, tb.length), tb, ...(signed ? [author!, signature!] : []), payload])
}

/** A copy of an encoded DATA frame with another hop count: how a relay passes a message on. */
export function withHops(frame: Uint8Array, hops: number): Uint8Array {
  checkHops(hops)
  if (frame.length <= HOPS_OFFSET || (frame[0] & TYPE_MASK) !== GossipFrameType.DATA) {
    throw P2PError.INVALID_ARGUMENT('not a DATA frame')
  }
  const out = frame.slice()
  out[HOPS_OFFSET] = hops
  return out
}

function checkBatch(count: number, min: number): void {
  if (count < min || count > MAX_BATCH_IDS) throw P2PError.INVALID_ARGUMENT(`a batch holds ${min} to ${MAX_BATCH_IDS} ids`)
}

/** An IHAVE; with `offer`, every entry carries its age (recent messages offered over a new link). */
export function encodeIHave(entries: readonly IHaveEntry[], offer = false): Uint8Array {
  checkBatch(entries.length, 1)
  const parts: Uint8Array[] = [Uint8Array.of(offer ? GossipFrameType.IHAVE | FLAG_OFFER : GossipFrameType.IHAVE, entries.length)]
  for (const {id, hops, age} of entries) {
    checkHops(hops)
    parts.push(idBytes(id), Uint8Array.of(hops))
    if (offer) {
      if (!(Number.isInteger(age) && age! >= 0)) throw P2PError.INVALID_ARGUMENT('an offered id needs an age in whole milliseconds')
      const u32 = new Uint8Array(4)
      new DataView(u32.buffer).setUint32(0, Math.min(age!, MAX_AGE))
      parts.push(u32)
    }
  }
  return concat(parts)
}

export function encodeGraft(ids: readonly string[]): Uint8Array {
  checkBatch(ids.length, 0)
  return concat([Uint8Array.of(GossipFrameType.GRAFT, ids.length), ...ids.map(idBytes)])
}

const PRUNE_FRAME = Uint8Array.of(GossipFrameType.PRUNE)

export function encodePrune(): Uint8Array {
  return PRUNE_FRAME.slice()
}

// ---- decoder --------------------------------------------------------------------

/** The message id at `pos`, as hex. */
function idAt(bytes: Uint8Array, pos: number): string {
  return toHex(bytes.subarray(pos, pos + ID_BYTES))
}

function readBatchCount(bytes: Uint8Array, min: number, entrySize: number, what: string): number {
  if (bytes.length < 2) throw P2PError.MALFORMED_MESSAGE(`truncated ${what}`)
  const count = bytes[1]
  if (count < min || count > MAX_BATCH_IDS) throw P2PError.MALFORMED_MESSAGE(`${what} with ${count} ids (${min} to ${MAX_BATCH_IDS})`)
  const size = 2 + count * entrySize
  if (bytes.length < size) throw P2PError.MALFORMED_MESSAGE(`truncated ${what}`)
  if (bytes.length > size) throw P2PError.MALFORMED_MESSAGE(`trailing bytes after ${what}`)
  return count
}

function decodeData(bytes: Uint8Array, flags: number, maxMessageBytes: number): DataFrame {
  if (flags & ~FLAG_SIGNED) throw P2PError.MALFORMED_MESSAGE('unknown DATA flags')
  if (bytes.length <= TOPIC_OFFSET) throw P2PError.MALFORMED_MESSAGE('truncated DATA header')
  const topicLength = bytes[TOPIC_OFFSET]
  if (topicLength === 0) throw P2PError.MALFORMED_MESSAGE('empty topic')
  let pos = TOPIC_OFFSET + 1
  if (bytes.length < pos + topicLength) throw P2PError.MALFORMED_MESSAGE('truncated topic')
  let topic: string
  try {
    topic = topicDecoder.decode(bytes.subarray(pos, pos + topicLength))
  } catch {
    throw P2PError.MALFORMED_MESSAGE('topic is not valid UTF-8')
  }
  pos += topicLength
  let author: Uint8Array | null = null
  let signature: Uint8Array | null = null
  if (flags & FLAG_SIGNED) {
    if (bytes.length < pos + PUBLIC_KEY_BYTES + SIGNATURE_BYTES) throw P2PError.MALFORMED_MESSAGE('truncated author and signature')
    author = bytes.subarray(pos, pos + PUBLIC_KEY_BYTES)
    signature = bytes.subarray(pos + PUBLIC_KEY_BYTES, pos + PUBLIC_KEY_BYTES + SIGNATURE_BYTES)
    pos += PUBLIC_KEY_BYTES + SIGNATURE_BYTES
  }
  const payloadLength = bytes.length - pos
  if (payloadLength > maxMessageBytes) {
    // Its own code: the router scores an oversized message apart from a malformed one.
    throw P2PError.MESSAGE_TOO_LARGE(`payload of ${payloadLength} bytes exceeds ${maxMessageBytes}`)
  }
  return {
    type: GossipFrameType.DATA,
    id: idAt(bytes, 1),
    hops: bytes[HOPS_OFFSET],
    topic,
    author,
    signature,
    payload: bytes.subarray(pos),
  }
}

/**
 * Decodes one gossip frame. Throws P2PError MALFORMED_MESSAGE on an empty or
 * truncated frame, an unknown type or flag, an empty or non-UTF-8 topic, a batch
 * of ids out of bounds, or trailing bytes; MESSAGE_TOO_LARGE when a payload
 * exceeds `maxMessageBytes`. Views into `bytes` are returned, not copies.
 */
export function decodeGossipFrame(bytes: Uint8Array, maxMessageBytes = DEFAULT_MAX_MESSAGE_BYTES): GossipFrame {
  if (!(bytes instanceof Uint8Array) || bytes.length === 0) throw P2PError.MALFORMED_MESSAGE('empty frame')
  const type = bytes[0] & TYPE_MASK
  const flags = bytes[0] & FLAGS_MASK
  if (type === GossipFrameType.DATA) return decodeData(bytes, flags, maxMessageBytes)
  if (type === GossipFrameType.IHAVE) {
    if (flags & ~FLAG_OFFER) throw P2PError.MALFORMED_MESSAGE('unknown IHAVE flags')
    const offer = flags === FLAG_OFFER
    const size = offer ? OFFER_ENTRY : IHAVE_ENTRY
    const count = readBatchCount(bytes, 1, size, 'IHAVE')
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    const entries: IHaveEntry[] = new Array(count)
    for (let i = 0, pos = 2; i < count; i++, pos += size) {
      const entry: IHaveEntry = {id: idAt(bytes, pos), hops: bytes[pos + ID_BYTES]}
      if (offer) entry.age = view.getUint32(pos + IHAVE_ENTRY)
      entries[i] = entry
    }
    return {type, entries, offer}
  }
  if (flags) throw P2PError.MALFORMED_MESSAGE(`unknown flags on frame type ${type}`)
  switch (type) {
    case GossipFrameType.GRAFT: {
      const count = readBatchCount(bytes, 0, ID_BYTES, 'GRAFT')
      const ids: string[] = new Array(count)
      for (let i = 0; i < count; i++) ids[i] = idAt(bytes, 2 + i * ID_BYTES)
      return {type, ids}
    }
    case GossipFrameType.PRUNE:
      if (bytes.length !== 1) throw P2PError.MALFORMED_MESSAGE('trailing bytes after PRUNE')
      return {type}
    default:
      throw P2PError.MALFORMED_MESSAGE(`unknown frame type ${type}`)
  }
}
