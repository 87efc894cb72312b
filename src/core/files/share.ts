/**
 * Files in a room: what `<p2p-file-drop>` and scripts use. A FileShare serves
 * every file of its store to every peer of its swarm (attachFiles), lists the
 * files peers announce (their manifests fetched and verified), and downloads on
 * request with a `Download` scheduler per file, seeding each chunk as soon as
 * it is stored. Partial downloads found in the store start again on their own,
 * so a reload resumes where it stopped.
 *
 * Trust: manifests are checked against their id, chunks against the manifest,
 * both before anything is stored. A peer whose manifests or chunks fail their
 * hash is blamed; at BLAME_LIMIT it is dropped (its connection closed with
 * PEER_MISBEHAVING) and its work goes to the others.
 */
import {createDebug, shortId} from '../debug.js'
import {Emitter} from '../emitter.js'
import {checkInteger, checkNumber} from '../check.js'
import {systemClock, type Clock} from '../clock.js'
import {P2PError, toP2PError} from '../errors.js'
import type {ChunkStore} from './chunk-store.js'
import {Download, DEFAULT_REQUEST_TIMEOUT} from './download.js'
import type {FilePeer, FilePeerStats} from './file-peer.js'
import {safeBlobType} from './blob-type.js'
import {chunkRange, createManifest, isFileId, verifyManifest, type FileManifest} from './manifest.js'
import {Bitfield, MANIFEST_INDEX, type RejectReason} from './messages.js'
import {attachFiles, type AttachedFiles, type FilesSwarm} from './swarm.js'

const debug = createDebug('p2p:files')

/** Bad manifests or chunks a peer may send before it is dropped. */
export const BLAME_LIMIT = 3
/** Files announced by peers that are listed before their manifest arrives: bounds what made-up ids can cost. */
export const MAX_REMOTE_ONLY_FILES = 512
/** A manifest request unanswered this long goes to another holder. */
const MANIFEST_TIMEOUT = 10_000
const TICK = 1_000

export type FileState = 'remote' | 'downloading' | 'paused' | 'complete'

/** A snapshot of one file as the room and this peer know it. */
export interface FileInfo {
  id: string
  name: string
  size: number
  type: string
  chunkSize: number
  /** Chunks in the file. */
  chunks: number
  /** Chunks verified and stored here. */
  have: number
  /** Bytes verified and stored here. */
  bytes: number
  state: FileState
  /** Public keys of connected peers that announce at least one chunk (or the whole of an empty file). */
  holders: string[]
  /** Connected peers with every chunk. */
  seeders: number
  /** Bytes per second while downloading, else 0. */
  speed: number
  /** Seconds left while downloading at a known speed. */
  eta: number | undefined
  /** Why the download is paused. */
  error: P2PError | undefined
  /** Added on this peer. */
  local: boolean
  sequential: boolean
}

export interface FileShareOptions {
  store: ChunkStore
  swarm: FilesSwarm
  /** The mux channel name; two shares on one swarm need two names. */
  protocol?: string
  /** Requests each remote may have waiting with us. */
  maxRequests?: number
  /** Partial downloads found in the store start again on their own. Default true. */
  resume?: boolean
  /** A peer that holds requests and delivers nothing this long is snubbed (ms). */
  requestTimeout?: number
  /** Time, timers and chance for timeouts, snubbing, seeding holds and tie-breaks; the system's by default. */
  clock?: Clock
}

export interface AddFileOptions {
  name: string
  type?: string
  chunkSize?: number
}

export interface DownloadFileOptions {
  /** Fetch chunks in order (media that plays while it downloads). */
  sequential?: boolean
}

export interface FileShareStats {
  /** Chunk bytes served to peers. */
  uploaded: number
  /** Verified chunk bytes stored from peers. */
  downloaded: number
  /** Bytes received that were not needed or failed their hash. */
  wasted: number
  /** Bad manifests and chunks received. */
  blamed: number
}

export type FileShareEvents = {
  /** A file became known (added, or announced and its manifest verified), or its listing changed. */
  file: (info: FileInfo) => void
  /** A chunk of a download was verified and stored. */
  progress: (info: FileInfo) => void
  /** A download finished. */
  complete: (info: FileInfo) => void
  /** The file is no longer listed: not here, and no connected peer has it. */
  remove: (id: string) => void
  /** A download paused (STORAGE_FULL…), a peer was blamed or dropped; `id` when it concerns one file. */
  error: (err: P2PError, id?: string) => void
  /** The share was destroyed (with `err` if it failed). */
  close: (err?: P2PError) => void
}

interface Waiter {
  resolve(info: FileInfo): void
  reject(err: P2PError): void
}

interface Entry {
  id: string
  manifest?: FileManifest
  /** Verified manifest bytes not yet stored (a remote file). */
  manifestBytes?: Uint8Array
  /** What each connected peer announced. */
  remote: Map<string, Bitfield>
  /** Bitfield of what the store holds, once the manifest is stored. */
  have?: Bitfield
  bytes: number
  local: boolean
  listed: boolean
  download?: Download
  sequential: boolean
  error?: P2PError
  waiters: Waiter[]
  /** A download() waits for the manifest. */
  wanted: boolean
  /** begin() is under way: a second call must not store the manifest or read the bitfield again. */
  beginning: boolean
  /** begin() was called while one ran: it runs again once that one is done, in case it came too late to see why. */
  beginAgain: boolean
  /** The peer asked for the manifest, and when. */
  asking?: {key: string, at: number}
  /** Peers that failed to give the manifest. */
  failed: Set<string>
  holdersSeen: string
}

function holds(bitfield: Bitfield): boolean {
  return bitfield.count() > 0 || bitfield.length === 0
}

export class FileShare extends Emitter<FileShareEvents> {
  readonly store: ChunkStore
  /** Local files listed and partial downloads restarted. */
  readonly ready: Promise<void>

  readonly #attached: AttachedFiles
  readonly #entries = new Map<string, Entry>()
  readonly #sessions = new Map<string, FilePeer>()
  readonly #blames = new Map<string, number>()
  readonly #requestTimeout: number
  readonly #maxRequests: number | undefined
  readonly #clock: Clock
  /** Runs only while a download or a manifest request is under way. */
  #timer: unknown
  readonly #stats: FileShareStats = {uploaded: 0, downloaded: 0, wasted: 0, blamed: 0}
  /** Served by sessions that have ended. */
  #uploadedBefore = 0
  /** Chunks being verified and written: close() waits for them. */
  readonly #writes = new Set<Promise<void>>()
  #destroyed = false

  constructor({store, swarm, protocol, maxRequests, resume = true, requestTimeout = DEFAULT_REQUEST_TIMEOUT, clock = systemClock}: FileShareOptions) {
    super()
    checkNumber('requestTimeout', requestTimeout, 1)
    if (maxRequests !== undefined) checkInteger('maxRequests', maxRequests, 1)
    this.store = store
    this.#requestTimeout = requestTimeout
    this.#maxRequests = maxRequests
    this.#clock = clock
    this.#attached = attachFiles(store, swarm, {protocol, maxRequests, clock})
    this.#attached.on('peer', this.#onPeer)
    this.#attached.on('drop', this.#onDrop)
    for (const [key, session] of this.#attached.peers()) this.#onPeer(key, session)
    this.ready = this.#load(resume)
  }

  /** True once destroyed; read-only. */
  get destroyed(): boolean {
    return this.#destroyed
  }

  get stats(): FileShareStats {
    let live = 0
    for (const session of this.#sessions.values()) live += session.stats.bytesServed
    return {...this.#stats, uploaded: this.#uploadedBefore + live}
  }

  /**
   * The file protocol's counters for the session with the peer `key` (chunks
   * served each way, rejects, what it sent unasked), or undefined while there is none.
   */
  peerStats(key: string): FilePeerStats | undefined {
    const stats = this.#sessions.get(key)?.stats
    return stats && {...stats}
  }

  /** Every listed file, in the order first seen. */
  files(): FileInfo[] {
    const out: FileInfo[] = []
    for (const entry of this.#entries.values()) if (entry.listed) out.push(this.#info(entry))
    return out
  }

  file(id: string): FileInfo | undefined {
    const entry = this.#entries.get(id)
    return entry?.listed ? this.#info(entry) : undefined
  }

  /** Hashes `file`, stores it and announces it to every peer. */
  async add(file: Blob | Uint8Array, options: AddFileOptions): Promise<FileInfo> {
    this.#check()
    const {id, bytes, manifest} = await createManifest(file, options)
    await this.store.putManifest(id, bytes)
    for (let index = 0; index < manifest.hashes.length; index++) {
      const {offset, length} = chunkRange(manifest, index)
      const chunk = file instanceof Uint8Array
        ? file.subarray(offset, offset + length)
        : new Uint8Array(await file.slice(offset, offset + length).arrayBuffer())
      await this.store.putChunk(id, index, chunk)
    }
    this.#check()
    const entry = this.#entry(id)
    entry.manifest = manifest
    entry.local = true
    // Downloading it already: the copy added here completes it.
    entry.download?.stop()
    await this.#adopt(entry)
    if (entry.download || entry.wanted) this.#finish(entry)
    this.announce(id)
    this.#list(entry)
    return this.#info(entry)
  }

  /**
   * Downloads a file a peer announced (or resumes one). Resolves when every
   * chunk is verified and stored; rejects with STORAGE_FULL when the disk is
   * full (call again to resume) or ABORTED when cancelled, removed or destroyed.
   */
  download(id: string, {sequential}: DownloadFileOptions = {}): Promise<FileInfo> {
    this.#check()
    if (!isFileId(id)) throw P2PError.INVALID_ARGUMENT('a file id is 64 lowercase hex characters')
    const entry = this.#entry(id)
    if (sequential !== undefined) {
      entry.sequential = sequential
      if (entry.download) entry.download.sequential = sequential
    }
    if (entry.have?.isComplete()) return Promise.resolve(this.#info(entry))
    const promise = new Promise<FileInfo>((resolve, reject) => entry.waiters.push({resolve, reject}))
    entry.wanted = true
    entry.error = undefined
    void this.#begin(entry)
    return promise
  }

  /** Tells every peer what the store holds of `id`: for a store that another share writes too (a mirror's rooms). */
  announce(id: string): void {
    for (const session of this.#sessions.values()) this.#tell(session, s => s.announceFile(id))
  }

  /** Stops a download and discards what it stored. A complete file is left alone (see remove). */
  async cancel(id: string): Promise<void> {
    const entry = this.#entries.get(id)
    if (!entry || entry.have?.isComplete()) return
    await this.#discard(entry, 'download cancelled')
  }

  /** Deletes the local copy (complete or partial) and tells peers. */
  async remove(id: string): Promise<void> {
    const entry = this.#entries.get(id)
    if (!entry) return
    await this.#discard(entry, 'file removed')
  }

  /**
   * A complete file as a Blob. Its type is the file's only when a browser shows that type without
   * running anything (images, audio, video; `safeBlobType`), else `application/octet-stream`.
   */
  async blob(id: string): Promise<Blob> {
    const entry = this.#entries.get(id)
    if (!entry?.manifest || !entry.have?.isComplete()) throw P2PError.NOT_FOUND(`file ${id.slice(0, 8)} is not complete here`)
    const parts: Uint8Array[] = []
    for (let index = 0; index < entry.manifest.hashes.length; index++) {
      const chunk = await this.store.getChunk(id, index)
      if (!chunk) throw P2PError.NOT_FOUND(`chunk ${index} of ${id.slice(0, 8)} is missing`)
      parts.push(chunk)
    }
    return new Blob(parts as BlobPart[], {type: safeBlobType(entry.manifest.type)})
  }

  /**
   * Ends every session and download; the store (and its database) stays open
   * for its owner. Idempotent; emits `error` (with `err`), then `close`.
   */
  destroy(err?: P2PError): void {
    if (this.#destroyed) return
    this.#destroyed = true
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer)
    this.#timer = undefined
    for (const entry of this.#entries.values()) {
      entry.download?.stop()
      entry.download = undefined
      this.#settle(entry, P2PError.ABORTED('file share was destroyed'))
    }
    this.#attached.detach()
    this.#sessions.clear()
    debug('destroyed', err?.message ?? '')
    if (err) this.emit('error', err)
    this.emit('close', err)
    this.removeAllListeners()
  }

  /** Destroys the share and resolves once the chunks it was writing are on disk: then the database may close. */
  async close(): Promise<void> {
    this.destroy()
    while (this.#writes.size > 0) await Promise.allSettled([...this.#writes])
  }

  // ---- internals --------------------------------------------------------------

  #check(): void {
    if (this.#destroyed) throw P2PError.DESTROYED('file share was destroyed')
  }

  #entry(id: string): Entry {
    let entry = this.#entries.get(id)
    if (!entry) {
      entry = {
        id, remote: new Map(), bytes: 0, local: false, listed: false, sequential: false, waiters: [],
        wanted: false, beginning: false, beginAgain: false, failed: new Set(), holdersSeen: '',
      }
      this.#entries.set(id, entry)
    }
    return entry
  }

  async #load(resume: boolean): Promise<void> {
    try {
      for (const id of await this.store.files()) {
        if (this.#destroyed) return
        const entry = this.#entry(id)
        entry.manifest = await this.store.getManifest(id)
        await this.#adopt(entry)
        // Nothing marks a file as added here once stored; complete files are treated as ours to seed.
        entry.local = entry.have?.isComplete() ?? false
        this.#list(entry)
        if (resume && !entry.have?.isComplete()) {
          this.download(id).catch(() => {
            // Reported through 'error' (paused) or deliberately ended (cancel, destroy).
          })
        }
      }
    } catch (err) {
      if (!this.#destroyed) this.emit('error', toP2PError(err))
    }
  }

  /** Reads what the store holds of a file whose manifest is stored. */
  async #adopt(entry: Entry): Promise<void> {
    const have = await this.store.bitfield(entry.id)
    if (!have || !entry.manifest) return
    entry.have = have
    entry.bytes = 0
    for (let i = 0; i < have.length; i++) if (have.get(i)) entry.bytes += chunkRange(entry.manifest, i).length
  }

  #info(entry: Entry): FileInfo {
    const m = entry.manifest!
    const download = entry.download
    const speed = download && !download.done ? download.speed : 0
    const chunks = m.hashes.length
    const have = entry.have?.count() ?? 0
    const holders: string[] = []
    let seeders = 0
    for (const [key, bitfield] of entry.remote) {
      if (!holds(bitfield)) continue
      holders.push(key)
      if (bitfield.isComplete()) seeders++
    }
    const state: FileState = entry.have?.isComplete() ? 'complete'
      : download || entry.beginning ? 'downloading'
        : entry.have || entry.error ? 'paused' : entry.wanted ? 'downloading' : 'remote'
    return {
      id: entry.id, name: m.name, size: m.size, type: m.type, chunkSize: m.chunkSize, chunks, have, bytes: entry.bytes,
      state, holders, seeders, speed, eta: speed > 0 ? (m.size - entry.bytes) / speed : undefined,
      error: entry.error, local: entry.local, sequential: entry.sequential,
    }
  }

  /** Lists a file with a manifest, or tells listeners its listing changed. */
  #list(entry: Entry): void {
    if (!entry.manifest || this.#destroyed) return
    entry.listed = true
    entry.holdersSeen = this.#holderSignature(entry)
    this.emit('file', this.#info(entry))
  }

  #holderSignature(entry: Entry): string {
    let sig = ''
    for (const [key, bitfield] of entry.remote) if (holds(bitfield)) sig += `${key}:${bitfield.isComplete() ? 1 : 0},`
    return sig
  }

  /** After a peer's announcement changed: re-list if who holds it changed; forget it if nobody does. */
  #holdersChanged(entry: Entry): void {
    if (this.#prune(entry)) return
    if (entry.listed && this.#holderSignature(entry) !== entry.holdersSeen) this.#list(entry)
  }

  /** Forgets a remote file nobody connected holds any more. True if it is gone. */
  #prune(entry: Entry): boolean {
    if (entry.have || entry.wanted || entry.local) return false
    for (const bitfield of entry.remote.values()) if (holds(bitfield)) return false
    this.#entries.delete(entry.id)
    if (entry.listed && !this.#destroyed) this.emit('remove', entry.id)
    return true
  }

  async #begin(entry: Entry): Promise<void> {
    if (entry.download) {
      entry.download.start()
      return
    }
    if (entry.beginning) {
      entry.beginAgain = true
      return
    }
    entry.beginning = true
    entry.beginAgain = false
    try {
      if (!entry.have) {
        const bytes = entry.manifestBytes ?? await this.store.getManifestBytes(entry.id)
        if (!bytes) {
          this.#askManifest(entry)
          return // begun again when the manifest arrives
        }
        entry.manifest = await this.store.putManifest(entry.id, bytes)
        await this.#adopt(entry)
      }
      if (this.#destroyed || !entry.wanted) return
      if (entry.have!.isComplete()) {
        this.#finish(entry)
        return
      }
      this.#startDownload(entry)
    } catch (err) {
      this.#pauseEntry(entry, toP2PError(err))
    } finally {
      entry.beginning = false
      // E.g. the manifest arrived while this run looked for it in the store, and found nothing.
      if (entry.beginAgain && !this.#destroyed) void this.#begin(entry)
    }
  }

  #startDownload(entry: Entry): void {
    let download = entry.download
    if (!download) {
      download = new Download({
        id: entry.id, manifest: entry.manifest!, store: this.store, have: entry.have!, sequential: entry.sequential,
        requestTimeout: this.#requestTimeout, maxRequests: this.#maxRequests, clock: this.#clock,
      })
      entry.download = download
      const d = download
      d.on('chunk', (index, length) => {
        if (entry.download !== d) return
        entry.bytes += length
        this.#stats.downloaded += length
        for (const session of this.#sessions.values()) this.#tell(session, s => s.announce(entry.id, index))
        this.emit('progress', this.#info(entry))
      })
      d.on('complete', () => {
        if (entry.download === d) this.#finish(entry)
      })
      d.on('blame', key => this.#blame(key, `a chunk of ${entry.id.slice(0, 8)} failed its hash`))
      d.on('pause', err => {
        if (entry.download === d) this.#pauseEntry(entry, err)
      })
      for (const [key, bitfield] of entry.remote) {
        const session = this.#sessions.get(key)
        if (session) d.update(key, session, bitfield)
      }
    }
    this.#list(entry)
    download.start()
    this.#wake()
  }

  #wake(): void {
    if (this.#timer === undefined && !this.#destroyed) this.#timer = this.#clock.setTimeout(this.#tick, TICK)
  }

  #finish(entry: Entry): void {
    const d = entry.download
    if (d) this.#stats.wasted += d.wasted
    entry.download = undefined
    entry.wanted = false
    const info = this.#info(entry)
    this.#list(entry)
    for (const waiter of entry.waiters.splice(0)) waiter.resolve(info)
    if (d) this.emit('complete', info)
  }

  #pauseEntry(entry: Entry, err: P2PError): void {
    if (entry.download) this.#stats.wasted += entry.download.wasted
    entry.download?.stop()
    entry.download = undefined
    entry.wanted = false
    entry.error = err
    debug('paused', shortId(entry.id), err.message)
    this.#list(entry)
    this.#settle(entry, err)
    if (!this.#destroyed) this.emit('error', err, entry.id)
  }

  #settle(entry: Entry, err: P2PError): void {
    for (const waiter of entry.waiters.splice(0)) waiter.reject(err)
  }

  async #discard(entry: Entry, why: string): Promise<void> {
    entry.download?.stop()
    entry.download = undefined
    entry.wanted = false
    entry.error = undefined
    this.#settle(entry, P2PError.ABORTED(why))
    if (entry.have || entry.local) {
      // Kept, so the file can be fetched again from whoever still has it.
      entry.manifestBytes ??= await this.store.getManifestBytes(entry.id)
      await this.store.deleteFile(entry.id)
      for (const session of this.#sessions.values()) {
        if (!session.destroyed) session.withdraw(entry.id)
      }
    }
    entry.have = undefined
    entry.bytes = 0
    entry.local = false
    // Listed still (as remote) while a peer has it; manifest bytes kept so it can be fetched again.
    if (!this.#prune(entry)) this.#list(entry)
  }

  #blame(key: string, why: string): void {
    this.#stats.blamed++
    const count = (this.#blames.get(key) ?? 0) + 1
    this.#blames.set(key, count)
    const session = this.#sessions.get(key)
    debug('blame', shortId(key), why, count)
    if (count < BLAME_LIMIT) return
    const err = P2PError.PEER_MISBEHAVING(`peer ${shortId(key)} dropped: ${count} bad manifests or chunks (${why})`)
    if (!this.#destroyed) this.emit('error', err)
    // The session's close drops the connection (attachFiles) and hands its work to others (onDrop).
    session?.destroy(err)
  }

  /** Sends an announcement to one peer; a session that ended meanwhile is no error. */
  #tell(session: FilePeer, announce: (session: FilePeer) => Promise<void>): void {
    if (session.destroyed) return
    announce(session).catch(() => {
      // The session ended meanwhile.
    })
  }

  // ---- manifests ----------------------------------------------------------------

  /** Asks one holder for the manifest, unless a request is already out. */
  #askManifest(entry: Entry): void {
    if (entry.manifest || entry.manifestBytes || entry.asking) return
    for (const [key, bitfield] of entry.remote) {
      if (entry.failed.has(key) || !holds(bitfield)) continue
      const session = this.#sessions.get(key)
      if (!session || session.destroyed) continue
      entry.asking = {key, at: this.#clock.now()}
      session.requestManifest(entry.id)
      this.#wake()
      return
    }
  }

  async #gotManifest(key: string, id: string, bytes: Uint8Array): Promise<void> {
    const entry = this.#entries.get(id)
    if (!entry || entry.manifest || entry.manifestBytes) return
    if (entry.asking?.key === key) entry.asking = undefined
    let manifest: FileManifest
    try {
      manifest = await verifyManifest(bytes, id)
    } catch {
      entry.failed.add(key)
      this.#blame(key, `manifest of ${id.slice(0, 8)} does not hash to its id`)
      this.#askManifest(entry)
      return
    }
    if (this.#destroyed || entry.manifest || entry.manifestBytes) return
    entry.manifest = manifest
    entry.manifestBytes = new Uint8Array(bytes)
    this.#list(entry)
    if (entry.wanted) void this.#begin(entry)
  }

  #manifestRefused(key: string, entry: Entry): void {
    entry.failed.add(key)
    if (entry.asking?.key === key) entry.asking = undefined
    this.#askManifest(entry)
  }

  // ---- sessions -----------------------------------------------------------------

  readonly #onPeer = (key: string, session: FilePeer): void => {
    if (this.#sessions.get(key) === session) return
    this.#sessions.set(key, session)
    session.on('have', (id, index) => this.#onHave(key, session, id, index))
    session.on('manifest', (id, bytes) => void this.#gotManifest(key, id, bytes))
    session.on('chunk', (id, index, bytes) => {
      const download = this.#entries.get(id)?.download
      if (!download) {
        this.#stats.wasted += bytes.length
        return
      }
      const write = download.receive(key, index, bytes)
      this.#writes.add(write)
      void write.finally(() => this.#writes.delete(write))
    })
    session.on('reject', (id, index, reason: RejectReason) => {
      const entry = this.#entries.get(id)
      if (!entry) return
      if (index === MANIFEST_INDEX) this.#manifestRefused(key, entry)
      else entry.download?.refused(key, index, reason)
    })
  }

  readonly #onDrop = (key: string, session: FilePeer, err?: P2PError): void => {
    if (this.#sessions.get(key) !== session) return
    this.#sessions.delete(key)
    this.#uploadedBefore += session.stats.bytesServed
    for (const entry of [...this.#entries.values()]) {
      entry.download?.removeSource(key)
      const had = entry.remote.delete(key)
      if (entry.asking?.key === key) {
        entry.asking = undefined
        this.#askManifest(entry)
      }
      if (had) this.#holdersChanged(entry)
    }
    if (err && !this.#destroyed && err.code !== 'ERR_PEER_MISBEHAVING') this.emit('error', err)
  }

  #onHave(key: string, session: FilePeer, id: string, index?: number): void {
    if (this.#destroyed || this.#sessions.get(key) !== session) return
    let entry = this.#entries.get(id)
    const bitfield = session.remoteHas(id)
    if (!entry) {
      if (!bitfield || !holds(bitfield)) return
      if (this.#remoteOnly() >= MAX_REMOTE_ONLY_FILES) return
      entry = this.#entry(id)
    }
    if (bitfield) entry.remote.set(key, bitfield)
    else entry.remote.delete(key)
    entry.download?.update(key, session, bitfield, index)
    if (!entry.manifest) this.#askManifest(entry)
    this.#holdersChanged(entry)
  }

  #remoteOnly(): number {
    let n = 0
    for (const entry of this.#entries.values()) if (!entry.manifest) n++
    return n
  }

  readonly #tick = (): void => {
    this.#timer = undefined
    const now = this.#clock.now()
    let busy = false
    for (const entry of this.#entries.values()) {
      if (entry.download || entry.asking) busy = true
      entry.download?.tick()
      if (entry.asking && now - entry.asking.at > MANIFEST_TIMEOUT) {
        entry.failed.add(entry.asking.key)
        entry.asking = undefined
        this.#askManifest(entry)
      }
    }
    if (busy) this.#wake()
  }
}
