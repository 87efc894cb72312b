/**
 * Every wire encoding of the file protocol, as encode/decode pairs (the format
 * is written down in docs/files.md). `decodeFileMessage` is the one place where
 * a peer's bytes are judged: it throws a P2PError on anything that is not
 * exactly a valid message, and the caller counts or drops the peer.
 *
 * A message is a type byte, the file id as 32 raw bytes, then a body that
 * depends on the type. Integers are big-endian.
 */
import {P2PError} from '../errors.js'
import {fromHex, toHex} from '../bytes.js'
import {HASH_BYTES, MAX_CHUNKS, MAX_CHUNK_SIZE, MAX_MANIFEST_BYTES, isFileId} from './manifest.js'

export const FileMessageType = {
  MANIFEST_REQUEST: 0,
  MANIFEST: 1,
  HAVE: 2,
  HAVE_CHUNK: 3,
  REQUEST: 4,
  REQUEST_BATCH: 5,
  CHUNK: 6,
  CANCEL: 7,
  REJECT: 8,
  DONT_HAVE: 9,
} as const
export type FileMessageType = typeof FileMessageType[keyof typeof FileMessageType]

export const RejectReason = {
  UNKNOWN_ID: 1,
  NOT_HAVE: 2,
  TOO_MANY_REQUESTS: 3,
  TOO_LARGE: 4,
  /** Not now: we sent it before and another of our peers has it; ask there (or ask us again). */
  ELSEWHERE: 5,
} as const
export type RejectReason = typeof RejectReason[keyof typeof RejectReason]

/** A REJECT with this index refuses the manifest rather than a chunk (no chunk index reaches it). */
export const MANIFEST_INDEX = 0xffffffff
/** Indexes per REQUEST_BATCH: enough to fill a fast peer's window in one message. */
export const MAX_BATCH_REQUESTS = 64

const ID_BYTES = HASH_BYTES
const HEADER = 1 + ID_BYTES
const INDEXED = HEADER + 4

export interface ManifestRequestMessage { type: typeof FileMessageType.MANIFEST_REQUEST, id: string }
export interface ManifestMessage {
  type: typeof FileMessageType.MANIFEST
  id: string
  /** Unverified: check it with verifyManifest before use. A view into the received message. */
  manifest: Uint8Array
}
export interface HaveMessage { type: typeof FileMessageType.HAVE, id: string, bitfield: Bitfield }
export interface HaveChunkMessage { type: typeof FileMessageType.HAVE_CHUNK, id: string, index: number }
export interface RequestMessage { type: typeof FileMessageType.REQUEST, id: string, index: number }
export interface RequestBatchMessage { type: typeof FileMessageType.REQUEST_BATCH, id: string, indexes: number[] }
export interface ChunkMessage {
  type: typeof FileMessageType.CHUNK
  id: string
  index: number
  /** Unverified, and a view into the received message, not a copy. */
  bytes: Uint8Array
}
export interface CancelMessage { type: typeof FileMessageType.CANCEL, id: string, index: number }
export interface RejectMessage { type: typeof FileMessageType.REJECT, id: string, index: number, reason: RejectReason }
/** The sender no longer holds any of the file (it was removed there). */
export interface DontHaveMessage { type: typeof FileMessageType.DONT_HAVE, id: string }

export type FileMessage =
  | ManifestRequestMessage | ManifestMessage | HaveMessage | HaveChunkMessage | RequestMessage
  | RequestBatchMessage | ChunkMessage | CancelMessage | RejectMessage | DontHaveMessage

// ---- bitfield -------------------------------------------------------------------

/**
 * One bit per chunk, most significant bit first (bit 0 is 0x80 of byte 0, as in
 * BitTorrent). Spare bits of the last byte are always zero, so a bitfield has
 * one encoding.
 */
export class Bitfield {
  readonly length: number
  readonly #bits: Uint8Array
  #ones = 0

  constructor(length: number) {
    if (!Number.isInteger(length) || length < 0 || length > MAX_CHUNKS) {
      throw P2PError.INVALID_ARGUMENT(`a bitfield has 0 to ${MAX_CHUNKS} bits`)
    }
    this.length = length
    this.#bits = new Uint8Array(Math.ceil(length / 8))
  }

  /** Reads a bitfield of `length` bits; throws MALFORMED_MESSAGE on a wrong byte count or a spare bit set. */
  static fromBytes(bytes: Uint8Array, length: number): Bitfield {
    const field = new Bitfield(length)
    if (bytes.length !== field.#bits.length) {
      throw P2PError.MALFORMED_MESSAGE(`a bitfield of ${length} bits is ${field.#bits.length} bytes, got ${bytes.length}`)
    }
    const spare = field.#bits.length * 8 - length
    if (spare > 0 && (bytes[bytes.length - 1] & ((1 << spare) - 1)) !== 0) {
      throw P2PError.MALFORMED_MESSAGE('a bitfield has bits set past its length')
    }
    field.#bits.set(bytes)
    for (const b of bytes) field.#ones += popcount(b)
    return field
  }

  get(index: number): boolean {
    this.#check(index)
    return (this.#bits[index >> 3] & (0x80 >> (index & 7))) !== 0
  }

  /** Sets or clears a bit; returns true if that changed it. */
  set(index: number, value = true): boolean {
    if (this.get(index) === value) return false
    this.#bits[index >> 3] ^= 0x80 >> (index & 7)
    this.#ones += value ? 1 : -1
    return true
  }

  /** Bits set, kept as a counter: progress is read on every chunk. */
  count(): number {
    return this.#ones
  }

  isComplete(): boolean {
    return this.#ones === this.length
  }

  /** A copy, so the caller cannot change this bitfield through it. */
  toBytes(): Uint8Array {
    return this.#bits.slice()
  }

  clone(): Bitfield {
    return Bitfield.fromBytes(this.#bits, this.length)
  }

  #check(index: number): void {
    if (!Number.isInteger(index) || index < 0 || index >= this.length) {
      throw P2PError.INVALID_ARGUMENT(`bit ${index} is outside a bitfield of ${this.length}`)
    }
  }
}

function popcount(b: number): number {
  let n = 0
  for (; b; b &= b - 1) n++
  return n
}

// ---- encoders -------------------------------------------------------------------

function idBytes(id: string): Uint8Array {
  if (!isFileId(id)) throw P2PError.INVALID_ARGUMENT('a file id is 64 lowercase hex characters')
  return fromHex(id)
}

function checkIndex(index: number): void {
  if (!Number.isInteger(index) || index < 0 || index >= MAX_CHUNKS) {
    throw P2PError.INVALID_ARGUMENT(`a chunk index is 0 to ${MAX_CHUNKS - 1}`)
  }
}

function frame(type: FileMessageType, id: string, bodyLength: number): {out: Uint8Array, view: DataView} {
  const out = new Uint8Array(HEADER + bodyLength)
  out[0] = type
  out.set(idBytes(id), 1)
  return {out, view: new DataView(out.buffer)}
}

function indexed(type: FileMessageType, id: string, index: number): Uint8Array {
  checkIndex(index)
  const {out, view} = frame(type, id, 4)
  view.setUint32(HEADER, index)
  return out
}

export function encodeManifestRequest(id: string): Uint8Array {
  return frame(FileMessageType.MANIFEST_REQUEST, id, 0).out
}

export function encodeManifestMessage(id: string, manifest: Uint8Array): Uint8Array {
  if (manifest.length < 1 || manifest.length > MAX_MANIFEST_BYTES) {
    throw P2PError.INVALID_ARGUMENT(`a manifest is 1 to ${MAX_MANIFEST_BYTES} bytes`)
  }
  const {out} = frame(FileMessageType.MANIFEST, id, manifest.length)
  out.set(manifest, HEADER)
  return out
}

/** HAVE carries its bit count: a peer without the manifest yet can still read it. */
export function encodeHave(id: string, bitfield: Bitfield): Uint8Array {
  const bits = bitfield.toBytes()
  const {out, view} = frame(FileMessageType.HAVE, id, 4 + bits.length)
  view.setUint32(HEADER, bitfield.length)
  out.set(bits, HEADER + 4)
  return out
}

export function encodeDontHave(id: string): Uint8Array {
  return frame(FileMessageType.DONT_HAVE, id, 0).out
}

export function encodeHaveChunk(id: string, index: number): Uint8Array {
  return indexed(FileMessageType.HAVE_CHUNK, id, index)
}

export function encodeRequest(id: string, index: number): Uint8Array {
  return indexed(FileMessageType.REQUEST, id, index)
}

export function encodeRequestBatch(id: string, indexes: readonly number[]): Uint8Array {
  if (indexes.length < 1 || indexes.length > MAX_BATCH_REQUESTS) {
    throw P2PError.INVALID_ARGUMENT(`a request batch has 1 to ${MAX_BATCH_REQUESTS} indexes`)
  }
  if (new Set(indexes).size !== indexes.length) throw P2PError.INVALID_ARGUMENT('a request batch has no repeated index')
  const {out, view} = frame(FileMessageType.REQUEST_BATCH, id, 1 + indexes.length * 4)
  out[HEADER] = indexes.length
  indexes.forEach((index, i) => {
    checkIndex(index)
    view.setUint32(HEADER + 1 + i * 4, index)
  })
  return out
}

/**
 * CHUNK's header alone, for a body of `length` bytes that follows it in the same
 * message: a sender passes `[header, chunk]` to the channel, and the chunk is
 * framed from where it lies instead of being copied behind its header first.
 */
export function encodeChunkHeader(id: string, index: number, length: number, maxChunkBytes = MAX_CHUNK_SIZE): Uint8Array {
  checkIndex(index)
  if (length < 1) throw P2PError.INVALID_ARGUMENT('a chunk is never empty')
  if (length > maxChunkBytes) throw P2PError.MESSAGE_TOO_LARGE(`a chunk of ${length} bytes is more than ${maxChunkBytes}`)
  const {out, view} = frame(FileMessageType.CHUNK, id, 4)
  view.setUint32(HEADER, index)
  return out
}

/** A whole CHUNK message in one buffer (header and body). */
export function encodeChunk(id: string, index: number, bytes: Uint8Array, maxChunkBytes = MAX_CHUNK_SIZE): Uint8Array {
  const header = encodeChunkHeader(id, index, bytes.length, maxChunkBytes)
  const out = new Uint8Array(header.length + bytes.length)
  out.set(header)
  out.set(bytes, header.length)
  return out
}

export function encodeCancel(id: string, index: number): Uint8Array {
  return indexed(FileMessageType.CANCEL, id, index)
}

/** `index` is a chunk index, or MANIFEST_INDEX to refuse a MANIFEST_REQUEST. */
export function encodeReject(id: string, index: number, reason: RejectReason): Uint8Array {
  if (index !== MANIFEST_INDEX) checkIndex(index)
  if (!isReason(reason)) throw P2PError.INVALID_ARGUMENT(`unknown reject reason ${String(reason)}`)
  const {out, view} = frame(FileMessageType.REJECT, id, 5)
  view.setUint32(HEADER, index)
  out[INDEXED] = reason
  return out
}

function isReason(reason: unknown): reason is RejectReason {
  return Object.values(RejectReason).includes(reason as RejectReason)
}

// ---- decoder --------------------------------------------------------------------

/**
 * Reads one message. Throws MALFORMED_MESSAGE on anything but a valid encoding,
 * and MESSAGE_TOO_LARGE on a chunk longer than `maxChunkBytes` or a manifest
 * longer than any valid one.
 */
export function decodeFileMessage(bytes: Uint8Array, maxChunkBytes = MAX_CHUNK_SIZE): FileMessage {
  const bad = (why: string) => P2PError.MALFORMED_MESSAGE(`file message: ${why}`)
  if (!(bytes instanceof Uint8Array)) throw bad('not bytes')
  if (bytes.length < HEADER) throw bad(`${bytes.length} bytes is shorter than a header`)
  const type = bytes[0]
  const id = toHex(bytes.subarray(1, HEADER))
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const exact = (n: number, name: string) => {
    if (bytes.length !== n) throw bad(`${name} is ${n} bytes, got ${bytes.length}`)
  }
  const index = (name: string) => {
    const i = view.getUint32(HEADER)
    if (i >= MAX_CHUNKS) throw bad(`${name} index ${i} is past the last possible chunk`)
    return i
  }

  switch (type) {
    case FileMessageType.MANIFEST_REQUEST:
      exact(HEADER, 'MANIFEST_REQUEST')
      return {type, id}
    case FileMessageType.MANIFEST: {
      const manifest = bytes.subarray(HEADER)
      if (manifest.length < 1) throw bad('MANIFEST without a manifest')
      if (manifest.length > MAX_MANIFEST_BYTES) {
        throw P2PError.MESSAGE_TOO_LARGE(`file message: manifest of ${manifest.length} bytes is more than ${MAX_MANIFEST_BYTES}`)
      }
      return {type, id, manifest}
    }
    case FileMessageType.HAVE: {
      if (bytes.length < HEADER + 4) throw bad('HAVE without a bit count')
      const length = view.getUint32(HEADER)
      if (length > MAX_CHUNKS) throw bad(`HAVE of ${length} bits is more than ${MAX_CHUNKS}`)
      return {type, id, bitfield: Bitfield.fromBytes(bytes.subarray(HEADER + 4), length)}
    }
    case FileMessageType.HAVE_CHUNK:
      exact(INDEXED, 'HAVE_CHUNK')
      return {type, id, index: index('HAVE_CHUNK')}
    case FileMessageType.REQUEST:
      exact(INDEXED, 'REQUEST')
      return {type, id, index: index('REQUEST')}
    case FileMessageType.REQUEST_BATCH: {
      if (bytes.length < HEADER + 1) throw bad('REQUEST_BATCH without a count')
      const count = bytes[HEADER]
      if (count < 1 || count > MAX_BATCH_REQUESTS) throw bad(`REQUEST_BATCH of ${count} is not 1 to ${MAX_BATCH_REQUESTS}`)
      exact(HEADER + 1 + count * 4, `REQUEST_BATCH of ${count}`)
      const indexes: number[] = []
      for (let i = 0; i < count; i++) {
        const n = view.getUint32(HEADER + 1 + i * 4)
        if (n >= MAX_CHUNKS) throw bad(`REQUEST_BATCH index ${n} is past the last possible chunk`)
        indexes.push(n)
      }
      if (new Set(indexes).size !== count) throw bad('REQUEST_BATCH repeats an index')
      return {type, id, indexes}
    }
    case FileMessageType.CHUNK: {
      if (bytes.length < INDEXED + 1) throw bad('CHUNK without an index and bytes')
      const length = bytes.length - INDEXED
      if (length > maxChunkBytes) throw P2PError.MESSAGE_TOO_LARGE(`file message: chunk of ${length} bytes is more than ${maxChunkBytes}`)
      return {type, id, index: index('CHUNK'), bytes: bytes.subarray(INDEXED)}
    }
    case FileMessageType.CANCEL:
      exact(INDEXED, 'CANCEL')
      return {type, id, index: index('CANCEL')}
    case FileMessageType.REJECT: {
      exact(INDEXED + 1, 'REJECT')
      const i = view.getUint32(HEADER)
      if (i !== MANIFEST_INDEX && i >= MAX_CHUNKS) throw bad(`REJECT index ${i} is past the last possible chunk`)
      const reason = bytes[INDEXED]
      if (!isReason(reason)) throw bad(`unknown REJECT reason ${reason}`)
      return {type, id, index: i, reason}
    }
    case FileMessageType.DONT_HAVE:
      exact(HEADER, 'DONT_HAVE')
      return {type, id}
    default:
      throw bad(`unknown type ${type}`)
  }
}
