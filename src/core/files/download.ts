/**
 * The scheduler of one file's download: which chunk to ask which peer for, and
 * how many at once. The sessions decode and the store verifies; this file only
 * decides.
 *
 * - Rarest first: of the chunks a peer has that nobody is fetching yet, those
 *   the fewest connected peers have go first, ties in random order, so copies
 *   spread and a seeder's upload is shared out. Sequential mode (media) takes
 *   the lowest index instead.
 * - A window of requests per peer, sized to what the peer delivered lately
 *   (PIPELINE_SECONDS of its rate), so a fast peer is kept busy and a slow one
 *   does not sit on chunks others could send.
 * - Endgame: once every missing chunk is on its way, idle peers ask for the
 *   same chunks again, and the copies still coming are cancelled when one
 *   arrives; the last chunk never waits for the slowest peer.
 * - A peer that stops answering is snubbed (its requests go elsewhere, window
 *   of one); a peer whose chunks fail their hash is reported to the owner,
 *   which drops it after a few; refused chunks are not asked of it again.
 */
import {Emitter} from '../emitter.js'
import {checkInteger, checkNumber} from '../check.js'
import {systemClock, type Clock} from '../clock.js'
import {P2PError, toP2PError} from '../errors.js'
import type {ChunkStore} from './chunk-store.js'
import type {FilePeer} from './file-peer.js'
import {chunkRange, type FileManifest} from './manifest.js'
import {Bitfield, RejectReason} from './messages.js'

/** Requests per peer before its rate is known. */
export const INITIAL_WINDOW = 4
export const MIN_WINDOW = 2
/** Under the server's default cap of 64 held requests, leaving room for a second file from the same peer. */
export const MAX_WINDOW = 32
/** Seconds of a peer's recent rate kept in flight to it. */
export const PIPELINE_SECONDS = 0.25
/** A peer that delivers nothing for this long while it holds requests is snubbed. */
export const DEFAULT_REQUEST_TIMEOUT = 10_000
/** Copies of one chunk requested at once in the endgame. */
const ENDGAME_COPIES = 2
/** A chunk is asked of a second peer only once its first request is this old at least (ms)… */
const ENDGAME_MIN_AGE = 200
/** How long a chunk a peer sent us elsewhere for is asked of others only (ms). */
const ELSEWHERE_HOLD = 5_000
/** Weight of a new rate sample. */
const RATE_ALPHA = 0.25
/** The span the download's speed is averaged over. */
const SPEED_SPAN = 5_000

export type DownloadEvents = {
  /** Chunk `index` was verified and stored. */
  chunk: (index: number, length: number) => void
  complete: () => void
  /** A peer's chunk failed its hash: the owner counts it against the peer. */
  blame: (key: string, index: number) => void
  /** The download stopped on a local failure (a full disk): STORAGE_FULL and the like. */
  pause: (err: P2PError) => void
}

export interface DownloadOptions {
  id: string
  manifest: FileManifest
  store: ChunkStore
  /** What the store already holds (a resumed download). */
  have: Bitfield
  sequential?: boolean
  requestTimeout?: number
  /** Requests a remote holds at once (its server's cap); windows stay under it. */
  maxRequests?: number
  /** Time for timeouts and speed, chance for tie-breaks; the system's by default. */
  clock?: Clock
}

interface Source {
  key: string
  session: FilePeer
  bitfield: Bitfield
  /** Index → when it was requested. */
  inflight: Map<number, number>
  window: number
  /** Bytes per second, smoothed; 0 until the first chunk. */
  rate: number
  /** When this peer last delivered, or when it was last given work while idle. */
  lastProgress: number
  snubbed: boolean
  /** Chunks it refused or sent bad: not asked of it again until it announces them anew. */
  refused: Set<number>
  /** Chunks it sent us elsewhere for (REJECT elsewhere), and when. */
  elsewhere: Map<number, number>
}

export class Download extends Emitter<DownloadEvents> {
  readonly id: string
  readonly manifest: FileManifest
  sequential: boolean
  /** Bytes received that were not needed (endgame copies, chunks already stored) or were bad. */
  wasted = 0
  /** Verified bytes received through this download (not counting what the store already had). */
  downloaded = 0

  readonly #store: ChunkStore
  readonly #have: Bitfield
  readonly #count: number
  readonly #sources = new Map<string, Source>()
  /** Connected peers holding each chunk. */
  readonly #availability: Uint16Array
  /** Of those, peers that do not have the whole file (downloaders like us). */
  readonly #partial: Uint16Array
  /** Requests outstanding for each chunk (above one only in the endgame). */
  readonly #requests: Uint8Array
  /** Chunks received and being verified or written: not asked for again meanwhile. */
  readonly #storing = new Set<number>()
  readonly #requestTimeout: number
  readonly #maxRequests: number
  readonly #clock: Clock
  /** Lowest index that may be missing: where a sequential scan starts. */
  #cursor = 0
  #haveBytes: number
  readonly #samples: Array<[number, number]> = []
  #running = false
  #done = false

  constructor(options: DownloadOptions) {
    super()
    const {
      id, manifest, store, have, sequential = false, requestTimeout = DEFAULT_REQUEST_TIMEOUT, maxRequests = 64, clock = systemClock,
    } = options
    checkNumber('requestTimeout', requestTimeout, 1)
    checkInteger('maxRequests', maxRequests, 1)
    this.id = id
    this.manifest = manifest
    this.#store = store
    this.#have = have
    this.#count = manifest.hashes.length
    this.sequential = sequential
    this.#requestTimeout = requestTimeout
    this.#maxRequests = maxRequests
    this.#clock = clock
    this.#availability = new Uint16Array(this.#count)
    this.#partial = new Uint16Array(this.#count)
    this.#requests = new Uint8Array(this.#count)
    this.#haveBytes = 0
    for (let i = 0; i < this.#count; i++) if (have.get(i)) this.#haveBytes += chunkRange(manifest, i).length
    this.#done = have.isComplete()
  }

  get done(): boolean {
    return this.#done
  }

  /** Chunks verified and stored. */
  get haveCount(): number {
    return this.#have.count()
  }

  /** Bytes verified and stored. */
  get bytes(): number {
    return this.#haveBytes
  }

  /** Bytes per second over the last few seconds; 0 when nothing arrived lately. */
  get speed(): number {
    this.#trimSamples()
    if (this.#samples.length < 2) return 0
    const [t0, b0] = this.#samples[0]
    const [t1, b1] = this.#samples[this.#samples.length - 1]
    const span = Math.max(this.#clock.now() - t0, t1 - t0)
    return span >= 200 ? (b1 - b0) * 1000 / span : 0
  }

  /** Peers this download is fetching from right now. */
  get activeSources(): number {
    let n = 0
    for (const s of this.#sources.values()) if (s.inflight.size > 0) n++
    return n
  }

  /** Starts (or restarts after a pause) asking for chunks. */
  start(): void {
    if (this.#done) return
    this.#running = true
    this.#fillAll()
  }

  /** Stops asking; requests in flight are cancelled, stored chunks stay. */
  stop(): void {
    this.#running = false
    for (const source of this.#sources.values()) this.#cancelAll(source)
  }

  /**
   * A peer's latest announcement for this file (`bitfield` undefined: it
   * withdrew it). `index` set: only that chunk was added.
   */
  update(key: string, session: FilePeer, bitfield: Bitfield | undefined, index?: number): void {
    let source = this.#sources.get(key)
    if (source && source.session !== session) {
      this.removeSource(key)
      source = undefined
    }
    if (!bitfield || bitfield.length !== this.#count) {
      // A bit count that is not the manifest's is a lie about this file; the peer is useless for it.
      if (source) this.removeSource(key)
      return
    }
    if (!source) {
      source = {
        key, session, bitfield: new Bitfield(this.#count), inflight: new Map(), window: INITIAL_WINDOW, rate: 0,
        lastProgress: this.#clock.now(), snubbed: false, refused: new Set(), elsewhere: new Map(),
      }
      this.#sources.set(key, source)
    }
    if (index !== undefined) {
      if (!source.bitfield.get(index)) {
        const wasPartial = !source.bitfield.isComplete()
        source.bitfield.set(index)
        this.#availability[index]++
        if (wasPartial) {
          this.#partial[index]++
          // It just became a seeder: its chunks no longer count as a downloader's.
          if (source.bitfield.isComplete()) this.#tally(source, -1)
        }
      }
      source.refused.delete(index)
    } else {
      if (!source.bitfield.isComplete()) this.#tally(source, -1)
      // Byte by byte, bits only where a byte changed: a peer repeating its HAVE costs little.
      const was = source.bitfield.toBytes()
      const is = bitfield.toBytes()
      for (let b = 0; b < is.length; b++) {
        if (was[b] === is[b]) continue
        for (let i = b * 8; i < Math.min(b * 8 + 8, this.#count); i++) {
          const now = bitfield.get(i)
          if (source.bitfield.get(i) === now) continue
          this.#availability[i] += now ? 1 : -1
          source.bitfield.set(i, now)
        }
      }
      if (!source.bitfield.isComplete()) this.#tally(source, 1)
      source.refused.clear()
    }
    this.#fill(source)
  }

  /** Adds (or takes back) a source's chunks in `partial`; callers do so only for downloaders, not seeders. */
  #tally(source: Source, sign: 1 | -1): void {
    const bytes = source.bitfield.toBytes()
    for (let b = 0; b < bytes.length; b++) {
      if (bytes[b] === 0) continue
      for (let i = b * 8; i < Math.min(b * 8 + 8, this.#count); i++) if (source.bitfield.get(i)) this.#partial[i] += sign
    }
  }

  /** A peer left: what it was fetching goes to the others. */
  removeSource(key: string): void {
    const source = this.#sources.get(key)
    if (!source) return
    this.#sources.delete(key)
    if (!source.bitfield.isComplete()) this.#tally(source, -1)
    for (let i = 0; i < this.#count; i++) if (source.bitfield.get(i)) this.#availability[i]--
    for (const index of source.inflight.keys()) this.#requests[index]--
    source.inflight.clear()
    this.#fillAll()
  }

  /** A chunk this download asked `key` for. */
  async receive(key: string, index: number, bytes: Uint8Array): Promise<void> {
    const source = this.#sources.get(key)
    if (source?.inflight.delete(index)) {
      this.#requests[index]--
      this.#measure(source, bytes.length)
    }
    if (this.#done || index >= this.#count || this.#have.get(index) || this.#storing.has(index)) {
      this.wasted += bytes.length
      if (source) this.#fill(source)
      return
    }
    this.#storing.add(index)
    let stored: boolean
    try {
      stored = await this.#store.putChunk(this.id, index, bytes)
    } catch (err) {
      this.#storing.delete(index)
      const error = toP2PError(err)
      if (error.code === 'ERR_HASH_MISMATCH') {
        this.wasted += bytes.length
        source?.refused.add(index)
        this.emit('blame', key, index)
        this.#fillAll()
        return
      }
      this.#pause(error)
      return
    }
    this.#storing.delete(index)
    if (stored) this.downloaded += bytes.length
    this.#gained(index)
    this.#fillAll()
  }

  /** The remote refused a request of ours. */
  refused(key: string, index: number, reason: RejectReason): void {
    const source = this.#sources.get(key)
    if (!source || !source.inflight.delete(index)) return
    this.#requests[index]--
    if (reason === RejectReason.TOO_MANY_REQUESTS) {
      // Its queue is full (other files, other peers of ours): ask for less.
      source.window = Math.max(MIN_WINDOW, Math.min(source.window, source.inflight.size))
    } else if (reason === RejectReason.ELSEWHERE) {
      // Another peer has it: ask there; if none of ours does (or after a while), ask again, and it is served.
      source.elsewhere.set(index, this.#clock.now())
    } else {
      source.refused.add(index)
    }
    this.#fillAll()
  }

  /** Called about once a second: snubs peers that stopped delivering. */
  tick(): void {
    if (!this.#running) return
    const now = this.#clock.now()
    for (const source of this.#sources.values()) {
      if (source.inflight.size === 0 || now - source.lastProgress < this.#requestTimeout) continue
      this.#cancelAll(source)
      source.snubbed = true
      source.window = 1
      source.lastProgress = now
    }
    this.#fillAll()
  }

  #pause(err: P2PError): void {
    this.stop()
    this.emit('pause', err)
  }

  #gained(index: number): void {
    if (this.#have.get(index)) return
    this.#have.set(index)
    const {length} = chunkRange(this.manifest, index)
    this.#haveBytes += length
    this.#samples.push([this.#clock.now(), this.#haveBytes])
    // Copies still coming from others (endgame) are no longer wanted.
    for (const source of this.#sources.values()) {
      if (!source.inflight.delete(index)) continue
      this.#requests[index]--
      if (!source.session.destroyed) source.session.cancel(this.id, index)
    }
    this.emit('chunk', index, length)
    if (this.#have.isComplete() && !this.#done) {
      this.#done = true
      this.stop()
      this.emit('complete')
    }
  }

  #trimSamples(): void {
    const from = this.#clock.now() - SPEED_SPAN
    while (this.#samples.length > 2 && this.#samples[1][0] < from) this.#samples.shift()
    if (this.#samples.length > 0 && this.#samples[this.#samples.length - 1][0] < from) this.#samples.length = 0
  }

  #measure(source: Source, length: number): void {
    const now = this.#clock.now()
    const elapsed = Math.max(1, now - source.lastProgress)
    const sample = length * 1000 / elapsed
    source.rate = source.rate === 0 ? sample : source.rate * (1 - RATE_ALPHA) + sample * RATE_ALPHA
    source.lastProgress = now
    source.snubbed = false
    const chunk = this.manifest.chunkSize
    source.window = Math.min(MAX_WINDOW, this.#maxRequests, Math.max(MIN_WINDOW, Math.ceil(source.rate * PIPELINE_SECONDS / chunk) + 1))
  }

  #cancelAll(source: Source): void {
    for (const index of source.inflight.keys()) {
      this.#requests[index]--
      if (!source.session.destroyed) source.session.cancel(this.id, index)
    }
    source.inflight.clear()
  }

  #fillAll(): void {
    if (!this.#running) return
    // The fastest peers choose first, so the rarest chunks go to those who send them soonest.
    const order = [...this.#sources.values()].sort((a, b) => b.rate - a.rate)
    for (const source of order) this.#fill(source)
  }

  #fill(source: Source): void {
    if (!this.#running || this.#done || source.session.destroyed) return
    const wanted = source.window - source.inflight.size
    // The server holds maxRequests of ours across all files: stay under it.
    const room = Math.min(wanted, this.#maxRequests - source.session.pending)
    if (room <= 0) return
    if (source.inflight.size > 0 && room < Math.max(1, source.window >> 2)) return
    let picked = this.#pick(source, room)
    if (picked.length < room) picked = picked.concat(this.#pickEndgame(source, room - picked.length))
    if (picked.length === 0) return
    const now = this.#clock.now()
    if (source.inflight.size === 0) source.lastProgress = now
    for (const index of picked) {
      source.inflight.set(index, now)
      this.#requests[index]++
    }
    source.session.request(this.id, picked)
  }

  #usable(source: Source, index: number): boolean {
    if (this.#have.get(index) || this.#storing.has(index) || !source.bitfield.get(index) || source.refused.has(index)) return false
    if (source.elsewhere.size === 0) return true
    const since = source.elsewhere.get(index)
    if (since === undefined) return true
    // Held back while another source has it, for a while at most.
    if (this.#availability[index] > 1 && this.#clock.now() - since < ELSEWHERE_HOLD) return false
    source.elsewhere.delete(index)
    return true
  }

  /** Up to `n` chunks nobody is fetching that `source` has: rarest first, or in order. */
  #pick(source: Source, n: number): number[] {
    if (this.sequential) {
      while (this.#cursor < this.#count && this.#have.get(this.#cursor)) this.#cursor++
      const out: number[] = []
      for (let i = this.#cursor; i < this.#count && out.length < n; i++) {
        if (this.#requests[i] === 0 && this.#usable(source, i)) out.push(i)
      }
      return out
    }
    // Buckets by availability; a random start breaks ties. One pass, stopped early once
    // enough chunks only this peer has are found (nothing can be rarer).
    const buckets: number[][] = []
    const start = Math.floor(this.#clock.random() * this.#count)
    // A seeder is asked only for what no downloader has: the rest comes from the
    // downloaders, so the seeder's upload goes to chunks nobody else can give
    // (what keeps a file cheap to share with many). Endgame copies may still go to it.
    const seeder = source.bitfield.isComplete()
    for (let k = 0; k < this.#count; k++) {
      const i = (start + k) % this.#count
      if (this.#requests[i] !== 0 || !this.#usable(source, i) || (seeder && this.#partial[i] > 0)) continue
      const a = Math.min(this.#availability[i], 32)
      ;(buckets[a] ??= []).push(i)
      if (a <= 1 && buckets[a].length >= n) break
    }
    const out: number[] = []
    for (const bucket of buckets) {
      if (!bucket) continue
      for (const i of bucket) {
        out.push(i)
        if (out.length === n) return out
      }
    }
    return out
  }

  /** Chunks already on their way from others, asked again once nothing else is left. */
  #pickEndgame(source: Source, n: number): number[] {
    // Only when every missing chunk is requested already: before that, new chunks are better work.
    if (this.#unrequested() > 0) return []
    const now = this.#clock.now()
    const out: number[] = []
    for (let i = 0; i < this.#count && out.length < n; i++) {
      const copies = this.#requests[i]
      if (copies === 0 || copies >= ENDGAME_COPIES || source.inflight.has(i) || !this.#usable(source, i)) continue
      if (this.#late(i, now)) out.push(i)
    }
    return out
  }

  /**
   * …and later than its peer should have sent it: twice the time its window
   * takes at its recent rate. Copies of chunks that are merely queued would
   * double what the last peers upload, for nothing.
   */
  #late(index: number, now: number): boolean {
    for (const source of this.#sources.values()) {
      const at = source.inflight.get(index)
      if (at === undefined) continue
      const expected = source.rate > 0 ? 2000 * source.window * this.manifest.chunkSize / source.rate : this.#requestTimeout / 4
      if (now - at > Math.max(ENDGAME_MIN_AGE, expected)) return true
    }
    return false
  }

  #unrequested(): number {
    let n = 0
    for (let i = 0; i < this.#count; i++) if (!this.#have.get(i) && !this.#storing.has(i) && this.#requests[i] === 0 && this.#available(i)) n++
    return n
  }

  #available(index: number): boolean {
    return this.#availability[index] > 0
  }
}
