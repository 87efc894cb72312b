// FileShare end to end over real muxes on in-memory transports: listing, downloads
// from one and from many peers, resume, pause on a full disk, hostile peers.
import {describe, test, afterEach} from 'node:test'
import assert from 'node:assert/strict'
import {MemoryLevel} from 'memory-level'
import {P2PError} from '../../src/core/errors.js'
import {ChunkStore} from '../../src/core/files/chunk-store.js'
import {MIN_CHUNK_SIZE, createManifest} from '../../src/core/files/manifest.js'
import {FileShare, BLAME_LIMIT, type FileInfo, type FileShareOptions} from '../../src/core/files/share.js'
import {FILES_PROTOCOL} from '../../src/core/files/swarm.js'
import {FileMessageType, decodeFileMessage, encodeChunk, encodeHave, encodeManifestMessage, Bitfield} from '../../src/core/files/messages.js'
import type {MemoryTransportOptions} from '../../src/core/mux/index.js'
import {FakeSwarm, connect, type FakePeer} from './fake-swarm.js'
import {isCode, within} from './helpers.js'
import {until} from '../shared/until.js'
import {CorruptingStore} from '../shared/corrupting-store.js'

function bytesOf(n: number, seed = 1): Uint8Array {
  const out = new Uint8Array(n)
  for (let i = 0; i < n; i++) out[i] = (i * 13 + seed + (i >> 8) * 7 + (i >> 14) * 5) & 0xff
  return out
}

interface Node {
  key: string
  swarm: FakeSwarm
  store: ChunkStore
  db: MemoryLevel<string, string>
  share: FileShare
}

const live: Node[] = []

function node(key: string, options: Partial<FileShareOptions> & {db?: MemoryLevel<string, string>, Store?: typeof ChunkStore} = {}): Node {
  const db = options.db ?? new MemoryLevel<string, string>()
  const store = new (options.Store ?? ChunkStore)({db})
  const swarm = new FakeSwarm()
  const share = new FileShare({store, swarm, ...options})
  const n = {key, swarm, store, db, share}
  live.push(n)
  return n
}

function link(a: Node, b: Node, options?: MemoryTransportOptions): {atA: FakePeer, atB: FakePeer} {
  return connect(a.swarm, a.key, b.swarm, b.key, options)
}

/** Every chunk index `peer` receives a request for (REQUEST or REQUEST_BATCH), in order, from now on. */
function requestsTo(peer: FakePeer): number[] {
  const asked: number[] = []
  peer.onreceive = (channel, bytes) => {
    if (channel !== FILES_PROTOCOL) return
    const message = decodeFileMessage(bytes)
    if (message.type === FileMessageType.REQUEST_BATCH) asked.push(...message.indexes)
    if (message.type === FileMessageType.REQUEST) asked.push(message.index)
  }
  return asked
}

/** The info of `id` once `check` holds, waiting on the share's events. */
function whenFile(share: FileShare, id: string, check: (info: FileInfo) => boolean = () => true, what = 'file'): Promise<FileInfo> {
  const now = share.file(id)
  if (now && check(now)) return Promise.resolve(now)
  return within(new Promise(resolve => {
    const listener = (info: FileInfo) => {
      if (info.id !== id || !check(info)) return
      share.off('file', listener)
      resolve(info)
    }
    share.on('file', listener)
  }), 20_000, what)
}

async function contents(share: FileShare, id: string): Promise<Uint8Array> {
  return new Uint8Array(await (await share.blob(id)).arrayBuffer())
}

afterEach(() => {
  for (const n of live.splice(0)) n.share.destroy()
})

describe('file share', () => {
  test('a file added on one peer is listed on the other and downloads byte for byte', async () => {
    const a = node('A')
    const b = node('B')
    link(a, b)
    const data = bytesOf(5 * MIN_CHUNK_SIZE + 77)
    const added = await a.share.add(data, {name: 'notes.txt', type: 'text/plain', chunkSize: MIN_CHUNK_SIZE})
    assert.equal(added.state, 'complete')
    assert.equal(added.local, true)
    assert.equal(added.chunks, 6)

    const seen = await whenFile(b.share, added.id)
    assert.deepEqual([seen.name, seen.size, seen.type, seen.state, seen.have], ['notes.txt', data.length, 'text/plain', 'remote', 0])
    assert.deepEqual(seen.holders, ['A'])
    assert.equal(seen.seeders, 1)

    const progress: number[] = []
    b.share.on('progress', info => progress.push(info.have))
    const done = await b.share.download(added.id)
    assert.equal(done.state, 'complete')
    assert.equal(done.bytes, data.length)
    assert.deepEqual(progress, [1, 2, 3, 4, 5, 6])
    assert.deepEqual(await contents(b.share, added.id), data)
    // A peer's text/plain is not among the types a browser shows without running anything (safeBlobType).
    assert.equal((await b.share.blob(added.id)).type, 'application/octet-stream')
    assert.equal(b.share.stats.downloaded, data.length)
    assert.equal(a.share.stats.uploaded, data.length)
    // The downloader now seeds: A sees B as a holder with every chunk.
    await whenFile(a.share, added.id, info => info.seeders === 1, 'B seeding')
  })

  test('a later downloader fetches from the earlier ones too, not only the original seeder', async () => {
    const a = node('A')
    const b = node('B')
    const c = node('C')
    link(a, b)
    link(a, c)
    link(b, c)
    const data = bytesOf(40 * MIN_CHUNK_SIZE, 3)
    const {id} = await a.share.add(data, {name: 'big.bin', chunkSize: MIN_CHUNK_SIZE})
    await whenFile(b.share, id)
    await b.share.download(id)
    await whenFile(c.share, id, info => info.seeders === 2, 'two seeders for C')
    await c.share.download(id)
    assert.deepEqual(await contents(c.share, id), data)
    const servedToC = (n: Node) => n.share.stats.uploaded
    // C took chunks from both (A served B all 40 and some to C; B served only C).
    assert.ok(servedToC(b) > 0, 'B served C')
    assert.ok(servedToC(a) > data.length, 'A served C too')
    // Endgame copies are few: at most a few chunks fetched twice.
    const total = a.share.stats.uploaded + b.share.stats.uploaded
    assert.ok(total >= 2 * data.length && total <= 2 * data.length + 4 * MIN_CHUNK_SIZE, `uploaded ${total / MIN_CHUNK_SIZE} chunks`)
  })

  test('three downloaders at once share the work: the seeder uploads less than three copies', async t => {
    const seeder = node('S')
    const peers = ['P1', 'P2', 'P3'].map(k => node(k))
    const all = [seeder, ...peers]
    // A seeder link slower than the links between downloaders, as an uplink is.
    for (let i = 0; i < all.length; i++) {
      for (let j = i + 1; j < all.length; j++) link(all[i], all[j], {bytesPerTick: i === 0 ? 16 * 1024 : 512 * 1024})
    }
    const data = bytesOf(48 * MIN_CHUNK_SIZE, 5)
    const {id} = await seeder.share.add(data, {name: 'x.bin', chunkSize: MIN_CHUNK_SIZE})
    await Promise.all(peers.map(p => whenFile(p.share, id)))
    await Promise.all(peers.map(p => p.share.download(id)))
    for (const p of peers) assert.deepEqual(await contents(p.share, id), data)
    const ratio = seeder.share.stats.uploaded / data.length
    t.diagnostic(`seeder ${ratio.toFixed(2)} copies; downloaders ${peers.map(p => (p.share.stats.uploaded / data.length).toFixed(2)).join(' ')}`)
    assert.ok(ratio < 3, `seeder uploaded ${ratio.toFixed(2)} copies`)
    // The rest of the three copies came from the downloaders, while they downloaded. Which
    // of them served how much depends on who finished hashing first, so only the sum is sure.
    const fromDownloaders = peers.reduce((sum, p) => sum + p.share.stats.uploaded, 0)
    assert.ok(seeder.share.stats.uploaded + fromDownloaders >= 3 * data.length, 'every copy was served by someone')
    // And each downloader now seeds: every other peer lists it as a complete holder.
    await Promise.all(all.map(n => whenFile(n.share, id, info => info.seeders === all.length - 1, `${n.key} to list every other peer as a seeder`)))
  })

  test('a seeder leaving mid-transfer: another holder completes it', async () => {
    const a = node('A')
    const b = node('B')
    const c = node('C')
    const data = bytesOf(64 * MIN_CHUNK_SIZE, 7)
    const {id} = await a.share.add(data, {name: 'x.bin', chunkSize: MIN_CHUNK_SIZE})
    await b.share.add(data, {name: 'x.bin', chunkSize: MIN_CHUNK_SIZE})
    const {atB: aAtC} = link(c, a, {bytesPerTick: 32 * 1024})
    link(c, b, {bytesPerTick: 32 * 1024})
    await whenFile(c.share, id, info => info.seeders === 2)
    const download = c.share.download(id)
    await within(new Promise<void>(resolve => {
      c.share.on('progress', info => {
        if (info.have >= 4) resolve()
      })
    }), 20_000, 'some progress')
    aAtC.destroy()
    const done = await within(download, 20_000, 'download after the seeder left')
    assert.equal(done.state, 'complete')
    assert.deepEqual(await contents(c.share, id), data)
    assert.deepEqual(c.share.file(id)!.holders, ['B'])
  })

  test('a peer that corrupts chunks is blamed, dropped, and the file still completes correctly', async () => {
    const good = node('GOOD')
    const evil = node('EVIL', {Store: CorruptingStore})
    const victim = node('V')
    const data = bytesOf(32 * MIN_CHUNK_SIZE, 9)
    const {id} = await good.share.add(data, {name: 'x.bin', chunkSize: MIN_CHUNK_SIZE})
    await evil.share.add(data, {name: 'x.bin', chunkSize: MIN_CHUNK_SIZE})
    const errors: P2PError[] = []
    victim.share.on('error', err => errors.push(err))
    const {atA: evilAtVictim} = link(victim, evil)
    const {atA: goodAtVictim} = link(victim, good, {bytesPerTick: 64 * 1024})
    await whenFile(victim.share, id, info => info.seeders === 2)
    const done = await within(victim.share.download(id), 20_000, 'download')
    assert.equal(done.state, 'complete')
    assert.deepEqual(await contents(victim.share, id), data)
    assert.ok(victim.share.stats.blamed >= BLAME_LIMIT, `blamed ${victim.share.stats.blamed}`)
    assert.ok(isCode('ERR_PEER_MISBEHAVING')(evilAtVictim.destroyed), 'the corrupting peer was dropped')
    // One per bad chunk that arrives past the limit (those in flight when it was reached): a count that depends on timing.
    assert.deepEqual([...new Set(errors.map(err => err.code))], ['ERR_PEER_MISBEHAVING'])
    // The good peer kept being served and serving: no chunk of the corrupting peer passed its
    // hash, so the good one served every chunk the victim holds, and its connection is still up.
    assert.ok(good.share.stats.uploaded >= data.length, `the good peer served ${good.share.stats.uploaded / MIN_CHUNK_SIZE} of 32 chunks`)
    assert.equal(goodAtVictim.destroyed, null, 'the good peer was not dropped')
    assert.deepEqual(victim.swarm.peers.map(p => p.publicKey), ['GOOD'])
  })

  test('with only a corrupting peer the download waits instead of spinning, and finishes once a good peer comes', async () => {
    const evil = node('EVIL', {Store: CorruptingStore})
    const victim = node('V')
    const data = bytesOf(8 * MIN_CHUNK_SIZE, 11)
    const {id} = await evil.share.add(data, {name: 'x.bin', chunkSize: MIN_CHUNK_SIZE})
    const {atA: evilAtVictim} = link(victim, evil)
    await whenFile(victim.share, id)
    const download = victim.share.download(id)
    await until(() => evilAtVictim.destroyed !== null, 'the corrupting peer dropped')
    assert.equal(victim.share.file(id)!.have, 0)
    const good = node('GOOD')
    await good.share.add(data, {name: 'x.bin', chunkSize: MIN_CHUNK_SIZE})
    link(victim, good)
    await within(download, 20_000, 'download from the good peer')
    assert.deepEqual(await contents(victim.share, id), data)
  })

  test('a manifest that does not hash to its id is refused and fetched from another holder', async () => {
    const good = node('GOOD')
    const victim = node('V')
    const data = bytesOf(3 * MIN_CHUNK_SIZE, 13)
    const {id} = await good.share.add(data, {name: 'real.bin', chunkSize: MIN_CHUNK_SIZE})
    const forged = await createManifest(bytesOf(100, 99), {name: 'fake.exe', chunkSize: MIN_CHUNK_SIZE})
    // A raw peer that claims the file and answers the manifest request with another manifest.
    const liar = new FakeSwarm()
    const {atB: liarSide} = connect(victim.swarm, 'V', liar, 'LIAR')
    const channel = liarSide.channel(FILES_PROTOCOL, {
      onmessage(bytes) {
        const message = decodeFileMessage(bytes)
        if (message.type === FileMessageType.MANIFEST_REQUEST) channel.send(encodeManifestMessage(id, forged.bytes))
      },
    })
    const all = new Bitfield(3)
    for (let i = 0; i < 3; i++) all.set(i)
    channel.send(encodeHave(id, all))
    await until(() => victim.share.stats.blamed === 1, 'the forged manifest blamed')
    assert.equal(victim.share.file(id), undefined, 'nothing listed from a forged manifest')
    link(victim, good)
    const info = await whenFile(victim.share, id)
    assert.equal(info.name, 'real.bin')
    await victim.share.download(id)
    assert.deepEqual(await contents(victim.share, id), data)
  })

  test('an unsolicited chunk is ignored: nothing stored, the download unaffected', async () => {
    const a = node('A')
    const victim = node('V')
    const data = bytesOf(4 * MIN_CHUNK_SIZE, 15)
    const {id} = await a.share.add(data, {name: 'x.bin', chunkSize: MIN_CHUNK_SIZE})
    const pusher = new FakeSwarm()
    const {atB} = connect(victim.swarm, 'V', pusher, 'PUSH')
    const channel = atB.channel(FILES_PROTOCOL, {onmessage() {}})
    link(victim, a)
    await whenFile(victim.share, id)
    channel.send(encodeChunk(id, 0, data.subarray(0, MIN_CHUNK_SIZE)))
    channel.send(encodeChunk(id, 1, new Uint8Array(MIN_CHUNK_SIZE)))
    await victim.share.download(id)
    assert.deepEqual(await contents(victim.share, id), data)
    assert.equal(victim.share.stats.downloaded, data.length)
    assert.equal(victim.share.stats.blamed, 0)
    assert.equal(atB.destroyed, null, 'ignored, not fatal')
  })

  test('misuse throws at once: a malformed id, a destroyed share', async () => {
    const a = node('A')
    assert.throws(() => a.share.download('not-an-id'), isCode('ERR_INVALID_ARGUMENT'))
    a.share.destroy()
    assert.throws(() => a.share.download('ab'.repeat(32)), isCode('ERR_DESTROYED'))
    await assert.rejects(a.share.add(new Uint8Array(1), {name: 'x'}), isCode('ERR_DESTROYED'))
  })

  test('empty and one-chunk files', async () => {
    const a = node('A')
    const b = node('B')
    link(a, b)
    const empty = await a.share.add(new Uint8Array(0), {name: 'empty.txt', type: 'text/plain'})
    assert.equal(empty.chunks, 0)
    const one = await a.share.add(bytesOf(1000), {name: 'one.bin'})
    assert.equal(one.chunks, 1)
    await whenFile(b.share, empty.id)
    await whenFile(b.share, one.id)
    assert.deepEqual(b.share.file(empty.id)!.holders, ['A'])
    assert.equal((await b.share.download(empty.id)).state, 'complete')
    assert.equal((await b.share.blob(empty.id)).size, 0)
    await b.share.download(one.id)
    assert.deepEqual(await contents(b.share, one.id), bytesOf(1000))
  })

  test('resumes after a restart with no verified chunk fetched twice', async () => {
    // A seeder that serves 8 chunks, then holds every other request until the gate opens.
    let served = 0
    let open!: () => void
    const gate = new Promise<void>(resolve => {
      open = resolve
    })
    class GatedStore extends ChunkStore {
      override async getChunk(id: string, index: number): Promise<Uint8Array | undefined> {
        if (++served > 8) await gate
        return super.getChunk(id, index)
      }
    }
    const a = node('A', {Store: GatedStore})
    const db = new MemoryLevel<string, string>()
    const b1 = node('B', {db})
    const data = bytesOf(32 * MIN_CHUNK_SIZE, 17)
    const {id} = await a.share.add(data, {name: 'x.bin', chunkSize: MIN_CHUNK_SIZE})
    const first = link(a, b1)
    await whenFile(b1.share, id)
    const aborted = b1.share.download(id).catch((err: unknown) => err)
    await within(new Promise<void>(resolve => b1.share.on('progress', info => {
      if (info.have === 8) resolve()
    })), 20_000, 'progress')
    await b1.share.close()
    assert.ok(isCode('ERR_ABORTED')(await aborted))
    first.atA.destroy()
    const stored = (await b1.store.bitfield(id))!
    assert.equal(stored.count(), 8)

    // "Reload": a new share on the same database resumes on its own.
    const b2 = node('B', {db})
    await b2.share.ready
    assert.equal(b2.share.file(id)!.have, 8)
    const asked = requestsTo(link(a, b2).atA)
    const before = a.share.peerStats('B')!.chunksServed
    open()
    await within(new Promise<void>(resolve => b2.share.on('complete', () => resolve())), 20_000, 'resumed download')
    assert.equal(a.share.peerStats('B')!.chunksServed - before, 24, 'only the missing chunks were fetched')
    assert.deepEqual(asked.filter(i => stored.get(i)), [], 'no stored chunk asked for again')
    assert.deepEqual(await contents(b2.share, id), data)
  })

  test('a full disk pauses the download with a clear error; downloading again resumes it', async () => {
    const a = node('A')
    const db = new MemoryLevel<string, string>()
    let full = false
    const batch = db.batch.bind(db) as (...args: unknown[]) => Promise<void>
    ;(db as unknown as {batch: unknown}).batch = (...args: unknown[]) => {
      if (full && Array.isArray(args[0])) return Promise.reject(Object.assign(new Error('quota'), {name: 'QuotaExceededError'}))
      return batch(...args)
    }
    const b = node('B', {db})
    link(a, b, {bytesPerTick: 32 * 1024})
    const data = bytesOf(16 * MIN_CHUNK_SIZE, 19)
    const {id} = await a.share.add(data, {name: 'x.bin', chunkSize: MIN_CHUNK_SIZE})
    await whenFile(b.share, id)
    const errors: Array<[P2PError, string | undefined]> = []
    b.share.on('error', (err, fileId) => errors.push([err, fileId]))
    const download = b.share.download(id)
    const fill = (info: FileInfo) => {
      if (info.have < 3) return
      full = true
      b.share.off('progress', fill)
    }
    b.share.on('progress', fill)
    await assert.rejects(download, isCode('ERR_STORAGE_FULL'))
    const paused = b.share.file(id)!
    assert.equal(paused.state, 'paused')
    assert.equal(paused.error?.code, 'ERR_STORAGE_FULL')
    assert.match(paused.error!.message, /no room/)
    assert.ok(paused.have >= 3 && paused.have < 16)
    assert.deepEqual(errors.map(([err, fileId]) => [err.code, fileId]), [['ERR_STORAGE_FULL', id]])
    full = false
    const done = await b.share.download(id)
    assert.equal(done.state, 'complete')
    assert.equal(done.error, undefined)
    assert.deepEqual(await contents(b.share, id), data)
  })

  test('cancel discards a partial download; remove withdraws a file from the room', async () => {
    const a = node('A')
    const b = node('B')
    link(a, b, {bytesPerTick: 32 * 1024})
    const data = bytesOf(32 * MIN_CHUNK_SIZE, 21)
    const {id} = await a.share.add(data, {name: 'x.bin', chunkSize: MIN_CHUNK_SIZE})
    await whenFile(b.share, id)
    const download = b.share.download(id)
    await within(new Promise<void>(resolve => b.share.on('progress', () => resolve())), 20_000, 'progress')
    await b.share.cancel(id)
    await assert.rejects(download, isCode('ERR_ABORTED'))
    assert.equal(await b.store.bitfield(id), undefined, 'partial data discarded')
    const after = b.share.file(id)!
    assert.deepEqual([after.state, after.have], ['remote', 0])
    // A no longer sees B as a holder.
    await whenFile(a.share, id, info => info.holders.length === 0, 'B withdrawn')

    const removed = new Promise<string>(resolve => b.share.on('remove', resolve))
    await a.share.remove(id)
    assert.equal(await within(removed, 20_000, 'remove event'), id)
    assert.equal(b.share.file(id), undefined)
    assert.equal(a.share.file(id), undefined)
    assert.deepEqual(a.share.files(), [])
  })

  test('download() called twice, or from a listener as the file is listed, downloads once and lists it right', async () => {
    const a = node('A')
    const b = node('B')
    const data = bytesOf(5 * MIN_CHUNK_SIZE, 25)
    const {id} = await a.share.add(data, {name: 'x.bin', chunkSize: MIN_CHUNK_SIZE})
    const fromListener: Promise<FileInfo>[] = []
    b.share.on('file', info => {
      if (info.id === id && fromListener.length === 0) fromListener.push(b.share.download(id))
    })
    link(a, b)
    await whenFile(b.share, id)
    const twice = [b.share.download(id), b.share.download(id)]
    const results = await Promise.all([...fromListener, ...twice])
    assert.equal(results.length, 3)
    for (const info of results) assert.equal(info.state, 'complete')
    const listed = b.share.file(id)!
    assert.deepEqual([listed.state, listed.have, listed.bytes], ['complete', 5, data.length])
    assert.deepEqual(await contents(b.share, id), data)
    assert.equal(a.share.stats.uploaded, data.length, 'each chunk fetched once')
  })

  test('download() of a file whose manifest arrives while the store is being looked up still starts', async () => {
    // The store lookup of a first download() is held until the manifest has arrived from the peer.
    let release!: () => void
    const held = new Promise<void>(resolve => {
      release = resolve
    })
    class SlowStore extends ChunkStore {
      override async getManifestBytes(id: string): Promise<Uint8Array | undefined> {
        await held
        return super.getManifestBytes(id)
      }
    }
    const a = node('A')
    const b = node('B', {Store: SlowStore})
    const data = bytesOf(3 * MIN_CHUNK_SIZE, 27)
    const {id} = await a.share.add(data, {name: 'x.bin', chunkSize: MIN_CHUNK_SIZE})
    const download = b.share.download(id)
    link(a, b)
    await whenFile(b.share, id)
    release()
    const done = await within(download, 20_000, 'the download')
    assert.equal(done.state, 'complete')
    assert.deepEqual(await contents(b.share, id), data)
  })

  test('sequential mode fetches in order from a single peer', async () => {
    const a = node('A')
    const b = node('B')
    const {atA} = link(a, b, {bytesPerTick: 32 * 1024})
    const data = bytesOf(24 * MIN_CHUNK_SIZE, 23)
    const {id} = await a.share.add(data, {name: 'movie.webm', type: 'video/webm', chunkSize: MIN_CHUNK_SIZE})
    await whenFile(b.share, id)
    const prefixes: boolean[] = []
    b.share.on('progress', () => prefixes.push(true))
    const seen = requestsTo(atA)
    const done = await b.share.download(id, {sequential: true})
    assert.equal(done.sequential, true)
    assert.deepEqual(seen, [...Array(24).keys()], 'requested in order')
    assert.deepEqual(await contents(b.share, id), data)
  })
})
