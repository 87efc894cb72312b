/**
 * One replication session of one log with one peer, over one mux channel
 * (docs/log.md, "Replication"). Each side sends its vector (HAVE), streams what
 * the other lacks in causal order (ENTRIES, at most ENTRIES_WINDOW messages
 * unacknowledged), then keeps pushing what it stores, from any source, that the
 * other does not have, except the authors the other pruned: of those it sends
 * only how far they have grown (NOTE), until asked to push them again
 * (REQUEST). Received entries are authenticated one author run at a time (one
 * signature per run) before the log sees them.
 *
 * The sessions of one log share a `Mesh`: per author, the one session that is
 * its upstream (the first to deliver it, or the one asked); the others are
 * pruned, so in a mesh each entry arrives about once instead of once per
 * neighbour (as scuttlebutt's epidemic broadcast trees do per feed).
 */
import {createDebug, shortId} from '../debug.js'
import {Emitter} from '../emitter.js'
import {P2PError, toP2PError} from '../errors.js'
import {checkInteger} from '../check.js'
import {equal, toHex} from '../bytes.js'
import {systemClock, type Clock} from '../clock.js'
import type {Channel, ChannelHandlers} from '../mux/mux.js'
import {MAX_RUN, authenticateRun, decodeEntry, type DecodedEntry, type Entry} from './entry.js'
import type {AddResult} from './log.js'
import type {ForkEvidence} from './store.js'
import {
  ENTRIES_WINDOW, LogMessageType, MAX_ENTRIES, MAX_ENTRIES_BYTES, MAX_HAVE_AUTHORS, decodeLogMessage, encodeAck, encodeEntries,
  encodeFork, encodeHaves, encodeNote, encodePrune, encodeRequest, maxEntryBytes, type LogMessage,
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
  /** The local index (the cursor of `missing`) of the author's entry `seq`, if stored. */
  indexOf(author: string, seq: number): Promise<number | undefined>
  forks(): Promise<ForkEvidence[]>
  /** Forgets what `source` has waiting: called when its session ends. */
  dropPending(source: string): Promise<void>
  /** `stats.peers` and the log's `progress` event (see Log). */
  sessionOpened(): void
  sessionClosed(): void
  sessionProgress(progress: LogProgress & {peer: string}): void
  on(event: 'update', listener: (entries: Entry[]) => void): unknown
  on(event: 'conflict', listener: (evidence: ForkEvidence) => void): unknown
  on(event: 'resume', listener: () => void): unknown
  off(event: 'update', listener: (entries: Entry[]) => void): unknown
  off(event: 'conflict', listener: (evidence: ForkEvidence) => void): unknown
  off(event: 'resume', listener: () => void): unknown
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
  /**
   * Times NOTEs and upstream lag (docs/log.md, "The live phase"). The sessions
   * of one log share the clock of the first.
   */
  clock?: Clock
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
/**
 * NOTEs that raise no claim of the remote's, PRUNEs of authors it pruned
 * already, REQUESTs for what we do not hold past the seq asked: an honest
 * remote sends none (docs/log.md, "Useless work"); these leave room for what
 * that reasoning missed.
 */
export const USELESS_NOTES = 16
export const USELESS_PRUNES = 16
export const USELESS_REQUESTS = 16

/** Each kind of useless work: its bound (the first two grow, see #useless) and what it is. */
const USELESS = {
  uselessEntries: {bound: USELESS_ENTRIES, what: 'entries we held'},
  uselessForks: {bound: USELESS_FORKS, what: 'FORKs that told us nothing'},
  uselessVectors: {bound: USELESS_VECTORS, what: 'HAVE vectors not called for'},
  uselessNotes: {bound: USELESS_NOTES, what: 'NOTE lengths that raised no claim'},
  uselessPrunes: {bound: USELESS_PRUNES, what: 'PRUNEs of authors pruned already'},
  uselessRequests: {bound: USELESS_REQUESTS, what: 'REQUESTs for entries we do not hold'},
} as const

/** A session sends at most one NOTE (per MAX_HAVE_AUTHORS authors) per this many ms. */
export const NOTE_INTERVAL = 250
/** Entries a NOTE may show another session ahead of an author's upstream before the upstream is replaced at once. */
export const UPSTREAM_MARGIN = 16
/**
 * How long an author may stay behind what a session holds, with nothing of
 * it stored, before its upstream is replaced by the session furthest ahead.
 */
export const UPSTREAM_LAG = 3000
/**
 * Times in a row a session asked to be upstream delivers nothing in
 * UPSTREAM_LAG while it claims more than we hold: then it is dropped.
 */
export const MAX_WITHHELD = 3
/**
 * Sessions of one remote key on one log at once (a reconnect overlapping its
 * old session): each has a pending source of its own, so this bounds the
 * key's share of the log's pending buffer to this many sources' worth.
 */
export const MAX_SESSIONS_PER_KEY = 2
/** HAVE messages in one vector: MAX_REMOTE_AUTHORS in full HAVEs. */
const VECTOR_MESSAGES = 16

/**
 * HAVE and FORK messages waiting to be handled: an honest remote sends a few
 * HAVEs and its forks at the start, then a FORK now and then.
 */
export const MAX_QUEUED_OTHERS = 64
/** Authors a remote may claim: past it, its vector costs us more than any log here would. */
export const MAX_REMOTE_AUTHORS = 65_536

/** One log's sessions, shared: each author's upstream, and the authors some session holds more of than we do. */
interface Mesh {
  readonly clock: Clock
  readonly sessions: Set<LogPeer>
  /** Live sessions per remote key (MAX_SESSIONS_PER_KEY). */
  readonly keys: Map<string, number>
  readonly upstream: Map<string, LogPeer>
  /** Per author we are behind on: since when nothing of it was stored, and our length then. */
  readonly behind: Map<string, {since: number, length: number}>
  timer: unknown
}
const meshes = new WeakMap<ReplicaLog, Mesh>()
const debug = createDebug('p2p:log')
/** Numbers sessions, so each has a pending source of its own. */
let sessions = 0

export class LogPeer extends Emitter<LogPeerEvents> {
  readonly #log: ReplicaLog
  readonly #channel: Channel
  readonly #source: string
  /** What this session's entries wait under in the log: the remote's key and the session's number. */
  readonly #pendingSource: string
  readonly #mesh: Mesh
  /** Sending: authors the remote pruned (NOTEs only), what our HAVEs and NOTEs told it, and NOTEs due. */
  readonly #lazy = new Set<string>()
  readonly #noted = new Map<string, number>()
  readonly #notesDue = new Set<string>()
  #noteTimer: unknown
  /** Receiving: the remote's own claims (HAVE, NOTE), authors we pruned, asked it for (with entriesIn then), stopped trusting it for. */
  readonly #claimed = new Map<string, number>()
  readonly #pruned = new Set<string>()
  readonly #asked = new Map<string, number>()
  readonly #excluded = new Set<string>()
  #withheld = 0
  /** Opened while MAX_SESSIONS_PER_KEY sessions of its key were live: ended once listeners can hear why. */
  readonly #refused: boolean
  /** PRUNEs and REQUESTs to send, batched per turn of the event loop. */
  readonly #prunesOut = new Set<string>()
  readonly #requestsOut = new Map<string, number>()
  #controlQueued = false
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
  /** Where the next `missing()` read starts: the local index past what was sent. */
  #cursor = 0
  /** The cursor goes back to 0 before the next read (the remote lost what we sent). */
  #restart = false
  /**
   * Authors a REQUEST took off the pruned list: their entries were passed over,
   * so before the next read the cursor goes back to the first of them the
   * remote lacks (`#rewind`), not to the start of the log.
   */
  readonly #rescan = new Set<string>()
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
    uselessEntries: 0, uselessForks: 0, uselessVectors: 0, uselessNotes: 0, uselessPrunes: 0, uselessRequests: 0,
    /** Received entries the log held already (sent by another session first, or sent twice). */
    duplicates: 0,
    /** Times the remote, asked to be upstream, delivered nothing while it claimed more (MAX_WITHHELD). */
    withheld: 0,
    notesIn: 0, notesOut: 0,
  }

  constructor({log, open, source, maxValueBytes, clock = systemClock}: LogPeerOptions) {
    super()
    if (maxValueBytes !== undefined) checkInteger('maxValueBytes', maxValueBytes, 1)
    this.#log = log
    this.#source = source
    this.#pendingSource = `${source}#${++sessions}`
    let mesh = meshes.get(log)
    if (!mesh) {
      mesh = {clock, sessions: new Set(), keys: new Map(), upstream: new Map(), behind: new Map(), timer: undefined}
      meshes.set(log, mesh)
    }
    this.#mesh = mesh
    mesh.sessions.add(this)
    mesh.keys.set(source, (mesh.keys.get(source) ?? 0) + 1)
    this.#refused = mesh.keys.get(source)! > MAX_SESSIONS_PER_KEY
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
    this.#log.off('resume', this.#onresume)
    this.#log.sessionClosed()
    this.#leaveMesh()
    this.#mesh.clock.clearTimeout(this.#noteTimer)
    // Nothing more comes from this remote: its peer is behind by nothing, or a page would show it behind for ever.
    if (this.#reported && this.#reported.behind > 0) {
      this.#log.sessionProgress({local: this.#log.length, remote: this.#reported.remote, behind: 0, peer: this.#source})
    }
    // Nothing is lost by it failing: the log cannot write then, and close() drops every waiting entry.
    this.#log.dropPending(this.#pendingSource).catch(() => undefined)
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
      // Each session has its own pending source, so a third would multiply the key's share of the buffer.
      if (this.#refused) {
        this.destroy(P2PError.RATE_LIMITED(`log: more than ${MAX_SESSIONS_PER_KEY} sessions with one key`))
        return
      }
      this.#log.on('update', this.#onupdate)
      this.#log.on('conflict', this.#onconflict)
      this.#log.on('resume', this.#onresume)
      this.#tell()
      // A catch-up that overlaps another: what a live session delivers already is pruned before the remote streams
      // it (the PRUNE follows our HAVE); the remote's HAVE still makes it upstream if it is further ahead (#review).
      for (const [author, up] of this.#mesh.upstream) {
        if (up === this || up.#destroyed) continue
        this.#pruned.add(author)
        this.#queueControl(author, false)
      }
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
    for (const [author, length] of lengths) {
      this.#theyKnow.set(author, Math.max(length, this.#theyKnow.get(author) ?? 0))
      this.#noted.set(author, Math.max(length, this.#noted.get(author) ?? 0))
    }
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
    if (message.type === LogMessageType.NOTE || message.type === LogMessageType.REQUEST || message.type === LogMessageType.PRUNE) {
      // Cheap and storage-free: handled at once, so a slow store never holds them up nor counts them as waiting.
      try {
        this.#control(message)
      } catch (err) {
        this.destroy(toP2PError(err))
      }
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
          this.#restart = true
          this.#schedule()
        }
        for (const [author, length] of message.lengths) {
          this.#heard(author, length)
          this.#claimed.set(author, Math.max(length, this.#claimed.get(author) ?? 0))
        }
        this.#review(message.lengths.map(([author]) => author))
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

  /** NOTE, REQUEST and PRUNE: the live phase's choice of upstreams (docs/log.md, "The live phase"). */
  #control(message: LogMessage): void {
    switch (message.type) {
      case LogMessageType.NOTE: {
        this.stats.notesIn++
        const raised: string[] = []
        for (const [author, length] of message.lengths) {
          if (length <= (this.#claimed.get(author) ?? 0)) {
            this.#useless('uselessNotes', 1)
            continue
          }
          this.#heard(author, length)
          this.#claimed.set(author, length)
          raised.push(author)
        }
        this.#review(raised)
        this.#progress()
        return
      }
      case LogMessageType.PRUNE:
        for (const author of message.authors) {
          if (this.#lazy.has(author)) this.#useless('uselessPrunes', 1)
          this.#lazy.add(author)
          // The remote hears how far we are from now on, from where our last word left it.
          this.#notesDue.add(author)
        }
        this.#noteSoon()
        return
      case LogMessageType.REQUEST: {
        const lengths = this.#log.lengths()
        const rescan: string[] = []
        for (const [author, from] of message.from) {
          // An honest remote asks only for what we claimed past its length.
          if ((lengths.get(author) ?? 0) <= from) this.#useless('uselessRequests', 1)
          this.#heard(author, from)
          this.#notesDue.delete(author)
          if (this.#lazy.delete(author)) rescan.push(author)
        }
        if (rescan.length > 0) {
          for (const author of rescan) this.#rescan.add(author)
          this.#schedule()
        }
        return
      }
    }
  }

  #noteSoon(): void {
    if (this.#noteTimer !== undefined || this.#notesDue.size === 0 || this.#destroyed) return
    this.#noteTimer = this.#mesh.clock.setTimeout(this.#sendNotes, NOTE_INTERVAL)
  }

  /** One NOTE of every pruned author grown past what the remote heard from us and past what it holds. */
  readonly #sendNotes = (): void => {
    this.#noteTimer = undefined
    if (this.#destroyed) return
    const lengths = this.#log.lengths()
    const grown: Array<[string, number]> = []
    for (const author of this.#notesDue) {
      const length = lengths.get(author) ?? 0
      if (length <= (this.#noted.get(author) ?? 0) || length <= (this.#remote.get(author) ?? 0)) continue
      this.#noted.set(author, length)
      grown.push([author, length])
    }
    this.#notesDue.clear()
    for (let i = 0; i < grown.length; i += MAX_HAVE_AUTHORS) {
      this.stats.notesOut++
      this.#send(encodeNote(grown.slice(i, i + MAX_HAVE_AUTHORS)))
    }
  }

  /** Queues a PRUNE (true) or a REQUEST from `from` of one author; they go together at the end of this turn. */
  #queueControl(author: string, request: boolean, from = 0): void {
    if (request) {
      this.#prunesOut.delete(author)
      this.#requestsOut.set(author, from)
    } else {
      this.#requestsOut.delete(author)
      this.#prunesOut.add(author)
    }
    if (this.#controlQueued) return
    this.#controlQueued = true
    queueMicrotask(() => {
      this.#controlQueued = false
      if (this.#destroyed) return
      const prunes = [...this.#prunesOut]
      const requests = [...this.#requestsOut]
      this.#prunesOut.clear()
      this.#requestsOut.clear()
      try {
        for (let i = 0; i < prunes.length; i += MAX_HAVE_AUTHORS) this.#send(encodePrune(prunes.slice(i, i + MAX_HAVE_AUTHORS)))
        for (let i = 0; i < requests.length; i += MAX_HAVE_AUTHORS) this.#send(encodeRequest(requests.slice(i, i + MAX_HAVE_AUTHORS)))
      } catch (err) {
        this.#fail(err)
      }
    })
  }

  /**
   * Authors this remote may now hold more of than we do: the session furthest
   * ahead becomes upstream when there is none or when the upstream lags by more
   * than UPSTREAM_MARGIN; otherwise the author is watched for UPSTREAM_LAG.
   */
  #review(authors: Iterable<string>): void {
    const mesh = this.#mesh
    let local: Map<string, number> | undefined
    for (const author of authors) {
      local ??= this.#log.lengths()
      const mine = local.get(author) ?? 0
      const best = LogPeer.#furthest(mesh, author, mine)
      if (!best) continue
      const up = mesh.upstream.get(author)
      if (!up || (up !== best && (best.#remote.get(author) ?? 0) > (up.#remote.get(author) ?? 0) + UPSTREAM_MARGIN)) {
        LogPeer.#switch(mesh, author, best, mine)
      } else if ((mesh.behind.get(author)?.length ?? -1) < mine) {
        mesh.behind.set(author, {since: mesh.clock.now(), length: mine})
        LogPeer.#arm(mesh, this.#log)
      }
    }
  }

  /** The live session that holds most of `author`, past `length`, leaving out `except` and those we stopped trusting for it. */
  static #furthest(mesh: Mesh, author: string, length: number, except?: LogPeer): LogPeer | undefined {
    let best: LogPeer | undefined
    let most = length
    for (const session of mesh.sessions) {
      const n = session.#remote.get(author) ?? 0
      if (n > most && session !== except && !session.#destroyed && !session.#excluded.has(author)) {
        best = session
        most = n
      }
    }
    return best
  }

  /** `to` becomes the author's upstream from `from`; the one before it is pruned. */
  static #switch(mesh: Mesh, author: string, to: LogPeer, from: number): void {
    const old = mesh.upstream.get(author)
    debug('upstream', shortId(author), 'from', from, old ? shortId(old.#source) : '-', '->', shortId(to.#source))
    mesh.upstream.set(author, to)
    to.#pruned.delete(author)
    to.#asked.set(author, to.stats.entriesIn)
    to.#queueControl(author, true, from)
    if (old && old !== to && !old.#destroyed && !old.#pruned.has(author)) {
      old.#pruned.add(author)
      old.#queueControl(author, false)
    }
    mesh.behind.set(author, {since: mesh.clock.now(), length: from})
    LogPeer.#arm(mesh, to.#log)
  }

  /** Wakes when the earliest watched author has been behind for UPSTREAM_LAG (a timer set earlier wakes sooner: it re-arms). */
  static #arm(mesh: Mesh, log: ReplicaLog): void {
    if (mesh.timer !== undefined || mesh.behind.size === 0) return
    let since = Infinity
    for (const lag of mesh.behind.values()) since = Math.min(since, lag.since)
    mesh.timer = mesh.clock.setTimeout(() => LogPeer.#lagCheck(mesh, log), Math.max(0, since + UPSTREAM_LAG - mesh.clock.now()))
  }

  /**
   * Authors with nothing stored for UPSTREAM_LAG while a session holds more:
   * an upstream that was asked and delivered nothing since, while claiming
   * more, withheld (it is not asked for that author again, and dropped after
   * MAX_WITHHELD in a row); the session furthest ahead takes over.
   */
  static #lagCheck(mesh: Mesh, log: ReplicaLog): void {
    mesh.timer = undefined
    const now = mesh.clock.now()
    const lengths = log.lengths()
    const struck = new Set<LogPeer>()
    for (const [author, lag] of [...mesh.behind]) {
      const mine = lengths.get(author) ?? 0
      const up = mesh.upstream.get(author)
      if (!LogPeer.#furthest(mesh, author, mine)) {
        mesh.behind.delete(author)
        continue
      }
      if (mine > lag.length) {
        mesh.behind.set(author, {since: now, length: mine})
        continue
      }
      if (now - lag.since < UPSTREAM_LAG) continue
      if (up && !up.#destroyed && up.#asked.get(author) === up.stats.entriesIn && (up.#remote.get(author) ?? 0) > mine) {
        up.#excluded.add(author)
        struck.add(up)
      }
      const next = LogPeer.#furthest(mesh, author, mine, up) ?? LogPeer.#furthest(mesh, author, mine)
      if (next && next !== up) LogPeer.#switch(mesh, author, next, mine)
      else if (next) mesh.behind.set(author, {since: now, length: mine})
      else {
        mesh.behind.delete(author)
        mesh.upstream.delete(author)
      }
    }
    for (const session of struck) {
      session.stats.withheld++
      debug('withheld', shortId(session.#source), session.#withheld + 1)
      if (++session.#withheld >= MAX_WITHHELD) {
        session.destroy(P2PError.PEER_MISBEHAVING(`log: asked to be upstream ${MAX_WITHHELD} times, delivered nothing while claiming more`))
      }
    }
    LogPeer.#arm(mesh, log)
  }

  /** Out of the mesh: the authors it was upstream of find another. */
  #leaveMesh(): void {
    const mesh = this.#mesh
    mesh.sessions.delete(this)
    const left = mesh.keys.get(this.#source)! - 1
    if (left > 0) mesh.keys.set(this.#source, left)
    else mesh.keys.delete(this.#source)
    const orphans: string[] = []
    for (const [author, up] of mesh.upstream) {
      if (up === this) orphans.push(author)
    }
    for (const author of orphans) mesh.upstream.delete(author)
    const heir = mesh.sessions.values().next().value
    if (heir) {
      heir.#review(orphans)
      return
    }
    mesh.clock.clearTimeout(mesh.timer)
    meshes.delete(this.#log)
  }

  /**
   * Authors this session delivered: the first to deliver one with no upstream
   * becomes it; another that delivers it is pruned.
   */
  #delivered(authors: Iterable<string>): void {
    const mesh = this.#mesh
    for (const author of authors) {
      this.#asked.delete(author)
      this.#excluded.delete(author)
      this.#withheld = 0
      const up = mesh.upstream.get(author)
      if (!up || up.#destroyed) mesh.upstream.set(author, this)
      else if (up !== this && !this.#pruned.has(author)) {
        this.#pruned.add(author)
        this.#queueControl(author, false)
      }
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

  #useless(kind: keyof typeof USELESS, n: number): void {
    this.stats[kind] += n
    const bound = kind === 'uselessEntries' ? USELESS_ENTRIES + this.#rewinds * ENTRIES_WINDOW * MAX_ENTRIES
      : kind === 'uselessForks' ? USELESS_FORKS + 2 * this.#forksKnown
        : USELESS[kind].bound
    if (this.stats[kind] > bound) throw P2PError.PEER_MISBEHAVING(`log: ${this.stats[kind]} ${USELESS[kind].what}, more than ${bound}`)
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
    const result = await this.#log.add(entries, this.#pendingSource)
    this.stats.stored += result.stored.length
    this.#countDuplicates(entries, result)
    if (!this.#destroyed) this.#delivered(runs.keys())
    const fault = result.rejected.find(r => REMOTE_FAULTS.has(r.error.code))
    if (fault) throw fault.error
    // The log's pending buffer is full of other sources' entries: these are asked for again, and counted.
    const refused = result.rejected.filter(r => r.error.code === 'ERR_RATE_LIMITED').length
    if (refused > 0) {
      this.#forget()
      this.#useless('uselessEntries', refused)
    }
  }

  /** Entries handed to the log that it did not store now but holds: another session, or this one before, brought them. */
  #countDuplicates(entries: Entry[], result: AddResult): void {
    if (result.stored.length === entries.length) return
    const stored = new Set(result.stored.map(e => toHex(e.hash)))
    const lengths = this.#log.lengths()
    for (const entry of entries) {
      if (entry.seq < (lengths.get(toHex(entry.author)) ?? 0) && !stored.has(toHex(entry.hash))) this.stats.duplicates++
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
    const result = await this.#log.add([...sides[0], ...sides[1]], this.#pendingSource)
    const fault = result.rejected.find(r => REMOTE_FAULTS.has(r.error.code))
    if (fault) throw fault.error
    // Evidence we held already, or that freezes nothing (its author frozen lower, its entries waiting).
    if (this.#conflicts === conflicts) this.#useless('uselessForks', 1)
  }

  readonly #onupdate = (entries: Entry[]): void => {
    if (this.#lazy.size > 0) {
      for (const entry of entries) {
        const author = toHex(entry.author)
        if (this.#lazy.has(author)) this.#notesDue.add(author)
      }
      this.#noteSoon()
    }
    this.#onresume()
  }

  /** A write succeeded (an update, or the log's probe while storage was full): there is room again, so ask for what could not be stored. */
  readonly #onresume = (): void => {
    if (this.#destroyed) return
    if (this.#lost) {
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

  async #rewind(): Promise<void> {
    if (this.#restart) {
      this.#restart = false
      this.#rescan.clear()
      this.#cursor = 0
      return
    }
    const authors = [...this.#rescan]
    this.#rescan.clear()
    const starts = await Promise.all(authors.map(author => this.#log.indexOf(author, this.#remote.get(author) ?? 0)))
    for (const start of starts) if (start !== undefined) this.#cursor = Math.min(this.#cursor, start)
  }

  async #pump(): Promise<void> {
    try {
      while (this.#dirty && !this.#destroyed) {
        this.#dirty = false
        for (;;) {
          // Set between reads, so a read in flight never carries the cursor past them.
          if (this.#restart || this.#rescan.size > 0) await this.#rewind()
          const {entries, cursor} = await this.#log.missing(new Map(this.#remote), MAX_ENTRIES, this.#cursor)
          if (this.#destroyed || entries.length === 0) break
          this.#cursor = cursor
          // A pruned author's entries are left to the remote's upstream for it: it hears of them by NOTE.
          const fresh = entries.filter(e => e.seq >= (this.#remote.get(toHex(e.author)) ?? 0) && !this.#lazy.has(toHex(e.author)))
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
