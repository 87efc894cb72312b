/**
 * A signed append-only log: a Merkle DAG of entries whose address is its
 * owner's public key, kept in an abstract-level database. The Log checks what
 * it stores (writers, forks, missing links), writes every change in one batch
 * with the record that opening reads, and streams entries from storage, so
 * memory stays flat at any length. Replication (replicate.ts) feeds it through
 * `add` and reads it through `missing`. docs/log.md says what is atomic.
 */
import type {AbstractBatchOptions} from 'abstract-level'
import {Emitter} from '../emitter.js'
import {P2PError, toP2PError} from '../errors.js'
import {checkInteger} from '../check.js'
import {equal, fromHex, toHex} from '../bytes.js'
import type {Identity} from '../crypto/identity.js'
import {isQuotaError} from '../storage/quota.js'
import type {LogPeer, LogProgress} from './replicate.js'
import {attachLog, replicatePeer, type AttachLogOptions, type AttachedLog} from './swarm.js'
import type {ProtocolPeer, ProtocolSwarm} from '../swarm/protocol-host.js'
import {EntryKind, InitFlags, MAX_LINKS, MAX_RUN, MAX_VALUE_BYTES, createEntry, decodeEntry, jsonValue, type Entry, type EntryFields} from './entry.js'
import {
  STATE_KEY, decodeFork, emptyState, encodeFork, encodeState, entryHeader, forkKey, logSublevel,
  type ForkEvidence, type LogDatabase, type LogState, type LogSublevel,
} from './store.js'
import {LogStore, type Known} from './log-store.js'

export {MAX_RUN}
export const DEFAULT_MAX_PENDING = 1024
/** While storage is full, the first probe write comes this long after the failure (ms); later ones twice as late each, up to MAX_FULL_RETRY_MS. */
const FULL_RETRY_MS = 5000
const MAX_FULL_RETRY_MS = 60_000
/**
 * Entries all sources together may have waiting. An honest peer sends in
 * causal order, so its entries rarely wait: the bound is for many sources each
 * parking up to maxPending, and leaves room for four that do.
 */
export const DEFAULT_MAX_PENDING_TOTAL = 4 * DEFAULT_MAX_PENDING
/**
 * Bytes of waiting entries, all sources together: what a page holds in memory
 * for entries that may never complete (4096 entries of 64 KiB would be 256 MiB).
 * One source may hold a quarter of it.
 */
export const DEFAULT_MAX_PENDING_BYTES = 16 * 1024 * 1024
/**
 * What a write that must reach the disk asks of the database: classic-level
 * syncs, IndexedDB (QueuedBrowserLevel) commits with strict durability. Others
 * ignore both. Received entries are written without: one lost can be fetched again.
 */
const DURABLE: WriteOptions = {sync: true, durability: 'strict'}
type WriteOptions = AbstractBatchOptions<string, Uint8Array> & {sync?: boolean, durability?: 'strict' | 'relaxed' | 'default'}
/** Entries read from storage at once by iteration and by missing(). */
const READ_CHUNK = 1024

export interface LogOptions {
  /** Owned by the caller, who opens and closes it; the log keeps to a sublevel named by its address. */
  db: LogDatabase
  /** The owner's public key: the log's address. */
  key: Uint8Array
  /** Who appends here: the owner, or a writer the owner admits (or anyone, in an open log). */
  identity?: Identity
  /** When the owner creates the log: open to every key. */
  open?: boolean
  maxValueBytes?: number
  /** Entries one source may have waiting for missing links; past it the source is misbehaving. */
  maxPending?: number
  /** Entries all sources together may have waiting; past it, a source's new ones are refused (ERR_RATE_LIMITED). */
  maxPendingTotal?: number
  /**
   * Bytes of waiting entries all sources together may have (refused past it, as
   * maxPendingTotal); one source may have a quarter (misbehaving past it).
   */
  maxPendingBytes?: number
  /** The claimed time written into entries (ms since the epoch). */
  now?: () => number
  /**
   * While storage is full, the log tries a small write this many ms after the
   * failure, then twice as long each time, up to a minute: once one succeeds,
   * `resume` fires and replication asks for what it could not store.
   */
  fullRetryMs?: number
  /**
   * The bytes of entries past which this log stores no more (a mirror's
   * quota), or a function asked at each write (a share of an overall quota).
   * A write is let in while the log holds less (a received batch whole, so a
   * log ends at most one batch past it); then writes fail with
   * ERR_STORAGE_FULL, `stats.overQuota` says so, what is stored stays served,
   * and nothing is asked again until `recheckQuota()` finds room.
   */
  maxBytes?: number | (() => number)
}

export interface LogStats {
  entries: number
  authors: number
  bytes: number
  verified: number
  rejected: number
  pending: number
  /** Replication sessions of this log open now (replicate.ts reports them). */
  peers: number
  /** Whether the browser granted persistent storage; null where there is no such thing (Node) or before asking. */
  persisted: boolean | null
  /** A write failed for lack of space; the next write that succeeds clears it. */
  paused: boolean
  /** A write would have gone past `maxBytes`: the log stopped growing. */
  overQuota: boolean
}

export interface AddResult {
  stored: Entry[]
  pending: number
  rejected: Array<{entry: Entry, error: P2PError}>
}

export type LogEvents = {
  /** This page wrote them. */
  append: (entries: Entry[]) => void
  /** Stored from any source, appends included. */
  update: (entries: Entry[]) => void
  /** Storage had no room (`stats.paused`), and now has: a write succeeded again. */
  resume: () => void
  conflict: (evidence: ForkEvidence) => void
  /** How far replication with one peer is along (fired by its session: replicate.ts). */
  progress: (progress: LogProgress & {peer: string}) => void
  error: (err: P2PError) => void
  close: () => void
}

export interface LogIteratorOptions {
  /** The first local index to yield (the last, when reverse). */
  since?: number
  limit?: number
  reverse?: boolean
  /** After what is stored, yield later entries as they are stored, until close or until the consumer stops. */
  live?: boolean
}

/** One write in the making: the state it leads to and the operations that make it so. */
interface Draft {
  state: LogState
  ops: Array<{type: 'put', key: string, value: Uint8Array}>
  /** What is known of a hash: stored before (read once), stored by this draft, or null for neither. */
  known: Map<string, Known | null>
  stored: Array<{entry: Entry, known: Known}>
  /** The draft's entries by `author!seq`, for a fork found within one batch. */
  byAuthor: Map<string, Entry>
  /** What this write was given, by `author!seq`: the rest of a forking run, up to its signed entry. */
  incoming: Map<string, Entry>
  conflicts: ForkEvidence[]
}

interface Pending {
  entry: Entry
  source: string
  /** The hash it waits for. */
  dep: string
}

export class Log extends Emitter<LogEvents> {
  readonly key: Uint8Array
  readonly address: string
  /** The caller's database, where views of this log keep their sublevels beside the log's. */
  readonly db: LogDatabase
  readonly #db: LogSublevel
  readonly #store: LogStore
  readonly #identity: Identity | undefined
  readonly #open: boolean
  readonly #maxValueBytes: number
  readonly #maxPending: number
  readonly #maxPendingTotal: number
  readonly #maxPendingBytes: number
  readonly #now: () => number
  #state: LogState = emptyState()
  #ready: Promise<void> | undefined
  #closed = false
  /** Writes take turns, so each one starts from the state the last one left. */
  #queue: Promise<unknown> = Promise.resolve()
  readonly #fullRetryMs: number
  readonly #maxBytes: () => number
  /** While storage is full: the next probe write, and how long after the last it comes. */
  #probe: {timer: ReturnType<typeof setTimeout> | undefined, delay: number} | undefined
  /** Entries waiting for a prev or link, by hash. */
  readonly #pending = new Map<string, Pending>()
  /** The hashes each source has waiting: a per-source bound, and what goes when its session ends. */
  readonly #pendingBySource = new Map<string, Set<string>>()
  readonly #pendingBytesBySource = new Map<string, number>()
  #pendingBytes = 0
  /** Pending entries by the hash each waits for: storing that hash wakes exactly them. */
  readonly #waiters = new Map<string, Set<string>>()
  #persistAsked = false
  /**
   * The browser's answer, apart from the state: it lands whenever it lands, and
   * a write in progress would replace the state it was put in. The next write stores it.
   */
  #persisted: boolean | null = null
  #counts = {verified: 0, rejected: 0, paused: false, overQuota: false}
  #sessions = 0

  constructor({db, key, identity, open = false, maxValueBytes = MAX_VALUE_BYTES, maxPending = DEFAULT_MAX_PENDING,
    maxPendingTotal = DEFAULT_MAX_PENDING_TOTAL, maxPendingBytes = DEFAULT_MAX_PENDING_BYTES, now = Date.now, fullRetryMs = FULL_RETRY_MS,
    maxBytes = Infinity}: LogOptions) {
    super()
    if (!db || typeof db.sublevel !== 'function') throw P2PError.INVALID_ARGUMENT('db must be an abstract-level database')
    if (!(key instanceof Uint8Array) || key.length !== 32) throw P2PError.INVALID_ARGUMENT('a log key is a 32-byte public key')
    checkInteger('maxPending', maxPending, 1)
    checkInteger('maxPendingTotal', maxPendingTotal, 1)
    checkInteger('maxPendingBytes', maxPendingBytes, 1)
    checkInteger('maxValueBytes', maxValueBytes, 1)
    this.key = key
    this.address = toHex(key)
    this.db = db
    this.#db = logSublevel(db, this.address)
    this.#store = new LogStore(this.#db)
    this.#identity = identity
    this.#open = open
    this.#maxValueBytes = maxValueBytes
    checkInteger('fullRetryMs', fullRetryMs, 1)
    this.#fullRetryMs = fullRetryMs
    if (typeof maxBytes === 'function') this.#maxBytes = maxBytes
    else if (maxBytes === Infinity) this.#maxBytes = () => Infinity
    else {
      checkInteger('maxBytes', maxBytes, 0)
      this.#maxBytes = () => maxBytes
    }
    this.#maxPending = maxPending
    this.#maxPendingTotal = maxPendingTotal
    this.#maxPendingBytes = maxPendingBytes
    this.#now = now
  }

  /** Reads the state record (nothing else); the owner's first ready() on an empty log creates it with Init. */
  ready(): Promise<void> {
    this.#ready ??= this.#load()
    return this.#ready
  }

  async #load(): Promise<void> {
    this.#state = await this.#store.state() ?? emptyState()
    this.#persisted = this.#state.persisted
    if (this.#state.length === 0 && this.#identity && equal(this.#identity.publicKey, this.key)) {
      await this.#appendNow(this.#identity, [{kind: EntryKind.Init, value: Uint8Array.of(this.#open ? InitFlags.OPEN : 0)}])
    }
  }

  get length(): number { return this.#state.length }
  heads(): Uint8Array[] { return this.#state.heads.map(fromHex) }
  lengths(): Map<string, number> { return new Map(Object.entries(this.#state.lengths)) }
  get open(): boolean { return this.#state.open }

  /** Keys that may write now: the owner, and those the owner's control events leave admitted. */
  writers(): Set<string> {
    const set = new Set([this.address])
    for (const {admit, key} of this.#state.control) {
      if (admit) set.add(key)
      else set.delete(key)
    }
    return set
  }

  get writable(): boolean {
    if (!this.#identity) return false
    const me = toHex(this.#identity.publicKey)
    return !(me in this.#state.frozen) && this.#isWriter(this.#state, me, this.#state.lengths[this.address] ?? 0)
  }

  get stats(): LogStats {
    return {
      entries: this.#state.length,
      authors: Object.keys(this.#state.lengths).length,
      bytes: this.#state.bytes,
      verified: this.#counts.verified,
      rejected: this.#counts.rejected,
      pending: this.#pending.size,
      peers: this.#sessions,
      persisted: this.#persisted,
      paused: this.#counts.paused,
      overQuota: this.#counts.overQuota,
    }
  }

  /** Appends one value, or several in one batch (one signature per MAX_RUN entries, the last one signed). */
  append(values: unknown[]): Promise<Entry[]>
  append(value: unknown): Promise<Entry>
  async append(value: unknown): Promise<Entry | Entry[]> {
    const values = Array.isArray(value) ? value : [value]
    const entries = await this.#appendKind(values.map(v => v instanceof Uint8Array
      ? {kind: EntryKind.Bytes, value: v}
      : {kind: EntryKind.Json, value: jsonValue(v)}))
    return Array.isArray(value) ? entries : entries[0]
  }

  /** The owner lets `key` write: entries that have seen this one may be by `key`. */
  admit(key: Uint8Array): Promise<Entry> {
    return this.#control(EntryKind.Admit, key)
  }

  /** The owner stops `key` writing: entries that have seen this one may not be by `key` (concurrent ones still may). */
  remove(key: Uint8Array): Promise<Entry> {
    return this.#control(EntryKind.Remove, key)
  }

  async #control(kind: EntryKind, key: Uint8Array): Promise<Entry> {
    if (!(key instanceof Uint8Array) || key.length !== 32) throw P2PError.INVALID_ARGUMENT('a writer key is 32 bytes')
    if (!this.#identity || !equal(this.#identity.publicKey, this.key)) throw P2PError.NOT_A_WRITER('only the owner admits and removes writers')
    return (await this.#appendKind([{kind, value: key.slice()}]))[0]
  }

  #appendKind(items: Array<{kind: EntryKind, value: Uint8Array}>): Promise<Entry[]> {
    if (this.#closed) return Promise.reject(P2PError.DESTROYED('log closed'))
    const identity = this.#identity
    if (!identity) return Promise.reject(P2PError.NOT_A_WRITER('this log has no identity to write with'))
    if (items.length === 0) return Promise.resolve([])
    const large = items.find(item => item.value.length > this.#maxValueBytes)
    if (large) return Promise.reject(P2PError.MESSAGE_TOO_LARGE(`a value of ${large.value.length} bytes is over ${this.#maxValueBytes}`))
    return this.#write(() => this.#appendNow(identity, items))
  }

  /** Makes, checks and stores one batch of this page's entries; the caller holds the write turn. */
  async #appendNow(identity: Identity, items: Array<{kind: EntryKind, value: Uint8Array}>): Promise<Entry[]> {
    // The quota, as for a received batch: appends go in while the log holds less.
    const limit = this.#maxBytes()
    if (this.#state.bytes >= limit) throw this.#overQuota(this.#state.bytes, limit)
    const author = toHex(identity.publicKey)
    let seq = this.#state.lengths[author] ?? 0
    let prev = seq === 0 ? null : (await this.#store.authorRow(author, seq - 1))!.hash
    const links = this.#state.heads.filter(h => !prev || h !== toHex(prev)).sort().slice(0, MAX_LINKS).map(fromHex)
    const entries: Entry[] = []
    for (let i = 0; i < items.length; i++) {
      const fields: EntryFields = {author: identity.publicKey, seq, prev, links: i === 0 ? links : [], time: this.#now(), ...items[i]}
      const sign = i === items.length - 1 || (i + 1) % MAX_RUN === 0
      const entry = await createEntry(this.key, fields, identity, {sign})
      entries.push(entry)
      prev = entry.hash
      seq++
    }
    const draft = this.#draft()
    for (const entry of entries) {
      const error = await this.#check(draft, entry)
      if (error) throw error === 'fork' ? P2PError.AUTHOR_FROZEN('this identity already wrote at that seq') : error
      await this.#put(draft, entry)
    }
    // Durable before anyone hears of it: an append lost to a power cut after a peer got it would be
    // written again at the same seq on the next start, a fork that freezes this author for good.
    await this.#commit(draft, DURABLE)
    this.emit('append', entries)
    this.emit('update', entries)
    this.#askPersist()
    return entries
  }

  /**
   * Stores authenticated entries (authenticateRun's output, any order) in one
   * batch; those missing a prev or link wait, at most maxPending per source
   * and maxPendingTotal in all (and their bytes: maxPendingBytes).
   */
  add(entries: Entry[], source: string): Promise<AddResult> {
    if (this.#closed) return Promise.reject(P2PError.DESTROYED('log closed'))
    return this.#write(async () => {
      const {within, needed, limit} = this.#withinQuota(entries)
      entries = within
      const draft = this.#draft(entries)
      const rejected: AddResult['rejected'] = []
      const queue = entries.map(entry => ({entry, source}))
      // One lookup for every prev and link the batch names outside itself, not one per entry and per link.
      const own = new Set(entries.map(e => toHex(e.hash)))
      await this.#prefetch(draft, entries.flatMap(e => e.prev ? [e.prev, ...e.links] : e.links).map(toHex).filter(h => !own.has(h)))
      /** This call's entries missing a prev or link, by the hash they wait for: it may come later in the call. */
      const waiting = new Map<string, Pending[]>()
      for (const {entry, source: from} of queue) {
        const hash = toHex(entry.hash)
        if (this.#pending.has(hash) || await this.#stored(draft, entry, hash)) continue
        const dep = await this.#missingDep(draft, entry)
        if (dep) {
          const list = waiting.get(dep)
          if (list) list.push({entry, source: from, dep})
          else waiting.set(dep, [{entry, source: from, dep}])
          continue
        }
        const error = await this.#check(draft, entry)
        if (error === 'fork') continue
        if (error) {
          rejected.push({entry, error})
          this.#counts.rejected++
          continue
        }
        await this.#put(draft, entry)
        // Entries that were waiting on this one may go now, in the same batch.
        for (const p of waiting.get(hash) ?? []) queue.push(p)
        waiting.delete(hash)
        for (const h of this.#waiters.get(hash) ?? []) {
          const p = this.#pending.get(h)!
          this.#unpend(h)
          queue.push(p)
        }
      }
      for (const list of waiting.values()) {
        for (const p of list) {
          const hash = toHex(p.entry.hash)
          if (this.#pending.has(hash)) continue
          const mine = this.#pendingBySource.get(p.source)
          const size = p.entry.bytes.length
          const mineBytes = this.#pendingBytesBySource.get(p.source) ?? 0
          // The total is full of other sources' entries: this source is not at fault, so it is refused, not blamed.
          const error = (mine?.size ?? 0) >= this.#maxPending || mineBytes + size > Math.floor(this.#maxPendingBytes / 4)
            ? P2PError.PEER_MISBEHAVING(`more than ${this.#maxPending} entries or ${Math.floor(this.#maxPendingBytes / 4)} bytes waiting for missing links`)
            : this.#pending.size >= this.#maxPendingTotal || this.#pendingBytes + size > this.#maxPendingBytes
              ? P2PError.RATE_LIMITED(`${this.#maxPendingTotal} entries or ${this.#maxPendingBytes} bytes of all sources wait for missing links already`)
              : undefined
          if (error) {
            rejected.push({entry: p.entry, error})
            this.#counts.rejected++
            continue
          }
          this.#pending.set(hash, p)
          if (mine) mine.add(hash)
          else this.#pendingBySource.set(p.source, new Set([hash]))
          this.#pendingBytesBySource.set(p.source, mineBytes + size)
          this.#pendingBytes += size
          const set = this.#waiters.get(p.dep)
          if (set) set.add(hash)
          else this.#waiters.set(p.dep, new Set([hash]))
        }
      }
      if (draft.stored.length > 0 || draft.conflicts.length > 0) await this.#commit(draft)
      const stored = draft.stored.map(s => s.entry)
      this.#counts.verified += stored.length
      if (stored.length > 0) this.emit('update', stored)
      for (const evidence of draft.conflicts) this.emit('conflict', evidence)
      if (needed !== Infinity) throw this.#overQuota(needed, limit)
      return {stored, pending: this.#pending.size, rejected}
    })
  }

  #unpend(hash: string): void {
    const p = this.#pending.get(hash)
    if (!p) return
    this.#pending.delete(hash)
    const set = this.#waiters.get(p.dep)
    set?.delete(hash)
    if (set?.size === 0) this.#waiters.delete(p.dep)
    const mine = this.#pendingBySource.get(p.source)
    mine?.delete(hash)
    if (mine?.size === 0) this.#pendingBySource.delete(p.source)
    const bytes = (this.#pendingBytesBySource.get(p.source) ?? 0) - p.entry.bytes.length
    if (bytes <= 0) this.#pendingBytesBySource.delete(p.source)
    else this.#pendingBytesBySource.set(p.source, bytes)
    this.#pendingBytes -= p.entry.bytes.length
  }

  /**
   * Forgets the entries `source` has waiting: its session ended, so they can
   * never complete from it, and another source sends them again. It takes its
   * turn after the writes before it, so an add of that source still in progress
   * cannot leave entries behind it.
   */
  dropPending(source: string): Promise<void> {
    if (this.#closed) return Promise.resolve()
    return this.#write(async () => {
      for (const hash of [...this.#pendingBySource.get(source) ?? []]) this.#unpend(hash)
    })
  }

  // -- what replication sessions report (replicate.ts) ------------------------

  /** A replication session of this log started: `stats.peers` counts it until `sessionClosed()`. */
  sessionOpened(): void {
    this.#sessions++
  }

  sessionClosed(): void {
    this.#sessions = Math.max(0, this.#sessions - 1)
  }

  /** Fires `progress` on the log, so whoever shows the log hears every session's. */
  sessionProgress(progress: LogProgress & {peer: string}): void {
    this.emit('progress', progress)
  }

  async get(hash: Uint8Array): Promise<Entry | undefined> {
    const hex = toHex(hash)
    const at = (await this.#store.known([hex])).get(hex)?.at
    return at ? this.#fromStored(hash.slice(), (await this.#store.entryAt(at)).bytes) : undefined
  }

  /** Entries in local (causal) order, read from storage as they are yielded. */
  async* entries({since, limit = Infinity, reverse = false, live = false}: LogIteratorOptions = {}): AsyncIterable<{index: number, entry: Entry}> {
    let next = since ?? (reverse ? this.#state.length - 1 : 0)
    let left = limit
    // Set by every update, so one that lands while storage is being read is not missed.
    let dirty = false
    let wake: (() => void) | undefined
    const onChange = (): void => {
      dirty = true
      wake?.()
    }
    this.on('update', onChange)
    this.on('close', onChange)
    try {
      while (left > 0 && !this.#closed && next >= 0) {
        dirty = false
        let yielded = 0
        for (const {index, hash, bytes} of await this.#store.records(next, Math.min(left, READ_CHUNK), reverse)) {
          yield {index, entry: this.#fromStored(hash, bytes)}
          next = reverse ? index - 1 : index + 1
          left--
          yielded++
        }
        if (yielded > 0 || dirty) continue
        if (!live || reverse) break
        await new Promise<void>(resolve => { wake = resolve })
        wake = undefined
      }
    } finally {
      this.off('update', onChange)
      this.off('close', onChange)
    }
  }

  /**
   * Entries the holder of `lengths` lacks, in local order from `cursor`, about
   * `limit` of them: cut where every author's last entry in the answer is signed.
   */
  async missing(lengths: Map<string, number>, limit: number, cursor = 0): Promise<{entries: Entry[], cursor: number}> {
    checkInteger('limit', limit, 1)
    const taken: Entry[] = []
    const open = new Set<string>()
    let good = 0
    let goodCursor = cursor
    // Reads as much as the answer is likely to need at once, and no more than
    // READ_CHUNK: an answer usually ends within a run of its limit.
    const chunk = Math.min(READ_CHUNK, limit + 1)
    for (let next = cursor; good < limit;) {
      const records = await this.#store.records(next, chunk, false)
      for (const {index, hash, bytes} of records) {
        const {author, seq} = entryHeader(bytes)
        if (seq >= (lengths.get(author) ?? 0)) {
          const entry = this.#fromStored(hash, bytes)
          taken.push(entry)
          if (entry.signature) open.delete(author)
          else open.add(author)
        }
        if (open.size === 0) {
          good = taken.length
          goodCursor = index + 1
          if (good >= limit) break
        }
      }
      if (records.length < chunk) break
      next = records[records.length - 1].index + 1
    }
    return {entries: taken.slice(0, good), cursor: goodCursor}
  }

  /**
   * The local index of the author's (hex) entry `seq`, if stored: where
   * `missing()` finds it, so a sender asked for an author from `seq` starts
   * there rather than at the start of the log.
   */
  async indexOf(author: string, seq: number): Promise<number | undefined> {
    await this.ready()
    if (seq >= (this.#state.lengths[author] ?? 0)) return undefined
    const row = await this.#store.authorRow(author, seq)
    return row && row.at.block + row.at.row
  }

  async forks(): Promise<ForkEvidence[]> {
    const out: ForkEvidence[] = []
    for await (const value of this.#db.values({gte: 'f!', lt: 'f"'})) out.push(decodeFork(value))
    return out
  }

  /**
   * Replicates this log live, both ways: with every connected peer of `swarm`
   * that holds it, now and as peers connect (`attachLog`; `detach()` ends it),
   * or with one connected `peer` whose key is proven (a `LogPeer`; `destroy()`
   * ends it). A peer that breaks the protocol or sends forged entries loses its
   * connection. docs/log.md, "Replication".
   */
  replicate(swarm: ProtocolSwarm, options?: AttachLogOptions): AttachedLog
  replicate(peer: ProtocolPeer, options?: AttachLogOptions): LogPeer
  replicate(target: ProtocolSwarm | ProtocolPeer, options: AttachLogOptions = {}): AttachedLog | LogPeer {
    if (this.#closed) throw P2PError.DESTROYED('the log is closed')
    const bound = {maxValueBytes: this.#maxValueBytes, ...options}
    return 'peers' in target ? attachLog(this, target, bound) : replicatePeer(this, target, bound)
  }

  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    clearTimeout(this.#probe?.timer)
    this.#probe = undefined
    await this.#queue.catch(() => undefined)
    this.#pending.clear()
    this.#pendingBySource.clear()
    this.#pendingBytesBySource.clear()
    this.#pendingBytes = 0
    this.#waiters.clear()
    this.emit('close')
  }

  // -- writing --------------------------------------------------------------

  #write<T>(job: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(() => this.ready()).then(job)
    this.#queue = run.catch(() => undefined)
    return run
  }

  #draft(incoming: Entry[] = []): Draft {
    const state = structuredClone(this.#state)
    state.persisted = this.#persisted
    const given = new Map(incoming.map(e => [`${toHex(e.author)}!${e.seq}`, e]))
    return {state, ops: [], known: new Map(), stored: [], byAuthor: new Map(), incoming: given, conflicts: []}
  }

  async #known(draft: Draft, hash: string): Promise<Known | undefined> {
    if (!draft.known.has(hash)) await this.#prefetch(draft, [hash])
    return draft.known.get(hash) ?? undefined
  }

  /** Reads what the store holds of `hashes` (hex) into the draft, in one lookup. */
  async #prefetch(draft: Draft, hashes: string[]): Promise<void> {
    const wanted = [...new Set(hashes)].filter(h => !draft.known.has(h))
    if (wanted.length === 0) return
    const found = await this.#store.known(wanted)
    for (const hash of wanted) draft.known.set(hash, found.get(hash) ?? null)
  }

  /**
   * Whether `entry` (hash `hash`) is stored already. Stored seqs of an author
   * are 0 … length - 1, so an entry past them is not, without a lookup; one
   * within them is, if the author's entry there has its hash (else it forks).
   */
  async #stored(draft: Draft, entry: Entry, hash: string): Promise<boolean> {
    const author = toHex(entry.author)
    if (entry.seq >= (draft.state.lengths[author] ?? 0)) return false
    if (draft.known.get(hash) || this.#store.recent(hash)) return true
    const there = draft.byAuthor.get(`${author}!${entry.seq}`)?.hash ?? (await this.#store.authorRow(author, entry.seq))?.hash
    return there !== undefined && equal(there, entry.hash)
  }

  /** The first prev or link of `entry` stored neither before nor in this draft. */
  async #missingDep(draft: Draft, entry: Entry): Promise<string | undefined> {
    for (const dep of entry.prev ? [entry.prev, ...entry.links] : entry.links) {
      const hex = toHex(dep)
      if (!await this.#known(draft, hex)) return hex
    }
    return undefined
  }

  /** Why `entry` may not be stored, or undefined; a fork is recorded in the draft on the way. */
  async #check(draft: Draft, entry: Entry): Promise<P2PError | 'fork' | undefined> {
    const {state} = draft
    const author = toHex(entry.author)
    const frozenAt = state.frozen[author]
    if (frozenAt !== undefined && entry.seq >= frozenAt) return P2PError.AUTHOR_FROZEN(`author ${author.slice(0, 8)} forked at seq ${frozenAt}`)
    if (entry.prev) {
      const prev = await this.#known(draft, toHex(entry.prev))
      if (!prev || prev.author !== author || prev.seq !== entry.seq - 1) return P2PError.HASH_MISMATCH('prev is not the author\'s previous entry')
    }
    const length = state.lengths[author] ?? 0
    if (entry.seq < length) {
      await this.#fork(draft, entry)
      return 'fork'
    }
    if (entry.seq > length) return P2PError.HASH_MISMATCH('an entry ahead of its author\'s stored entries')
    const isOwner = author === this.address
    if (entry.kind === EntryKind.Init ? !isOwner || entry.seq !== 0 : isOwner && entry.seq === 0) {
      return P2PError.NOT_A_WRITER('a log begins with its owner\'s Init, and has one')
    }
    if ((entry.kind === EntryKind.Admit || entry.kind === EntryKind.Remove) && !isOwner) {
      return P2PError.NOT_A_WRITER('only the owner admits and removes writers')
    }
    if (!isOwner && !this.#isWriter(state, author, await this.#ownerSeen(draft, entry))) {
      return P2PError.NOT_A_WRITER(`author ${author.slice(0, 8)} was not admitted in the entry's causal past`)
    }
    return undefined
  }

  async #ownerSeen(draft: Draft, entry: Entry): Promise<number> {
    if (toHex(entry.author) === this.address) return entry.seq + 1
    let seen = 0
    for (const dep of entry.prev ? [entry.prev, ...entry.links] : entry.links) {
      seen = Math.max(seen, (await this.#known(draft, toHex(dep)))?.ownerSeen ?? 0)
    }
    return seen
  }

  /** Whether `author` may write in an entry that has seen `ownerSeen` of the owner's entries. */
  #isWriter(state: LogState, author: string, ownerSeen: number): boolean {
    if (author === this.address) return true
    let admitted = state.open && ownerSeen > 0
    for (const {seq, admit, key} of state.control) {
      if (seq < ownerSeen && key === author) admitted = admit
    }
    return admitted
  }

  async #put(draft: Draft, entry: Entry): Promise<void> {
    const {state} = draft
    const author = toHex(entry.author)
    const hash = toHex(entry.hash)
    const ownerSeen = await this.#ownerSeen(draft, entry)
    const known: Known = {author, seq: entry.seq, ownerSeen}
    draft.known.set(hash, known)
    draft.stored.push({entry, known})
    draft.byAuthor.set(`${author}!${entry.seq}`, entry)
    const covered = new Set([...entry.links, ...(entry.prev ? [entry.prev] : [])].map(toHex))
    // Sorted once, when the write is committed.
    if (covered.size > 0) state.heads = state.heads.filter(h => !covered.has(h))
    state.heads.push(hash)
    state.lengths[author] = entry.seq + 1
    state.length++
    state.bytes += entry.bytes.length
    if (author === this.address) {
      if (entry.kind === EntryKind.Init) state.open = (entry.value[0] & 1) === 1
      if (entry.kind === EntryKind.Admit || entry.kind === EntryKind.Remove) {
        state.control.push({seq: entry.seq, admit: entry.kind === EntryKind.Admit, key: toHex(entry.value)})
      }
    }
  }

  /** A second entry at a stored (author, seq): both runs kept as evidence, the author frozen from there. */
  async #fork(draft: Draft, entry: Entry): Promise<void> {
    const author = toHex(entry.author)
    const stored: Uint8Array[] = []
    for (let seq = entry.seq; seq < (draft.state.lengths[author] ?? 0); seq++) {
      const inDraft = draft.byAuthor.get(`${author}!${seq}`)
      const bytes = inDraft?.bytes ?? (await this.#store.entryAt((await this.#store.authorRow(author, seq))!.at)).bytes
      stored.push(bytes)
      if ((inDraft ?? this.#decode(bytes)).signature) break
    }
    const forked = [entry.bytes]
    for (let e: Entry | undefined = entry; e && !e.signature;) {
      const next = draft.incoming.get(`${author}!${e.seq + 1}`)
      e = next?.prev && equal(next.prev, e.hash) ? next : undefined
      if (e) forked.push(e.bytes)
    }
    const evidence: ForkEvidence = {author: entry.author, seq: entry.seq, runs: [stored, forked]}
    draft.state.frozen[author] = Math.min(draft.state.frozen[author] ?? Infinity, entry.seq)
    draft.ops.push({type: 'put', key: forkKey(author), value: encodeFork(evidence)})
    draft.conflicts.push(evidence)
  }

  async #commit(draft: Draft, options: WriteOptions = {}): Promise<void> {
    // The write's entries in blocks, its authors' records and its run of the hash index: a few records, not one per entry.
    draft.state.heads.sort()
    const write = await this.#store.write(draft.stored, draft.state.length - draft.stored.length, draft.state)
    try {
      await this.#db.batch([...draft.ops, ...write.ops, {type: 'put', key: STATE_KEY, value: encodeState(draft.state)}], options)
    } catch (err) {
      const error = isQuotaError(err) ? P2PError.STORAGE_FULL('no room to store log entries', err) : toP2PError(err, 'ERR_STORAGE_FULL')
      this.#counts.paused = isQuotaError(err)
      if (this.#counts.paused) this.#probeSoon()
      this.emit('error', error)
      throw error
    }
    write.commit()
    this.#state = draft.state
    this.#resumed()
  }

  /** Storage is full: try a small write (the state record, as it is) later, and again less often, until one succeeds. */
  #probeSoon(): void {
    if (this.#closed || this.#probe?.timer !== undefined) return
    const delay = this.#probe ? Math.min(this.#probe.delay * 2, MAX_FULL_RETRY_MS) : this.#fullRetryMs
    const probe = this.#probe = {delay, timer: undefined as ReturnType<typeof setTimeout> | undefined}
    probe.timer = setTimeout(() => {
      probe.timer = undefined
      if (this.#probe !== probe || !this.#counts.paused) return
      this.#write(() => this.#db.batch([{type: 'put', key: STATE_KEY, value: encodeState(this.#state)}])).then(() => this.#resumed(), err => {
        if (!isQuotaError(err)) {
          if (!this.#closed) this.emit('error', toP2PError(err, 'ERR_STORAGE_FULL'))
        } else if (this.#probe === probe) {
          this.#probeSoon()
        }
      })
    }, delay)
    // In Node, a log waiting for room keeps no process alive.
    ;(probe.timer as {unref?: () => void}).unref?.()
  }

  /**
   * What of a received batch the quota (`maxBytes`) lets in: all of it while
   * the log holds less than the quota, none once it holds that much. A batch
   * is not cut: in transit an author's run carries one signature, at its end,
   * and an entry stored without its signed successor could be served to
   * nobody. So a log stops at most one batch (a message, 256 KiB at most) past
   * its quota.
   */
  #withinQuota(entries: Entry[]): {within: Entry[], needed: number, limit: number} {
    const limit = this.#maxBytes()
    if (this.#state.bytes < limit || entries.length === 0) return {within: entries, needed: Infinity, limit}
    return {within: [], needed: this.#state.bytes + entries[0].bytes.length, limit}
  }

  /** The log stopped growing at its quota: said once (a remote's batches in flight are refused alike). */
  #overQuota(needed: number, limit: number): P2PError {
    const error = P2PError.STORAGE_FULL(`this log's quota is ${limit} bytes; it would need ${needed}: it stores no more`)
    if (!this.#counts.overQuota) {
      this.#counts.overQuota = true
      this.emit('error', error)
    }
    return error
  }

  /**
   * Asks the quota again (`maxBytes` grew, or another log's share shrank): if
   * the log is over it no longer, it fires `resume`, and replication asks for
   * what it refused.
   */
  recheckQuota(): void {
    if (!this.#counts.overQuota || this.#closed || this.#state.bytes >= this.#maxBytes()) return
    this.#counts.overQuota = false
    this.emit('resume')
  }

  /** A write succeeded: if storage was full, it has room now. */
  #resumed(): void {
    if (!this.#counts.paused) return
    this.#counts.paused = false
    clearTimeout(this.#probe?.timer)
    this.#probe = undefined
    this.emit('resume')
  }

  #decode(bytes: Uint8Array): ReturnType<typeof decodeEntry> {
    return decodeEntry(bytes, {maxValueBytes: this.#maxValueBytes})
  }

  #fromStored(hash: Uint8Array, bytes: Uint8Array): Entry {
    return {...this.#decode(bytes), hash, bytes}
  }

  /** Asked once, when this page has written to the log: the browser may then keep the log through storage pressure. */
  #askPersist(): void {
    if (this.#persistAsked || this.#persisted === true) return
    this.#persistAsked = true
    const storage = (globalThis as {navigator?: {storage?: {persist?: () => Promise<boolean>}}}).navigator?.storage
    if (!storage?.persist) return
    storage.persist().then(granted => {
      this.#persisted = granted
    }, () => undefined)
  }
}
