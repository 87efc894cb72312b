import {describe, test} from 'node:test'
import assert from 'node:assert/strict'
import {MemoryLevel} from 'memory-level'
import {ChunkStore} from '../../src/core/files/chunk-store.js'
import {isQuotaError} from '../../src/core/storage/quota.js'
import {MIN_CHUNK_SIZE, chunkRange, createManifest, type CreatedManifest} from '../../src/core/files/manifest.js'
import {P2PError} from '../../src/core/errors.js'
import {isCode} from './helpers.js'

function bytesOf(n: number, seed = 1): Uint8Array {
  const out = new Uint8Array(n)
  for (let i = 0; i < n; i++) out[i] = (i * 13 + seed + (i >> 8) * 7 + (i >> 14) * 5) & 0xff
  return out
}

interface Shared extends CreatedManifest {
  data: Uint8Array
  chunk(index: number): Uint8Array
}

/** A three-chunk file (the last one short), as a sharer would describe it. */
async function sharedFile(name = 'clip.webm', size = 2 * MIN_CHUNK_SIZE + 100): Promise<Shared> {
  const data = bytesOf(size)
  const created = await createManifest(data, {name, type: 'video/webm', chunkSize: MIN_CHUNK_SIZE})
  return {
    ...created,
    data,
    chunk(index) {
      const {offset, length} = chunkRange(created.manifest, index)
      return data.slice(offset, offset + length)
    },
  }
}

/** Every raw entry in the database: what a reload would find. */
async function rawEntries(db: MemoryLevel<string, string>): Promise<number> {
  return (await db.keys().all()).length
}

function newDb(): MemoryLevel<string, string> {
  return new MemoryLevel<string, string>()
}

describe('chunk store: manifests', () => {
  test('a manifest is stored, listed and read back', async () => {
    const store = new ChunkStore({db: newDb()})
    const file = await sharedFile()
    assert.deepEqual(await store.putManifest(file.id, file.bytes), file.manifest)
    assert.deepEqual(await store.getManifest(file.id), file.manifest)
    assert.deepEqual(await store.getManifestBytes(file.id), file.bytes)
    assert.deepEqual(await store.files(), [file.id])
    const field = await store.bitfield(file.id)
    assert.equal(field?.length, 3)
    assert.equal(field?.count(), 0)
  })

  test('putting a manifest again keeps the chunks already stored', async () => {
    const store = new ChunkStore({db: newDb()})
    const file = await sharedFile()
    await store.putManifest(file.id, file.bytes)
    await store.putChunk(file.id, 0, file.chunk(0))
    await store.putManifest(file.id, file.bytes)
    assert.equal((await store.bitfield(file.id))?.count(), 1)
  })

  test('a manifest that does not hash to its id is refused and nothing is stored', async () => {
    const db = newDb()
    const store = new ChunkStore({db})
    const a = await sharedFile('a')
    const b = await sharedFile('b')
    await assert.rejects(store.putManifest(a.id, b.bytes), isCode('ERR_HASH_MISMATCH'))
    assert.deepEqual(await store.files(), [])
    assert.equal(await rawEntries(db), 0)
    assert.equal(await store.getManifest(a.id), undefined)
  })

  test('unknown files read as undefined; malformed ids are misuse', async () => {
    const store = new ChunkStore({db: newDb()})
    const file = await sharedFile()
    assert.equal(await store.getManifest(file.id), undefined)
    assert.equal(await store.getManifestBytes(file.id), undefined)
    assert.equal(await store.getChunk(file.id, 0), undefined)
    assert.equal(await store.bitfield(file.id), undefined)
    await assert.rejects(store.getManifest('nope'), isCode('ERR_INVALID_ARGUMENT'))
    await assert.rejects(store.putChunk(file.id.toUpperCase(), 0, file.chunk(0)), isCode('ERR_INVALID_ARGUMENT'))
    assert.throws(() => new ChunkStore({db: {} as never}), isCode('ERR_INVALID_ARGUMENT'))
  })

  test('a 0-byte file is complete as soon as its manifest is stored', async () => {
    const store = new ChunkStore({db: newDb()})
    const {id, bytes} = await createManifest(new Uint8Array(0), {name: 'empty.txt'})
    await store.putManifest(id, bytes)
    assert.ok((await store.bitfield(id))?.isComplete())
  })
})

describe('chunk store: chunks', () => {
  test('a verified chunk is stored once and its bit set', async () => {
    const store = new ChunkStore({db: newDb()})
    const file = await sharedFile()
    await store.putManifest(file.id, file.bytes)
    assert.equal(await store.putChunk(file.id, 2, file.chunk(2)), true)
    assert.equal(await store.putChunk(file.id, 2, file.chunk(2)), false)
    assert.deepEqual(await store.getChunk(file.id, 2), file.chunk(2))
    assert.equal(await store.getChunk(file.id, 0), undefined)
    const field = await store.bitfield(file.id)
    assert.ok(field?.get(2) && !field.get(0) && field.count() === 1)
  })

  test('a corrupted chunk is refused and nothing is stored', async () => {
    const db = newDb()
    const store = new ChunkStore({db})
    const file = await sharedFile()
    await store.putManifest(file.id, file.bytes)
    const before = await rawEntries(db)
    const corrupt = file.chunk(1)
    corrupt[100] ^= 1
    await assert.rejects(store.putChunk(file.id, 1, corrupt), isCode('ERR_HASH_MISMATCH'))
    await assert.rejects(store.putChunk(file.id, 1, file.chunk(0)), isCode('ERR_HASH_MISMATCH'))
    await assert.rejects(store.putChunk(file.id, 2, file.chunk(1)), isCode('ERR_HASH_MISMATCH'))
    assert.equal(await rawEntries(db), before)
    assert.equal((await store.bitfield(file.id))?.count(), 0)
    assert.equal(await store.getChunk(file.id, 1), undefined)
  })

  test('a chunk for a file without a manifest is refused', async () => {
    const db = newDb()
    const store = new ChunkStore({db})
    const file = await sharedFile()
    await assert.rejects(store.putChunk(file.id, 0, file.chunk(0)), isCode('ERR_NOT_FOUND'))
    assert.equal(await rawEntries(db), 0)
  })

  test('indexes outside the file are misuse', async () => {
    const store = new ChunkStore({db: newDb()})
    const file = await sharedFile()
    await store.putManifest(file.id, file.bytes)
    await assert.rejects(store.putChunk(file.id, 3, file.chunk(0)), isCode('ERR_INVALID_ARGUMENT'))
    await assert.rejects(store.getChunk(file.id, -1), isCode('ERR_INVALID_ARGUMENT'))
  })

  test('chunks stored in parallel all end up in the bitfield', async () => {
    const db = newDb()
    const file = await sharedFile('many', 20 * MIN_CHUNK_SIZE)
    const store = new ChunkStore({db})
    await store.putManifest(file.id, file.bytes)
    const results = await Promise.all(Array.from({length: 20}, (_, i) => store.putChunk(file.id, i, file.chunk(i))))
    assert.ok(results.every(Boolean))
    assert.ok((await store.bitfield(file.id))?.isComplete())
    const reopened = new ChunkStore({db})
    assert.ok((await reopened.bitfield(file.id))?.isComplete())
  })

  test('the stored chunk is a copy: changing the caller\'s buffer does not change it', async () => {
    const store = new ChunkStore({db: newDb()})
    const file = await sharedFile()
    await store.putManifest(file.id, file.bytes)
    const chunk = file.chunk(0)
    await store.putChunk(file.id, 0, chunk)
    chunk.fill(0)
    assert.deepEqual(await store.getChunk(file.id, 0), file.chunk(0))
  })
})

/** Fails the n-th write operation (counted across batches) with a quota error, as IndexedDB does when the disk is full. */
function failWrite(db: MemoryLevel<string, string>, nth: number): {armed: boolean} {
  const state = {armed: true}
  let seen = 0
  db.hooks.prewrite.add(() => {
    if (!state.armed) return
    if (++seen === nth) {
      state.armed = false
      throw new DOMException('the quota has been exceeded', 'QuotaExceededError')
    }
  })
  return state
}

describe('chunk store: atomicity and quota', () => {
  test('a quota error on the bitfield write stores neither the chunk nor the bit', async () => {
    const db = newDb()
    const store = new ChunkStore({db})
    const file = await sharedFile()
    await store.putManifest(file.id, file.bytes)
    const before = await rawEntries(db)
    // The chunk is the first operation of the batch, the bitfield the second.
    failWrite(db, 2)
    await assert.rejects(store.putChunk(file.id, 0, file.chunk(0)), isCode('ERR_STORAGE_FULL', /no room/))
    assert.equal(await rawEntries(db), before)
    assert.equal((await store.bitfield(file.id))?.get(0), false)
    assert.equal(await store.getChunk(file.id, 0), undefined)
    assert.equal((await new ChunkStore({db}).bitfield(file.id))?.count(), 0)

    // Once there is room again the same chunk goes in.
    assert.equal(await store.putChunk(file.id, 0, file.chunk(0)), true)
    assert.deepEqual(await new ChunkStore({db}).getChunk(file.id, 0), file.chunk(0))
  })

  test('a quota error fails every chunk of its batch; nothing of it is stored', async () => {
    const db = newDb()
    const file = await sharedFile('full', 6 * MIN_CHUNK_SIZE)
    const store = new ChunkStore({db})
    await store.putManifest(file.id, file.bytes)
    failWrite(db, 1)
    const results = await Promise.allSettled(Array.from({length: 6}, (_, i) => store.putChunk(file.id, i, file.chunk(i))))
    const failed = results.filter(r => r.status === 'rejected')
    assert.ok(failed.length >= 1)
    for (const r of failed) isCode('ERR_STORAGE_FULL')((r as PromiseRejectedResult).reason)
    const stored = results.filter(r => r.status === 'fulfilled' && r.value).length
    const reopened = await new ChunkStore({db}).bitfield(file.id)
    assert.equal(reopened?.count(), stored, 'the bitfield on disk matches what was reported stored')
    for (let i = 0; i < 6; i++) {
      const ok = results[i].status === 'fulfilled'
      assert.equal((await store.getChunk(file.id, i)) !== undefined, ok, `chunk ${i}`)
    }
  })

  test('a quota error on the chunk write is STORAGE_FULL too, and leaves the bitfield alone', async () => {
    const db = newDb()
    const store = new ChunkStore({db})
    const file = await sharedFile()
    await store.putManifest(file.id, file.bytes)
    await store.putChunk(file.id, 1, file.chunk(1))
    failWrite(db, 1)
    await assert.rejects(store.putChunk(file.id, 0, file.chunk(0)), isCode('ERR_STORAGE_FULL'))
    const field = await new ChunkStore({db}).bitfield(file.id)
    assert.ok(field?.get(1) && !field.get(0))
  })

  test('a quota error on a new manifest leaves no file behind', async () => {
    const db = newDb()
    const store = new ChunkStore({db})
    const file = await sharedFile()
    failWrite(db, 2)
    await assert.rejects(store.putManifest(file.id, file.bytes), isCode('ERR_STORAGE_FULL'))
    assert.deepEqual(await store.files(), [])
    assert.equal(await store.getManifest(file.id), undefined)
    assert.equal(await rawEntries(db), 0)
  })

  test('other write errors are not mistaken for a full disk', async () => {
    const db = newDb()
    const store = new ChunkStore({db})
    const file = await sharedFile()
    await store.putManifest(file.id, file.bytes)
    db.hooks.prewrite.add(() => { throw new Error('disk on fire') })
    await assert.rejects(store.putChunk(file.id, 0, file.chunk(0)), (err: unknown) => !(err instanceof P2PError) || err.code !== 'ERR_STORAGE_FULL')
  })

  test('isQuotaError finds a quota error behind wrappers', () => {
    const quota = new DOMException('full', 'QuotaExceededError')
    assert.ok(isQuotaError(quota))
    assert.ok(isQuotaError(new Error('write failed', {cause: new Error('inner', {cause: quota})})))
    assert.ok(!isQuotaError(new Error('other')))
    assert.ok(!isQuotaError(undefined))
  })
})

describe('chunk store: lifecycle', () => {
  test('reopening the same database resumes: manifest, bitfield and chunks are still there', async () => {
    const db = newDb()
    const file = await sharedFile()
    const first = new ChunkStore({db})
    await first.putManifest(file.id, file.bytes)
    await first.putChunk(file.id, 0, file.chunk(0))
    await first.putChunk(file.id, 2, file.chunk(2))
    await db.close()
    await db.open()

    const second = new ChunkStore({db})
    assert.deepEqual(await second.files(), [file.id])
    assert.deepEqual(await second.getManifest(file.id), file.manifest)
    const field = await second.bitfield(file.id)
    assert.ok(field?.get(0) && !field.get(1) && field.get(2))
    assert.deepEqual(await second.getChunk(file.id, 2), file.chunk(2))
    assert.equal(await second.putChunk(file.id, 0, file.chunk(0)), false, 'a verified chunk is not stored twice')
    assert.equal(await second.putChunk(file.id, 1, file.chunk(1)), true)
    assert.ok((await second.bitfield(file.id))?.isComplete())
  })

  test('deleting a file removes manifest, bitfield and chunks, and leaves other files', async () => {
    const db = newDb()
    const store = new ChunkStore({db})
    const a = await sharedFile('a')
    const b = await sharedFile('b', MIN_CHUNK_SIZE)
    await store.putManifest(a.id, a.bytes)
    await store.putManifest(b.id, b.bytes)
    for (let i = 0; i < 3; i++) await store.putChunk(a.id, i, a.chunk(i))
    await store.putChunk(b.id, 0, b.chunk(0))
    const withB = await rawEntries(db)

    await store.deleteFile(a.id)
    assert.deepEqual(await store.files(), [b.id])
    assert.equal(await store.getManifest(a.id), undefined)
    assert.equal(await store.getChunk(a.id, 0), undefined)
    assert.equal(await rawEntries(db), withB - 5)
    assert.deepEqual(await store.getChunk(b.id, 0), b.chunk(0))

    await store.putManifest(a.id, a.bytes)
    assert.equal((await store.bitfield(a.id))?.count(), 0)
    await store.deleteFile(a.id)
    await store.deleteFile(a.id)
  })

  test('a chunk queued behind a deletion is refused and leaves nothing', async () => {
    const db = newDb()
    const store = new ChunkStore({db})
    const file = await sharedFile()
    await store.putManifest(file.id, file.bytes)
    const deleting = store.deleteFile(file.id)
    await assert.rejects(store.putChunk(file.id, 0, file.chunk(0)), isCode('ERR_NOT_FOUND'))
    await deleting
    assert.equal(await rawEntries(db), 0)
  })

  test('chunks left behind by an interrupted deletion are cleared when the file comes back', async () => {
    const db = newDb()
    const file = await sharedFile()
    const store = new ChunkStore({db})
    await store.putManifest(file.id, file.bytes)
    await store.putChunk(file.id, 0, file.chunk(0))
    // What a crash between the two steps of deleteFile leaves: no manifest, no bitfield, one chunk.
    await db.batch([
      {type: 'del', key: file.id, sublevel: db.sublevel('manifest')},
      {type: 'del', key: file.id, sublevel: db.sublevel('bitfield')},
    ])
    const after = new ChunkStore({db})
    await after.putManifest(file.id, file.bytes)
    assert.equal(await rawEntries(db), 2)
  })

  test('a store on a sublevel keeps to it', async () => {
    const db = newDb()
    await db.put('other', 'data')
    const store = new ChunkStore({db: db.sublevel('files')})
    const file = await sharedFile()
    await store.putManifest(file.id, file.bytes)
    await store.putChunk(file.id, 0, file.chunk(0))
    assert.deepEqual(await store.files(), [file.id])
    assert.equal(await db.get('other'), 'data')
    const keys = await db.keys().all()
    assert.ok(keys.filter((k) => k !== 'other').every((k) => k.startsWith('!files!')))
  })
})
