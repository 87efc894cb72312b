// A store whose chunks come back with one bit flipped: a peer that corrupts what
// it serves. Shared by the node and browser file tests.
import {ChunkStore} from '../../src/core/files/chunk-store.js'

export class CorruptingStore extends ChunkStore {
  override async getChunk(id: string, index: number): Promise<Uint8Array | undefined> {
    const bytes = await super.getChunk(id, index)
    if (!bytes) return bytes
    const bad = bytes.slice()
    bad[bad.length - 1] ^= 0x80
    return bad
  }
}
