/**
 * How a log sits in an abstract-level database: the keys, their values, and the
 * one record (`m!state`) that opening reads, so a log of any length opens
 * without reading its entries. The layout is written down in docs/log.md.
 *
 * Everything here is pure encoding; the Log decides what is written and writes
 * each change as one batch.
 */
import type {AbstractLevel, AbstractSublevel} from 'abstract-level'
import {P2PError} from '../errors.js'
import {concat, fromHex, fromUtf8, toHex, utf8} from '../bytes.js'
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

export const STATE_KEY = 'm!state'
export const entryKey = (hash: string): string => `e!${hash}`
/** The `i!` record whose first entry has local index `first`. */
export const indexKey = (first: number): string => `i!${fixed(first, 16)}`
/** The `a!` record whose first entry is the author's `first`. */
export const authorKey = (author: string, first: number): string => `${authorPrefix(author)}${fixed(first, 10)}`
export const authorPrefix = (author: string): string => `a!${author}!`
export const forkKey = (author: string): string => `f!${author}`
/** The range of the `i!` keys, for iteration in local order. */
export const INDEX_PREFIX = 'i!'
export const INDEX_END = 'i"'

/**
 * Hashes per `i!` or `a!` record. A write puts its entries' hashes in local
 * order into `i!` records and each author's into `a!` records, CHUNK_HASHES to a
 * record, instead of a record per entry: in a page every put of a batch is a
 * round trip to IndexedDB (browser-level waits for each before the next), so
 * records per entry is what a write costs. A lookup reads one record, 32 KiB at most.
 */
export const CHUNK_HASHES = 1024

/** The first index (or seq) a chunk's key names. */
export function chunkStart(key: string): number {
  return Number(key.slice(key.lastIndexOf('!') + 1))
}

/** The i-th hash of a chunk record (a view). */
export function chunkHash(chunk: Uint8Array, i: number): Uint8Array {
  return chunk.subarray(i * 32, i * 32 + 32)
}

export function chunkLength(chunk: Uint8Array): number {
  return chunk.length / 32
}

/**
 * The `i!` and `a!` records of a write that stored `stored` (in local order)
 * from local index `first`. An author's entries in one write are consecutive
 * seqs (each needs its prev stored first), so each author's make whole records.
 */
export function chunkPuts(stored: ReadonlyArray<{author: Uint8Array, seq: number, hash: Uint8Array}>, first: number): Array<{type: 'put', key: string, value: Uint8Array}> {
  const puts: Array<{type: 'put', key: string, value: Uint8Array}> = []
  const pack = (hashes: Uint8Array[], key: (start: number) => string, start: number): void => {
    for (let i = 0; i < hashes.length; i += CHUNK_HASHES) {
      puts.push({type: 'put', key: key(start + i), value: concat(hashes.slice(i, i + CHUNK_HASHES))})
    }
  }
  pack(stored.map(e => e.hash), indexKey, first)
  const byAuthor = new Map<string, {first: number, hashes: Uint8Array[]}>()
  for (const entry of stored) {
    const author = toHex(entry.author)
    const run = byAuthor.get(author)
    if (run) run.hashes.push(entry.hash)
    else byAuthor.set(author, {first: entry.seq, hashes: [entry.hash]})
  }
  for (const [author, run] of byAuthor) pack(run.hashes, start => authorKey(author, start), run.first)
  return puts
}

/** An entry as stored: its place in local order, how many of the owner's entries it has seen, its bytes. */
export interface StoredRecord {
  index: number
  ownerSeen: number
  bytes: Uint8Array
}

export function encodeRecord({index, ownerSeen, bytes}: StoredRecord): Uint8Array {
  const out = new Uint8Array(varintLength(index) + varintLength(ownerSeen) + bytes.length)
  const offset = writeVarint(ownerSeen, out, writeVarint(index, out, 0))
  out.set(bytes, offset)
  return out
}

/** Node backends hand back Buffers; callers get plain Uint8Arrays in every runtime (a view, not a copy). */
export function plain(bytes: Uint8Array): Uint8Array {
  return Object.getPrototypeOf(bytes) === Uint8Array.prototype ? bytes : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)
}

export function decodeRecord(stored: Uint8Array): StoredRecord {
  const value = plain(stored)
  const cursor: VarintCursor = {value: 0, offset: 0}
  readVarint(value, cursor)
  const index = cursor.value
  readVarint(value, cursor)
  return {index, ownerSeen: cursor.value, bytes: value.subarray(cursor.offset)}
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
}

export function emptyState(): LogState {
  return {heads: [], lengths: {}, length: 0, bytes: 0, open: false, control: [], frozen: {}, persisted: null}
}

export function encodeState(state: LogState): Uint8Array {
  return utf8(JSON.stringify(state))
}

export function decodeState(value: Uint8Array): LogState {
  try {
    return {...emptyState(), ...JSON.parse(fromUtf8(value)) as LogState}
  } catch (err) {
    throw P2PError.MALFORMED_MESSAGE(`unreadable log state (${(err as Error).message})`)
  }
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
