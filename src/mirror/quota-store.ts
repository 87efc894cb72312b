/**
 * The mirror's chunk store: a ChunkStore that counts the bytes each file holds
 * and refuses a chunk that would take a file past its quota (asked at each
 * chunk, so it follows what the logs and other files leave). A chunk is
 * counted from the moment it is let in until it is stored, or given back if it
 * was a duplicate or failed its hash: chunks written at once cannot pass the
 * quota together. Chunks verify on their own, so, unlike a log, a file stops at
 * its quota exactly.
 */
import {ChunkStore} from '../core/files/chunk-store.js'
import {chunkRange} from '../core/files/manifest.js'
import type {Bitfield} from '../core/files/messages.js'
import {P2PError} from '../core/errors.js'

export class QuotaChunkStore extends ChunkStore {
  /** The bytes file `id` may hold; asked at each chunk. */
  limit: (id: string) => number = () => Infinity
  /** Files whose last chunk was refused for their quota: they stopped growing. */
  readonly overQuota = new Set<string>()
  readonly #held = new Map<string, number>()

  /** Bytes a file holds (with its chunks being written). */
  held(id: string): number {
    return this.#held.get(id) ?? 0
  }

  /** Bytes every counted file holds. */
  total(): number {
    let total = 0
    for (const bytes of this.#held.values()) total += bytes
    return total
  }

  /** Counts what the store holds of a file (from its bitfield), before its first chunk; returns that bitfield (undefined for an unknown file). */
  async count(id: string): Promise<Bitfield | undefined> {
    const [manifest, have] = [await this.getManifest(id), await this.bitfield(id)]
    let bytes = 0
    if (manifest && have) for (let i = 0; i < have.length; i++) if (have.get(i)) bytes += chunkRange(manifest, i).length
    this.#held.set(id, bytes)
    return have
  }

  override async putChunk(id: string, index: number, bytes: Uint8Array): Promise<boolean> {
    const held = this.held(id)
    const limit = this.limit(id)
    if (held + bytes.length > limit) {
      this.overQuota.add(id)
      throw P2PError.STORAGE_FULL(`file ${id.slice(0, 8)} reached its quota: it holds ${held} bytes of ${limit}`)
    }
    this.#held.set(id, held + bytes.length)
    let stored = false
    try {
      stored = await super.putChunk(id, index, bytes)
      return stored
    } finally {
      // A file deleted meanwhile is counted no more.
      if (!stored && this.#held.has(id)) this.#held.set(id, this.held(id) - bytes.length)
    }
  }

  override async deleteFile(id: string): Promise<void> {
    await super.deleteFile(id)
    this.#held.delete(id)
    this.overQuota.delete(id)
  }
}
