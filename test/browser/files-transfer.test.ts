// File transfer between real swarms in Chromium: real WebRTC through the hub
// process, chunks verified and stored in real IndexedDB (browser-level).
import {expect} from '@open-wc/testing'
import {BrowserLevel} from 'browser-level'
import {ChunkStore} from '../../src/core/files/chunk-store.js'
import {FileShare, BLAME_LIMIT, type FileInfo} from '../../src/core/files/share.js'
import {FILES_PROTOCOL} from '../../src/core/files/swarm.js'
import {MIN_CHUNK_SIZE} from '../../src/core/files/manifest.js'
import {encodeChunk} from '../../src/core/files/messages.js'
import type {Swarm} from '../../src/core/swarm/swarm.js'
import {createSwarm, freshRoom, fullMesh, until} from './helpers/swarm.js'
// The event-driven wait above where an event says it; polling only for what has none.
import {until as untilPolled} from '../shared/until.js'
import {CorruptingStore} from '../shared/corrupting-store.js'
import {onlyIn} from './helpers/browser.js'

const MiB = 1024 * 1024

/** Deterministic bytes: chunk `i` of any file made here is recognisable. */
function pattern(size: number, seed = 1): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(size)
  let x = seed * 2654435761 >>> 0
  for (let i = 0; i < size; i += 4) {
    x = (x * 1664525 + 1013904223) >>> 0
    out[i] = x
    out[i + 1] = x >>> 8
    out[i + 2] = x >>> 16
    out[i + 3] = x >>> 24
  }
  return out
}

interface Peer {
  swarm: Swarm
  db: BrowserLevel<string, Uint8Array>
  share: FileShare
  location: string
}

const locations: string[] = []
let peers: Peer[] = []

function peer(room: string, {Store = ChunkStore, location}: {Store?: typeof ChunkStore, location?: string} = {}): Peer {
  const name = location ?? `p2p-files-transfer-${Math.random().toString(36).slice(2)}`
  if (!locations.includes(name)) locations.push(name)
  const db = new BrowserLevel<string, Uint8Array>(name)
  const swarm = createSwarm(room)
  const share = new FileShare({store: new Store({db}), swarm})
  const p = {swarm, db, share, location: name}
  peers.push(p)
  return p
}

async function close(p: Peer): Promise<void> {
  await p.share.close()
  p.swarm.destroy()
  await p.db.close()
  peers = peers.filter(x => x !== p)
}

function listed(p: Peer, id: string, check: (info: FileInfo) => boolean = () => true, what = 'the file listed'): Promise<void> {
  return until(p.share, ['file', 'progress'], () => {
    const info = p.share.file(id)
    return !!info && check(info)
  }, what, 30_000)
}

async function bytesOf(p: Peer, id: string): Promise<Uint8Array> {
  return new Uint8Array(await (await p.share.blob(id)).arrayBuffer())
}

/** Equal without a 200 MB chai diff on failure. */
function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

describe('file transfer between browsers (real WebRTC, real IndexedDB)', function () {
  this.timeout(120_000)

  afterEach(async () => {
    for (const p of peers) {
      await p.share.close()
      p.swarm.destroy()
      await p.db.close()
    }
    peers = []
  })

  after(async () => {
    for (const name of locations) {
      await new Promise(resolve => {
        const req = indexedDB.deleteDatabase(`level-js-${name}`)
        req.onsuccess = req.onerror = req.onblocked = resolve
      })
    }
  })

  it('1 → 1: the file arrives byte for byte, verified, and the downloader seeds it', async () => {
    const room = freshRoom('files')
    const a = peer(room)
    const b = peer(room)
    await fullMesh([a.swarm, b.swarm])
    const data = pattern(3 * MiB + 12345)
    const added = await a.share.add(new Blob([data], {type: 'application/x-test'}), {name: 'data.bin'})
    expect(added.chunks).to.equal(13)
    await listed(b, added.id)
    expect(b.share.file(added.id)).to.include({name: 'data.bin', size: data.length, type: 'application/x-test', state: 'remote'})
    const done = await b.share.download(added.id)
    expect(done.state).to.equal('complete')
    expect(sameBytes(await bytesOf(b, added.id), data)).to.equal(true)
    expect(b.share.stats.downloaded).to.equal(data.length)
    await listed(a, added.id, info => info.seeders === 1, 'the downloader seeding')
  })

  it('1 → 3: downloaders that start later also fetch from the earlier ones', async () => {
    const room = freshRoom('files')
    const seeder = peer(room)
    const first = peer(room)
    const later = [peer(room), peer(room)]
    await fullMesh([seeder, first, ...later].map(p => p.swarm))
    const data = pattern(4 * MiB, 2)
    const {id} = await seeder.share.add(data, {name: 'x.bin', chunkSize: 64 * 1024})
    await listed(first, id)
    await first.share.download(id)
    await Promise.all(later.map(p => listed(p, id, info => info.seeders === 2, 'two seeders')))
    await Promise.all(later.map(p => p.share.download(id)))
    for (const p of [first, ...later]) expect(sameBytes(await bytesOf(p, id), data)).to.equal(true)
    // The later two took chunks from the first downloader (and each other), not only from the seeder.
    expect(first.share.stats.uploaded).to.be.greaterThan(0)
    expect(seeder.share.stats.uploaded).to.be.lessThan(3 * data.length)
  })

  it('a seeder that leaves mid-transfer: another holder completes the download', async () => {
    const room = freshRoom('files')
    const a = peer(room)
    const b = peer(room)
    const c = peer(room)
    await fullMesh([a.swarm, b.swarm, c.swarm])
    const data = pattern(6 * MiB, 3)
    const {id} = await a.share.add(data, {name: 'x.bin', chunkSize: 64 * 1024})
    await b.share.add(data, {name: 'x.bin', chunkSize: 64 * 1024})
    await listed(c, id, info => info.seeders === 2, 'two seeders')
    const download = c.share.download(id)
    await until(c.share, ['progress'], () => (c.share.file(id)?.have ?? 0) >= 4, 'some progress')
    await close(a)
    const done = await download
    expect(done.state).to.equal('complete')
    expect(sameBytes(await bytesOf(c, id), data)).to.equal(true)
    expect(c.share.file(id)!.holders).to.deep.equal([b.swarm.publicKey])
  })

  it('a peer that corrupts chunks is dropped and the file still completes correctly', async () => {
    const room = freshRoom('files')
    const good = peer(room)
    const evil = peer(room, {Store: CorruptingStore})
    const victim = peer(room)
    await fullMesh([good.swarm, evil.swarm, victim.swarm])
    const data = pattern(2 * MiB, 4)
    const {id} = await good.share.add(data, {name: 'x.bin', chunkSize: 32 * 1024})
    await evil.share.add(data, {name: 'x.bin', chunkSize: 32 * 1024})
    await listed(victim, id, info => info.seeders === 2, 'two seeders')
    const errors: string[] = []
    victim.share.on('error', err => errors.push(err.code))
    const dropped = until(victim.swarm, ['update'], () => !victim.swarm.peers.some(p => p.publicKey === evil.swarm.publicKey), 'the corrupting peer dropped')
    const done = await victim.share.download(id)
    expect(done.state).to.equal('complete')
    expect(sameBytes(await bytesOf(victim, id), data)).to.equal(true)
    await dropped
    expect(victim.swarm.isBanned(evil.swarm.publicKey), 'banned, so it cannot reconnect and start again').to.equal(true)
    expect(victim.share.stats.blamed).to.be.at.least(BLAME_LIMIT)
    expect(errors).to.include('ERR_PEER_MISBEHAVING')
    // The good peer still serves everyone else.
    expect(victim.swarm.peers.map(p => p.publicKey)).to.include(good.swarm.publicKey)
  })

  it('an unsolicited chunk is ignored: nothing stored, the sender kept, the download unaffected', async () => {
    const room = freshRoom('files')
    const a = peer(room)
    const victim = peer(room)
    // A swarm with no file share: it speaks the file protocol by hand.
    const pusher = createSwarm(room)
    try {
      await fullMesh([a.swarm, victim.swarm, pusher])
      const data = pattern(256 * 1024, 5)
      const {id} = await a.share.add(data, {name: 'x.bin', chunkSize: MIN_CHUNK_SIZE})
      await listed(victim, id)
      const link = pusher.peers.find(p => p.publicKey === victim.swarm.publicKey)!
      const channel = link.channel(FILES_PROTOCOL, {onmessage() {}})
      channel.send(encodeChunk(id, 0, data.subarray(0, MIN_CHUNK_SIZE)))
      channel.send(encodeChunk(id, 1, new Uint8Array(MIN_CHUNK_SIZE)))
      await untilPolled(() => (victim.share.peerStats(pusher.publicKey)?.unsolicited ?? 0) >= 2, 'the pushed chunks')
      expect(victim.share.file(id)!.have).to.equal(0)
      await victim.share.download(id)
      expect(sameBytes(await bytesOf(victim, id), data)).to.equal(true)
      expect(victim.share.stats.blamed).to.equal(0)
      expect(victim.swarm.peers.map(p => p.publicKey)).to.include(pusher.publicKey)
    } finally {
      pusher.destroy()
    }
  })

  it('empty and one-chunk files', async () => {
    const room = freshRoom('files')
    const a = peer(room)
    const b = peer(room)
    await fullMesh([a.swarm, b.swarm])
    const empty = await a.share.add(new Blob([], {type: 'text/plain'}), {name: 'empty.txt'})
    const one = await a.share.add(pattern(1000, 6), {name: 'one.bin'})
    expect([empty.chunks, one.chunks]).to.deep.equal([0, 1])
    await listed(b, empty.id)
    await listed(b, one.id)
    expect((await b.share.download(empty.id)).state).to.equal('complete')
    expect((await b.share.blob(empty.id)).size).to.equal(0)
    await b.share.download(one.id)
    expect(sameBytes(await bytesOf(b, one.id), pattern(1000, 6))).to.equal(true)
  })

  it('resumes from IndexedDB after the downloader closes and reopens, fetching only what is missing', async () => {
    const room = freshRoom('files')
    const a = peer(room)
    const b = peer(room)
    await fullMesh([a.swarm, b.swarm])
    const data = pattern(8 * MiB, 7)
    const {id} = await a.share.add(data, {name: 'x.bin', chunkSize: 64 * 1024})
    await listed(b, id)
    const aborted = b.share.download(id).catch((err: unknown) => err)
    await until(b.share, ['progress'], () => (b.share.file(id)?.have ?? 0) >= 16, 'some progress')
    const location = b.location
    await close(b)
    expect((await aborted as {code?: string}).code).to.equal('ERR_ABORTED')
    // Counted once the seeder let go of the closed downloader: a chunk it was still
    // sending then would otherwise count as sent again (seen in Firefox under load).
    await until(a.swarm, ['update'], () => a.swarm.connections.length === 0, 'the seeder to drop the closed downloader')
    const servedBefore = a.share.stats.uploaded
    const again = peer(room, {location})
    await again.share.ready
    const kept = again.share.file(id)!.have
    expect(kept).to.be.within(16, 127)
    await until(again.share, ['complete'], () => again.share.file(id)?.state === 'complete', 'the resumed download')
    expect(sameBytes(await bytesOf(again, id), data)).to.equal(true)
    // Only the missing chunks crossed the wire again (endgame copies aside, none with one seeder).
    expect(a.share.stats.uploaded - servedBefore).to.equal((128 - kept) * 64 * 1024)
  })

  // Chromium only: its subject is Chromium's limit, a channel killed past 16 MiB buffered. In
  // Firefox the mux's backpressure, the same code, is held to its cap by mux.test.ts's 32 MiB
  // test and files cross by the tests above, so 200 MB more there cost CI 34-80 s and showed nothing new.
  onlyIn('chromium', 'the 16 MiB buffered limit it guards against is Chromium\'s; mux.test.ts holds the backpressure to its cap in Firefox')('200 MB: backpressure holds (the data channel buffer stays far under Chromium\'s limit) and the channel stays open', async function () {
    this.timeout(300_000)
    const room = freshRoom('files')
    const a = peer(room)
    const b = peer(room)
    await fullMesh([a.swarm, b.swarm])
    const size = 200 * MiB
    // Built from one 1 MiB pattern with the chunk number stamped in, so every chunk differs.
    const base = pattern(MiB, 8)
    const parts: Uint8Array[] = []
    for (let i = 0; i < size / MiB; i++) {
      const part = base.slice()
      new DataView(part.buffer).setUint32(0, i)
      parts.push(part)
    }
    const {id} = await a.share.add(new Blob(parts as BlobPart[]), {name: 'big.bin', chunkSize: MiB})
    await listed(b, id)
    const link = a.swarm.peers.find(p => p.publicKey === b.swarm.publicKey)!
    const transport = link.mux!.transport
    let maxBuffered = 0
    const sampler = setInterval(() => {
      maxBuffered = Math.max(maxBuffered, transport.bufferedAmount)
    }, 5)
    try {
      await b.share.download(id)
    } finally {
      clearInterval(sampler)
    }
    expect(transport.open).to.equal(true)
    expect(link.state).to.equal('connected')
    // The mux pauses at 256 KiB; one frame may overshoot. Chromium closes a channel past 16 MiB.
    expect(maxBuffered).to.be.greaterThan(0)
    expect(maxBuffered).to.be.at.most(2 * MiB)
    const blob = await b.share.blob(id)
    expect(blob.size).to.equal(size)
    for (const i of [0, 1, 99, 199]) {
      const got = new Uint8Array(await blob.slice(i * MiB, (i + 1) * MiB).arrayBuffer())
      expect(sameBytes(got, parts[i]), `MiB ${i}`).to.equal(true)
    }
  })
})
