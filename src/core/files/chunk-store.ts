/**
 * Verified chunks on disk (IndexedDB through browser-level in a page,
 * memory-level in tests, any abstract-level database on a node), so a download
 * survives a reload and every downloader can seed what it already has.
 *
 * Nothing unauthenticated is stored: a manifest must hash to its id and a chunk
 * to its manifest's hash. A chunk and the bitfield bit that records it are
 * written in one batch, so after a crash the bitfield never claims a chunk that
 * is not there. The layout is written down in docs/files.md.
 */
import type {AbstractBatchOperation, AbstractLevel, AbstractSublevel} from 'abstract-level'
import {P2PError} from '../errors.js'
import {chunkRange, isFileId, verifyChunk, verifyManifest, type FileManifest} from './manifest.js'
import {Bitfield} from './messages.js'
import {isQuotaError} from '../storage/quota.js'

/**
 * Any abstract-level database. Each backend stores its own format (strings,
 * Buffers, Uint8Arrays) and has its own default encodings; the store sets the
 * encodings of every sublevel it uses, so neither matters here, and `any` lets
 * memory-level and browser-level both fit without casts.
 */
export type FileDatabase = AbstractLevel<any, any, any>
type Sub = AbstractSublevel<any, any, string, Uint8Array>

export interface ChunkStoreOptions {
  /** Owned by the caller, who opens and closes it; a sublevel keeps files apart from other data. */
  db: FileDatabase
}

interface FileState {
  manifest: FileManifest
  bitfield: Bitfield
  chunks: Sub
  /** Writes to one file run one at a time, so two chunks cannot both write a bitfield that lacks the other. */
  queue: Promise<unknown>
  /** Set by deleteFile, so a chunk queued behind the deletion does not bring back a bitfield. */
  deleted: boolean
  /** Verified chunks waiting for the next write: they go to disk together, with one bitfield. */
  batch: Batch | undefined
}

interface Batch {
  chunks: Map<number, Uint8Array>
  bytes: number
  /** Indexes this batch stored (not those already there). */
  written: Promise<Set<number>>
}

/** A batch stops taking chunks at this many bytes; the next one waits behind it. */
const MAX_BATCH_BYTES = 4 * 1024 * 1024

/** Ten digits hold every u32, and keep keys in chunk order. */
function chunkKey(index: number): string {
  return String(index).padStart(10, '0')
}

/** Node backends hand back Buffers; callers get plain Uint8Arrays in every runtime (a view, not a copy). */
function plain(bytes: Uint8Array | undefined): Uint8Array | undefined {
  if (!bytes || Object.getPrototypeOf(bytes) === Uint8Array.prototype) return bytes
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)
}

function checkId(id: string): void {
  if (!isFileId(id)) throw P2PError.INVALID_ARGUMENT('a file id is 64 lowercase hex characters')
}

export class ChunkStore {
  readonly db: FileDatabase
  readonly #manifests: Sub
  readonly #bitfields: Sub
  readonly #chunkRoot: FileDatabase
  readonly #open = new Map<string, Promise<FileState | undefined>>()

  constructor({db}: ChunkStoreOptions) {
    if (!db || typeof db.sublevel !== 'function') throw P2PError.INVALID_ARGUMENT('db must be an abstract-level database')
    this.db = db
    this.#manifests = db.sublevel<string, Uint8Array>('manifest', {keyEncoding: 'utf8', valueEncoding: 'view'})
    this.#bitfields = db.sublevel<string, Uint8Array>('bitfield', {keyEncoding: 'utf8', valueEncoding: 'view'})
    this.#chunkRoot = db.sublevel('chunk')
  }

  /**
   * Stores a manifest after checking that it hashes to `id` (HASH_MISMATCH if
   * not), with an empty bitfield unless the file is already known. Returns the
   * decoded manifest.
   */
  async putManifest(id: string, bytes: Uint8Array): Promise<FileManifest> {
    checkId(id)
    const manifest = await verifyManifest(bytes, id)
    // Chained on the file's state, so two calls for a new file create it once.
    const next = this.#state(id).then(async (known) => {
      if (known) return known
      const state: FileState = {manifest, bitfield: new Bitfield(manifest.hashes.length), chunks: this.#chunksOf(id), queue: Promise.resolve(), deleted: false, batch: undefined}
      // Chunks left over from a deletion cut short would look like a clean slate to the bitfield but cost quota.
      await state.chunks.clear()
      await this.#write([
        {type: 'put', sublevel: this.#manifests, key: id, value: new Uint8Array(bytes)},
        {type: 'put', sublevel: this.#bitfields, key: id, value: state.bitfield.toBytes()},
      ], `manifest of ${id.slice(0, 8)}`)
      return state
    })
    this.#open.set(id, next)
    next.catch(() => this.#forget(id, next))
    return (await next).manifest
  }

  async getManifest(id: string): Promise<FileManifest | undefined> {
    return (await this.#state(id))?.manifest
  }

  /** The encoded manifest, as it is sent to peers. */
  async getManifestBytes(id: string): Promise<Uint8Array | undefined> {
    checkId(id)
    return plain(await this.#manifests.get(id))
  }

  /**
   * Verifies and stores chunk `index`. Returns false if it was already stored.
   * Throws NOT_FOUND for a file without a manifest, HASH_MISMATCH for bytes
   * that are not the chunk (nothing is written), STORAGE_FULL on a quota error.
   */
  async putChunk(id: string, index: number, bytes: Uint8Array): Promise<boolean> {
    const state = await this.#state(id)
    if (!state) throw P2PError.NOT_FOUND(`no manifest for file ${id.slice(0, 8)}`)
    // Hashing happens outside the queue: chunks of one file verify in parallel, only the writes take turns.
    await verifyChunk(state.manifest, index, bytes)
    if (state.bitfield.get(index)) return false
    return this.#enqueue(state, id, index, bytes)
  }

  /**
   * Chunks verified while a write is under way wait together and go to disk
   * in the next one, with a single bitfield update: one transaction for many
   * chunks when they arrive faster than the disk takes them one by one.
   */
  #enqueue(state: FileState, id: string, index: number, bytes: Uint8Array): Promise<boolean> {
    let batch = state.batch
    if (!batch || batch.bytes >= MAX_BATCH_BYTES) {
      const created: Batch = {chunks: new Map(), bytes: 0, written: Promise.resolve(new Set())}
      created.written = this.#serial(state, async () => {
        // From here on, new chunks start the next batch.
        if (state.batch === created) state.batch = undefined
        if (state.deleted) throw P2PError.NOT_FOUND(`file ${id.slice(0, 8)} was deleted`)
        const fresh = [...created.chunks].filter(([i]) => !state.bitfield.get(i))
        if (fresh.length === 0) return new Set<number>()
        const next = state.bitfield.clone()
        for (const [i] of fresh) next.set(i)
        await this.#write([
          ...fresh.map(([i, chunk]) => ({type: 'put' as const, sublevel: state.chunks, key: chunkKey(i), value: new Uint8Array(chunk)})),
          {type: 'put', sublevel: this.#bitfields, key: id, value: next.toBytes()},
        ], fresh.length === 1 ? `chunk ${fresh[0][0]} of ${id.slice(0, 8)}` : `${fresh.length} chunks of ${id.slice(0, 8)}`)
        // Only once the batch is on disk: a failed write must not leave bits set in memory.
        for (const [i] of fresh) state.bitfield.set(i)
        return new Set(fresh.map(([i]) => i))
      })
      state.batch = created
      batch = created
    }
    // The same chunk twice in one batch: the first is stored, the second reports it was there.
    if (batch.chunks.has(index)) return batch.written.then(() => false)
    batch.chunks.set(index, bytes)
    batch.bytes += bytes.length
    return batch.written.then(written => written.has(index))
  }

  /** A stored chunk, or undefined if the file or the chunk is not here. */
  async getChunk(id: string, index: number): Promise<Uint8Array | undefined> {
    const state = await this.#state(id)
    if (!state) return undefined
    chunkRange(state.manifest, index)
    if (!state.bitfield.get(index)) return undefined
    return plain(await state.chunks.get(chunkKey(index)))
  }

  /** A copy of the file's bitfield, or undefined for an unknown file. */
  async bitfield(id: string): Promise<Bitfield | undefined> {
    return (await this.#state(id))?.bitfield.clone()
  }

  /** Ids of every file with a stored manifest. */
  async files(): Promise<string[]> {
    return this.#manifests.keys().all()
  }

  /**
   * Forgets a file. Manifest and bitfield go first, in one batch, so that an
   * interrupted deletion leaves unreferenced chunks (cleared by the next
   * putManifest) rather than a bitfield that claims missing ones.
   */
  async deleteFile(id: string): Promise<void> {
    const state = await this.#state(id)
    const chunks = state?.chunks ?? this.#chunksOf(id)
    const drop = async () => {
      await this.db.batch([
        {type: 'del', sublevel: this.#manifests, key: id},
        {type: 'del', sublevel: this.#bitfields, key: id},
      ])
      if (state) state.deleted = true
      this.#open.delete(id)
      await chunks.clear()
    }
    await (state ? this.#serial(state, drop) : drop())
  }

  #chunksOf(id: string): Sub {
    return this.#chunkRoot.sublevel<string, Uint8Array>(id, {keyEncoding: 'utf8', valueEncoding: 'view'})
  }

  /** Loads a file's state once and shares it, so every caller sees one bitfield. */
  #state(id: string): Promise<FileState | undefined> {
    checkId(id)
    let loading = this.#open.get(id)
    if (!loading) {
      loading = this.#load(id)
      this.#open.set(id, loading)
      // A failed load is not remembered: the next call tries the database again.
      loading.catch(() => this.#forget(id, loading))
    }
    return loading
  }

  /** Drops a failed state, unless a later call has replaced it already. */
  #forget(id: string, state: Promise<FileState | undefined> | undefined): void {
    if (this.#open.get(id) === state) this.#open.delete(id)
  }

  async #load(id: string): Promise<FileState | undefined> {
    const bytes = await this.#manifests.get(id)
    if (!bytes) return undefined
    // The id was checked when the manifest was stored; decoding again guards against a damaged database.
    const manifest = await verifyManifest(bytes, id)
    const stored = await this.#bitfields.get(id)
    const count = manifest.hashes.length
    const bitfield = stored ? Bitfield.fromBytes(stored, count) : new Bitfield(count)
    return {manifest, bitfield, chunks: this.#chunksOf(id), queue: Promise.resolve(), deleted: false, batch: undefined}
  }

  #serial<T>(state: FileState, task: () => Promise<T>): Promise<T> {
    const run = state.queue.then(task)
    state.queue = run.catch(() => undefined)
    return run
  }

  /** Values are copied in (new Uint8Array, since a Buffer's slice would be a view): the caller may reuse its buffer. */
  async #write(ops: AbstractBatchOperation<FileDatabase, string, Uint8Array>[], what: string): Promise<void> {
    try {
      await this.db.batch(ops)
    } catch (err) {
      if (isQuotaError(err)) throw P2PError.STORAGE_FULL(`no room to store ${what}`, err)
      throw err
    }
  }
}
