/**
 * How a log sits in an abstract-level database: the keys, their values, and the
 * one record (`m!state`) that opening reads, so a log of any length opens
 * without reading its entries. The layout is written down in docs/log.md.
 *
 * Everything here is pure encoding; LogStore (log-store.ts) reads and writes
 * it, and the Log decides what is written, each change as one batch.
 */
import type {AbstractLevel, AbstractSublevel} from 'abstract-level'
import {P2PError} from '../errors.js'
import {fromHex, fromUtf8, toHex, utf8} from '../bytes.js'
import {readVarint, varintLength, writeVarint, type VarintCursor} from './varint.js'

/**
 * Any abstract-level database (browser-level, classic-level, memory-level).
 * The Log sets the encodings of the sublevel it uses, so the backend's defaults
 * do not matter.
 */
export type LogDatabase = AbstractLevel<any, any, any>
export type LogSublevel = AbstractSublevel<any, any, string, Uint8Array>

/** The sublevel of one log: its address, so two logs in one database never share a key. */
export function logSublevel(db: LogDatabase, address: string): LogSublevel {
  return db.sublevel<string, Uint8Array>(`log-${address}`, {keyEncoding: 'utf8', valueEncoding: 'view'})
}

/** Sixteen digits hold every safe integer and keep keys in numeric order. */
function fixed(n: number, width: number): string {
  return String(n).padStart(width, '0')
}

/** The storage layout this version writes and reads (1: a record per entry; 2: blocks and a hash index of runs). */
export const LAYOUT = 2

export const STATE_KEY = 'm!state'
/** The block whose first entry has local index `first`. */
export const blockKey = (first: number): string => `b!${fixed(first, 16)}`
export const BLOCK_PREFIX = 'b!'
export const BLOCK_END = 'b"'
/** The `a!` record whose first entry is the author's `first`. */
export const authorKey = (author: string, first: number): string => `${authorPrefix(author)}${fixed(first, 10)}`
export const authorPrefix = (author: string): string => `a!${author}!`
/** A page of the hash index's run `run`: its rows' first hash is in the key, so the keys alone find a hash's page. */
export const pageKey = (run: number, first: string): string => `${runPrefix(run)}${first}`
export const runPrefix = (run: number): string => `h!${fixed(run, 10)}!`
export const PAGE_PREFIX = 'h!'
export const PAGE_END = 'h"'
export const forkKey = (author: string): string => `f!${author}`

/**
 * Bytes of entries per block. IndexedDB's cost is per record more than per
 * byte, so a write packs its entries into blocks; Chromium stores a value over
 * 64 KiB as a separate blob (slower to write and to read), so a block stays
 * under that unless one entry alone is larger.
 */
export const BLOCK_BYTES = 60 * 1024
/** Rows per `a!` record and per page of the hash index: 40 bytes each, 40 KiB a record. */
export const ROWS = 1024
/** A row of `a!` and `h!` records: a hash and where its entry is (block, row in the block). */
export const ROW_BYTES = 40

/** Where a stored entry is: the first local index of its block, and its row there (its index is their sum). */
export interface Location {
  block: number
  row: number
}

/** The first index (or seq) a record's key names. */
export function keyStart(key: string): number {
  return Number(key.slice(key.lastIndexOf('!') + 1))
}

/** Compares 32-byte hashes as unsigned bytes: the order of the hex in page keys. */
export function compareHashes(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < 32; i++) {
    if (a[i] !== b[i]) return a[i] - b[i]
  }
  return 0
}

export function writeRow(out: Uint8Array, i: number, hash: Uint8Array, at: Location): void {
  const offset = i * ROW_BYTES
  out.set(hash, offset)
  // A block's first index is a local index (below 2^48 in any store there will be); rows of a block fit 16 bits.
  const view = new DataView(out.buffer, out.byteOffset + offset + 32, 8)
  view.setUint16(0, Math.floor(at.block / 2 ** 32))
  view.setUint32(2, at.block >>> 0)
  view.setUint16(6, at.row)
}

export function rowHash(rows: Uint8Array, i: number): Uint8Array {
  return rows.subarray(i * ROW_BYTES, i * ROW_BYTES + 32)
}

export function rowLocation(rows: Uint8Array, i: number): Location {
  const view = new DataView(rows.buffer, rows.byteOffset + i * ROW_BYTES + 32, 8)
  return {block: view.getUint16(0) * 2 ** 32 + view.getUint32(2), row: view.getUint16(6)}
}

export function rowCount(rows: Uint8Array): number {
  return rows.length / ROW_BYTES
}

/** The row whose hash is `hash` in rows sorted by hash, or -1. */
export function findRow(rows: Uint8Array, hash: Uint8Array): number {
  let lo = 0
  let hi = rowCount(rows) - 1
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1
    const order = compareHashes(rowHash(rows, mid), hash)
    if (order === 0) return mid
    if (order < 0) lo = mid + 1
    else hi = mid - 1
  }
  return -1
}

/** One entry of a block: its hash, how many of the owner's entries it has seen, its bytes. */
export interface BlockRow {
  hash: Uint8Array
  ownerSeen: number
  bytes: Uint8Array
}

/** A block: its rows one after another, each its hash, varint ownerSeen, varint length and the entry's bytes. */
export function encodeBlock(rows: readonly BlockRow[]): Uint8Array {
  let size = 0
  for (const {ownerSeen, bytes} of rows) size += 32 + varintLength(ownerSeen) + varintLength(bytes.length) + bytes.length
  const out = new Uint8Array(size)
  let offset = 0
  for (const {hash, ownerSeen, bytes} of rows) {
    out.set(hash, offset)
    offset = writeVarint(bytes.length, out, writeVarint(ownerSeen, out, offset + 32))
    out.set(bytes, offset)
    offset += bytes.length
  }
  return out
}

export function decodeBlock(stored: Uint8Array): BlockRow[] {
  const block = plain(stored)
  const rows: BlockRow[] = []
  const cursor: VarintCursor = {value: 0, offset: 0}
  while (cursor.offset < block.length) {
    const hash = block.subarray(cursor.offset, cursor.offset + 32)
    cursor.offset += 32
    readVarint(block, cursor)
    const ownerSeen = cursor.value
    readVarint(block, cursor)
    const end = cursor.offset + cursor.value
    if (end > block.length) throw P2PError.MALFORMED_MESSAGE('a stored block is cut short')
    rows.push({hash, ownerSeen, bytes: block.subarray(cursor.offset, end)})
    cursor.offset = end
  }
  return rows
}

/** Cuts rows (in local order) into blocks of about BLOCK_BYTES; returns how many rows each block takes. */
export function blockSizes(rows: readonly BlockRow[]): number[] {
  const sizes: number[] = []
  let count = 0
  let bytes = 0
  for (const {bytes: entry} of rows) {
    const size = entry.length + 44
    if (count > 0 && bytes + size > BLOCK_BYTES) {
      sizes.push(count)
      count = 0
      bytes = 0
    }
    count++
    bytes += size
  }
  if (count > 0) sizes.push(count)
  return sizes
}

/**
 * Whether the newest run of the hash index should merge with the one before
 * it: when it is at least half as large. Runs then at least double in size from
 * newest to oldest, so a lookup reads at most log2(entries) pages, and a row is
 * rewritten about log2 of the entries written after it times.
 */
export function shouldMerge(runs: ReadonlyArray<readonly [number, number]>): boolean {
  return runs.length >= 2 && runs[runs.length - 2][1] <= 2 * runs[runs.length - 1][1]
}

/**
 * The pages of one sorted run of rows (ROWS to a page), keyed by their first
 * hash: what a write adds to the hash index, and what a merge writes.
 */
export function runPages(run: number, rows: Uint8Array): Array<{key: string, value: Uint8Array}> {
  const pages: Array<{key: string, value: Uint8Array}> = []
  for (let i = 0; i < rowCount(rows); i += ROWS) {
    const value = rows.subarray(i * ROW_BYTES, Math.min(rows.length, (i + ROWS) * ROW_BYTES))
    pages.push({key: pageKey(run, toHex(rowHash(value, 0))), value})
  }
  return pages
}

/** Merges rows sorted by hash into one sorted array (no hash is in two runs: an entry is stored once). */
export function mergeRows(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length)
  const na = rowCount(a)
  const nb = rowCount(b)
  let i = 0
  let j = 0
  let k = 0
  while (i < na || j < nb) {
    const fromA = j >= nb || (i < na && compareHashes(rowHash(a, i), rowHash(b, j)) < 0)
    const src = fromA ? a : b
    const n = fromA ? i++ : j++
    out.set(src.subarray(n * ROW_BYTES, n * ROW_BYTES + ROW_BYTES), k++ * ROW_BYTES)
  }
  return out
}

/** Node backends hand back Buffers; callers get plain Uint8Arrays in every runtime (a view, not a copy). */
export function plain(bytes: Uint8Array): Uint8Array {
  return Object.getPrototypeOf(bytes) === Uint8Array.prototype ? bytes : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)
}

/**
 * The author (hex) and seq of stored entry bytes, read from the header
 * (docs/log-format.md: version, flags, author 32, varint seq) without decoding
 * the rest: the checks of later entries need no more, many times per batch.
 */
export function entryHeader(bytes: Uint8Array): {author: string, seq: number} {
  const cursor: VarintCursor = {value: 0, offset: 34}
  readVarint(bytes, cursor)
  return {author: toHex(bytes.subarray(2, 34)), seq: cursor.value}
}

/** An owner's Admit or Remove: it applies to entries that have seen the owner's entry `seq`. */
export interface ControlEvent {
  seq: number
  admit: boolean
  key: string
}

/** What opening a log reads: its size is set by authors and control events, never by the number of entries. */
export interface LogState {
  heads: string[]
  lengths: Record<string, number>
  length: number
  bytes: number
  /** Whether the owner's Init made the log open to every key. */
  open: boolean
  control: ControlEvent[]
  /** Forked authors and the seq from which nothing of theirs is taken. */
  frozen: Record<string, number>
  persisted: boolean | null
  /**
   * The hash index's runs, oldest first: [run id, rows]. At most about
   * log2(length) of them (shouldMerge), so this grows with the log's length's
   * logarithm, not with its length.
   */
  runs: Array<[number, number]>
  /** The id the next run takes. */
  nextRun: number
  /** The storage layout; a state of another layout is refused, not misread. */
  layout: number
}

export function emptyState(): LogState {
  return {heads: [], lengths: {}, length: 0, bytes: 0, open: false, control: [], frozen: {}, persisted: null, runs: [], nextRun: 0, layout: LAYOUT}
}

export function encodeState(state: LogState): Uint8Array {
  return utf8(JSON.stringify(state))
}

export function decodeState(value: Uint8Array): LogState {
  let state: LogState
  try {
    state = JSON.parse(fromUtf8(value)) as LogState
  } catch (err) {
    throw P2PError.MALFORMED_MESSAGE(`unreadable log state (${(err as Error).message})`)
  }
  // Logs stored before the packed layout (no release wrote them) would read as empty blocks.
  if (state.layout !== LAYOUT) throw P2PError.MALFORMED_MESSAGE(`a log stored in layout ${state.layout ?? 1}; this version reads layout ${LAYOUT}`)
  return {...emptyState(), ...state}
}

/** Both runs of a fork: the entry bytes of each, from the forked seq to a signed entry. */
export interface ForkEvidence {
  author: Uint8Array
  seq: number
  runs: [Uint8Array[], Uint8Array[]]
}

export function encodeFork({author, seq, runs}: ForkEvidence): Uint8Array {
  return utf8(JSON.stringify({author: toHex(author), seq, runs: runs.map(run => run.map(toHex))}))
}

export function decodeFork(value: Uint8Array): ForkEvidence {
  const {author, seq, runs} = JSON.parse(fromUtf8(value)) as {author: string, seq: number, runs: string[][]}
  return {author: fromHex(author), seq, runs: [runs[0].map(fromHex), runs[1].map(fromHex)]}
}
