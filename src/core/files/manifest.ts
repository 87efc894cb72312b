/**
 * A shared file is named by the hash of its manifest: name, size, MIME type,
 * chunk size and the SHA-256 of every chunk. Whoever holds the id can check a
 * manifest from any peer, and with the manifest every chunk from any peer, so
 * no peer has to be trusted for anything but availability.
 *
 * The encoding is canonical (one manifest, one byte string), so the id is a
 * property of the file and its metadata rather than of whoever encoded it. The
 * layout is written down in docs/files.md.
 */
import {P2PError} from '../errors.js'
import {equal, fromUtf8, toHex, utf8} from '../bytes.js'
import {sha256} from '../crypto/identity.js'

export const MANIFEST_DOMAIN = 'p2p-elements/file/v1\0'
const DOMAIN_BYTES = utf8(MANIFEST_DOMAIN)

export const HASH_BYTES = 32
export const MAX_NAME_BYTES = 255
export const MAX_TYPE_BYTES = 127
export const MIN_CHUNK_SIZE = 16 * 1024
export const MAX_CHUNK_SIZE = 1024 * 1024
export const DEFAULT_CHUNK_SIZE = 256 * 1024
/** Files at least this large get MAX_CHUNK_SIZE chunks by default: per-chunk costs (a request, a hash, a write) dominate large transfers. */
export const LARGE_FILE_BYTES = 64 * 1024 * 1024

/** The chunk size a file gets when none is asked for: 256 KiB, 1 MiB from 64 MiB up. */
export function defaultChunkSize(size: number): number {
  return size >= LARGE_FILE_BYTES ? MAX_CHUNK_SIZE : DEFAULT_CHUNK_SIZE
}
/**
 * 1 GiB of 16 KiB chunks: the manifest stays near 2 MiB, small enough for one
 * message and for memory, and files reach 64 GiB at the largest chunk size.
 */
export const MAX_CHUNKS = 65536
/** Domain, name and type with their lengths, size, chunk size, chunk count. */
const MAX_HEADER_BYTES = DOMAIN_BYTES.length + 1 + MAX_NAME_BYTES + 1 + MAX_TYPE_BYTES + 8 + 4 + 4
export const MAX_MANIFEST_BYTES = MAX_HEADER_BYTES + MAX_CHUNKS * HASH_BYTES

// ignoreBOM keeps names one to one with their bytes: the default decoder drops
// a leading U+FEFF, so two encodings would decode to one manifest.
const nameDecoder = new TextDecoder('utf-8', {fatal: true, ignoreBOM: true})

export interface FileManifest {
  /** The file's name as offered by the sharer: 1 to 255 bytes of UTF-8. */
  readonly name: string
  /** Bytes. */
  readonly size: number
  /** MIME type, printable ASCII up to 127 bytes; '' when unknown. */
  readonly type: string
  /** A power of two from 16 KiB to 1 MiB; every chunk but the last is this long. */
  readonly chunkSize: number
  /** SHA-256 of each chunk, in order: ceil(size / chunkSize) of them. */
  readonly hashes: readonly Uint8Array[]
}

export interface CreateManifestOptions {
  name: string
  /** Defaults to the Blob's own type, or '' for bytes. */
  type?: string
  chunkSize?: number
}

export interface CreatedManifest {
  manifest: FileManifest
  /** Hex SHA-256 of `bytes`. */
  id: string
  /** The canonical encoding, ready to store or send. */
  bytes: Uint8Array
}

export interface ChunkRange {
  offset: number
  length: number
}

/** How many chunks a file of `size` bytes has. */
export function chunkCount(size: number, chunkSize: number): number {
  return Math.ceil(size / chunkSize)
}

function isPowerOfTwo(n: number): boolean {
  return Number.isInteger(n) && n > 0 && (n & (n - 1)) === 0
}

function validChunkSize(n: number): boolean {
  return isPowerOfTwo(n) && n >= MIN_CHUNK_SIZE && n <= MAX_CHUNK_SIZE
}

function validType(type: string): boolean {
  // A Blob silently drops a type with other characters, so such a type could not survive a download.
  return type.length <= MAX_TYPE_BYTES && /^[\x20-\x7e]*$/.test(type)
}

function nameBytes(name: string): Uint8Array {
  if (typeof name !== 'string') throw P2PError.INVALID_ARGUMENT('a file name is a string')
  const bytes = utf8(name)
  if (bytes.length < 1 || bytes.length > MAX_NAME_BYTES) {
    throw P2PError.INVALID_ARGUMENT(`a file name is 1 to ${MAX_NAME_BYTES} bytes of UTF-8`)
  }
  // A lone surrogate encodes as U+FFFD: the id would name a file other than the one described.
  if (nameDecoder.decode(bytes) !== name) throw P2PError.INVALID_ARGUMENT('a file name must be well-formed Unicode')
  return bytes
}

/** Checks everything but the hashes; returns the name's bytes and the chunk count. */
function checkMeta(name: string, size: number, type: string, chunkSize: number): {name: Uint8Array, count: number} {
  const nb = nameBytes(name)
  if (typeof type !== 'string' || !validType(type)) {
    throw P2PError.INVALID_ARGUMENT(`a MIME type is printable ASCII of at most ${MAX_TYPE_BYTES} bytes`)
  }
  if (!validChunkSize(chunkSize)) {
    throw P2PError.INVALID_ARGUMENT(`chunkSize must be a power of two from ${MIN_CHUNK_SIZE} to ${MAX_CHUNK_SIZE}`)
  }
  if (!Number.isSafeInteger(size) || size < 0) throw P2PError.INVALID_ARGUMENT('size must be a non-negative safe integer')
  const count = chunkCount(size, chunkSize)
  if (count > MAX_CHUNKS) {
    throw P2PError.INVALID_ARGUMENT(`${count} chunks is more than ${MAX_CHUNKS}: use a larger chunkSize`)
  }
  return {name: nb, count}
}

/** The canonical encoding of a manifest; throws INVALID_ARGUMENT on fields that could not be decoded back. */
export function encodeManifest(m: FileManifest): Uint8Array {
  const {name, count} = checkMeta(m.name, m.size, m.type, m.chunkSize)
  if (!Array.isArray(m.hashes) || m.hashes.length !== count) {
    throw P2PError.INVALID_ARGUMENT(`a file of ${m.size} bytes in chunks of ${m.chunkSize} has ${count} hashes`)
  }
  for (const h of m.hashes) {
    if (!(h instanceof Uint8Array) || h.length !== HASH_BYTES) throw P2PError.INVALID_ARGUMENT(`a chunk hash is ${HASH_BYTES} bytes`)
  }
  const type = utf8(m.type)
  const out = new Uint8Array(DOMAIN_BYTES.length + 1 + name.length + 1 + type.length + 8 + 4 + 4 + count * HASH_BYTES)
  const view = new DataView(out.buffer)
  let pos = 0
  out.set(DOMAIN_BYTES, pos)
  pos += DOMAIN_BYTES.length
  out[pos++] = name.length
  out.set(name, pos)
  pos += name.length
  out[pos++] = type.length
  out.set(type, pos)
  pos += type.length
  // Split in two u32 halves: DataView's BigInt setter would force BigInt on every caller.
  view.setUint32(pos, Math.floor(m.size / 2 ** 32))
  view.setUint32(pos + 4, m.size % 2 ** 32)
  pos += 8
  view.setUint32(pos, m.chunkSize)
  pos += 4
  view.setUint32(pos, count)
  pos += 4
  for (const h of m.hashes) {
    out.set(h, pos)
    pos += HASH_BYTES
  }
  return out
}

/**
 * Reads a manifest, throwing MESSAGE_TOO_LARGE past MAX_MANIFEST_BYTES and
 * MALFORMED_MESSAGE on anything but the canonical encoding of a valid one.
 * The hashes are copies, so the input can be reused.
 */
export function decodeManifest(bytes: Uint8Array): FileManifest {
  const bad = (why: string) => P2PError.MALFORMED_MESSAGE(`file manifest: ${why}`)
  if (!(bytes instanceof Uint8Array)) throw bad('not bytes')
  if (bytes.length > MAX_MANIFEST_BYTES) throw P2PError.MESSAGE_TOO_LARGE(`file manifest: ${bytes.length} bytes is more than ${MAX_MANIFEST_BYTES}`)
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  let pos = 0
  const need = (n: number) => {
    if (pos + n > bytes.length) throw bad('truncated')
  }
  need(DOMAIN_BYTES.length)
  if (!equal(bytes.subarray(0, DOMAIN_BYTES.length), DOMAIN_BYTES)) throw bad('wrong domain prefix')
  pos += DOMAIN_BYTES.length

  need(1)
  const nameLength = bytes[pos++]
  if (nameLength < 1) throw bad('empty name')
  need(nameLength)
  let name: string
  try {
    name = nameDecoder.decode(bytes.subarray(pos, pos + nameLength))
  } catch {
    throw bad('name is not UTF-8')
  }
  pos += nameLength

  need(1)
  const typeLength = bytes[pos++]
  if (typeLength > MAX_TYPE_BYTES) throw bad(`type is longer than ${MAX_TYPE_BYTES} bytes`)
  need(typeLength)
  const typeBytes = bytes.subarray(pos, pos + typeLength)
  if (!typeBytes.every((b) => b >= 0x20 && b <= 0x7e)) throw bad('type is not printable ASCII')
  const type = fromUtf8(typeBytes)
  pos += typeLength

  need(16)
  const high = view.getUint32(pos)
  const size = high * 2 ** 32 + view.getUint32(pos + 4)
  if (!Number.isSafeInteger(size)) throw bad('size is not a safe integer')
  pos += 8
  const chunkSize = view.getUint32(pos)
  if (!validChunkSize(chunkSize)) throw bad(`chunk size ${chunkSize} is not a power of two from ${MIN_CHUNK_SIZE} to ${MAX_CHUNK_SIZE}`)
  pos += 4
  const count = view.getUint32(pos)
  pos += 4
  if (count > MAX_CHUNKS) throw bad(`${count} chunks is more than ${MAX_CHUNKS}`)
  if (count !== chunkCount(size, chunkSize)) throw bad(`${count} chunks do not cover ${size} bytes in chunks of ${chunkSize}`)

  if (bytes.length - pos !== count * HASH_BYTES) throw bad(`expected ${count * HASH_BYTES} bytes of hashes, got ${bytes.length - pos}`)
  // One copy for all hashes, then views into it: a large manifest costs one allocation.
  // (new Uint8Array rather than slice: Buffer's slice is a view, and a Buffer may come from a Node backend.)
  const all = new Uint8Array(bytes.subarray(pos))
  const hashes: Uint8Array[] = []
  for (let i = 0; i < count; i++) hashes.push(all.subarray(i * HASH_BYTES, (i + 1) * HASH_BYTES))
  return {name, size, type, chunkSize, hashes}
}

/** The id of an encoded manifest: its SHA-256, as 64 lowercase hex characters. */
export async function manifestId(bytes: Uint8Array): Promise<string> {
  return toHex(await sha256(bytes))
}

/** True for a string shaped like a file id (64 lowercase hex characters). */
export function isFileId(id: unknown): id is string {
  return typeof id === 'string' && /^[0-9a-f]{64}$/.test(id)
}

/**
 * Decodes a manifest that claims to be `id`. The hash is checked first, so a
 * peer's bytes that are not what was asked for fail with HASH_MISMATCH whatever
 * they contain; MALFORMED_MESSAGE can only come from an id that names garbage.
 */
export async function verifyManifest(bytes: Uint8Array, id: string): Promise<FileManifest> {
  if (!isFileId(id)) throw P2PError.INVALID_ARGUMENT('a file id is 64 lowercase hex characters')
  if (!(bytes instanceof Uint8Array)) throw P2PError.MALFORMED_MESSAGE('file manifest: not bytes')
  if (bytes.length > MAX_MANIFEST_BYTES) throw P2PError.MESSAGE_TOO_LARGE(`file manifest: ${bytes.length} bytes is more than ${MAX_MANIFEST_BYTES}`)
  const actual = await manifestId(bytes)
  if (actual !== id) throw P2PError.HASH_MISMATCH(`manifest hashes to ${actual.slice(0, 8)}…, not ${id.slice(0, 8)}…`)
  return decodeManifest(bytes)
}

/** Where chunk `index` sits in the file; the last chunk is shorter unless the size is a multiple. */
export function chunkRange(m: FileManifest, index: number): ChunkRange {
  if (!Number.isInteger(index) || index < 0 || index >= m.hashes.length) {
    throw P2PError.INVALID_ARGUMENT(`chunk index ${index} is outside 0 to ${m.hashes.length - 1}`)
  }
  const offset = index * m.chunkSize
  return {offset, length: Math.min(m.chunkSize, m.size - offset)}
}

/** Throws HASH_MISMATCH unless `bytes` is exactly chunk `index` of the file. */
export async function verifyChunk(m: FileManifest, index: number, bytes: Uint8Array): Promise<void> {
  const {length} = chunkRange(m, index)
  // The length check is free and spares hashing a chunk that cannot match.
  if (bytes.length !== length) throw P2PError.HASH_MISMATCH(`chunk ${index} is ${length} bytes, got ${bytes.length}`)
  if (!equal(await sha256(bytes), m.hashes[index])) throw P2PError.HASH_MISMATCH(`chunk ${index} does not match its hash`)
}

async function readChunk(file: Blob | Uint8Array, start: number, end: number): Promise<Uint8Array> {
  if (file instanceof Uint8Array) return file.subarray(start, end)
  // A slice is only a reference: only this chunk's bytes are ever read into memory.
  return new Uint8Array(await file.slice(start, end).arrayBuffer())
}

/**
 * Hashes a file chunk by chunk (a Blob is read one slice at a time, so a large
 * file never sits in memory whole) and returns its manifest, encoding and id.
 */
export async function createManifest(file: Blob | Uint8Array, options: CreateManifestOptions): Promise<CreatedManifest> {
  const isBlob = typeof Blob !== 'undefined' && file instanceof Blob
  if (!isBlob && !(file instanceof Uint8Array)) throw P2PError.INVALID_ARGUMENT('a file is a Blob or a Uint8Array')
  const size = file instanceof Uint8Array ? file.length : (file as Blob).size
  const {name, type = isBlob ? (file as Blob).type : '', chunkSize = defaultChunkSize(size)} = options ?? {}
  // Check what can be checked before hashing: a bad option should not cost a pass over a large file.
  checkMeta(name, size, type, chunkSize)
  const hashes: Uint8Array[] = []
  for (let start = 0; start < size; start += chunkSize) {
    hashes.push(await sha256(await readChunk(file, start, Math.min(start + chunkSize, size))))
  }
  const manifest: FileManifest = {name, size, type, chunkSize, hashes}
  const bytes = encodeManifest(manifest)
  return {manifest, id: await manifestId(bytes), bytes}
}
