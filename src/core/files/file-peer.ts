/**
 * One peer's session on the file protocol, over one mux channel. This is the
 * only place the remote's file messages are decoded: anything malformed or
 * oversized is counted and ends the session with a typed error, which the
 * caller turns into dropping the peer. Serving answers from the local store;
 * the receiving side only reports answers to requests made through this
 * session, so a peer cannot push data nobody asked for.
 */
import {Emitter} from '../emitter.js'
import {checkInteger} from '../check.js'
import {systemClock, type Clock} from '../clock.js'
import {P2PError, toP2PError} from '../errors.js'
import type {ChannelHandlers} from '../mux/mux.js'
import type {ChunkStore} from './chunk-store.js'
import {MAX_CHUNK_SIZE} from './manifest.js'
import {
  Bitfield, FileMessageType, MANIFEST_INDEX, MAX_BATCH_REQUESTS, RejectReason, decodeFileMessage, encodeCancel,
  encodeChunkHeader, encodeDontHave, encodeHave, encodeHaveChunk, encodeManifestMessage, encodeManifestRequest, encodeReject, encodeRequest,
  encodeRequestBatch, type FileMessage,
} from './messages.js'

/** How long a chunk just sent to one peer waits before it is sent to another (ms); see UploadCounts.holdFor. */
export const HOLD_RESENT = 1500

/** Chunks a session remembers sending elsewhere; past this it serves every repeat. */
const MAX_REDIRECTS = 65536

/** Requests from one peer we hold at once; a REQUEST_BATCH fills it in one message. */
export const DEFAULT_MAX_REQUESTS = MAX_BATCH_REQUESTS

/**
 * Files whose HAVE we keep per remote. A bitfield is up to 8 KiB, so this bounds
 * what a peer announcing endless made-up ids can make us hold (8 MiB).
 */
export const MAX_HAVES_PER_PEER = 1024

/** What a session needs of a mux channel (a mux `Channel` fits). */
export interface FileChannel {
  /** One message: a buffer, or parts sent as one (see the mux `Channel`). */
  send(bytes: Uint8Array | readonly Uint8Array[]): void
  /** Resolves when the channel can take more; rejects once it is closed. */
  ready(): Promise<void>
  close(): void
}

export interface FilePeerOptions {
  store: ChunkStore
  /**
   * Opens the channel with the session's handlers, e.g.
   * `handlers => mux.channel(FILES_PROTOCOL, handlers)`: the session must own
   * `onmessage` from the first message on.
   */
  open(handlers: ChannelHandlers): FileChannel
  /** Requests from the remote held at once; more are refused with REJECT(too many requests). */
  maxRequests?: number
  /** Largest CHUNK accepted from the remote; a larger one ends the session. */
  maxChunkBytes?: number
  /**
   * Times each chunk was served, shared by every session of a store: queued
   * requests are answered least-served chunk first, so a seeder with many
   * downloaders sends each of them chunks the others lack, which they then
   * trade among themselves, instead of the same chunks to all.
   */
  uploads?: UploadCounts
}

/**
 * What the sessions of one store share about seeding (see FilePeerOptions.uploads):
 * how often each chunk was served, and the sessions themselves, so one can see
 * what the other peers announced.
 */
export class UploadCounts {
  readonly #counts = new Map<string, number>()
  /** When each chunk was last picked to be sent, and to whom. */
  readonly #sentAt = new Map<string, {at: number, to: FilePeer}>()
  readonly #sessions = new Set<FilePeer>()

  /** The clock every session of the store reads, so their holds agree. */
  constructor(readonly clock: Clock = systemClock) {}

  get(id: string, index: number): number {
    return this.#counts.get(key(id, index)) ?? 0
  }
  add(id: string, index: number, to: FilePeer): void {
    const k = key(id, index)
    this.#counts.set(k, (this.#counts.get(k) ?? 0) + 1)
    this.#sentAt.set(k, {at: this.clock.now(), to})
  }
  /**
   * Milliseconds until chunk `index` may be sent again without waiting: a
   * chunk just sent to a downloader is held back from others for
   * HOLD_RESENT, time for it to store and announce the chunk, so the others
   * can be sent there (see elsewhere) instead of costing our upload twice.
   * 0: send now (never sent, sent long ago, or to a peer that has the whole
   * file or is gone, or already announced it).
   */
  holdFor(id: string, index: number, now: number): number {
    const sent = this.#sentAt.get(key(id, index))
    if (!sent || sent.to.destroyed || !this.#sessions.has(sent.to)) return 0
    if (sent.to.remoteHasAll(id) || sent.to.remoteHasChunk(id, index)) return 0
    return Math.max(0, sent.at + HOLD_RESENT - now)
  }

  /** Takes back a count: the chunk was picked but not sent after all (cancelled, refused). */
  remove(id: string, index: number): void {
    const k = key(id, index)
    const n = (this.#counts.get(k) ?? 0) - 1
    if (n > 0) this.#counts.set(k, n)
    else this.#counts.delete(k)
  }
  join(session: FilePeer): void {
    this.#sessions.add(session)
  }
  leave(session: FilePeer): void {
    this.#sessions.delete(session)
    for (const [k, sent] of this.#sentAt) if (sent.to === session) this.#sentAt.delete(k)
  }
  /**
   * Whether `asker` can get chunk `index` from another of our peers: we
   * served it before and another downloader (a peer with part of the file)
   * announced it. Super-seeding, in BitTorrent's words: while many download
   * at once, our upload goes to chunks nobody has yet, and they trade the
   * rest. Another peer with the whole file is no reason: two seeders share
   * the work.
   */
  elsewhere(asker: FilePeer, id: string, index: number): boolean {
    if (this.get(id, index) === 0) return false
    for (const session of this.#sessions) {
      if (session !== asker && session.remoteHasChunk(id, index) && !session.remoteHasAll(id)) return true
    }
    return false
  }
}

/** One fixed shape, so a UI can show it without checking for fields. */
export interface FilePeerStats {
  messagesIn: number
  messagesOut: number
  chunksServed: number
  bytesServed: number
  manifestsServed: number
  rejectsSent: number
  chunksReceived: number
  bytesReceived: number
  rejectsReceived: number
  /** Messages that failed to decode (malformed or too large); the first one ends the session. */
  malformed: number
  /** Chunks, manifests and rejects that answer nothing we asked for; ignored. */
  unsolicited: number
}

export type FilePeerEvents = {
  /**
   * The remote announced (more of) a file, or withdrew it: read it with
   * `remoteHas(id)`. `index` is set when exactly that one chunk was added.
   */
  have: (id: string, index?: number) => void
  /** A manifest we asked for, unverified: check it against `id` before use. */
  manifest: (id: string, bytes: Uint8Array) => void
  /** A chunk we asked for, unverified: `ChunkStore.putChunk` checks it. */
  chunk: (id: string, index: number, bytes: Uint8Array) => void
  /** The remote refused a request of ours; `index` is MANIFEST_INDEX for a manifest. */
  reject: (id: string, index: number, reason: RejectReason) => void
  error: (err: P2PError) => void
  close: (err?: P2PError) => void
}

interface Wanted {
  id: string
  index: number
}

const key = (id: string, index: number) => `${id}/${index}`

export class FilePeer extends Emitter<FilePeerEvents> {
  readonly stats: FilePeerStats = {
    messagesIn: 0, messagesOut: 0, chunksServed: 0, bytesServed: 0, manifestsServed: 0, rejectsSent: 0,
    chunksReceived: 0, bytesReceived: 0, rejectsReceived: 0, malformed: 0, unsolicited: 0,
  }

  readonly #store: ChunkStore
  readonly #channel: FileChannel
  readonly #maxRequests: number
  readonly #maxChunkBytes: number
  readonly #uploads: UploadCounts
  /** The remote's requests in arrival order; a Map so CANCEL removes one in O(1). */
  readonly #queue = new Map<string, Wanted>()
  #serving = false
  /** Our requests still unanswered: only their answers are emitted. */
  readonly #requested = new Set<string>()
  readonly #manifestsRequested = new Set<string>()
  readonly #remote = new Map<string, Bitfield>()
  /** Chunks we sent the remote elsewhere for: asked again, they are served. */
  readonly #redirected = new Set<string>()
  /** Files we hold whole, as last read from the store: only a seeder holds chunks back (see next). */
  readonly #whole = new Set<string>()
  /** Files we sent a HAVE for on this session; HAVE_CHUNK means nothing before it. */
  readonly #announced = new Set<string>()
  #destroyed = false

  constructor({store, open, maxRequests = DEFAULT_MAX_REQUESTS, maxChunkBytes = MAX_CHUNK_SIZE, uploads = new UploadCounts()}: FilePeerOptions) {
    super()
    checkInteger('maxRequests', maxRequests, 1)
    checkInteger('maxChunkBytes', maxChunkBytes, 1)
    this.#store = store
    this.#maxRequests = maxRequests
    this.#maxChunkBytes = maxChunkBytes
    this.#uploads = uploads
    uploads.join(this)
    this.#channel = open({onmessage: this.#onmessage, onclose: this.#onclose})
    void this.#announceAll()
  }

  /** True once the session ended; read-only. */
  get destroyed(): boolean {
    return this.#destroyed
  }

  /** Requests from the remote waiting to be served. */
  get queued(): number {
    return this.#queue.size
  }

  /** A copy of what the remote announced for `id`, or undefined if it announced nothing. */
  remoteHas(id: string): Bitfield | undefined {
    return this.#remote.get(id)?.clone()
  }

  /** Whether the remote announced chunk `index` of `id`. */
  remoteHasChunk(id: string, index: number): boolean {
    const field = this.#remote.get(id)
    return !!field && index < field.length && field.get(index)
  }

  /** Whether the remote announced every chunk of `id`. */
  remoteHasAll(id: string): boolean {
    return this.#remote.get(id)?.isComplete() ?? false
  }

  /** Our chunk requests not answered yet. */
  get pending(): number {
    return this.#requested.size
  }

  /**
   * Asks for chunks. Indexes already asked for are skipped; the rest go in
   * batches. The remote holds `maxRequests` (64 by default) at once and refuses
   * more, so the caller keeps its window under that.
   */
  request(id: string, indexes: readonly number[]): void {
    this.#check()
    const fresh = [...new Set(indexes)].filter(index => !this.#requested.has(key(id, index)))
    for (let i = 0; i < fresh.length; i += MAX_BATCH_REQUESTS) {
      const batch = fresh.slice(i, i + MAX_BATCH_REQUESTS)
      // Encode before marking, so a bad id or index throws with nothing tracked.
      const bytes = batch.length === 1 ? encodeRequest(id, batch[0]) : encodeRequestBatch(id, batch)
      for (const index of batch) this.#requested.add(key(id, index))
      this.#send(bytes)
    }
  }

  requestManifest(id: string): void {
    this.#check()
    if (this.#manifestsRequested.has(id)) return
    const bytes = encodeManifestRequest(id)
    this.#manifestsRequested.add(id)
    this.#send(bytes)
  }

  /**
   * Withdraws a chunk request. The chunk may already be on its way; if it
   * arrives it is counted as unsolicited and ignored.
   */
  cancel(id: string, index: number): void {
    this.#check()
    if (!this.#requested.delete(key(id, index))) return
    this.#send(encodeCancel(id, index))
  }

  /**
   * Tells the remote we now hold chunk `index` of `id` (call it once the chunk
   * is stored). The first time on a session for a file, the remote has no
   * bitfield of ours to set a bit in, so the whole bitfield goes instead.
   */
  async announce(id: string, index: number): Promise<void> {
    this.#check()
    if (this.#announced.has(id)) {
      this.#send(encodeHaveChunk(id, index))
      return
    }
    await this.#sendHave(id)
  }

  /** Sends the whole bitfield of a file we hold (after adding it, or to correct an earlier one). */
  async announceFile(id: string): Promise<void> {
    this.#check()
    await this.#sendHave(id)
  }

  /** Tells the remote we hold nothing of `id` any more (it was removed here). */
  withdraw(id: string): void {
    this.#check()
    const bytes = encodeDontHave(id)
    this.#announced.delete(id)
    this.#send(bytes)
  }

  /** Ends the session; idempotent. An error is what the caller drops the peer for. */
  destroy(err?: P2PError): void {
    if (this.#destroyed) return
    this.#destroyed = true
    this.#uploads.leave(this)
    this.#queue.clear()
    this.#requested.clear()
    this.#manifestsRequested.clear()
    try {
      this.#channel.close()
    } catch {
      // Already closed with its mux: nothing left to close.
    }
    if (err) this.emit('error', err)
    this.emit('close', err)
    this.removeAllListeners()
  }

  #check(): void {
    if (this.#destroyed) throw P2PError.DESTROYED('file session was closed')
  }

  #send(bytes: Uint8Array | readonly Uint8Array[]): void {
    this.stats.messagesOut++
    this.#channel.send(bytes)
  }

  #reject(id: string, index: number, reason: RejectReason): void {
    this.stats.rejectsSent++
    this.#send(encodeReject(id, index, reason))
  }

  async #announceAll(): Promise<void> {
    try {
      for (const id of await this.#store.files()) {
        if (this.#destroyed) return
        await this.#sendHave(id)
      }
    } catch (err) {
      this.#fail(err)
    }
  }

  async #sendHave(id: string): Promise<void> {
    const bitfield = await this.#store.bitfield(id)
    if (this.#destroyed || !bitfield) return
    this.#announced.add(id)
    this.#send(encodeHave(id, bitfield))
  }

  /** A local failure (storage) ends the session without blaming the remote. */
  #fail(err: unknown): void {
    if (this.#destroyed) return
    this.destroy(toP2PError(err))
  }

  readonly #onclose = (): void => {
    this.destroy()
  }

  readonly #onmessage = (bytes: Uint8Array): void => {
    if (this.#destroyed) return
    this.stats.messagesIn++
    let message: FileMessage
    try {
      message = decodeFileMessage(bytes, this.#maxChunkBytes)
    } catch (err) {
      this.stats.malformed++
      this.destroy(toP2PError(err, 'ERR_MALFORMED_MESSAGE'))
      return
    }
    try {
      this.#handle(message)
    } catch (err) {
      // Our own bug or a listener's throw: never into the mux's receive path.
      this.#fail(err)
    }
  }

  #handle(message: FileMessage): void {
    switch (message.type) {
      case FileMessageType.MANIFEST_REQUEST:
        // Queued with the chunks: a flood of requests for a 2 MiB manifest must wait for the channel too.
        this.#enqueue(message.id, MANIFEST_INDEX)
        return
      case FileMessageType.REQUEST:
        this.#enqueue(message.id, message.index)
        return
      case FileMessageType.REQUEST_BATCH:
        for (const index of message.indexes) this.#enqueue(message.id, index)
        return
      case FileMessageType.CANCEL:
        this.#queue.delete(key(message.id, message.index))
        return
      case FileMessageType.HAVE:
        if (!this.#remote.has(message.id) && this.#remote.size >= MAX_HAVES_PER_PEER) {
          this.stats.unsolicited++
          return
        }
        this.#remote.set(message.id, message.bitfield)
        this.emit('have', message.id)
        return
      case FileMessageType.HAVE_CHUNK: {
        const field = this.#remote.get(message.id)
        // Without a HAVE first the bit count is unknown; the sender sends one before any HAVE_CHUNK.
        if (!field) return
        if (message.index >= field.length) {
          this.stats.malformed++
          this.destroy(P2PError.MALFORMED_MESSAGE(`file message: HAVE_CHUNK ${message.index} is outside a file of ${field.length} chunks`))
          return
        }
        if (field.set(message.index)) this.emit('have', message.id, message.index)
        return
      }
      case FileMessageType.DONT_HAVE:
        if (this.#remote.delete(message.id)) this.emit('have', message.id)
        return
      case FileMessageType.MANIFEST:
        if (!this.#manifestsRequested.delete(message.id)) {
          this.stats.unsolicited++
          return
        }
        this.emit('manifest', message.id, message.manifest)
        return
      case FileMessageType.CHUNK:
        if (!this.#requested.delete(key(message.id, message.index))) {
          this.stats.unsolicited++
          return
        }
        this.stats.chunksReceived++
        this.stats.bytesReceived += message.bytes.length
        this.emit('chunk', message.id, message.index, message.bytes)
        return
      case FileMessageType.REJECT: {
        const asked = message.index === MANIFEST_INDEX
          ? this.#manifestsRequested.delete(message.id)
          : this.#requested.delete(key(message.id, message.index))
        if (!asked) {
          this.stats.unsolicited++
          return
        }
        this.stats.rejectsReceived++
        this.emit('reject', message.id, message.index, message.reason)
      }
    }
  }

  #enqueue(id: string, index: number): void {
    const k = key(id, index)
    // Asked twice before we answered: one answer serves both.
    if (this.#queue.has(k)) return
    if (this.#queue.size >= this.#maxRequests) {
      this.#reject(id, index, RejectReason.TOO_MANY_REQUESTS)
      return
    }
    this.#queue.set(k, {id, index})
    if (!this.#serving) void this.#serve()
  }

  /**
   * Answers queued requests one at a time, waiting for the channel before each,
   * so a requester asking faster than the link drains never makes us buffer
   * more than the channel's high-water mark plus one chunk.
   */
  async #serve(): Promise<void> {
    this.#serving = true
    try {
      while (!this.#destroyed && this.#queue.size > 0) {
        const next = this.#next()
        if (typeof next === 'number') {
          // Everything waiting was just sent to others: give their announcements a moment.
          if (next === Infinity) return
          await new Promise<void>(resolve => this.#uploads.clock.setTimeout(resolve, next))
          continue
        }
        const [k, {id, index}] = next
        // A seeder's chunk already sent to someone who announced it: point the remote there, once per chunk.
        if (index !== MANIFEST_INDEX && this.#whole.has(id) && !this.#redirected.has(k) && this.#uploads.elsewhere(this, id, index)) {
          this.#queue.delete(k)
          if (this.#redirected.size < MAX_REDIRECTS) this.#redirected.add(k)
          this.#reject(id, index, RejectReason.ELSEWHERE)
          continue
        }
        // Counted as it is picked, so another session choosing at the same moment picks another chunk.
        const chunk = index !== MANIFEST_INDEX
        if (chunk) this.#uploads.add(id, index, this)
        // The store is read while the channel drains: the disk and the wire work at once.
        const reading = this.#answer(id, index)
        let answer: Uint8Array | RejectReason
        try {
          await Promise.all([this.#channel.ready(), reading])
          answer = await reading
        } finally {
          if (chunk && (this.#destroyed || !this.#queue.has(k))) this.#uploads.remove(id, index)
        }
        if (this.#destroyed) return
        // Cancelled while we waited or read: the remote no longer wants it.
        if (!this.#queue.delete(k)) continue
        if (!(answer instanceof Uint8Array)) {
          if (chunk) this.#uploads.remove(id, index)
          this.#reject(id, index, answer)
        } else if (index === MANIFEST_INDEX) {
          this.stats.manifestsServed++
          this.#send(encodeManifestMessage(id, answer))
        } else {
          this.stats.chunksServed++
          this.stats.bytesServed += answer.length
          this.#send([encodeChunkHeader(id, index, answer.length), answer])
        }
      }
    } catch (err) {
      // ready() rejects once the channel closed: the session is over anyway.
      if (!this.#destroyed) this.#fail(err)
    } finally {
      this.#serving = false
    }
  }

  /**
   * Manifests first (they unblock a download), then the chunk served least
   * often, oldest request first among equals. A chunk someone else can have
   * from another peer is picked at once (to be refused with ELSEWHERE); one
   * just sent to another peer waits (HOLD_RESENT) for that peer's
   * announcement. Returns the entry, or how long to wait before looking again.
   */
  #next(): [string, Wanted] | number {
    const chunks: Array<[[string, Wanted], number]> = []
    for (const entry of this.#queue) {
      const {id, index} = entry[1]
      if (index === MANIFEST_INDEX) return entry
      const count = this.#uploads.get(id, index)
      if (count === 0) return entry
      chunks.push([entry, count])
    }
    // Stable: among equal counts the oldest request stays first.
    chunks.sort((a, b) => a[1] - b[1])
    const now = this.#uploads.clock.now()
    let wait = Infinity
    for (const [entry] of chunks) {
      const [k, {id, index}] = entry
      // A downloader serves what it has at once: its upload is not the scarce one.
      if (!this.#whole.has(id)) return entry
      if (!this.#redirected.has(k) && this.#uploads.elsewhere(this, id, index)) return entry
      const hold = this.#uploads.holdFor(id, index, now)
      if (hold === 0) return entry
      wait = Math.min(wait, hold)
    }
    return wait
  }

  async #answer(id: string, index: number): Promise<Uint8Array | RejectReason> {
    if (index === MANIFEST_INDEX) return await this.#store.getManifestBytes(id) ?? RejectReason.UNKNOWN_ID
    const bitfield = await this.#store.bitfield(id)
    if (!bitfield) return RejectReason.UNKNOWN_ID
    if (bitfield.isComplete()) this.#whole.add(id)
    else this.#whole.delete(id)
    if (index >= bitfield.length || !bitfield.get(index)) return RejectReason.NOT_HAVE
    const bytes = await this.#store.getChunk(id, index)
    return bytes ?? RejectReason.NOT_HAVE
  }
}
