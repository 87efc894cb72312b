/**
 * One replication session of one log with one peer, over one mux channel
 * (docs/log.md, "Replication"). Each side sends its vector (HAVE), streams what
 * the other lacks in causal order (ENTRIES, at most ENTRIES_WINDOW messages
 * unacknowledged), then keeps pushing what it stores, from any source, that the
 * other does not have. Received entries are authenticated one author run at a
 * time (one signature per run) before the log sees them.
 */
import {Emitter} from '../emitter.js'
import {P2PError, toP2PError} from '../errors.js'
import {checkInteger} from '../check.js'
import {equal, toHex} from '../bytes.js'
import type {Channel, ChannelHandlers} from '../mux/mux.js'
import {authenticateRun, decodeEntry, type DecodedEntry, type Entry} from './entry.js'
import {MAX_RUN, type AddResult} from './log.js'
import type {ForkEvidence} from './store.js'
import {
  ENTRIES_WINDOW, LogMessageType, MAX_ENTRIES, MAX_ENTRIES_BYTES, decodeLogMessage, encodeAck, encodeEntries, encodeFork,
  encodeHaves, maxEntryBytes, type LogMessage,
} from './messages.js'

/** What a session needs of a Log (a `Log` fits). */
export interface ReplicaLog {
  readonly key: Uint8Array
  readonly length: number
  ready(): Promise<void>
  lengths(): Map<string, number>
  get(hash: Uint8Array): Promise<Entry | undefined>
  add(entries: Entry[], source: string): Promise<AddResult>
  missing(lengths: Map<string, number>, limit: number, cursor?: number): Promise<{entries: Entry[], cursor: number}>
  forks(): Promise<ForkEvidence[]>
  /** Forgets what `source` has waiting: called when its session ends. */
  dropPending(source: string): Promise<void>
  /** `stats.peers` and the log's `progress` event (see Log). */
  sessionOpened(): void
  sessionClosed(): void
  sessionProgress(progress: LogProgress & {peer: string}): void
  on(event: 'update', listener: (entries: Entry[]) => void): unknown
  on(event: 'conflict', listener: (evidence: ForkEvidence) => void): unknown
  off(event: 'update', listener: (entries: Entry[]) => void): unknown
  off(event: 'conflict', listener: (evidence: ForkEvidence) => void): unknown
}

export interface LogPeerOptions {
  log: ReplicaLog
  /** Opens the session's mux channel with these handlers. */
  open(handlers: ChannelHandlers): Channel
  /**
   * Who the remote is (its public key): the log counts its waiting entries
   * under it, drops them when the session ends, and names it in `progress`.
   */
  source: string
  /** The log's bound on a value; entries past it are refused from their length. */
  maxValueBytes?: number
}

export interface LogProgress {
  /** Entries we hold. */
  local: number
  /** Entries the remote holds, as far as we know. */
  remote: number
  /** Entries the remote holds that we do not. */
  behind: number
}

export type LogPeerEvents = {
  progress: (progress: LogProgress) => void
  error: (err: P2PError) => void
  /** The session ended; `err` when the remote broke the protocol or storage failed. */
  close: (err?: P2PError) => void
}

/** Codes that are the remote's fault when the log refuses an entry it sent. */
const REMOTE_FAULTS = new Set(['ERR_NOT_A_WRITER', 'ERR_HASH_MISMATCH', 'ERR_INVALID_SIGNATURE', 'ERR_MALFORMED_MESSAGE', 'ERR_PEER_MISBEHAVING'])

/**
 * Useless work a session takes from its remote before dropping it: entries the
 * remote knew we held, FORKs that record nothing, HAVE vectors the protocol
 * does not call for. docs/log.md ("Useless work") says why an honest remote
 * stays under each: it never sends the first or the last (beyond what these
 * allow for), and FORKs it sends are bounded by the forks we know.
 */
export const USELESS_ENTRIES = MAX_ENTRIES
export const USELESS_FORKS = 16
export const USELESS_VECTORS = 2
/** HAVE messages in one vector: MAX_REMOTE_AUTHORS in full HAVEs. */
const VECTOR_MESSAGES = 16

/**
 * HAVE and FORK messages waiting to be handled: an honest remote sends a few
 * HAVEs and its forks at the start, then a FORK now and then.
 */
export const MAX_QUEUED_OTHERS = 64
/** Authors a remote may claim: past it, its vector costs us more than any log here would. */
export const MAX_REMOTE_AUTHORS = 65_536

export class LogPeer extends Emitter<LogPeerEvents> {
  readonly #log: ReplicaLog
  readonly #channel: Channel
  readonly #source: string
  readonly #maxEntryBytes: number
  readonly #maxValueBytes: number | undefined
  /** What the remote holds, per author: what it said, what we sent, what it sent us. */
  readonly #remote = new Map<string, number>()
  #remoteComplete = false
  /** Received messages wait here to be handled one at a time, in order. */
  readonly #inbox: LogMessage[] = []
  #entriesQueued = 0
  #othersQueued = 0
  /** A received batch could not be stored (storage full): the remote must send it again. */
  #lost = false
  #handling = false
  /** Our ENTRIES messages the remote has not acknowledged. */
  #inFlight = 0
  #windowOpen: (() => void) | undefined
  #cursor = 0
  /** Per author, unsigned entries received after its last signed one: they wait for the next. */
  readonly #carry = new Map<string, DecodedEntry[]>()
  #carryBytes = 0
  /** One longest run's worth: the most an honest sender makes us hold. */
  readonly #maxCarryBytes: number
  #pumping = false
  #dirty = false
  #destroyed = false
  /** Settles once our vector and forks are sent (it never rejects: a failure ends the session). */
  readonly #started: Promise<void>
  /**
   * What the remote knows we hold, per author: the vector we sent it and what
   * it sent us. An honest remote never sends an entry below it (it sends each
   * once, and only what it does not know we have).
   */
  readonly #theyKnow = new Map<string, number>()
  /** Rewind vectors we sent: each lets the remote send again what was in flight (ENTRIES_WINDOW messages). */
  #rewinds = 0
  /** The remote's HAVE vectors begun, HAVEs in the current one, and our ENTRIES it acknowledged since. */
  #vectors = 0
  #vectorMessages = 0
  #vectorOpen = false
  #acksSinceVector = 0
  /** Forks we know of (stored at the start, found since): an honest remote's FORKs that tell us nothing are bounded by them. */
  #forksKnown = 0
  #conflicts = 0
  /** The last progress reported: what the session's end takes back. */
  #reported: LogProgress | undefined
  readonly stats = {
    messagesIn: 0, messagesOut: 0, entriesIn: 0, entriesOut: 0, stored: 0,
    /** Useless work taken from the remote (see USELESS_ENTRIES): past its bound the remote is dropped. */
    uselessEntries: 0, uselessForks: 0, uselessVectors: 0,
  }

  constructor({log, open, source, maxValueBytes}: LogPeerOptions) {
    super()
    if (maxValueBytes !== undefined) checkInteger('maxValueBytes', maxValueBytes, 1)
    this.#log = log
    this.#source = source
    this.#maxValueBytes = maxValueBytes
    this.#maxEntryBytes = maxEntryBytes(maxValueBytes)
    this.#maxCarryBytes = MAX_RUN * this.#maxEntryBytes
    this.#channel = open({onmessage: this.#onmessage, onclose: this.#onclose})
    log.sessionOpened()
    this.#started = this.#start()
  }

  get destroyed(): boolean {
    return this.#destroyed
  }

  /** What we know the remote holds, per author (a copy). */
  remoteLengths(): Map<string, number> {
    return new Map(this.#remote)
  }

  /** Ends the session; idempotent. An error is what the caller drops the peer for. */
  destroy(err?: P2PError): void {
    if (this.#destroyed) return
    this.#destroyed = true
    this.#log.off('update', this.#onupdate)
    this.#log.off('conflict', this.#onconflict)
    this.#log.sessionClosed()
    // Nothing more comes from this remote: its peer is behind by nothing, or a page would show it behind for ever.
    if (this.#reported && this.#reported.behind > 0) {
      this.#log.sessionProgress({local: this.#log.length, remote: this.#reported.remote, behind: 0, peer: this.#source})
    }
    // Nothing is lost by it failing: the log cannot write then, and close() drops every waiting entry.
    this.#log.dropPending(this.#source).catch(() => undefined)
    this.#inbox.length = 0
    this.#windowOpen?.()
    try {
      this.#channel.close()
    } catch {
      // Already closed with its mux: nothing left to close.
    }
    if (err) this.emit('error', err)
    this.emit('close', err)
    this.removeAllListeners()
  }

  async #start(): Promise<void> {
    try {
      await this.#log.ready()
      if (this.#destroyed) return
      this.#log.on('update', this.#onupdate)
      this.#log.on('conflict', this.#onconflict)
      this.#tell()
      const forks = await this.#log.forks()
      this.#forksKnown += forks.length
      for (const evidence of forks) this.#send(encodeFork(evidence.runs[0], evidence.runs[1], this.#maxEntryBytes))
    } catch (err) {
      this.#fail(err)
    }
  }

  /** Sends our vector (a rewind replaces what the remote believes we hold); the remote knows that much from now on. */
  #tell(rewind = false): void {
    const lengths = this.#log.lengths()
    if (rewind) {
      this.#theyKnow.clear()
      this.#rewinds++
    }
    for (const [author, length] of lengths) this.#theyKnow.set(author, Math.max(length, this.#theyKnow.get(author) ?? 0))
    for (const have of encodeHaves(lengths, {rewind})) this.#send(have)
  }

  #send(bytes: Uint8Array): void {
    if (this.#destroyed) return
    this.stats.messagesOut++
    this.#channel.send(bytes)
  }

  /** A local failure (storage) ends the session without blaming the remote. */
  #fail(err: unknown): void {
    this.destroy(toP2PError(err))
  }

  readonly #onclose = (): void => {
    this.destroy()
  }

  readonly #onmessage = (bytes: Uint8Array): void => {
    if (this.#destroyed) return
    this.stats.messagesIn++
    let message: LogMessage
    try {
      message = decodeLogMessage(bytes, {maxEntryBytes: this.#maxEntryBytes})
    } catch (err) {
      this.destroy(toP2PError(err, 'ERR_MALFORMED_MESSAGE'))
      return
    }
    if (message.type === LogMessageType.ACK) {
      if (this.#inFlight === 0) {
        this.destroy(P2PError.PEER_MISBEHAVING('log: ACK for no ENTRIES'))
        return
      }
      this.#inFlight--
      this.#acksSinceVector++
      this.#windowOpen?.()
      return
    }
    if (message.type === LogMessageType.ENTRIES && ++this.#entriesQueued > ENTRIES_WINDOW) {
      this.destroy(P2PError.PEER_MISBEHAVING(`log: more than ${ENTRIES_WINDOW} ENTRIES unacknowledged`))
      return
    }
    if (message.type !== LogMessageType.ENTRIES && ++this.#othersQueued > MAX_QUEUED_OTHERS) {
      this.destroy(P2PError.PEER_MISBEHAVING(`log: more than ${MAX_QUEUED_OTHERS} HAVE and FORK messages waiting`))
      return
    }
    this.#inbox.push(message)
    if (!this.#handling) void this.#drain()
  }

  async #drain(): Promise<void> {
    this.#handling = true
    try {
      for (let message = this.#inbox.shift(); message && !this.#destroyed; message = this.#inbox.shift()) {
        if (message.type !== LogMessageType.ENTRIES) this.#othersQueued--
        await this.#handle(message)
      }
    } catch (err) {
      if (!this.#destroyed) this.destroy(toP2PError(err))
    } finally {
      this.#handling = false
    }
  }

  async #handle(message: LogMessage): Promise<void> {
    switch (message.type) {
      case LogMessageType.HAVE:
        this.#countVector(message.rewind)
        if (message.last) this.#vectorOpen = false
        if (message.rewind) {
          // The remote lost what we sent it (its store was full): believe its vector and stream again.
          this.#remote.clear()
          this.#cursor = 0
          this.#schedule()
        }
        for (const [author, length] of message.lengths) this.#heard(author, length)
        if (message.last && !this.#remoteComplete) {
          this.#remoteComplete = true
          this.#schedule()
        }
        this.#progress()
        return
      case LogMessageType.ENTRIES:
        try {
          await this.#receive(message.entries)
        } catch (err) {
          if ((err as P2PError).code !== 'ERR_STORAGE_FULL') throw err
          // Nothing of the batch was written; the remote sends it again once we can store (see #onupdate).
          this.#forget()
        }
        this.#entriesQueued--
        this.#send(encodeAck())
        this.#progress()
        return
      case LogMessageType.FORK:
        await this.#receiveFork(message.a, message.b)
        return
    }
  }

  /** Entries the remote sent are lost to us: ask for them again (a rewind) after the next write. */
  #forget(): void {
    this.#lost = true
    // What waited for a signature is sent again too: keeping it would meet its own copy.
    this.#carry.clear()
    this.#carryBytes = 0
  }

  /**
   * A HAVE that begins a vector is needed at the start and, as a rewind, after
   * the remote lost ENTRIES we sent (it acknowledges those before it rewinds);
   * a vector is at most VECTOR_MESSAGES HAVEs. Anything more is useless.
   */
  #countVector(rewind: boolean): void {
    if (this.#vectorOpen) {
      if (++this.#vectorMessages > VECTOR_MESSAGES) this.#useless('uselessVectors', 1)
      return
    }
    this.#vectorOpen = true
    this.#vectorMessages = 1
    const needed = this.#vectors === 0 || (rewind && this.#acksSinceVector > 0)
    this.#vectors++
    this.#acksSinceVector = 0
    if (!needed) this.#useless('uselessVectors', 1)
  }

  #useless(kind: 'uselessEntries' | 'uselessForks' | 'uselessVectors', n: number): void {
    this.stats[kind] += n
    const bound = kind === 'uselessEntries' ? USELESS_ENTRIES + this.#rewinds * ENTRIES_WINDOW * MAX_ENTRIES
      : kind === 'uselessForks' ? USELESS_FORKS + 2 * this.#forksKnown
        : USELESS_VECTORS
    if (this.stats[kind] > bound) {
      throw P2PError.PEER_MISBEHAVING(`log: ${this.stats[kind]} ${kind === 'uselessEntries' ? 'entries we held' : kind === 'uselessForks' ? 'FORKs that told us nothing' : 'HAVE vectors not called for'}, more than ${bound}`)
    }
  }

  #heard(author: string, length: number): void {
    if (length <= (this.#remote.get(author) ?? 0)) return
    if (!this.#remote.has(author) && this.#remote.size >= MAX_REMOTE_AUTHORS) {
      throw P2PError.PEER_MISBEHAVING(`log: more than ${MAX_REMOTE_AUTHORS} authors`)
    }
    this.#remote.set(author, length)
  }

  #decode(bytes: Uint8Array): DecodedEntry {
    return decodeEntry(bytes, {maxValueBytes: this.#maxValueBytes})
  }

  /**
   * Authenticates every author's run of a message, up to its last signed entry,
   * and hands them to the log in one batch; the unsigned entries after it wait
   * for the signed one that vouches for them, in the next messages.
   */
  async #receive(list: Uint8Array[]): Promise<void> {
    this.stats.entriesIn += list.length
    const runs = new Map<string, DecodedEntry[]>()
    let known = 0
    for (const bytes of list) {
      const entry = this.#decode(bytes)
      const author = toHex(entry.author)
      if (entry.seq < (this.#theyKnow.get(author) ?? 0)) known++
      const run = runs.get(author) ?? this.#takeCarry(author)
      if (!runs.has(author)) runs.set(author, run)
      run.push(entry)
    }
    // Counted before any is authenticated: that is the work a replay would cost.
    if (known > 0) this.#useless('uselessEntries', known)
    const entries: Entry[] = []
    for (const [author, run] of runs) {
      // Delivery order within a message is not trusted, only the chain is.
      run.sort((a, b) => a.seq - b.seq)
      this.#heard(author, run[run.length - 1].seq + 1)
      this.#theyKnow.set(author, Math.max(run[run.length - 1].seq + 1, this.#theyKnow.get(author) ?? 0))
      let signed = run.length - 1
      while (signed >= 0 && run[signed].signature === null) signed--
      const tail = run.slice(signed + 1)
      if (tail.length > MAX_RUN) throw P2PError.MALFORMED_MESSAGE(`log: more than ${MAX_RUN} unsigned entries in a row`)
      if (tail.length > 0) this.#carry.set(author, tail)
      for (const entry of tail) this.#carryBytes += entry.bytes.length
      if (this.#carryBytes > this.#maxCarryBytes) {
        throw P2PError.PEER_MISBEHAVING(`log: more than ${this.#maxCarryBytes} bytes of entries waiting for a signature`)
      }
      if (signed < 0) continue
      const head = run.slice(0, signed + 1)
      await this.#checkFirstPrev(head[0])
      entries.push(...await authenticateRun(this.#log.key, head))
    }
    if (this.#destroyed || entries.length === 0) return
    const result = await this.#log.add(entries, this.#source)
    this.stats.stored += result.stored.length
    const fault = result.rejected.find(r => REMOTE_FAULTS.has(r.error.code))
    if (fault) throw fault.error
    // The log's pending buffer is full of other sources' entries: these are asked for again, and counted.
    const refused = result.rejected.filter(r => r.error.code === 'ERR_RATE_LIMITED').length
    if (refused > 0) {
      this.#forget()
      this.#useless('uselessEntries', refused)
    }
  }

  #takeCarry(author: string): DecodedEntry[] {
    const carried = this.#carry.get(author)
    if (!carried) return []
    this.#carry.delete(author)
    for (const entry of carried) this.#carryBytes -= entry.bytes.length
    return carried
  }

  /** A run's first prev, when we hold its author's entry before it, must be that entry's hash. */
  async #checkFirstPrev(first: DecodedEntry): Promise<void> {
    if (first.seq === 0 || first.seq > (this.#log.lengths().get(toHex(first.author)) ?? 0)) return
    const prev = await this.#log.get(first.prev!)
    if (!prev || prev.seq !== first.seq - 1 || !equal(prev.author, first.author)) {
      throw P2PError.HASH_MISMATCH(`log: entry ${first.seq} does not follow its author's entry ${first.seq - 1}`)
    }
  }

  /** Both sides of a fork, authenticated, go to the log, which records the fork as if it found it. */
  async #receiveFork(a: Uint8Array[], b: Uint8Array[]): Promise<void> {
    // The forks we hold are counted at the start: a FORK judged before that would meet a budget without them.
    await this.#started
    const [runA, runB] = [a.map(bytes => this.#decode(bytes)), b.map(bytes => this.#decode(bytes))]
    if (!equal(runA[0].author, runB[0].author) || runA[0].seq !== runB[0].seq || equal(runA[0].bytes, runB[0].bytes)) {
      throw P2PError.MALFORMED_MESSAGE('log: FORK sides are not two entries of one author at one seq')
    }
    const sides = [await authenticateRun(this.#log.key, runA), await authenticateRun(this.#log.key, runB)]
    if (equal(sides[0][0].hash, sides[1][0].hash)) throw P2PError.MALFORMED_MESSAGE('log: FORK sides are one entry')
    if (this.#destroyed) return
    const conflicts = this.#conflicts
    const result = await this.#log.add([...sides[0], ...sides[1]], this.#source)
    const fault = result.rejected.find(r => REMOTE_FAULTS.has(r.error.code))
    if (fault) throw fault.error
    // Evidence we held already, or that freezes nothing (its author frozen lower, its entries waiting).
    if (this.#conflicts === conflicts) this.#useless('uselessForks', 1)
  }

  readonly #onupdate = (): void => {
    if (this.#lost) {
      // A write succeeded: there is room again, so ask for what could not be stored.
      this.#lost = false
      this.#tell(true)
    }
    this.#schedule()
  }

  readonly #onconflict = (evidence: ForkEvidence): void => {
    if (this.#destroyed) return
    this.#conflicts++
    this.#forksKnown++
    try {
      this.#send(encodeFork(evidence.runs[0], evidence.runs[1], this.#maxEntryBytes))
    } catch (err) {
      this.#fail(err)
    }
  }

  /** Streams what the remote lacks once its vector is known; stored entries wake it again. */
  #schedule(): void {
    this.#dirty = true
    if (this.#pumping || !this.#remoteComplete || this.#destroyed) return
    this.#pumping = true
    void this.#pump().finally(() => {
      this.#pumping = false
    })
  }

  async #pump(): Promise<void> {
    try {
      while (this.#dirty && !this.#destroyed) {
        this.#dirty = false
        for (;;) {
          const {entries, cursor} = await this.#log.missing(new Map(this.#remote), MAX_ENTRIES, this.#cursor)
          if (this.#destroyed || entries.length === 0) break
          this.#cursor = cursor
          const fresh = entries.filter(e => e.seq >= (this.#remote.get(toHex(e.author)) ?? 0))
          for (const batch of batches(fresh)) {
            while (this.#inFlight >= ENTRIES_WINDOW && !this.#destroyed) {
              await new Promise<void>(resolve => { this.#windowOpen = resolve })
            }
            await this.#channel.ready()
            if (this.#destroyed) return
            // Our own authors, not the remote's claims: no bound to check.
            for (const e of batch) this.#remote.set(toHex(e.author), Math.max(this.#remote.get(toHex(e.author)) ?? 0, e.seq + 1))
            this.#inFlight++
            this.stats.entriesOut += batch.length
            this.#send(encodeEntries(batch.map(e => e.bytes), this.#maxEntryBytes))
          }
        }
      }
    } catch (err) {
      this.#fail(err)
    }
  }

  #progress(): void {
    if (this.#destroyed) return
    const local = this.#log.lengths()
    let remote = 0
    let behind = 0
    for (const [author, length] of this.#remote) {
      remote += length
      behind += Math.max(0, length - (local.get(author) ?? 0))
    }
    const progress = {local: this.#log.length, remote, behind}
    this.#reported = progress
    this.emit('progress', progress)
    this.#log.sessionProgress({...progress, peer: this.#source})
  }
}

/**
 * Entries cut into ENTRIES messages, in order. A cut falls where every author's
 * last entry so far is signed when the message has such a place, so most
 * messages authenticate alone; a run longer than a message is cut where the
 * message is full, and the receiver holds its head until the signed entry comes.
 */
function batches(entries: Entry[]): Entry[][] {
  const out: Entry[][] = []
  let start = 0
  let bytes = 0
  let safe = 0
  const open = new Set<string>()
  for (let i = 0; i < entries.length; i++) {
    const entry = entries[i]
    while (i > start && (i - start >= MAX_ENTRIES || bytes + entry.bytes.length > MAX_ENTRIES_BYTES)) {
      const cut = safe > start ? safe : i
      out.push(entries.slice(start, cut))
      bytes = 0
      for (let j = cut; j < i; j++) bytes += entries[j].bytes.length
      start = cut
    }
    bytes += entry.bytes.length
    const author = toHex(entry.author)
    if (entry.signature) open.delete(author)
    else open.add(author)
    if (open.size === 0) safe = i + 1
  }
  if (start < entries.length) out.push(entries.slice(start))
  return out
}
