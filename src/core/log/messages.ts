/**
 * Every wire encoding of log replication, as encode/decode pairs (the format is
 * written down in docs/log.md, "Replication"). `decodeLogMessage` is the one
 * place where a peer's bytes are judged: it throws a P2PError on anything that
 * is not exactly a valid message, and the session drops the peer.
 *
 * A message is a type byte and a body. Counts and lengths are unsigned LEB128
 * varints, minimal, at most 5 bytes. Entries travel as their canonical bytes
 * (docs/log-format.md): this module frames them and bounds their size, and the
 * session decodes and authenticates them.
 */
import {P2PError} from '../errors.js'
import {concat, fromHex, toHex} from '../bytes.js'

export const LogMessageType = {
  /** Per-author lengths: how many entries of each author the sender holds. */
  HAVE: 0,
  /** Entries in causal order, every author's run ending in a signed entry. */
  ENTRIES: 1,
  /** Two runs of one author that disagree at their first sequence number. */
  FORK: 2,
  /**
   * The receiver stored (or refused) one more ENTRIES message: a sender keeps at
   * most ENTRIES_WINDOW of them unanswered, so a slow store is never flooded.
   */
  ACK: 3,
  /**
   * Live, from a session that does not push an author's entries to the
   * receiver (it was pruned): how far each of those authors has grown here.
   */
  NOTE: 4,
  /** Asks the receiver to push these authors' entries live, each from a sequence number: it becomes the upstream. */
  REQUEST: 5,
  /** Asks the receiver to stop pushing these authors' entries live (another session brings them) and send NOTEs instead. */
  PRUNE: 6,
} as const
export type LogMessageType = typeof LogMessageType[keyof typeof LogMessageType]

const KEY_BYTES = 32
const HAVE_LAST = 1
const HAVE_REWIND = 2
/** An author writes sequence numbers 0 … 2**32 - 1, so it has at most 2**32 entries. */
export const MAX_AUTHOR_LENGTH = 2 ** 32
/** Authors per HAVE: a larger vector is cut into several, the last one flagged. 4096 authors is about 150 KiB at most. */
export const MAX_HAVE_AUTHORS = 4096
/** ENTRIES messages a sender may have unacknowledged: 2 MiB in flight at most; a remote past it is flooding. */
export const ENTRIES_WINDOW = 8
/** Entries per ENTRIES message. */
export const MAX_ENTRIES = 1024
/**
 * Bytes of entries per ENTRIES message. A single entry may exceed it (a log's
 * maxValueBytes can be larger): a message of one entry is bounded by
 * maxEntryBytes alone.
 */
export const MAX_ENTRIES_BYTES = 256 * 1024
/**
 * Entries per FORK side: the conflicting entry and the unsigned ones after it,
 * up to the signed entry that authenticates them (at most 256 unsigned in a row).
 */
export const MAX_FORK_RUN = 257
/** The default bound on a value (64 KiB, as the Log's maxValueBytes). */
export const DEFAULT_MAX_VALUE_BYTES = 64 * 1024
/**
 * An entry's bytes beyond its value, at most: version, flags, author, seq (5),
 * prev, time (8), kind, link count (1), 16 links, value length (8), signature.
 */
const MAX_ENTRY_OVERHEAD = 1 + 1 + KEY_BYTES + 5 + 32 + 8 + 1 + 1 + 16 * 32 + 8 + 64

/** The longest encoding of an entry whose value is at most `maxValueBytes`. */
export function maxEntryBytes(maxValueBytes = DEFAULT_MAX_VALUE_BYTES): number {
  return maxValueBytes + MAX_ENTRY_OVERHEAD
}

export interface HaveMessage {
  type: typeof LogMessageType.HAVE
  /** Author (hex) → length, authors in ascending order, every length ≥ 1. */
  lengths: Array<[string, number]>
  /** The last HAVE of a vector: the sender's whole vector is known. */
  last: boolean
  /**
   * The first HAVE of a vector that replaces what the receiver believes the
   * sender holds: the sender could not store entries it was sent (its disk was
   * full) and asks for them again.
   */
  rewind: boolean
}
export interface EntriesMessage {
  type: typeof LogMessageType.ENTRIES
  /** Unverified, and views into the received message. */
  entries: Uint8Array[]
}
export interface ForkMessage {
  type: typeof LogMessageType.FORK
  /** Unverified, and views into the received message. */
  a: Uint8Array[]
  b: Uint8Array[]
}
export interface AckMessage { type: typeof LogMessageType.ACK }
export interface NoteMessage {
  type: typeof LogMessageType.NOTE
  /** Author (hex) → length, authors in ascending order, every length ≥ 1. */
  lengths: Array<[string, number]>
}
export interface RequestMessage {
  type: typeof LogMessageType.REQUEST
  /** Author (hex) → the sequence number to push from, authors in ascending order. */
  from: Array<[string, number]>
}
export interface PruneMessage {
  type: typeof LogMessageType.PRUNE
  /** Authors (hex) in ascending order. */
  authors: string[]
}
export type LogMessage = HaveMessage | EntriesMessage | ForkMessage | AckMessage | NoteMessage | RequestMessage | PruneMessage

// ---- varints --------------------------------------------------------------------

function varintLength(n: number): number {
  let length = 1
  while (n >= 0x80) {
    n = Math.floor(n / 0x80)
    length++
  }
  return length
}

/** Writes `n` (0 … 2**35 - 1) at `offset`; returns the end offset. */
function writeVarint(n: number, out: Uint8Array, offset: number): number {
  while (n >= 0x80) {
    out[offset++] = (n % 0x80) | 0x80
    n = Math.floor(n / 0x80)
  }
  out[offset++] = n
  return offset
}

function varint(n: number): Uint8Array {
  const out = new Uint8Array(varintLength(n))
  writeVarint(n, out, 0)
  return out
}

/** Reads a peer's message front to back; every read is checked. */
class Reader {
  pos = 0
  constructor(readonly bytes: Uint8Array) {}

  /** A minimal varint of at most 5 bytes, at most `max`. */
  varint(max: number, what: string): number {
    let value = 0
    for (let i = 0; i < 5; i++) {
      if (this.pos >= this.bytes.length) throw malformed(`${what}: truncated varint`)
      const b = this.bytes[this.pos++]
      value += (b & 0x7f) * 2 ** (7 * i)
      if (b < 0x80) {
        if (b === 0 && i > 0) throw malformed(`${what}: non-minimal varint`)
        if (value > max) throw malformed(`${what} ${value} is more than ${max}`)
        return value
      }
    }
    throw malformed(`${what}: varint longer than 5 bytes`)
  }

  take(n: number, what: string): Uint8Array {
    if (this.pos + n > this.bytes.length) throw malformed(`${what}: ${n} bytes past the end`)
    return this.bytes.subarray(this.pos, (this.pos += n))
  }

  end(what: string): void {
    if (this.pos !== this.bytes.length) throw malformed(`${what}: ${this.bytes.length - this.pos} trailing bytes`)
  }
}

function malformed(why: string): P2PError {
  return P2PError.MALFORMED_MESSAGE(`log message: ${why}`)
}

// ---- encoders -------------------------------------------------------------------

const KEY_HEX = /^[0-9a-f]{64}$/

/**
 * One HAVE. `lengths` is sorted here (the encoding has one order); an author
 * with no entries is left out.
 */
export function encodeHave(lengths: Iterable<[string, number]>, last: boolean, rewind = false): Uint8Array {
  const listed = [...lengths].filter(([, length]) => length !== 0).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
  if (listed.length > MAX_HAVE_AUTHORS) throw P2PError.INVALID_ARGUMENT(`a HAVE lists at most ${MAX_HAVE_AUTHORS} authors`)
  const parts = [new Uint8Array([LogMessageType.HAVE, (last ? HAVE_LAST : 0) | (rewind ? HAVE_REWIND : 0)]), varint(listed.length)]
  let previous = ''
  for (const [author, length] of listed) {
    if (!KEY_HEX.test(author)) throw P2PError.INVALID_ARGUMENT('an author is 64 lowercase hex characters')
    if (author === previous) throw P2PError.INVALID_ARGUMENT(`author ${author} is listed twice`)
    if (!Number.isInteger(length) || length < 0 || length > MAX_AUTHOR_LENGTH) {
      throw P2PError.INVALID_ARGUMENT(`an author's length is 0 to ${MAX_AUTHOR_LENGTH}`)
    }
    parts.push(fromHex(author), varint(length))
    previous = author
  }
  return concat(parts)
}

/**
 * A whole vector as HAVEs of at most MAX_HAVE_AUTHORS authors, the last flagged
 * (one HAVE when it is empty); `rewind` flags the first.
 */
export function encodeHaves(lengths: Iterable<[string, number]>, {rewind = false} = {}): Uint8Array[] {
  const listed = [...lengths].filter(([, length]) => length !== 0)
  const out: Uint8Array[] = []
  for (let i = 0; i === 0 || i < listed.length; i += MAX_HAVE_AUTHORS) {
    const slice = listed.slice(i, i + MAX_HAVE_AUTHORS)
    out.push(encodeHave(slice, i + MAX_HAVE_AUTHORS >= listed.length, rewind && i === 0))
  }
  return out
}

function entryList(entries: readonly Uint8Array[], what: string, maxBytes: number): Uint8Array[] {
  const parts = [varint(entries.length)]
  for (const entry of entries) {
    if (entry.length < 1) throw P2PError.INVALID_ARGUMENT(`${what}: an entry is never empty`)
    if (entry.length > maxBytes) throw P2PError.MESSAGE_TOO_LARGE(`${what}: an entry of ${entry.length} bytes is more than ${maxBytes}`)
    parts.push(varint(entry.length), entry)
  }
  return parts
}

/**
 * ENTRIES: 1 to MAX_ENTRIES entries' bytes, at most MAX_ENTRIES_BYTES of them
 * unless there is only one.
 */
export function encodeEntries(entries: readonly Uint8Array[], maxBytes = maxEntryBytes()): Uint8Array {
  if (entries.length < 1 || entries.length > MAX_ENTRIES) {
    throw P2PError.INVALID_ARGUMENT(`ENTRIES carries 1 to ${MAX_ENTRIES} entries`)
  }
  const total = entriesBytes(entries)
  if (entries.length > 1 && total > MAX_ENTRIES_BYTES) {
    throw P2PError.MESSAGE_TOO_LARGE(`ENTRIES of ${total} bytes is more than ${MAX_ENTRIES_BYTES}`)
  }
  return concat([new Uint8Array([LogMessageType.ENTRIES]), ...entryList(entries, 'ENTRIES', maxBytes)])
}

/** FORK: each side 1 to MAX_FORK_RUN entries, the conflicting one first. */
export function encodeFork(a: readonly Uint8Array[], b: readonly Uint8Array[], maxBytes = maxEntryBytes()): Uint8Array {
  for (const side of [a, b]) {
    if (side.length < 1 || side.length > MAX_FORK_RUN) throw P2PError.INVALID_ARGUMENT(`a FORK side is 1 to ${MAX_FORK_RUN} entries`)
  }
  return concat([new Uint8Array([LogMessageType.FORK]), ...entryList(a, 'FORK', maxBytes), ...entryList(b, 'FORK', maxBytes)])
}

export function encodeAck(): Uint8Array {
  return new Uint8Array([LogMessageType.ACK])
}

/** Authors sorted, checked, each once, at most MAX_HAVE_AUTHORS and at least one. */
function authorList<T>(items: Iterable<[string, T]>, what: string): Array<[string, T]> {
  const listed = [...items].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
  if (listed.length < 1 || listed.length > MAX_HAVE_AUTHORS) throw P2PError.INVALID_ARGUMENT(`a ${what} lists 1 to ${MAX_HAVE_AUTHORS} authors`)
  let previous = ''
  for (const [author] of listed) {
    if (!KEY_HEX.test(author)) throw P2PError.INVALID_ARGUMENT('an author is 64 lowercase hex characters')
    if (author === previous) throw P2PError.INVALID_ARGUMENT(`author ${author} is listed twice`)
    previous = author
  }
  return listed
}

function authorNumbers(type: number, listed: Array<[string, number]>, min: number, what: string): Uint8Array {
  const parts = [new Uint8Array([type]), varint(listed.length)]
  for (const [author, n] of listed) {
    if (!Number.isInteger(n) || n < min || n > MAX_AUTHOR_LENGTH) throw P2PError.INVALID_ARGUMENT(`a ${what} number is ${min} to ${MAX_AUTHOR_LENGTH}`)
    parts.push(fromHex(author), varint(n))
  }
  return concat(parts)
}

/** NOTE: 1 to MAX_HAVE_AUTHORS authors' lengths (each ≥ 1). */
export function encodeNote(lengths: Iterable<[string, number]>): Uint8Array {
  return authorNumbers(LogMessageType.NOTE, authorList(lengths, 'NOTE'), 1, 'NOTE')
}

/** REQUEST: 1 to MAX_HAVE_AUTHORS authors, each with the sequence number to push from. */
export function encodeRequest(from: Iterable<[string, number]>): Uint8Array {
  return authorNumbers(LogMessageType.REQUEST, authorList(from, 'REQUEST'), 0, 'REQUEST')
}

/** PRUNE: 1 to MAX_HAVE_AUTHORS authors. */
export function encodePrune(authors: Iterable<string>): Uint8Array {
  const listed = authorList([...authors].map(author => [author, 0] as [string, number]), 'PRUNE')
  return concat([new Uint8Array([LogMessageType.PRUNE]), varint(listed.length), ...listed.map(([author]) => fromHex(author))])
}

function entriesBytes(entries: readonly Uint8Array[]): number {
  let total = 0
  for (const entry of entries) total += entry.length
  return total
}

// ---- decoder --------------------------------------------------------------------

/** 1 to MAX_HAVE_AUTHORS authors in strictly ascending order, each read with `more`. */
function readAuthors<T>(reader: Reader, what: string, more: () => T): Array<[string, T]> {
  const count = reader.varint(MAX_HAVE_AUTHORS, `${what} author count`)
  if (count < 1) throw malformed(`${what} without authors`)
  const out: Array<[string, T]> = []
  let previous = ''
  for (let i = 0; i < count; i++) {
    const author = toHex(reader.take(KEY_BYTES, `${what} author`))
    if (author <= previous) throw malformed(`${what} authors are not in ascending order`)
    out.push([author, more()])
    previous = author
  }
  reader.end(what)
  return out
}

function readEntryList(reader: Reader, max: number, maxBytes: number, what: string): Uint8Array[] {
  const count = reader.varint(max, `${what} count`)
  if (count < 1) throw malformed(`${what} without entries`)
  const entries: Uint8Array[] = []
  for (let i = 0; i < count; i++) {
    // Read as a 32-bit length so an oversized entry is told apart from a malformed one.
    const length = reader.varint(0xffffffff, `${what} entry length`)
    if (length < 1) throw malformed(`${what} holds an empty entry`)
    if (length > maxBytes) throw P2PError.MESSAGE_TOO_LARGE(`log message: ${what} entry of ${length} bytes is more than ${maxBytes}`)
    entries.push(reader.take(length, `${what} entry`))
  }
  return entries
}

/**
 * Reads one message. Throws MALFORMED_MESSAGE on anything but a valid encoding,
 * and MESSAGE_TOO_LARGE on an entry longer than `maxEntryBytes` or an ENTRIES
 * message past MAX_ENTRIES_BYTES.
 */
export function decodeLogMessage(bytes: Uint8Array, {maxEntryBytes: maxBytes = maxEntryBytes()}: {maxEntryBytes?: number} = {}): LogMessage {
  if (!(bytes instanceof Uint8Array)) throw malformed('not bytes')
  if (bytes.length < 1) throw malformed('empty')
  const reader = new Reader(bytes)
  const type = reader.take(1, 'type')[0]
  switch (type) {
    case LogMessageType.HAVE: {
      const flags = reader.take(1, 'HAVE flags')[0]
      if (flags > (HAVE_LAST | HAVE_REWIND)) throw malformed(`HAVE flags ${flags} has unknown bits set`)
      const count = reader.varint(MAX_HAVE_AUTHORS, 'HAVE author count')
      const lengths: Array<[string, number]> = []
      let previous = ''
      for (let i = 0; i < count; i++) {
        const author = toHex(reader.take(KEY_BYTES, 'HAVE author'))
        if (author <= previous) throw malformed('HAVE authors are not in ascending order')
        const length = reader.varint(MAX_AUTHOR_LENGTH, 'HAVE length')
        if (length < 1) throw malformed('HAVE lists an author with no entries')
        lengths.push([author, length])
        previous = author
      }
      reader.end('HAVE')
      return {type, lengths, last: (flags & HAVE_LAST) !== 0, rewind: (flags & HAVE_REWIND) !== 0}
    }
    case LogMessageType.ENTRIES: {
      const entries = readEntryList(reader, MAX_ENTRIES, maxBytes, 'ENTRIES')
      reader.end('ENTRIES')
      const total = entriesBytes(entries)
      if (entries.length > 1 && total > MAX_ENTRIES_BYTES) {
        throw P2PError.MESSAGE_TOO_LARGE(`log message: ENTRIES of ${total} bytes is more than ${MAX_ENTRIES_BYTES}`)
      }
      return {type, entries}
    }
    case LogMessageType.FORK: {
      const a = readEntryList(reader, MAX_FORK_RUN, maxBytes, 'FORK')
      const b = readEntryList(reader, MAX_FORK_RUN, maxBytes, 'FORK')
      reader.end('FORK')
      return {type, a, b}
    }
    case LogMessageType.ACK:
      reader.end('ACK')
      return {type}
    case LogMessageType.NOTE:
      return {type, lengths: readAuthors(reader, 'NOTE', () => {
        const length = reader.varint(MAX_AUTHOR_LENGTH, 'NOTE length')
        if (length < 1) throw malformed('NOTE lists an author with no entries')
        return length
      })}
    case LogMessageType.REQUEST:
      return {type, from: readAuthors(reader, 'REQUEST', () => reader.varint(MAX_AUTHOR_LENGTH, 'REQUEST seq'))}
    case LogMessageType.PRUNE:
      return {type, authors: readAuthors(reader, 'PRUNE', () => undefined).map(([author]) => author)}
    default:
      throw malformed(`unknown type ${type}`)
  }
}
