// The download scheduler alone: which chunks go to which peer, with sessions that
// only record what they are asked, a clock the test moves, and a real store.
import {describe, test} from 'node:test'
import assert from 'node:assert/strict'
import {MemoryLevel} from 'memory-level'
import {ChunkStore} from '../../src/core/files/chunk-store.js'
import {Download, INITIAL_WINDOW, MAX_WINDOW} from '../../src/core/files/download.js'
import type {FilePeer} from '../../src/core/files/file-peer.js'
import {MIN_CHUNK_SIZE, chunkRange, createManifest, type CreatedManifest} from '../../src/core/files/manifest.js'
import {Bitfield, RejectReason} from '../../src/core/files/messages.js'
import {systemClock} from '../../src/core/clock.js'

/** Records requests and cancels; `pending` as a FilePeer counts them. */
class RecordingSession {
  destroyed = false
  requested: number[] = []
  cancelled: number[] = []
  get pending(): number {
    return this.requested.length - this.cancelled.length
  }
  request(_id: string, indexes: readonly number[]): void {
    this.requested.push(...indexes)
  }
  cancel(_id: string, index: number): void {
    this.cancelled.push(index)
  }
}

interface Fixture extends CreatedManifest {
  data: Uint8Array
  store: ChunkStore
  chunk(index: number): Uint8Array
  clock: {now: number}
  /** The bitfield the download fills in as chunks are stored. */
  have: Bitfield
  download: Download
}

async function fixture(chunks: number, options: {sequential?: boolean, random?: () => number} = {}): Promise<Fixture> {
  const data = new Uint8Array(chunks * MIN_CHUNK_SIZE).map((_, i) => (i * 7 + (i >> 14)) & 0xff)
  const created = await createManifest(data, {name: 'f.bin', chunkSize: MIN_CHUNK_SIZE})
  const store = new ChunkStore({db: new MemoryLevel<string, string>()})
  await store.putManifest(created.id, created.bytes)
  const clock = {now: 1_000_000}
  const have = new Bitfield(chunks)
  const download = new Download({
    id: created.id, manifest: created.manifest, store, have, sequential: options.sequential,
    clock: {...systemClock, now: () => clock.now, random: options.random ?? (() => 0)},
  })
  return {
    ...created, data, store, clock, have, download,
    chunk(index) {
      const {offset, length} = chunkRange(created.manifest, index)
      return data.slice(offset, offset + length)
    },
  }
}

/** Chunks asked of `s`, not cancelled since and not stored yet: the requests its window holds now. */
function outstanding(s: RecordingSession, have: Bitfield): number[] {
  const asked = new Map<number, number>()
  for (const i of s.requested) asked.set(i, (asked.get(i) ?? 0) + 1)
  for (const i of s.cancelled) asked.set(i, (asked.get(i) ?? 0) - 1)
  return [...asked].filter(([i, n]) => n > 0 && !have.get(i)).map(([i]) => i)
}

function field(length: number, indexes: Iterable<number>): Bitfield {
  const f = new Bitfield(length)
  for (const i of indexes) f.set(i)
  return f
}

const range = (from: number, to: number) => Array.from({length: to - from}, (_, i) => from + i)
const as = (s: RecordingSession) => s as unknown as FilePeer

describe('download scheduler', () => {
  test('rarest first: a peer is asked for the chunks only it has before the common ones', async () => {
    const f = await fixture(10)
    const rich = new RecordingSession()
    const poorA = new RecordingSession()
    const poorB = new RecordingSession()
    f.download.update('A', as(poorA), field(10, range(0, 5)))
    f.download.update('B', as(poorB), field(10, range(0, 5)))
    f.download.update('R', as(rich), field(10, range(0, 10)))
    f.download.start()
    // Chunks 5..9 exist only at R: its whole first window comes from there.
    assert.equal(rich.requested.length, INITIAL_WINDOW)
    assert.ok(rich.requested.every(i => i >= 5), `R was asked for ${rich.requested}`)
    // A and B split the common chunks without asking for the same one twice.
    const common = [...poorA.requested, ...poorB.requested]
    assert.ok(common.every(i => i < 5))
    assert.equal(new Set([...common, ...rich.requested]).size, common.length + rich.requested.length)
  })

  test('sequential mode asks for the lowest missing chunks first', async () => {
    const f = await fixture(12, {sequential: true})
    const s = new RecordingSession()
    f.download.update('S', as(s), field(12, range(0, 12)))
    f.download.start()
    assert.deepEqual(s.requested, range(0, INITIAL_WINDOW))
    await f.download.receive('S', 0, f.chunk(0))
    await f.download.receive('S', 1, f.chunk(1))
    assert.deepEqual(s.requested.slice(0, 6), range(0, 6))
  })

  test('a fast peer gets a wider window, up to the cap', async () => {
    const f = await fixture(200)
    const s = new RecordingSession()
    f.download.update('S', as(s), field(200, range(0, 200)))
    f.download.start()
    // 16 KiB every millisecond is 16 MB/s: a quarter second of that is far more than the cap.
    for (let n = 0; n < 20; n++) {
      const index = outstanding(s, f.have)[0]
      f.clock.now += 1
      await f.download.receive('S', index, f.chunk(index))
    }
    const inflight = outstanding(s, f.have).length
    assert.ok(inflight > INITIAL_WINDOW, `window stayed at ${inflight}`)
    assert.ok(inflight <= MAX_WINDOW)
  })

  test('endgame: a late chunk is asked of a second peer, and the copy still coming is cancelled', async () => {
    const f = await fixture(2)
    const slow = new RecordingSession()
    const fast = new RecordingSession()
    f.download.update('SLOW', as(slow), field(2, [0, 1]))
    f.download.start()
    assert.deepEqual(slow.requested.sort(), [0, 1])
    f.download.update('FAST', as(fast), field(2, [0, 1]))
    // Nothing new to ask, and the requests are fresh: no copies yet.
    assert.equal(fast.requested.length, 0)
    f.clock.now += 5_000
    f.download.tick()
    assert.deepEqual(fast.requested.sort(), [0, 1], 'late chunks asked again')
    await f.download.receive('FAST', 0, f.chunk(0))
    assert.deepEqual(slow.cancelled, [0], 'the slow copy cancelled')
    await f.download.receive('FAST', 1, f.chunk(1))
    assert.equal(f.download.done, true)
    assert.deepEqual(slow.cancelled.sort(), [0, 1])
  })

  test('a silent peer is snubbed: its chunks go to another, and it gets a window of one', async () => {
    const f = await fixture(8)
    const silent = new RecordingSession()
    const other = new RecordingSession()
    f.download.update('SILENT', as(silent), field(8, range(0, 8)))
    f.download.start()
    const held = [...silent.requested]
    // The other peer has only what the silent one was asked for: until the snub it has nothing to do.
    f.download.update('OTHER', as(other), field(8, held))
    assert.equal(other.requested.length, 0)
    f.clock.now += 11_000
    f.download.tick()
    assert.deepEqual(silent.cancelled.sort(), held.sort())
    for (const i of held) assert.ok(other.requested.includes(i), `chunk ${i} moved`)
    // Its window of one: asked for one of the chunks only it has, not INITIAL_WINDOW of them.
    assert.equal(outstanding(silent, f.have).length, 1)
  })

  test('a chunk a seeder sends us elsewhere for is asked of the peer that has it, and of the seeder again once nobody else does', async () => {
    const f = await fixture(4)
    const seeder = new RecordingSession()
    const peer = new RecordingSession()
    f.download.update('SEED', as(seeder), field(4, range(0, 4)))
    f.download.start()
    assert.deepEqual(seeder.requested.sort(), [0, 1, 2, 3])
    // Another downloader got chunk 2 meanwhile; the seeder points us there.
    f.download.update('PEER', as(peer), field(4, [2]))
    f.download.refused('SEED', 2, RejectReason.ELSEWHERE)
    assert.deepEqual(peer.requested, [2])
    assert.equal(seeder.requested.filter(i => i === 2).length, 1, 'not asked of the seeder again')
    // The peer leaves before answering: only the seeder has it now, so it is asked again.
    f.download.removeSource('PEER')
    assert.equal(seeder.requested.filter(i => i === 2).length, 2)
  })

  test('a downloader that completes chunk by chunk counts as a seeder after, and nothing is left unasked', async () => {
    const f = await fixture(4)
    const peer = new RecordingSession()
    const seeder = new RecordingSession()
    f.download.update('PEER', as(peer), field(4, [0, 1, 2]))
    f.download.update('PEER', as(peer), field(4, [0, 1, 2, 3]), 3)
    f.download.update('SEED', as(seeder), field(4, range(0, 4)))
    f.download.start()
    assert.deepEqual([...new Set([...peer.requested, ...seeder.requested])].sort(), [0, 1, 2, 3])
  })

  test('a seeder is asked only for chunks no downloader has', async () => {
    const f = await fixture(8)
    const seeder = new RecordingSession()
    const peer = new RecordingSession()
    f.download.update('PEER', as(peer), field(8, [0, 1, 2, 3]))
    f.download.update('SEED', as(seeder), field(8, range(0, 8)))
    f.download.start()
    assert.ok(seeder.requested.length > 0)
    assert.ok(seeder.requested.every(i => i >= 4), `seeder asked for ${seeder.requested}`)
    assert.deepEqual(peer.requested.sort(), [0, 1, 2, 3])
  })

  test('a refused chunk is not asked of that peer again; a bad chunk is blamed and refetched elsewhere', async () => {
    const f = await fixture(4)
    const a = new RecordingSession()
    const b = new RecordingSession()
    const blamed: Array<[string, number]> = []
    f.download.on('blame', (key, index) => blamed.push([key, index]))
    f.download.update('A', as(a), field(4, range(0, 4)))
    f.download.start()
    assert.deepEqual(a.requested.sort(), [0, 1, 2, 3])
    f.download.refused('A', 0, RejectReason.NOT_HAVE)
    const bad = f.chunk(1)
    bad[0] ^= 1
    await f.download.receive('A', 1, bad)
    assert.deepEqual(blamed, [['A', 1]])
    assert.equal(a.requested.filter(i => i === 0 || i === 1).length, 2, 'neither asked of A again')
    f.download.update('B', as(b), field(4, range(0, 4)))
    assert.deepEqual(b.requested.sort(), [0, 1])
    assert.equal(await f.store.getChunk(f.id, 1), undefined, 'the bad chunk was not stored')
  })

  test('a peer that leaves hands its requests to the others', async () => {
    const f = await fixture(4)
    const a = new RecordingSession()
    const b = new RecordingSession()
    f.download.update('A', as(a), field(4, range(0, 4)))
    f.download.start()
    f.download.update('B', as(b), field(4, range(0, 4)))
    assert.equal(b.requested.length, 0)
    const heldByA = [...a.requested]
    f.download.removeSource('A')
    for (const i of heldByA) assert.ok(b.requested.includes(i), `chunk ${i} went to B`)
  })

  test('an announcement whose bit count is not the manifest\'s is ignored', async () => {
    const f = await fixture(6)
    const liar = new RecordingSession()
    f.download.update('L', as(liar), field(7, range(0, 7)))
    f.download.start()
    assert.equal(liar.requested.length, 0)
  })
})
