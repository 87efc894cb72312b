/**
 * The always-on mirror (swarmbot, done right): a peer like any browser's that
 * joins rooms, replicates the logs it is told to keep, live, into one database,
 * and serves them while every browser is closed. Platform-free: the caller
 * gives it the database (classic-level on disk in Node) and WebRTC
 * (node-datachannel), as `p2p-elements mirror` does (src/server/mirror-command.ts).
 * docs/mirror.md.
 */
import {Emitter} from '../core/emitter.js'
import {P2PError, toP2PError} from '../core/errors.js'
import {toHex, fromHex} from '../core/bytes.js'
import type {Identity} from '../core/crypto/identity.js'
import {Log} from '../core/log/log.js'
import type {AttachedLog} from '../core/log/swarm.js'
import type {LogDatabase} from '../core/log/store.js'
import type {Entry} from '../core/log/entry.js'
import {Swarm} from '../core/swarm/swarm.js'
import type {WebRTC} from '../core/swarm/rtc-link.js'

const KEY_PATTERN = /^[0-9a-f]{64}$/

export interface MirrorOptions {
  /** Signalling hubs (each room joins through all of them). */
  hubs: string[]
  /** Where the logs are kept; the caller opens and closes it. */
  db: LogDatabase
  /** The mirror's own key: keep it (a seed on disk) so peers know the mirror across restarts. */
  identity: Identity
  /** Rooms to join: the mirror is a peer of each. */
  rooms: string[]
  /** Addresses (64 hex characters) of the logs to keep, replicated in every room. */
  logs: string[]
  /** ICE servers for WebRTC (none: loopback and the local network only). */
  iceServers?: RTCIceServer[]
  /** Node's WebRTC (p2p-elements/node's loadNodeWebRTC()), where the platform has none. */
  webrtc?: WebRTC
  /** Announcement pacing of each room's swarm, as Swarm takes it. */
  announceInterval?: {min: number, max: number}
}

/** One kept log as the mirror sees it, beside what its peers report. */
export interface MirrorLogStatus {
  address: string
  /** Entries stored here. */
  length: number
  /** The log's heads (hex): equal to a writer's heads means the mirror holds what the writer wrote. */
  heads: string[]
  /** Bytes of entries stored. */
  bytes: number
  /** Replication sessions open now. */
  peers: number
  /** The most entries any connected peer said it holds (its vector), or null before any said. */
  remote: number | null
  /** Entries connected peers hold that the mirror lacks (the most over its peers). */
  behind: number
  /** Entries stored from peers since the mirror started: after a restart, only what is new. */
  received: number
  /** Entries peers sent since the start that the mirror held already (each fetched twice). */
  duplicates: number
  /** Storage is full: replication paused (what is stored stays served). */
  paused: boolean
}

export interface MirrorStatus {
  /** The mirror's public key (hex). */
  key: string
  rooms: Array<{room: string, peers: number}>
  logs: MirrorLogStatus[]
}

export type MirrorEvents = {
  /** Something in the status changed (a peer came or went, entries arrived, progress). */
  status: () => void
  /** A log or a room reported an error; the mirror goes on. */
  error: (err: P2PError) => void
}

interface Kept {
  log: Log
  attached: AttachedLog[]
  /** The latest progress of each peer's session: its remote length and how far behind we are. */
  remotes: Map<string, {remote: number, behind: number}>
  received: number
  /** Duplicates counted by sessions that have ended. */
  duplicates: number
}

export class Mirror extends Emitter<MirrorEvents> {
  readonly identity: Identity
  readonly #db: LogDatabase
  readonly #swarms = new Map<string, Swarm>()
  readonly #kept = new Map<string, Kept>()
  readonly #options: MirrorOptions
  #opened: Promise<void> | undefined
  #closed = false

  constructor(options: MirrorOptions) {
    super()
    const {hubs, db, identity, rooms, logs} = options
    if (!Array.isArray(hubs) || hubs.length === 0) throw P2PError.INVALID_ARGUMENT('a mirror needs at least one hub')
    if (!db || typeof db.sublevel !== 'function') throw P2PError.INVALID_ARGUMENT('db must be an abstract-level database')
    if (!Array.isArray(rooms) || rooms.length === 0 || rooms.some(room => typeof room !== 'string' || room === '')) {
      throw P2PError.INVALID_ARGUMENT('a mirror joins at least one room, each named by a non-empty string')
    }
    if (!Array.isArray(logs) || logs.some(key => !KEY_PATTERN.test(key))) throw P2PError.INVALID_ARGUMENT('a log to keep is named by its address, 64 lowercase hex characters')
    this.identity = identity
    this.#db = db
    this.#options = options
  }

  /** Opens the kept logs (their state read from the database, no entry read) and joins the rooms. Idempotent. */
  open(): Promise<void> {
    this.#opened ??= this.#open()
    return this.#opened
  }

  async #open(): Promise<void> {
    const {hubs, rooms, logs, iceServers = [], webrtc, announceInterval} = this.#options
    for (const address of new Set(logs)) {
      const log = new Log({db: this.#db, key: fromHex(address)})
      await log.ready()
      if (this.#closed) {
        await log.close()
        return
      }
      const kept: Kept = {log, attached: [], remotes: new Map(), received: 0, duplicates: 0}
      log.on('update', (entries: Entry[]) => {
        kept.received += entries.length
        this.#changed()
      })
      log.on('progress', ({peer, remote, behind}) => {
        kept.remotes.set(peer, {remote, behind})
        this.#changed()
      })
      log.on('error', err => this.emit('error', err))
      this.#kept.set(address, kept)
    }
    for (const room of new Set(rooms)) {
      const swarm = new Swarm({hubs, room, identity: this.identity, iceServers, webrtc, announceInterval})
      swarm.on('connect', () => this.#changed())
      swarm.on('disconnect', () => this.#changed())
      swarm.on('error', err => this.emit('error', toP2PError(err)))
      this.#swarms.set(room, swarm)
      for (const kept of this.#kept.values()) {
        const attached = kept.log.replicate(swarm)
        attached.on('drop', (key, session) => {
          kept.duplicates += session.stats.duplicates
          kept.remotes.delete(key)
          this.#changed()
        })
        kept.attached.push(attached)
      }
    }
    this.#changed()
  }

  get status(): MirrorStatus {
    return {
      key: toHex(this.identity.publicKey),
      rooms: [...this.#swarms].map(([room, swarm]) => ({room, peers: swarm.peers.length})),
      logs: [...this.#kept].map(([address, {log, attached, remotes, received, duplicates}]) => {
        const reports = [...remotes.values()]
        const sessions = attached.flatMap(a => [...a.peers().values()])
        return {
          address,
          length: log.length,
          heads: log.heads().map(toHex).sort(),
          bytes: log.stats.bytes,
          peers: sessions.length,
          remote: reports.length === 0 ? null : Math.max(...reports.map(r => r.remote)),
          behind: reports.reduce((most, r) => Math.max(most, r.behind), 0),
          received,
          duplicates: sessions.reduce((n, session) => n + session.stats.duplicates, duplicates),
          paused: log.stats.paused,
        }
      }),
    }
  }

  /** Leaves the rooms and closes the logs; what is stored stays whole (each write is one atomic batch). Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    await this.#opened?.catch(() => undefined)
    for (const kept of this.#kept.values()) for (const attached of kept.attached) attached.detach()
    for (const swarm of this.#swarms.values()) swarm.destroy()
    await Promise.all([...this.#kept.values()].map(kept => kept.log.close()))
  }

  #changed(): void {
    if (!this.#closed) this.emit('status')
  }
}
