/**
 * The always-on mirror (swarmbot, done right): a peer like any browser's that
 * joins rooms, replicates the logs it is told to keep, live, and downloads and
 * seeds the files, into one database, and serves them while every browser is
 * closed. Platform-free: the caller
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
import {EntryKind, readValue, type Entry} from '../core/log/entry.js'
import {View, type ViewRow, type ViewSubscription} from '../core/views/view.js'
import {Swarm} from '../core/swarm/swarm.js'
import {checkInteger} from '../core/check.js'
import type {WebRTC} from '../core/swarm/rtc-link.js'
import {FileShare} from '../core/files/share.js'
import {PageDht} from '../core/dht/page-dht.js'
import {QuotaChunkStore} from './quota-store.js'
import {serveMirrorStatus, type StatusServer} from './status-channel.js'
import {KEY_PATTERN} from './status-watch.js'

// A log address, a file id or a public key, as the mirror's options and the control entries name them.
export {KEY_PATTERN} from './status-watch.js'

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
  /** Ids (64 hex characters) of the files to download and seed in every room. */
  files?: string[]
  /**
   * Keys (hex) that control the mirror: the mirror's own log (its address is
   * the mirror's key) admits them as writers, and their `{mirror: address}` and
   * `{unmirror: address}` entries add and remove logs to keep (with `kind: 'file'`, files). Keys admitted
   * before and no longer listed are removed. None: no remote control.
   */
  owners?: string[]
  /** Bytes all kept logs and files together may hold (the control log's count too, though it has no quota of its own); none: no bound. */
  maxBytes?: number
  /** Bytes of entries one kept log may hold; none: no bound. */
  maxLogBytes?: number
  /** Bytes of chunks one kept file may hold; none: no bound. */
  maxFileBytes?: number
  /** ICE servers for WebRTC (none: loopback and the local network only). */
  iceServers?: RTCIceServer[]
  /** Node's WebRTC (p2p-elements/node's loadNodeWebRTC()), where the platform has none. */
  webrtc?: WebRTC
  /** Announcement pacing of each room's swarm, as Swarm takes it. */
  announceInterval?: {min: number, max: number}
  /**
   * Whether the mirror is a node of the browsers' DHT (docs/dht.md): its rooms
   * announced there, so pages reach it with their hubs down. On by default.
   */
  dht?: boolean
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
  /** Why it is kept: a `--log` flag (`logs`), or an owner's `mirror` entry in the control log. */
  source: 'flag' | 'control'
  /** It reached its quota (its own, or its share of the overall one) and stopped growing; what it holds is served. */
  overQuota: boolean
}

/** One kept file as the mirror sees it, beside what its peers hold. */
export interface MirrorFileStatus {
  /** The file's id (the hash of its manifest). */
  id: string
  /** From its manifest: null until a peer gave it. */
  name: string | null
  size: number | null
  chunks: number | null
  /** Chunks verified and stored here. */
  have: number
  /** Bytes of chunks stored here. */
  bytes: number
  /** Bytes of chunks stored from peers since the mirror started: after a restart, only what was missing. */
  received: number
  /** Connected peers that hold a chunk of it or more (in any room). */
  peers: number
  /** Connected peers that hold all of it. */
  seeders: number
  /**
   * `waiting`: no peer has given its manifest yet; `downloading`; `paused`: the
   * download stopped (its quota, a full disk); `complete`: every chunk is here.
   * What is stored is served in every state.
   */
  state: 'waiting' | 'downloading' | 'paused' | 'complete'
  source: 'flag' | 'control'
  /** It reached its quota (its own, or its share of the overall one) and stopped growing; what it holds is served. */
  overQuota: boolean
}

/** The mirror's own log, where its owners ask for logs and files to keep. */
export interface MirrorControlStatus {
  /** Its address: the mirror's key. */
  address: string
  /** Keys admitted to write it (the owners). */
  owners: string[]
  length: number
  /** Its entries folded since the start that ask nothing the mirror understands (or name no log address): skipped. */
  ignored: number
  /** Entries peers sent that the log refused (a key not admitted, a bad signature): each one dropped its sender. */
  rejected: number
  /** Logs and files the owners asked for that the mirror does not keep, and why (`over quota`: the overall quota is full). */
  refused: Array<{address: string, kind: 'log' | 'file', reason: string}>
}

export interface MirrorStatus {
  /** The mirror's public key (hex). */
  key: string
  rooms: Array<{room: string, peers: number}>
  logs: MirrorLogStatus[]
  files: MirrorFileStatus[]
  control: MirrorControlStatus
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
  source: 'flag' | 'control'
  /** Stops following the log (its listeners). */
  offs: Array<() => void>
}

interface KeptFile {
  id: string
  source: 'flag' | 'control'
  /** The room whose share downloads it now: one at a time, so no chunk is fetched twice. */
  room: string | undefined
  complete: boolean
  /** The download stopped (its quota, a full disk): tried again when room is made, and at the next start. */
  paused: boolean
  /** Bytes the store held of it when it was kept. */
  before: number
}

interface Control {
  log: Log
  view: View
  subscription: ViewSubscription
  attached: AttachedLog[]
  ignored: number
}

/**
 * A control entry's (JSON) value: `{mirror: address}` or `{unmirror: address}`
 * for a log, the same with `kind: 'file'` and a file's id for a file, the
 * address or id 64 lowercase hex characters. Its row's key is `log/<address>`
 * or `file/<id>`.
 */
function controlRow(entry: Entry): ViewRow | null {
  let value: unknown
  try {
    value = readValue(entry)
  } catch {
    return null
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return null
  const {mirror, unmirror, kind = 'log'} = value as {mirror?: unknown, unmirror?: unknown, kind?: unknown}
  if (kind !== 'log' && kind !== 'file') return null
  if (typeof mirror === 'string' && KEY_PATTERN.test(mirror) && unmirror === undefined) {
    return {type: 'put', key: `${kind}/${mirror}`, value: {by: toHex(entry.author), time: entry.time}}
  }
  if (typeof unmirror === 'string' && KEY_PATTERN.test(unmirror) && mirror === undefined) return {type: 'del', key: `${kind}/${unmirror}`}
  return null
}

export class Mirror extends Emitter<MirrorEvents> {
  readonly identity: Identity
  /** The mirror's public key (hex): the address of its control log. */
  readonly key: string
  readonly #db: LogDatabase
  readonly #swarms = new Map<string, Swarm>()
  readonly #kept = new Map<string, Kept>()
  readonly #keptFiles = new Map<string, KeptFile>()
  /** One share per room, all on one store: each file downloads through one of them and is seeded by all. */
  readonly #shares = new Map<string, FileShare>()
  readonly #store: QuotaChunkStore
  readonly #statusServers: StatusServer[] = []
  #dht: PageDht | undefined
  readonly #options: MirrorOptions
  readonly #owners: string[]
  #control: Control | undefined
  /** Logs and files (`log/<address>`, `file/<id>`) an owner asked for that found no room, in the order asked: tried again when one is let go. */
  readonly #refused = new Map<string, string>()
  /** Keep and drop, one at a time, in the order asked. */
  #turn: Promise<void> = Promise.resolve()
  #opened: Promise<void> | undefined
  #closed = false

  constructor(options: MirrorOptions) {
    super()
    const {hubs, db, identity, rooms, logs, files = [], owners = []} = options
    if (!Array.isArray(hubs) || hubs.length === 0) throw P2PError.INVALID_ARGUMENT('a mirror needs at least one hub')
    if (!db || typeof db.sublevel !== 'function') throw P2PError.INVALID_ARGUMENT('db must be an abstract-level database')
    if (!Array.isArray(rooms) || rooms.length === 0 || rooms.some(room => typeof room !== 'string' || room === '')) {
      throw P2PError.INVALID_ARGUMENT('a mirror joins at least one room, each named by a non-empty string')
    }
    if (!Array.isArray(logs) || logs.some(key => !KEY_PATTERN.test(key))) throw P2PError.INVALID_ARGUMENT('a log to keep is named by its address, 64 lowercase hex characters')
    if (!Array.isArray(files) || files.some(id => !KEY_PATTERN.test(id))) throw P2PError.INVALID_ARGUMENT('a file to keep is named by its id, 64 lowercase hex characters')
    if (!Array.isArray(owners) || owners.some(key => !KEY_PATTERN.test(key))) throw P2PError.INVALID_ARGUMENT('an owner is named by its public key, 64 lowercase hex characters')
    if (options.maxBytes !== undefined) checkInteger('maxBytes', options.maxBytes, 0)
    if (options.maxLogBytes !== undefined) checkInteger('maxLogBytes', options.maxLogBytes, 0)
    if (options.maxFileBytes !== undefined) checkInteger('maxFileBytes', options.maxFileBytes, 0)
    this.identity = identity
    this.key = toHex(identity.publicKey)
    this.#db = db
    this.#options = options
    this.#owners = [...new Set(owners)]
    // Beside the logs' sublevels (`log-<address>`), so one database holds all.
    this.#store = new QuotaChunkStore({db: db.sublevel('files')})
    this.#store.limit = id => this.#fileQuota(id)
  }

  /** Joins the rooms, opens the kept logs (their state read, no entry) and the control log, and follows it. Idempotent. */
  open(): Promise<void> {
    this.#opened ??= this.#open()
    return this.#opened
  }

  async #open(): Promise<void> {
    const {hubs, rooms, logs, files = [], iceServers = [], webrtc, announceInterval, dht = true} = this.#options
    for (const room of new Set(rooms)) {
      const swarm = new Swarm({hubs, room, identity: this.identity, iceServers, webrtc, announceInterval})
      swarm.on('connect', () => this.#changed())
      swarm.on('disconnect', () => this.#changed())
      swarm.on('error', err => this.emit('error', toP2PError(err)))
      this.#swarms.set(room, swarm)
      this.#statusServers.push(serveMirrorStatus(swarm, () => this.status))
      this.#shares.set(room, this.#share(swarm))
      if (dht) {
        // A node of the browsers' DHT, its rooms announced there: reachable with the hubs down.
        this.#dht ??= new PageDht(swarm, {tabs: false, webrtc})
        this.#dht.follow(swarm)
      }
    }
    await Promise.all([...this.#shares.values()].map(share => share.ready))
    for (const address of new Set(logs)) await this.#keep(address, 'flag')
    for (const id of new Set(files)) await this.#keepFile(id, 'flag')
    await this.#openControl()
    // Files in the store that no flag and no owner asks for any more: let go, as an owner's unmirror would.
    for (const id of await this.#store.files()) if (!this.#keptFiles.has(id)) await this.#forgetFile(id)
    this.#changed()
  }

  /** A room's file share, on the mirror's store. Partial files resume through #fetch, one room each, not through every share. */
  #share(swarm: Swarm): FileShare {
    const share = new FileShare({store: this.#store, swarm, resume: false})
    share.on('file', info => {
      const kept = this.#keptFiles.get(info.id)
      // A peer of this room has a kept file that waits for one.
      if (kept && kept.room === undefined && !kept.complete && !kept.paused && info.holders.length > 0) this.#fetch(kept)
      this.#changed()
    })
    share.on('progress', () => this.#changed())
    share.on('remove', () => this.#changed())
    share.on('error', (err, id) => {
      // A kept file's pause is said in its status (#fetch).
      if (id === undefined || !this.#keptFiles.has(id)) this.emit('error', err)
    })
    return share
  }

  /** The mirror's own log: its owners admitted (and those no longer listed removed), replicated in every room, read through a view. */
  async #openControl(): Promise<void> {
    // No quota: only owners write it, and a full mirror must still hear them let a log go.
    const log = new Log({db: this.#db, key: this.identity.publicKey, identity: this.identity})
    await log.ready()
    const admitted = log.writers()
    for (const owner of this.#owners) if (!admitted.has(owner)) await log.admit(fromHex(owner))
    for (const key of admitted) if (key !== this.key && !this.#owners.includes(key)) await log.remove(fromHex(key))
    const attached = [...this.#swarms.values()].map(swarm => log.replicate(swarm))
    const control = {log, attached, ignored: 0} as Control
    control.view = new View(log, {
      name: 'mirror-control',
      // 2: rows keyed by kind (`log/…`, `file/…`).
      version: 2,
      map: entry => {
        if (entry.kind !== EntryKind.Json) return []
        const row = controlRow(entry)
        if (row === null) control.ignored++
        return row === null ? [] : [row]
      },
    })
    control.view.on('error', err => this.emit('error', err))
    log.on('update', () => this.#changed())
    log.on('error', err => this.emit('error', err))
    this.#control = control
    // Every address an owner asked for, now and as entries come; one an owner took back is let go.
    control.subscription = control.view.subscribe({}, diffs => {
      for (const diff of diffs) {
        const [kind, id] = diff.key.split('/')
        if (diff.type === 'enter') this.#queue(() => kind === 'file' ? this.#keepFile(id, 'control') : this.#keep(id, 'control'))
        else if (diff.type === 'leave') {
          this.#refused.delete(diff.key)
          this.#queue(() => kind === 'file' ? this.#dropFile(id) : this.#drop(id))
        }
      }
    })
    await control.subscription.ready
    await this.#turn
  }

  #queue(job: () => Promise<void>): void {
    this.#turn = this.#turn.then(job).catch(err => this.emit('error', toP2PError(err)))
  }

  /** Keeps a log: opens it and replicates it in every room. A log kept already keeps its first reason. */
  async #keep(address: string, source: 'flag' | 'control'): Promise<void> {
    // The control log is open already, under its own rules.
    if (this.#closed || this.#kept.has(address) || address === this.key) return
    const {maxBytes = Infinity} = this.#options
    if (source === 'control' && this.#full(maxBytes)) {
      this.#refused.set(`log/${address}`, 'over quota')
      this.#changed()
      return
    }
    this.#refused.delete(`log/${address}`)
    const log = new Log({db: this.#db, key: fromHex(address), maxBytes: this.#quotaOf(fromHex(address))})
    const kept: Kept = {log, attached: [], remotes: new Map(), received: 0, duplicates: 0, source, offs: []}
    this.#kept.set(address, kept)
    await log.ready()
    const onUpdate = (entries: Entry[]): void => {
      kept.received += entries.length
      this.#changed()
    }
    const onProgress = ({peer, remote, behind}: {peer: string, remote: number, behind: number}): void => {
      kept.remotes.set(peer, {remote, behind})
      this.#changed()
    }
    const onError = (err: P2PError): void => {
      this.emit('error', err)
    }
    log.on('update', onUpdate)
    log.on('progress', onProgress)
    log.on('error', onError)
    kept.offs.push(() => log.off('update', onUpdate), () => log.off('progress', onProgress), () => log.off('error', onError))
    if (this.#closed) return
    for (const swarm of this.#swarms.values()) {
      const attached = log.replicate(swarm)
      attached.on('drop', (key, session) => {
        kept.duplicates += session.stats.duplicates
        kept.remotes.delete(key)
        this.#changed()
      })
      kept.attached.push(attached)
    }
    this.#changed()
  }

  /** Stops keeping a log an owner took back (a `--log` flag's stays): no more replication; what is stored stays on disk. */
  async #drop(address: string): Promise<void> {
    const kept = this.#kept.get(address)
    if (!kept || kept.source === 'flag') return
    this.#kept.delete(address)
    await this.#release(kept)
    await this.#madeRoom()
  }

  /** Room made: logs and files stopped at their share grow again, and what was refused is tried again, in order. */
  async #madeRoom(): Promise<void> {
    for (const other of this.#kept.values()) other.log.recheckQuota()
    for (const kept of this.#keptFiles.values()) {
      if (!kept.paused) continue
      kept.paused = false
      this.#store.overQuota.delete(kept.id)
      this.#fetch(kept)
    }
    for (const waiting of [...this.#refused.keys()]) {
      const [kind, id] = waiting.split('/')
      await (kind === 'file' ? this.#keepFile(id, 'control') : this.#keep(id, 'control'))
    }
    this.#changed()
  }

  /**
   * Keeps a file: what the store holds of it is counted and served, and the
   * rest downloads through one room (#fetch). A file kept already keeps its
   * first reason.
   */
  async #keepFile(id: string, source: 'flag' | 'control'): Promise<void> {
    if (this.#closed || this.#keptFiles.has(id)) return
    if (source === 'control' && this.#full(this.#options.maxBytes ?? Infinity)) {
      this.#refused.set(`file/${id}`, 'over quota')
      this.#changed()
      return
    }
    this.#refused.delete(`file/${id}`)
    const kept: KeptFile = {id, source, room: undefined, complete: false, paused: false, before: 0}
    this.#keptFiles.set(id, kept)
    const have = await this.#store.count(id)
    kept.before = this.#store.held(id)
    if (have?.isComplete()) this.#completed(kept)
    else this.#fetch(kept)
    this.#changed()
  }

  /**
   * Downloads the rest of a kept file through the share of one room: one
   * whose peers have it, or the only room (its share waits for a holder).
   * With several rooms and none holding it, a share's `file` event starts it.
   */
  #fetch(kept: KeptFile): void {
    if (this.#closed || kept.room !== undefined || kept.complete || kept.paused) return
    const rooms = [...this.#shares]
    const [room, share] = rooms.find(([, s]) => (s.file(kept.id)?.holders.length ?? 0) > 0) ?? (rooms.length === 1 ? rooms[0] : [])
    if (!room || !share) return
    kept.room = room
    share.download(kept.id).then(() => {
      kept.room = undefined
      if (this.#keptFiles.get(kept.id) === kept) this.#completed(kept)
    }, (err: unknown) => {
      kept.room = undefined
      const error = toP2PError(err)
      // Let go, or the mirror closing.
      if (error.code === 'ERR_ABORTED' || error.code === 'ERR_DESTROYED' || this.#keptFiles.get(kept.id) !== kept) return
      kept.paused = true
      if (!this.#store.overQuota.has(kept.id)) this.emit('error', error)
      this.#changed()
    })
    this.#changed()
  }

  /** Every chunk is here: every room's share lists it as complete and tells its peers. */
  #completed(kept: KeptFile): void {
    kept.complete = true
    for (const share of this.#shares.values()) {
      share.download(kept.id).then(() => share.announce(kept.id), () => {
        // Destroyed meanwhile, or the file let go.
      })
    }
    this.#changed()
  }

  /** Stops keeping a file an owner took back (a `--file` flag's stays): its download stops and its chunks are deleted. */
  async #dropFile(id: string): Promise<void> {
    const kept = this.#keptFiles.get(id)
    if (!kept || kept.source === 'flag') return
    this.#keptFiles.delete(id)
    await this.#forgetFile(id)
    await this.#madeRoom()
  }

  /** Deletes a file from the store, through every share, so every room's peers hear it is gone. */
  async #forgetFile(id: string): Promise<void> {
    for (const share of this.#shares.values()) await share.remove(id)
    await this.#store.deleteFile(id)
  }

  /** The overall quota is reached: nothing is left, or a log or a file stopped at what it left it. */
  #full(maxBytes: number): boolean {
    if (this.#bytes() >= maxBytes) return true
    const {maxLogBytes = Infinity, maxFileBytes = Infinity} = this.#options
    for (const [address, kept] of this.#kept) if (kept.log.stats.overQuota && this.#quotaOf(fromHex(address))() < maxLogBytes) return true
    for (const id of this.#keptFiles.keys()) if (this.#store.overQuota.has(id) && this.#fileQuota(id) < maxFileBytes) return true
    return false
  }

  /** Bytes held by every kept log, the control log and every kept file. */
  #bytes(): number {
    let total = (this.#control?.log.stats.bytes ?? 0) + this.#store.total()
    for (const kept of this.#kept.values()) total += kept.log.stats.bytes
    return total
  }

  /** A file's quota, asked at each of its chunks: its own bound, and what the overall one leaves it. */
  #fileQuota(id: string): number {
    const {maxBytes = Infinity, maxFileBytes = Infinity} = this.#options
    return Math.min(maxFileBytes, maxBytes - (this.#bytes() - this.#store.held(id)))
  }

  /** A log's quota, asked at each of its writes: its own bound, and what the overall one leaves it. */
  #quotaOf(key: Uint8Array): () => number {
    const {maxBytes = Infinity, maxLogBytes = Infinity} = this.#options
    const address = toHex(key)
    return () => Math.min(maxLogBytes, maxBytes - (this.#bytes() - (this.#kept.get(address)?.log.stats.bytes ?? 0)))
  }

  async #release(kept: Kept): Promise<void> {
    for (const attached of kept.attached) attached.detach()
    for (const off of kept.offs) off()
    await kept.log.close()
  }

  get status(): MirrorStatus {
    const control = this.#control
    return {
      key: this.key,
      rooms: [...this.#swarms].map(([room, swarm]) => ({room, peers: swarm.peers.length})),
      logs: [...this.#kept].map(([address, {log, attached, remotes, received, duplicates, source}]) => {
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
          source,
          overQuota: log.stats.overQuota,
        }
      }),
      files: [...this.#keptFiles.values()].map(kept => this.#fileStatus(kept)),
      control: {
        address: this.key,
        owners: control ? [...control.log.writers()].filter(key => key !== this.key).sort() : [],
        length: control?.log.length ?? 0,
        ignored: control?.ignored ?? 0,
        rejected: control?.log.stats.rejected ?? 0,
        refused: [...this.#refused].map(([key, reason]) => {
          const [kind, address] = key.split('/') as ['log' | 'file', string]
          return {address, kind, reason}
        }),
      },
    }
  }

  #fileStatus(kept: KeptFile): MirrorFileStatus {
    const infos = [...this.#shares.values()].map(share => share.file(kept.id)).filter(info => info !== undefined)
    const holders = new Set(infos.flatMap(info => info.holders))
    const info = infos[0]
    return {
      id: kept.id,
      name: info?.name ?? null,
      size: info?.size ?? null,
      chunks: info?.chunks ?? null,
      have: infos.reduce((most, i) => Math.max(most, i.have), 0),
      bytes: this.#store.held(kept.id),
      received: this.#store.held(kept.id) - kept.before,
      peers: holders.size,
      seeders: infos.reduce((n, i) => n + i.seeders, 0),
      state: kept.complete ? 'complete' : kept.paused ? 'paused' : kept.room !== undefined && info ? 'downloading' : 'waiting',
      source: kept.source,
      overQuota: this.#store.overQuota.has(kept.id),
    }
  }

  /** The mirror's node of the browsers' DHT, once open (none with `dht: false`). */
  get dht(): PageDht | undefined {
    return this.#dht
  }

  /** Leaves the rooms and closes the logs; what is stored stays whole (each write is one atomic batch). Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    await this.#opened?.catch(() => undefined)
    await this.#turn
    const control = this.#control
    if (control) {
      control.subscription.close()
      for (const attached of control.attached) attached.detach()
      await control.view.close()
    }
    for (const server of this.#statusServers) server.detach()
    this.#dht?.close()
    await Promise.all([...this.#shares.values()].map(share => share.close()))
    for (const swarm of this.#swarms.values()) swarm.destroy()
    await Promise.all([...this.#kept.values()].map(kept => this.#release(kept)))
    await control?.log.close()
  }

  #changed(): void {
    if (this.#closed) return
    for (const server of this.#statusServers) server.changed()
    this.emit('status')
  }
}
