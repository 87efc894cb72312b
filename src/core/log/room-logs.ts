/**
 * The room's logs of one name. Each tab writes a log of its own, so a room's
 * chat is many logs; the peers of a swarm tell each other, on one small
 * channel per name (`p2p/logs/2/<name>`), the logs of that name they hold, each
 * by its owner's signed Init, and every log learned is opened as a replica in
 * the same database and replicated over the swarm (attachLog) with the peers
 * that said they hold it. History written by a tab now closed reaches a
 * newcomer from whoever holds it.
 *
 * What a peer says here costs us channels and storage, so it is bounded and
 * checked: see `decodeLogsMessage` and `RoomLogs`'s rules.
 */
import {Emitter} from '../emitter.js'
import {P2PError, toP2PError} from '../errors.js'
import {isQuotaError} from '../storage/quota.js'
import {checkInteger} from '../check.js'
import {fromHex, toHex, utf8} from '../bytes.js'
import {createDebug, shortId} from '../debug.js'
import {rethrowLater} from '../rethrow-later.js'
import type {Channel} from '../mux/mux.js'
import {hostProtocol, type ProtocolHost, type ProtocolPeer, type ProtocolSwarm} from '../swarm/protocol-host.js'
import {EntryKind, authenticateRun, decodeEntry, type DecodedEntry, type Entry} from './entry.js'
import {Log} from './log.js'
import type {LogDatabase} from './store.js'
import {attachLog, type AttachedLog} from './swarm.js'

const debug = createDebug('p2p:logs')

/** A name is part of a channel name (at most 255 bytes with its prefix) and of storage keys. */
export const MAX_NAME_BYTES = 128
/** Logs in one LOGS message. */
export const MAX_KEYS_PER_MESSAGE = 256
/** Logs of one name a peer opens by default, its own included. */
export const DEFAULT_MAX_LOGS = 64
/**
 * The most logs of a room any page holds (`maxLogs` is at most this), so also
 * the most one remote may announce that we did not tell it of: pages set to
 * different `maxLogs` stay connected, the smaller one leaving the rest unopened.
 */
export const MAX_ROOM_LOGS = 1024
/**
 * A signed Init: version, flags, key, seq 0, time (at most 8 varint bytes),
 * kind, no links, a one-byte value, signature: 111 bytes at most.
 */
export const MAX_INIT_BYTES = 128
/** LOGS flag bit 0: the last message of the sender's first list (it may carry no log). */
const FLAG_LISTED = 1
export const MAX_LOGS_MESSAGE_BYTES = 1 + MAX_KEYS_PER_MESSAGE * (1 + MAX_INIT_BYTES)

/** The channel on which the peers of a swarm list their logs named `name`. */
export function roomLogsProtocol(name: string): string {
  return `p2p/logs/2/${name}`
}

/** Throws ERR_INVALID_ARGUMENT unless `name` can name a room's logs: 1 … 128 bytes of UTF-8. */
export function checkLogName(name: string): void {
  if (typeof name !== 'string' || name.length === 0 || utf8(name).length > MAX_NAME_BYTES) {
    throw P2PError.INVALID_ARGUMENT(`a log name is 1 to ${MAX_NAME_BYTES} bytes of UTF-8`)
  }
}

/**
 * LOGS: `u8 flags` (bit 0: last of the first list; other bits 0), then 0 … 256
 * records, each `u8 length` and the signed Init entry of a log (its author is
 * the log's address), of distinct logs. Only the message that ends the first
 * list may be empty. The Init is what makes an address cost its announcer a
 * signature: a random key has none.
 */
export interface LogsMessage {
  listed: boolean
  /** Decoded, not yet authenticated: `RoomLogs` checks the signature of a log it does not hold. */
  inits: DecodedEntry[]
}

export function encodeLogsMessage({listed, inits}: {listed: boolean, inits: Array<{bytes: Uint8Array}>}): Uint8Array {
  if (inits.length > MAX_KEYS_PER_MESSAGE) throw P2PError.INVALID_ARGUMENT(`at most ${MAX_KEYS_PER_MESSAGE} logs per message`)
  const out = new Uint8Array(1 + inits.reduce((sum, {bytes}) => sum + 1 + bytes.length, 0))
  out[0] = listed ? FLAG_LISTED : 0
  let at = 1
  for (const {bytes} of inits) {
    if (bytes.length > MAX_INIT_BYTES) throw P2PError.INVALID_ARGUMENT(`an Init of ${bytes.length} bytes`)
    out[at++] = bytes.length
    out.set(bytes, at)
    at += bytes.length
  }
  return out
}

/** The one place a peer's LOGS bytes are judged: ERR_MESSAGE_TOO_LARGE or ERR_MALFORMED_MESSAGE before any of it is used. */
export function decodeLogsMessage(bytes: Uint8Array): LogsMessage {
  if (bytes.length > MAX_LOGS_MESSAGE_BYTES) throw P2PError.MESSAGE_TOO_LARGE(`a LOGS message of ${bytes.length} bytes is over ${MAX_LOGS_MESSAGE_BYTES}`)
  if (bytes.length === 0) throw P2PError.MALFORMED_MESSAGE('an empty LOGS message')
  const flags = bytes[0]
  if (flags & ~FLAG_LISTED) throw P2PError.MALFORMED_MESSAGE(`unknown LOGS flags ${flags}`)
  const listed = flags === FLAG_LISTED
  const inits: DecodedEntry[] = []
  const seen = new Set<string>()
  for (let at = 1; at < bytes.length;) {
    const length = bytes[at++]
    if (length === 0 || at + length > bytes.length) throw P2PError.MALFORMED_MESSAGE('a LOGS record runs past the message')
    if (inits.length === MAX_KEYS_PER_MESSAGE) throw P2PError.MESSAGE_TOO_LARGE(`more than ${MAX_KEYS_PER_MESSAGE} logs in a LOGS message`)
    // A copy: a replica stores it, and the mux may reuse what it delivered.
    const init = decodeEntry(bytes.slice(at, at + length), {maxValueBytes: 1})
    at += length
    if (init.kind !== EntryKind.Init || init.seq !== 0 || init.links.length !== 0 || init.value.length !== 1 || !init.signature) {
      throw P2PError.MALFORMED_MESSAGE('a LOGS record is a log\'s signed Init')
    }
    const address = toHex(init.author)
    if (seen.has(address)) throw P2PError.MALFORMED_MESSAGE('a LOGS message names a log twice')
    seen.add(address)
    inits.push(init)
  }
  if (inits.length === 0 && !listed) throw P2PError.MALFORMED_MESSAGE('an empty LOGS message that ends no list')
  return {listed, inits}
}

export interface RoomLogsOptions {
  swarm: ProtocolSwarm
  /** Where replicas are opened (and the directory kept): the caller's, open, and the same as the `logs`' own. */
  db: LogDatabase
  /** Logs the caller opened and closes (the page's own log): replicated, and listed to peers when `name` is set. */
  logs?: Log[]
  /** Lists and learns the room's logs of this name. Without it only `logs` replicate. */
  name?: string
  /** Keeps the directory of one room apart from another's in a shared database (the swarm's room). */
  room?: string
  /** Most logs held, `logs` included (1 to MAX_ROOM_LOGS). */
  maxLogs?: number
  /** The bound on a value of every log, as given to the Log. */
  maxValueBytes?: number
}

export interface RoomLogsProgress {
  /** Entries that connected peers hold and we do not, summed over logs (the largest count among a log's peers). */
  behind: number
  /**
   * Nothing known to be missing: every peer's first list is in and checked, a
   * learned log has heard from a peer that announced it, and no log is behind any peer.
   */
  synced: boolean
}

export interface RoomLogsStats {
  /** Logs held: the caller's and the replicas. */
  logs: number
  /** Logs learned from peers and opened. */
  learned: number
  /** Announced logs not opened (yet): no room for them within `maxLogs` and the announcer's share. */
  ignored: number
  /** Replicas closed to make room for a log of a peer within its share. */
  evicted: number
  /** Peers dropped for breaking the directory's rules. */
  dropped: number
}

export type RoomLogsEvents = {
  /** A log joined (the caller's, one found in storage, one learned from a peer): a feed merges it. */
  log: (log: Log) => void
  /** `progress` changed. */
  progress: (progress: RoomLogsProgress) => void
  /** A log the peer `key` announced found no room (`stats.ignored`): it is opened if room is made while that peer stays. */
  ignore: (address: string, key: string) => void
  /** A peer broke the directory's rules; its connection is destroyed with `err`. */
  drop: (key: string, err: P2PError) => void
  /** A replica or the directory could not be read or written. */
  error: (err: P2PError) => void
  close: () => void
}

/**
 * The peers that said they hold one replica: the swarm it is replicated over.
 * A log session's first message goes only to a peer that opens the log too, so
 * none waits at the remote's mux (which holds 64 such messages in all) however
 * many logs the room has.
 */
class Gate extends Emitter<{connect: (peer: ProtocolPeer) => void, disconnect: (peer: ProtocolPeer) => void}> implements ProtocolSwarm {
  readonly #peers = new Map<string, ProtocolPeer>()

  get peers(): ProtocolPeer[] {
    return [...this.#peers.values()]
  }

  admit(key: string, peer: ProtocolPeer): void {
    if (this.#peers.get(key) === peer) return
    this.remove(key)
    this.#peers.set(key, peer)
    this.emit('connect', peer)
  }

  remove(key: string): void {
    const peer = this.#peers.get(key)
    if (!peer) return
    this.#peers.delete(key)
    this.emit('disconnect', peer)
  }
}

/** One log held here: replicated over the swarm, and what each peer's session says of it. */
interface Held {
  log: Log
  /** A replica this object opened (and closes), not one of the caller's. */
  replica: boolean
  /** A replica's peers: those that announced it (the caller's logs go to every peer: see `#attach`). */
  gate: Gate | undefined
  attached: AttachedLog | undefined
  /** The owner's signed Init (its encoding), what it is announced with; unknown until read or learned. */
  init: Uint8Array | undefined
  /** The peer whose announcement opened this replica: it counts toward that peer's share. */
  introducer: string | undefined
  /** Peers whose session said how far along they are: entries we lack from each. */
  behind: Map<string, number>
  /** Peers that announced this log. */
  announcers: Set<string>
  /** Its line in the directory, once written there. */
  kept: Promise<void> | undefined
  onUpdate: () => void
  /** The log's own progress (every session's): how far behind each peer we are. */
  onProgress: (progress: {behind: number, peer: string}) => void
}

/** One peer's directory session. */
interface Session {
  key: string
  peer: ProtocolPeer
  channel: Channel
  /** Logs it announced; each once. */
  received: Set<string>
  /** Of those, logs we had not told it of: at most MAX_ROOM_LOGS. */
  brought: number
  /** Logs we told it of. */
  sent: Set<string>
  /** Its first list is in. */
  listed: boolean
  /** Announced logs whose Init is being checked. */
  checking: number
  /** Checked logs it announced that found no room: opened when room is made. */
  waiting: Map<string, Entry>
  /** Its messages' checks, in order. */
  turn: Promise<void>
}

/**
 * The logs of one name in a swarm's room. Rules for what peers say, each
 * breach `ERR_PEER_MISBEHAVING` (a malformed message `ERR_MALFORMED_MESSAGE`,
 * an oversized one `ERR_MESSAGE_TOO_LARGE`) and the peer's connection destroyed:
 * - a log is announced by its owner's signed Init (a forged one is
 *   `ERR_PEER_MISBEHAVING`, the failed check its cause, so the swarm bans the key);
 * - a log is announced once per session, and one peer announces at most
 *   `MAX_ROOM_LOGS` that we did not announce to it (whatever its `maxLogs` or ours);
 * - the first list ends once.
 * A learned log opens a replica only within `maxLogs` and within the share of
 * the peer that announced it (`#room`); a replica still bare (its Init alone)
 * when every peer that announced it has gone is closed and forgotten.
 * docs/log.md ("The room's logs") says why this holds against a stranger.
 */
export class RoomLogs extends Emitter<RoomLogsEvents> {
  readonly name: string | undefined
  readonly maxLogs: number
  readonly stats: RoomLogsStats = {logs: 0, learned: 0, ignored: 0, evicted: 0, dropped: 0}
  readonly #swarm: ProtocolSwarm
  readonly #db: LogDatabase
  readonly #maxValueBytes: number | undefined
  readonly #directory: ReturnType<typeof directoryOf> | undefined
  readonly #prefix: string
  readonly #held = new Map<string, Held>()
  readonly #sessions = new Map<string, Session>()
  #host: ProtocolHost<Session> | undefined
  #ready: Promise<void> | undefined
  #progress: RoomLogsProgress = {behind: 0, synced: true}
  #destroyed = false

  constructor({swarm, db, logs = [], name, room = '', maxLogs = DEFAULT_MAX_LOGS, maxValueBytes}: RoomLogsOptions) {
    super()
    if (!swarm || typeof swarm.on !== 'function') throw P2PError.INVALID_ARGUMENT('swarm is required')
    if (!db || typeof db.sublevel !== 'function') throw P2PError.INVALID_ARGUMENT('db must be an abstract-level database')
    if (name !== undefined) checkLogName(name)
    checkInteger('maxLogs', maxLogs, 1, MAX_ROOM_LOGS)
    if (logs.length > maxLogs) throw P2PError.INVALID_ARGUMENT(`more than maxLogs (${maxLogs}) logs`)
    this.#swarm = swarm
    this.#db = db
    this.name = name
    this.maxLogs = maxLogs
    this.#maxValueBytes = maxValueBytes
    this.#directory = name === undefined ? undefined : directoryOf(db)
    this.#prefix = `${toHex(utf8(room))}!${toHex(utf8(name ?? ''))}!`
    for (const log of logs) this.#hold(log, false)
  }

  get destroyed(): boolean {
    return this.#destroyed
  }

  /** What is known of how far along replication is; `progress` fires when it changes. */
  get progress(): RoomLogsProgress {
    return {...this.#progress}
  }

  /** The logs held now, the caller's first. */
  logs(): Log[] {
    return [...this.#held.values()].map(h => h.log)
  }

  /**
   * Reads the caller's logs and the directory, keeps the caller's logs in it,
   * opens the logs it names, then replicates them all and starts listing them to peers.
   */
  ready(): Promise<void> {
    this.#ready ??= this.#start()
    return this.#ready
  }

  async #start(): Promise<void> {
    const own = [...this.#held.values()]
    await Promise.all(own.map(async held => {
      await held.log.ready()
      if (this.name !== undefined) held.init = await signedInit(held.log)
    }))
    const stored: string[] = []
    if (this.#directory) {
      for await (const key of this.#directory.keys({gt: this.#prefix, lt: this.#prefix + '~'})) stored.push(key.slice(this.#prefix.length))
    }
    if (this.#destroyed) return
    for (const held of own) this.#attach(held)
    await Promise.all(own.map(held => held.kept))
    await Promise.all(stored.filter(address => !this.#held.has(address)).slice(0, this.maxLogs - this.#held.size)
      .map(address => this.#openReplica(address)))
    if (this.#destroyed || !this.name) return
    const name = this.name
    this.#host = hostProtocol<Session>(this.#swarm, {
      start: (peer, key, ended) => this.#startSession(peer, key, name, ended),
      stop: session => this.#endSession(session, true),
    })
    this.#update()
  }

  /** Stops listing and replicating; closes the replicas it opened (the caller's logs stay open). Idempotent. */
  destroy(): void {
    if (this.#destroyed) return
    this.#destroyed = true
    this.#host?.detach()
    for (const held of this.#held.values()) {
      held.attached?.detach()
      held.log.off('update', held.onUpdate)
      held.log.off('progress', held.onProgress)
      if (held.replica) held.log.close().catch(rethrowLater)
    }
    this.#held.clear()
    this.emit('close')
    this.removeAllListeners()
  }

  #hold(log: Log, replica: boolean): Held {
    const held: Held = {log, replica, gate: replica ? new Gate() : undefined, attached: undefined, init: undefined,
      introducer: undefined, behind: new Map(), announcers: new Set(), kept: undefined,
      onUpdate: () => this.#offer(held),
      onProgress: ({behind, peer}) => {
        held.behind.set(peer, behind)
        this.#update()
      },
    }
    this.#held.set(log.address, held)
    this.stats.logs = this.#held.size
    return held
  }

  /**
   * Opens the replica of `address` and replicates it; resolves once it is in
   * (or was given up). A learned one stores its announced Init first.
   */
  async #openReplica(address: string, learned?: {announcer: string, init: Entry}): Promise<void> {
    const log = new Log({db: this.#db, key: learned?.init.author.slice() ?? fromHex(address), maxValueBytes: this.#maxValueBytes})
    const held = this.#hold(log, true)
    if (learned) {
      held.introducer = learned.announcer
      held.announcers.add(learned.announcer)
      held.init = learned.init.bytes
    }
    try {
      await log.ready()
      if (learned && log.length === 0) await log.add([learned.init], learned.announcer)
      held.init ??= await signedInit(log)
    } catch (err) {
      this.#forget(held, false)
      if (!this.#destroyed) this.emit('error', toP2PError(err))
      return
    }
    if (this.#destroyed || this.#held.get(address) !== held) return
    this.#attach(held)
  }

  /** Replicates a log that is ready: a replica with the peers that announced it, the caller's with every peer. */
  #attach(held: Held): void {
    const {log} = held
    // The caller's logs go to every peer, as a reader by address (a RoomLogs
    // without a name) announces nothing: a page has one or a few of its own.
    const attached = held.attached = attachLog(log, held.gate ?? this.#swarm, {maxValueBytes: this.#maxValueBytes})
    attached.on('peer', key => {
      held.behind.delete(key)
      this.#update()
    })
    attached.on('drop', key => {
      held.behind.delete(key)
      this.#update()
    })
    log.on('update', held.onUpdate)
    log.on('progress', held.onProgress)
    this.emit('log', log)
    this.#offer(held)
    this.#update()
  }

  /**
   * Tells each peer of a log it may want, then lets the log's sessions start
   * with the peers that announced it: our LOGS goes out before our first log
   * message, so the remote opens the log's channel before that message comes.
   * A replica goes to peers other than its announcers once it holds an entry
   * beyond its Init, so a stranger's bare logs stay with the pages it told.
   */
  #offer(held: Held): void {
    if (this.#destroyed || !held.attached) return
    const {log} = held
    if (this.#directory && !held.kept && (!held.replica || log.length > 1)) {
      held.kept = this.#directory.put(this.#prefix + log.address, '').catch(err => {
        if (this.#destroyed) return
        this.emit('error', isQuotaError(err)
          ? P2PError.STORAGE_FULL(`cannot keep the log ${shortId(log.address)} in the directory`, err)
          : toP2PError(err))
      })
    }
    for (const session of this.#sessions.values()) {
      if (!held.replica || log.length > 1 || held.announcers.has(session.key)) this.#tell(session, [held], false)
      if (held.announcers.has(session.key)) held.gate?.admit(session.key, session.peer)
    }
  }

  #forget(held: Held, evicted: boolean): void {
    if (this.#held.get(held.log.address) !== held) return
    this.#held.delete(held.log.address)
    this.stats.logs = this.#held.size
    held.attached?.detach()
    held.log.off('update', held.onUpdate)
    held.log.off('progress', held.onProgress)
    held.log.close().catch(rethrowLater)
    if (evicted) {
      this.stats.evicted++
      this.#directory?.del(this.#prefix + held.log.address).catch(err => {
        if (!this.#destroyed) this.emit('error', toP2PError(err))
      })
    }
    debug(evicted ? 'evict' : 'forget', shortId(held.log.address))
    this.#update()
  }

  #startSession(peer: ProtocolPeer, key: string, name: string, ended: () => boolean): Session {
    const session: Session = {
      key, peer, channel: undefined!, received: new Set(), brought: 0, sent: new Set(), listed: false, checking: 0, waiting: new Map(),
      turn: Promise.resolve(),
    }
    session.channel = peer.channel(roomLogsProtocol(name), {
      onmessage: bytes => this.#onMessage(session, bytes),
      onclose: () => {
        if (ended()) this.#endSession(session, false)
      },
    })
    this.#sessions.set(key, session)
    const listed = [...this.#held.values()].filter(h => h.attached && (!h.replica || h.log.length > 1))
    this.#tell(session, listed, true)
    debug('session', name, shortId(key), listed.length)
    this.#update()
    return session
  }

  /** Sends the logs of `helds` it was not told of (those with a known Init), cut into messages; `first` ends the first list. */
  #tell(session: Session, helds: Held[], first: boolean): void {
    const fresh = helds.filter(h => h.init && !session.sent.has(h.log.address))
    for (const h of fresh) session.sent.add(h.log.address)
    if (session.channel.closed) return
    for (let i = 0; i < fresh.length || (first && i === 0); i += MAX_KEYS_PER_MESSAGE) {
      const inits = fresh.slice(i, i + MAX_KEYS_PER_MESSAGE).map(h => ({bytes: h.init!}))
      session.channel.send(encodeLogsMessage({listed: first && i + MAX_KEYS_PER_MESSAGE >= fresh.length, inits}))
    }
  }

  #endSession(session: Session, close: boolean): void {
    if (this.#sessions.get(session.key) === session) this.#sessions.delete(session.key)
    if (close && !session.channel.closed) session.channel.close()
    session.waiting.clear()
    for (const address of session.received) {
      const held = this.#held.get(address)
      if (!held) continue
      held.announcers.delete(session.key)
      held.gate?.remove(session.key)
      // Its only announcers gone and nothing came beyond the Init: nobody vouches for it any longer.
      if (held.replica && held.log.length <= 1 && held.announcers.size === 0) this.#forget(held, false)
    }
    this.#retry()
    this.#update()
  }

  #onMessage(session: Session, bytes: Uint8Array): void {
    if (this.#destroyed || this.#sessions.get(session.key) !== session) return
    let message: LogsMessage
    try {
      message = decodeLogsMessage(bytes)
      if (message.listed && session.listed) throw P2PError.PEER_MISBEHAVING('a second first list')
      for (const init of message.inits) {
        const address = toHex(init.author)
        if (session.received.has(address)) throw P2PError.PEER_MISBEHAVING(`announced ${shortId(address)} twice`)
        session.received.add(address)
        if (!session.sent.has(address)) session.brought++
      }
      // Echoes of our own list cost nothing: they let the logs' sessions start.
      if (session.brought > MAX_ROOM_LOGS) throw P2PError.PEER_MISBEHAVING(`announced more than ${MAX_ROOM_LOGS} logs`)
    } catch (err) {
      this.#misbehave(session, err as P2PError)
      return
    }
    if (message.listed) session.listed = true
    // A log held here is real already: its peer is let in at once, before the
    // remote's first message on it can arrive (it follows this LOGS on the wire).
    const unknown = message.inits.filter(init => !this.#join(toHex(init.author), session))
    if (unknown.length > 0) {
      session.checking++
      session.turn = session.turn.then(() => this.#check(session, unknown))
    }
    this.#update()
  }

  /** `session` announced a log: true if it is held here (the peer is let in), false if it must be checked and learned. */
  #join(address: string, session: Session): boolean {
    const held = this.#held.get(address)
    if (!held) return false
    held.announcers.add(session.key)
    this.#offer(held)
    return true
  }

  /** Checks the Inits of logs not held here, then opens them within the room there is. */
  async #check(session: Session, inits: DecodedEntry[]): Promise<void> {
    let checked: Entry[]
    try {
      checked = await Promise.all(inits.map(async init => (await authenticateRun(init.author, [init]))[0]))
    } catch (err) {
      const finding = toP2PError(err)
      this.#misbehave(session, P2PError.PEER_MISBEHAVING(`announced a log with a forged Init: ${finding.message}`, finding))
      return
    } finally {
      session.checking--
    }
    if (this.#destroyed || this.#sessions.get(session.key) !== session) return
    for (const init of checked) this.#learn(toHex(init.author), init, session)
    this.#update()
  }

  #learn(address: string, init: Entry, session: Session): void {
    if (this.#join(address, session)) return
    if (!this.#room(session.key)) {
      session.waiting.set(address, init)
      this.stats.ignored++
      debug('ignored', shortId(address), 'from', shortId(session.key))
      this.emit('ignore', address, session.key)
      return
    }
    this.stats.learned++
    debug('learn', shortId(address), 'from', shortId(session.key))
    this.#openReplica(address, {announcer: session.key, init}).catch(rethrowLater)
  }

  /**
   * Whether a log the peer `key` announced may be opened, closing a replica to
   * make room if need be. Free slots go to whoever asks first: a newcomer whose
   * one peer holds the room's history takes all of it. Past `maxLogs`, a peer
   * within its share (what `maxLogs` leaves after the caller's logs, split
   * evenly among connected peers) makes room: first a replica no connected
   * peer holds goes, the one with fewest entries first, then one only a peer
   * over its share holds.
   */
  #room(key: string): boolean {
    const replicas = [...this.#held.values()].filter(h => h.replica)
    const share = Math.max(1, Math.floor((this.maxLogs - (this.#held.size - replicas.length)) / Math.max(1, this.#sessions.size)))
    const brought = new Map<string, number>()
    for (const h of replicas) {
      if (h.introducer !== undefined && this.#sessions.has(h.introducer)) brought.set(h.introducer, (brought.get(h.introducer) ?? 0) + 1)
    }
    if (this.#held.size < this.maxLogs) return true
    if ((brought.get(key) ?? 0) >= share) return false
    const live = (h: Held): string[] => [...h.announcers].filter(k => this.#sessions.has(k))
    const fewest = (a: Held, b: Held): number => a.log.length - b.log.length
    const victim = replicas.filter(h => h.attached && live(h).length === 0).sort(fewest)[0] ??
      replicas.filter(h => {
        const holders = live(h)
        return h.attached && holders.length === 1 && holders[0] === h.introducer && h.introducer !== key &&
          (brought.get(h.introducer) ?? 0) > share
      }).sort(fewest)[0]
    if (!victim) return false
    this.#forget(victim, true)
    return true
  }

  /** Opens what peers announced and found no room for, now that there may be some. */
  #retry(): void {
    if (this.#destroyed) return
    for (const session of [...this.#sessions.values()]) {
      const waiting = [...session.waiting]
      session.waiting.clear()
      this.stats.ignored -= waiting.length
      for (const [address, init] of waiting) this.#learn(address, init, session)
    }
  }

  #misbehave(session: Session, err: P2PError): void {
    if (this.#sessions.get(session.key) !== session) return
    this.stats.dropped++
    debug('drop', shortId(session.key), err.message)
    this.#endSession(session, true)
    this.emit('drop', session.key, err)
    session.peer.destroy(err)
  }

  #update(): void {
    if (this.#destroyed) return
    let behind = 0
    let synced = [...this.#sessions.values()].every(s => s.listed && s.checking === 0)
    for (const held of this.#held.values()) {
      behind += Math.max(0, ...held.behind.values())
      const waiting = [...held.announcers].some(key => this.#sessions.has(key))
      if (held.replica && waiting && ![...held.announcers].some(key => held.behind.has(key))) synced = false
    }
    if (behind > 0) synced = false
    if (behind === this.#progress.behind && synced === this.#progress.synced) return
    this.#progress = {behind, synced}
    this.emit('progress', this.progress)
  }
}

/** The encoding of the log's first entry if it is its owner's Init with its signature kept (what a LOGS record carries). */
async function signedInit(log: Log): Promise<Uint8Array | undefined> {
  for await (const {entry} of log.entries({limit: 1})) {
    return entry.kind === EntryKind.Init && entry.signature ? entry.bytes : undefined
  }
  return undefined
}

function directoryOf(db: LogDatabase) {
  return db.sublevel<string, string>('room-logs', {keyEncoding: 'utf8', valueEncoding: 'utf8'})
}
