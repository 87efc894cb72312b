import {expect} from '@open-wc/testing'
import {BrowserLevel} from 'browser-level'
import {ChunkStore} from '../../src/core/files/chunk-store.js'
import {createManifest} from '../../src/core/files/manifest.js'
import {P2PError} from '../../src/core/errors.js'

/** A file of `size` bytes with a recognisable pattern. */
function pattern(size: number): Uint8Array {
  const out = new Uint8Array(size)
  for (let i = 0; i < size; i++) out[i] = (i * 31 + 7) & 0xff
  return out
}

describe('chunk store on real IndexedDB (browser-level)', () => {
  const location = `p2p-files-test-${Math.random().toString(36).slice(2)}`

  after(async () => {
    await new Promise(resolve => {
      const req = indexedDB.deleteDatabase(`level-js-${location}`)
      req.onsuccess = req.onerror = req.onblocked = resolve
    })
  })

  it('stores verified chunks, refuses a corrupted one, and resumes after the database is reopened', async () => {
    const bytes = pattern(40 * 1024 + 123)
    const {id, bytes: manifestBytes, manifest} = await createManifest(bytes, {name: 'a.bin', type: 'application/octet-stream', chunkSize: 16 * 1024})
    expect(manifest.hashes.length).to.equal(3)

    let db = new BrowserLevel<string, Uint8Array>(location, {valueEncoding: 'view'})
    let store = new ChunkStore({db})
    await store.putManifest(id, manifestBytes)
    await store.putChunk(id, 0, bytes.subarray(0, 16 * 1024))
    const bad = bytes.slice(16 * 1024, 32 * 1024)
    bad[5] ^= 1
    let refused: unknown
    try {
      await store.putChunk(id, 1, bad)
    } catch (err) {
      refused = err
    }
    expect(refused).to.be.instanceOf(P2PError)
    expect((refused as P2PError).code).to.equal('ERR_HASH_MISMATCH')
    await db.close()

    // A reload: a new database object over the same IndexedDB store.
    db = new BrowserLevel<string, Uint8Array>(location, {valueEncoding: 'view'})
    store = new ChunkStore({db})
    const have = await store.bitfield(id)
    expect(have!.count()).to.equal(1)
    expect(have!.get(0)).to.equal(true)
    expect(have!.get(1)).to.equal(false)
    expect([...(await store.getChunk(id, 0))!]).to.deep.equal([...bytes.subarray(0, 16 * 1024)])
    await store.putChunk(id, 1, bytes.subarray(16 * 1024, 32 * 1024))
    await store.putChunk(id, 2, bytes.subarray(32 * 1024))
    expect((await store.bitfield(id))!.isComplete()).to.equal(true)
    await db.close()
  })
})
