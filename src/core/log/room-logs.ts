/**
 * The room's logs of one name. Each tab writes a log of its own, so a room's
 * chat is many logs; the peers of a swarm tell each other, on one small
 * channel per name (`p2p/logs/1/<name>`), the addresses of the logs of that
 * name they hold, and every address learned is opened as a replica in the same
 * database and replicated over the swarm (attachLog). History written by a tab
 * now closed reaches a newcomer from whoever holds it.
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
import {Log} from './log.js'
import type {LogDatabase} from './store.js'
import {attachLog, type AttachedLog} from './swarm.js'

const debug = createDebug('p2p:logs')

/** A name is part of a channel name (at most 255 bytes with its prefix) and of storage keys. */
export const MAX_NAME_BYTES = 128
/** Addresses in one LOGS message. */
export const MAX_KEYS_PER_MESSAGE = 256
/** Logs of one name a peer opens by default, its own included; also the most one remote may announce. */
export const DEFAULT_MAX_LOGS = 64
const KEY_BYTES = 32
/** LOGS flag bit 0: the last message of the sender's first list (it may carry no key). */
const FLAG_LISTED = 1
export const MAX_LOGS_MESSAGE_BYTES = 1 + MAX_KEYS_PER_MESSAGE * KEY_BYTES

/** The channel on which the peers of a swarm list their logs named `name`. */
export function roomLogsProtocol(name: string): string {
  return `p2p/logs/1/${name}`
}

/** Throws ERR_INVALID_ARGUMENT unless `name` can name a room's logs: 1 … 128 bytes of UTF-8. */
export function checkLogName(name: string): void {
  if (typeof name !== 'string' || name.length === 0 || utf8(name).length > MAX_NAME_BYTES) {
    throw P2PError.INVALID_ARGUMENT(`a log name is 1 to ${MAX_NAME_BYTES} bytes of UTF-8`)
  }
}

/**
 * LOGS: `u8 flags` (bit 0: last of the first list; other bits 0), then 0 … 256
 * distinct 32-byte addresses. Only the message that ends the first list may be empty.
 */
export interface LogsMessage {
  listed: boolean
  keys: Uint8Array[]
}

export function encodeLogsMessage({listed, keys}: LogsMessage): Uint8Array {
  if (keys.length > MAX_KEYS_PER_MESSAGE) throw P2PError.INVALID_ARGUMENT(`at most ${MAX_KEYS_PER_MESSAGE} keys per message`)
  const out = new Uint8Array(1 + keys.length * KEY_BYTES)
  out[0] = listed ? FLAG_LISTED : 0
  keys.forEach((key, i) => out.set(key, 1 + i * KEY_BYTES))
  return out
}

/** The one place a peer's LOGS bytes are judged: ERR_MESSAGE_TOO_LARGE or ERR_MALFORMED_MESSAGE before any of it is used. */
export function decodeLogsMessage(bytes: Uint8Array): LogsMessage {
  if (bytes.length > MAX_LOGS_MESSAGE_BYTES) throw P2PError.MESSAGE_TOO_LARGE(`a LOGS message of ${bytes.length} bytes is over ${MAX_LOGS_MESSAGE_BYTES}`)
  if (bytes.length === 0 || (bytes.length - 1) % KEY_BYTES !== 0) throw P2PError.MALFORMED_MESSAGE('a LOGS message is a flags byte and whole 32-byte keys')
  const flags = bytes[0]
  if (flags & ~FLAG_LISTED) throw P2PError.MALFORMED_MESSAGE(`unknown LOGS flags ${flags}`)
  const listed = flags === FLAG_LISTED
  const keys: Uint8Array[] = []
  const seen = new Set<string>()
  for (let at = 1; at < bytes.length; at += KEY_BYTES) {
    const key = bytes.slice(at, at + KEY_BYTES)
    const hex = toHex(key)
    if (seen.has(hex)) throw P2PError.MALFORMED_MESSAGE('a LOGS message names a key twice')
    seen.add(hex)
    keys.push(key)
  }
  if (keys.length === 0 && !listed) throw P2PError.MALFORMED_MESSAGE('an empty LOGS message that ends no list')
  return {listed, keys}
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
  /** Most logs held, `logs` included; also the most addresses one peer may announce. */
  maxLogs?: number
  /** The bound on a value of every log, as given to the Log. */
  maxValueBytes?: number
}

export interface RoomLogsProgress {
  /** Entries that connected peers hold and we do not, summed over logs (the largest count among a log's peers). */
  behind: number
  /**
   * Nothing known to be missing: every peer's first list is in, a learned log has
   * heard from a peer that announced it, and no log is behind any peer.
   */
  synced: boolean
}

export interface RoomLogsStats {
  /** Logs held: the caller's and the replicas. */
  logs: number
  /** Addresses learned from peers and opened. */
  learned: number
  /** New addresses not opened because `maxLogs` logs are held. */
  ignored: number
  /** Peers dropped for breaking the directory's rules. */
  dropped: number
}

export type RoomLogsEvents = {
  /** A log joined (the caller's, one found in storage, one learned from a peer): a feed merges it. */
  log: (log: Log) => void
  /** `progress` changed. */
  progress: (progress: RoomLogsProgress) => void
  /** A peer broke the directory's rules; its connection is destroyed with `err`. */
  drop: (key: string, err: P2PError) => void
  /** A replica or the directory could not be read or written. */
  error: (err: P2PError) => void
  close: () => void
}

/** One log held here: replicated over the swarm, and what each peer's session says of it. */
interface Held {
  log: Log
  /** A replica this object opened (and closes), not one of the caller's. */
  replica: boolean
  attached: AttachedLog | undefined
  /** Peers whose session said how far along they are: entries we lack from each. */
  behind: Map<string, number>
  /** Peers that announced this address. */
  announcers: Set<string>
  /** Holds entries: listed to peers and kept in the directory. */
  listed: boolean
  onUpdate: () => void
  /** The log's own progress (every session's): how far behind each peer we are. */
  onProgress: (progress: {behind: number, peer: string}) => void
}

/** One peer's directory session. */
interface Session {
  key: string
  peer: ProtocolPeer
  channel: Channel
  /** Addresses it announced; each once, at most maxLogs. */
  received: Set<string>
  /** Addresses we told it of. */
  sent: Set<string>
  /** Its first list is in. */
  listed: boolean
}

/**
 * The logs of one name in a swarm's room. Rules for what peers say, each
 * breach `ERR_PEER_MISBEHAVING` (a malformed message `ERR_MALFORMED_MESSAGE`,
 * an oversized one `ERR_MESSAGE_TOO_LARGE`) and the peer's connection destroyed:
 * - an address is announced once per session, and one peer announces at most `maxLogs`;
 * - the first list ends once.
 * An address learned opens a replica only while fewer than `maxLogs` logs are
 * held (`stats.ignored` counts the others). A replica still empty when every peer
 * that announced it has gone is closed and forgotten, so junk addresses last no
 * longer than the peer that sent them. Only logs that hold entries are listed
 * to peers and kept in the directory, so junk never spreads and never outlives the page.
 * (A peer cannot be judged by an empty replication vector for an address it
 * announced: it may have sent that vector before the log's first entries reached it.)
 */
export class RoomLogs extends Emitter<RoomLogsEvents> {
  readonly name: string | undefined
  readonly maxLogs: number
  readonly stats: RoomLogsStats = {logs: 0, learned: 0, ignored: 0, dropped: 0}
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
    checkInteger('maxLogs', maxLogs, 1)
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
   * Reads the caller's logs and the directory, opens the logs it names, then
   * replicates them all and starts listing them to peers.
   */
  ready(): Promise<void> {
    this.#ready ??= this.#start()
    return this.#ready
  }

  async #start(): Promise<void> {
    await Promise.all([...this.#held.values()].map(h => h.log.ready()))
    const stored: string[] = []
    if (this.#directory) {
      for await (const key of this.#directory.keys({gt: this.#prefix, lt: this.#prefix + '~'})) stored.push(key.slice(this.#prefix.length))
    }
    if (this.#destroyed) return
    for (const held of [...this.#held.values()]) this.#attach(held)
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
    const held: Held = {log, replica, attached: undefined, behind: new Map(), announcers: new Set(), listed: false,
      onUpdate: () => this.#listed(held),
      onProgress: ({behind, peer}) => {
        held.behind.set(peer, behind)
        this.#update()
      },
    }
    this.#held.set(log.address, held)
    this.stats.logs = this.#held.size
    return held
  }

  /** Opens the replica of `address` and replicates it; resolves once it is in (or was given up). */
  async #openReplica(address: string, announcer?: string): Promise<void> {
    const held = this.#hold(new Log({db: this.#db, key: fromHex(address), maxValueBytes: this.#maxValueBytes}), true)
    if (announcer) held.announcers.add(announcer)
    try {
      await held.log.ready()
    } catch (err) {
      this.#forget(held)
      if (!this.#destroyed) this.emit('error', toP2PError(err))
      return
    }
    if (this.#destroyed || this.#held.get(address) !== held) return
    this.#attach(held)
  }

  /** Replicates a log that is ready, and lists it once it holds entries. */
  #attach(held: Held): void {
    const {log} = held
    const attached = held.attached = attachLog(log, this.#swarm, {maxValueBytes: this.#maxValueBytes})
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
    this.#listed(held)
    this.#update()
  }

  /** A log that holds entries is kept in the directory and told to every peer that may not have it. */
  #listed(held: Held): void {
    if (held.listed || held.log.length === 0 || this.#destroyed) return
    held.listed = true
    const address = held.log.address
    this.#directory?.put(this.#prefix + address, '').catch(err => {
      if (this.#destroyed) return
      this.emit('error', isQuotaError(err)
        ? P2PError.STORAGE_FULL(`cannot keep the log ${shortId(address)} in the directory`, err)
        : toP2PError(err))
    })
    for (const session of this.#sessions.values()) this.#tell(session, [address], false)
  }

  #forget(held: Held): void {
    if (this.#held.get(held.log.address) !== held) return
    this.#held.delete(held.log.address)
    this.stats.logs = this.#held.size
    held.attached?.detach()
    held.log.off('update', held.onUpdate)
    held.log.off('progress', held.onProgress)
    held.log.close().catch(rethrowLater)
    debug('forget', shortId(held.log.address))
    this.#update()
  }

  #startSession(peer: ProtocolPeer, key: string, name: string, ended: () => boolean): Session {
    const session: Session = {key, peer, channel: undefined!, received: new Set(), sent: new Set(), listed: false}
    session.channel = peer.channel(roomLogsProtocol(name), {
      onmessage: bytes => this.#onMessage(session, bytes),
      onclose: () => {
        if (ended()) this.#endSession(session, false)
      },
    })
    this.#sessions.set(key, session)
    const listed = [...this.#held.values()].filter(h => h.listed).map(h => h.log.address)
    this.#tell(session, listed, true)
    debug('session', name, shortId(key), listed.length)
    this.#update()
    return session
  }

  /** Sends `addresses` it was not told of, cut into messages; `first` ends the first list (an empty message if need be). */
  #tell(session: Session, addresses: string[], first: boolean): void {
    const fresh = addresses.filter(a => !session.sent.has(a) && !session.received.has(a))
    for (const a of fresh) session.sent.add(a)
    if (session.channel.closed) return
    for (let i = 0; i < fresh.length || (first && i === 0); i += MAX_KEYS_PER_MESSAGE) {
      const keys = fresh.slice(i, i + MAX_KEYS_PER_MESSAGE).map(fromHex)
      session.channel.send(encodeLogsMessage({listed: first && i + MAX_KEYS_PER_MESSAGE >= fresh.length, keys}))
    }
  }

  #endSession(session: Session, close: boolean): void {
    if (this.#sessions.get(session.key) === session) this.#sessions.delete(session.key)
    if (close && !session.channel.closed) session.channel.close()
    for (const address of session.received) {
      const held = this.#held.get(address)
      if (!held) continue
      held.announcers.delete(session.key)
      // Its only announcers gone and nothing came: nobody vouches for it any longer.
      if (held.replica && held.log.length === 0 && held.announcers.size === 0) this.#forget(held)
    }
    this.#update()
  }

  #onMessage(session: Session, bytes: Uint8Array): void {
    if (this.#destroyed || this.#sessions.get(session.key) !== session) return
    let message: LogsMessage
    try {
      message = decodeLogsMessage(bytes)
      if (message.listed && session.listed) throw P2PError.PEER_MISBEHAVING('a second first list')
      for (const key of message.keys) {
        const address = toHex(key)
        if (session.received.has(address)) throw P2PError.PEER_MISBEHAVING(`announced ${shortId(address)} twice`)
        session.received.add(address)
      }
      if (session.received.size > this.maxLogs) throw P2PError.PEER_MISBEHAVING(`announced more than ${this.maxLogs} logs`)
    } catch (err) {
      this.#misbehave(session, err as P2PError)
      return
    }
    if (message.listed) session.listed = true
    for (const key of message.keys) this.#learn(toHex(key), session)
    this.#update()
  }

  #learn(address: string, session: Session): void {
    const held = this.#held.get(address)
    if (held) {
      held.announcers.add(session.key)
      return
    }
    if (this.#held.size >= this.maxLogs) {
      this.stats.ignored++
      debug('ignored', shortId(address), 'maxLogs')
      return
    }
    this.stats.learned++
    debug('learn', shortId(address), 'from', shortId(session.key))
    this.#openReplica(address, session.key).catch(rethrowLater)
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
    let synced = [...this.#sessions.values()].every(s => s.listed)
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

function directoryOf(db: LogDatabase) {
  return db.sublevel<string, string>('room-logs', {keyEncoding: 'utf8', valueEncoding: 'utf8'})
}
