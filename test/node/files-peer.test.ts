import {describe, test} from 'node:test'
import assert from 'node:assert/strict'
import {MemoryLevel} from 'memory-level'
import {once} from '../../src/core/emitter.js'
import {P2PError} from '../../src/core/errors.js'
import {Mux, createMemoryTransportPair, type Channel, type MemoryTransportOptions} from '../../src/core/mux/index.js'
import {ChunkStore} from '../../src/core/files/chunk-store.js'
import {MIN_CHUNK_SIZE, chunkRange, createManifest, verifyManifest, type CreatedManifest} from '../../src/core/files/manifest.js'
import {
  Bitfield, FileMessageType, MANIFEST_INDEX, RejectReason, decodeFileMessage, encodeChunk, encodeHave, encodeRequest,
  encodeRequestBatch, encodeCancel, encodeManifestRequest, type FileMessage,
} from '../../src/core/files/messages.js'
import {FilePeer, MAX_HAVES_PER_PEER} from '../../src/core/files/file-peer.js'
import {FILES_PROTOCOL, attachFiles, type FilesSwarm} from '../../src/core/files/swarm.js'
import type {Swarm} from '../../src/core/swarm/index.js'
import {FakeSwarm, connect} from './fake-swarm.js'
import {until} from '../shared/until.js'

// The real Swarm must fit what the file protocol asks of a swarm.
const swarmFits: (swarm: Swarm) => FilesSwarm = swarm => swarm
void swarmFits

const OTHER_ID = 'ab'.repeat(32)

function bytesOf(n: number, seed = 1): Uint8Array {
  const out = new Uint8Array(n)
  for (let i = 0; i < n; i++) out[i] = (i * 13 + seed + (i >> 8) * 7 + (i >> 14) * 5) & 0xff
  return out
}

interface Shared extends CreatedManifest {
  chunk(index: number): Uint8Array
}

/** A file of `chunks` chunks of the smallest size, the last one short. */
async function sharedFile(chunks = 3): Promise<Shared> {
  const data = bytesOf((chunks - 1) * MIN_CHUNK_SIZE + 100)
  const created = await createManifest(data, {name: 'clip.webm', type: 'video/webm', chunkSize: MIN_CHUNK_SIZE})
  return {
    ...created,
    chunk(index) {
      const {offset, length} = chunkRange(created.manifest, index)
      return data.slice(offset, offset + length)
    },
  }
}

/** A store holding the manifest of `file` and the chunks listed (all by default). */
async function storeWith(file?: Shared, indexes?: number[]): Promise<ChunkStore> {
  const store = new ChunkStore({db: new MemoryLevel<string, string>()})
  if (!file) return store
  await store.putManifest(file.id, file.bytes)
  for (const index of indexes ?? file.manifest.hashes.map((_, i) => i)) await store.putChunk(file.id, index, file.chunk(index))
  return store
}

function muxPair(options: MemoryTransportOptions = {}): [Mux, Mux] {
  const [ta, tb] = createMemoryTransportPair(options)
  const quiet = {pingInterval: 0, timeout: 0}
  return [new Mux(ta, quiet), new Mux(tb, quiet)]
}

function session(mux: Mux, store: ChunkStore, maxRequests?: number): FilePeer {
  return new FilePeer({store, maxRequests, open: handlers => mux.channel(FILES_PROTOCOL, handlers)})
}

/** A remote that speaks raw bytes, to send what no FilePeer would and to see the answers as they are. */
function rawPeer(mux: Mux) {
  const received: FileMessage[] = []
  const channel = mux.channel(FILES_PROTOCOL, {onmessage: bytes => received.push(decodeFileMessage(bytes))})
  return {channel, received}
}

/** Two sessions over one connection: `server` holds `serverStore`, `client` an empty store unless given. */
async function createPair(serverStore: ChunkStore, clientStore?: ChunkStore) {
  const [ma, mb] = muxPair()
  const server = session(ma, serverStore)
  const client = session(mb, clientStore ?? await storeWith())
  return {server, client, ma, mb}
}

function collect(peer: FilePeer) {
  const chunks = new Map<number, Uint8Array>()
  const rejects: Array<{id: string, index: number, reason: number}> = []
  peer.on('chunk', (_id, index, bytes) => chunks.set(index, bytes.slice()))
  peer.on('reject', (id, index, reason) => rejects.push({id, index, reason}))
  return {chunks, rejects}
}

describe('file peer: serving', () => {
  test('a requested manifest is served and verifies against its id', async () => {
    const file = await sharedFile()
    const {client} = await createPair(await storeWith(file))
    const got = once(client, 'manifest')
    let bytes: Uint8Array | undefined
    client.on('manifest', (_id, b) => { bytes = b })
    client.requestManifest(file.id)
    assert.equal(await got, file.id)
    assert.ok(bytes)
    const manifest = await verifyManifest(bytes, file.id)
    assert.equal(manifest.name, 'clip.webm')
    assert.deepEqual(manifest.hashes, file.manifest.hashes)
  })

  test('requested chunks are served byte-exact', async () => {
    const file = await sharedFile(5)
    const {server, client} = await createPair(await storeWith(file))
    const {chunks, rejects} = collect(client)
    client.request(file.id, [0, 1, 2, 3, 4])
    await until(() => chunks.size === 5, 'five chunks')
    for (let i = 0; i < 5; i++) assert.deepEqual(chunks.get(i), file.chunk(i))
    assert.equal(rejects.length, 0)
    assert.equal(server.stats.chunksServed, 5)
    assert.equal(client.stats.chunksReceived, 5)
    assert.equal(client.pending, 0)
  })

  test('an unknown id is refused for a manifest and for a chunk', async () => {
    const file = await sharedFile()
    const {client} = await createPair(await storeWith(file))
    const {rejects} = collect(client)
    client.requestManifest(OTHER_ID)
    client.request(OTHER_ID, [0])
    await until(() => rejects.length === 2, 'two rejects')
    assert.deepEqual(rejects, [
      {id: OTHER_ID, index: MANIFEST_INDEX, reason: RejectReason.UNKNOWN_ID},
      {id: OTHER_ID, index: 0, reason: RejectReason.UNKNOWN_ID},
    ])
  })

  test('a chunk not held, or past the end of the file, is refused with not have', async () => {
    const file = await sharedFile(3)
    const {client} = await createPair(await storeWith(file, [0, 2]))
    const {chunks, rejects} = collect(client)
    client.request(file.id, [0, 1, 2, 9])
    await until(() => chunks.size + rejects.length === 4, 'four answers')
    assert.deepEqual([...chunks.keys()].sort(), [0, 2])
    assert.deepEqual(rejects.map(r => [r.index, r.reason]), [[1, RejectReason.NOT_HAVE], [9, RejectReason.NOT_HAVE]])
  })

  test('requests past the cap are refused with too many requests, the rest are answered', async () => {
    const file = await sharedFile(4)
    const [ma, mb] = muxPair()
    const server = session(ma, await storeWith(file), 8)
    const remote = rawPeer(mb)
    // Twenty requests in one go: the server holds eight at once.
    remote.channel.send(encodeRequestBatch(file.id, Array.from({length: 20}, (_, i) => i)))
    await until(() => remote.received.filter(m => m.type !== FileMessageType.HAVE).length === 20, 'twenty answers')
    const answers = remote.received.filter(m => m.type !== FileMessageType.HAVE)
    const tooMany = answers.filter(m => m.type === FileMessageType.REJECT && m.reason === RejectReason.TOO_MANY_REQUESTS)
    assert.equal(tooMany.length, 12)
    assert.deepEqual(tooMany.map(m => (m as {index: number}).index), Array.from({length: 12}, (_, i) => i + 8))
    assert.equal(answers.filter(m => m.type === FileMessageType.CHUNK).length, 4)
    assert.equal(server.queued, 0)
  })

  test('a manifest request waits in the same queue as chunks and counts toward the cap', async () => {
    const file = await sharedFile(2)
    const [ma, mb] = muxPair()
    session(ma, await storeWith(file), 2)
    const remote = rawPeer(mb)
    remote.channel.send(encodeManifestRequest(file.id))
    remote.channel.send(encodeRequest(file.id, 0))
    remote.channel.send(encodeRequest(file.id, 1))
    await until(() => remote.received.filter(m => m.type !== FileMessageType.HAVE).length === 3, 'three answers')
    assert.deepEqual(remote.received.filter(m => m.type !== FileMessageType.HAVE).map(m => m.type).sort(), [
      FileMessageType.MANIFEST, FileMessageType.CHUNK, FileMessageType.REJECT,
    ].sort())
    const reject = remote.received.find(m => m.type === FileMessageType.REJECT)
    assert.deepEqual(reject, {type: FileMessageType.REJECT, id: file.id, index: 1, reason: RejectReason.TOO_MANY_REQUESTS})
  })

  test('a CANCEL drops a queued request', async () => {
    const file = await sharedFile(64)
    // A slow link keeps requests queued long enough to cancel one.
    const [ma, mb] = muxPair({bytesPerTick: MIN_CHUNK_SIZE})
    const server = session(ma, await storeWith(file))
    const remote = rawPeer(mb)
    remote.channel.send(encodeRequestBatch(file.id, Array.from({length: 64}, (_, i) => i)))
    remote.channel.send(encodeCancel(file.id, 63))
    await until(() => server.stats.chunksServed === 63 && server.queued === 0, 'the queue to empty')
    await until(() => remote.received.filter(m => m.type === FileMessageType.CHUNK).length === 63, '63 chunks')
    const served = remote.received.filter(m => m.type === FileMessageType.CHUNK).map(m => (m as {index: number}).index)
    assert.ok(!served.includes(63))
    assert.ok(!remote.received.some(m => m.type === FileMessageType.REJECT))
  })

  test('a requester asking for many chunks never makes the server buffer more than its mark plus one chunk', async () => {
    const file = await sharedFile(64)
    const [ma, mb] = muxPair({bytesPerTick: 4 * 1024})
    let channel!: Channel
    let peak = 0
    const server = new FilePeer({
      store: await storeWith(file),
      open: handlers => {
        channel = ma.channel(FILES_PROTOCOL, handlers)
        return {
          send: bytes => {
            channel.send(bytes)
            peak = Math.max(peak, channel.bufferedAmount)
          },
          ready: () => channel.ready(),
          close: () => channel.close(),
        }
      },
    })
    const client = session(mb, await storeWith())
    const {chunks} = collect(client)
    client.request(file.id, Array.from({length: 64}, (_, i) => i))
    await until(() => chunks.size === 64, 'all 64 chunks')
    for (let i = 0; i < 64; i++) assert.deepEqual(chunks.get(i), file.chunk(i))
    const oneChunk = encodeChunk(file.id, 0, file.chunk(0)).length
    assert.ok(peak > channel.highWaterMark / 2, `the test must push the channel (peak ${peak})`)
    assert.ok(peak <= channel.highWaterMark + oneChunk, `peak ${peak} is over ${channel.highWaterMark} + ${oneChunk}`)
    assert.equal(server.stats.chunksServed, 64)
  })
})

describe('file peer: announcing', () => {
  test('HAVE on open and HAVE_CHUNK on announce reach the other side', async () => {
    const file = await sharedFile(4)
    const serverStore = await storeWith(file, [1])
    const {server, client} = await createPair(serverStore)
    await until(() => client.remoteHas(file.id) !== undefined, 'the HAVE')
    const field = client.remoteHas(file.id)!
    assert.equal(field.length, 4)
    assert.deepEqual([0, 1, 2, 3].map(i => field.get(i)), [false, true, false, false])

    await serverStore.putChunk(file.id, 3, file.chunk(3))
    const have = once(client, 'have')
    await server.announce(file.id, 3)
    assert.equal(await have, file.id)
    assert.deepEqual([0, 1, 2, 3].map(i => client.remoteHas(file.id)!.get(i)), [false, true, false, true])
    assert.equal(server.remoteHas(file.id), undefined)
  })

  test('announcing a file not yet announced on the session sends its whole bitfield', async () => {
    const file = await sharedFile(2)
    const serverStore = await storeWith()
    const {server, client} = await createPair(serverStore)
    await serverStore.putManifest(file.id, file.bytes)
    await serverStore.putChunk(file.id, 0, file.chunk(0))
    await server.announce(file.id, 0)
    await until(() => client.remoteHas(file.id) !== undefined, 'the HAVE')
    assert.deepEqual([0, 1].map(i => client.remoteHas(file.id)!.get(i)), [true, false])
  })
})

describe('file peer: hostile remotes', () => {
  test('an unsolicited CHUNK is ignored, counted and not emitted', async () => {
    const file = await sharedFile()
    const [ma, mb] = muxPair()
    const victim = session(ma, await storeWith())
    const {chunks} = collect(victim)
    const remote = rawPeer(mb)
    remote.channel.send(encodeChunk(file.id, 0, file.chunk(0)))
    // A request made afterwards is still answered normally.
    victim.request(file.id, [1])
    remote.channel.send(encodeChunk(file.id, 1, file.chunk(1)))
    await until(() => chunks.size === 1, 'the requested chunk')
    assert.deepEqual([...chunks.keys()], [1])
    assert.equal(victim.stats.unsolicited, 1)
    assert.equal(victim.destroyed, false)
  })

  test('a chunk arriving after a CANCEL is unsolicited', async () => {
    const file = await sharedFile()
    const [ma, mb] = muxPair()
    const victim = session(ma, await storeWith())
    const {chunks} = collect(victim)
    const remote = rawPeer(mb)
    victim.request(file.id, [0])
    victim.cancel(file.id, 0)
    await until(() => remote.received.some(m => m.type === FileMessageType.CANCEL), 'the CANCEL')
    remote.channel.send(encodeChunk(file.id, 0, file.chunk(0)))
    await until(() => victim.stats.unsolicited === 1, 'the late chunk')
    assert.equal(chunks.size, 0)
  })

  test('HAVEs for endless made-up ids are kept only up to a bound', async () => {
    const [ma, mb] = muxPair()
    const victim = session(ma, await storeWith())
    const remote = rawPeer(mb)
    const ids = Array.from({length: MAX_HAVES_PER_PEER + 5}, (_, i) => i.toString(16).padStart(64, '0'))
    for (const id of ids) remote.channel.send(encodeHave(id, new Bitfield(8)))
    await until(() => victim.stats.messagesIn === ids.length, 'every HAVE')
    assert.ok(victim.remoteHas(ids[0]))
    assert.equal(victim.remoteHas(ids[ids.length - 1]), undefined)
    assert.equal(victim.stats.unsolicited, 5)
    assert.equal(victim.destroyed, false)
  })

  for (const [what, bytes, code] of [
    ['a malformed message', () => new Uint8Array([42, 1, 2]), 'ERR_MALFORMED_MESSAGE'],
    ['an unknown type', () => new Uint8Array(33).fill(10, 0, 1), 'ERR_MALFORMED_MESSAGE'],
    ['an oversized chunk', () => encodeChunk(OTHER_ID, 0, new Uint8Array(2 * 1024 * 1024), 4 * 1024 * 1024), 'ERR_MESSAGE_TOO_LARGE'],
    ['a HAVE_CHUNK outside the announced file', () => null, 'ERR_MALFORMED_MESSAGE'],
  ] as const) {
    test(`${what} ends the session with a typed error while another peer of the store is still served`, async () => {
      const file = await sharedFile(3)
      const store = await storeWith(file)
      const [ma, mb] = muxPair()
      const [mc, md] = muxPair()
      const victim = session(ma, store)
      const good = session(mc, store)
      const honest = session(md, await storeWith())
      const remote = rawPeer(mb)
      const ended = new Promise<P2PError | undefined>(resolve => victim.on('close', resolve))
      const message = bytes()
      if (message) {
        remote.channel.send(message)
      } else {
        remote.channel.send(encodeHave(file.id, new Bitfield(3)))
        remote.channel.send(new Uint8Array([FileMessageType.HAVE_CHUNK, ...Buffer.from(file.id, 'hex'), 0, 0, 0, 5]))
      }
      const err = await ended
      assert.ok(err instanceof P2PError)
      assert.equal(err.code, code)
      assert.equal(victim.stats.malformed, 1)
      assert.equal(victim.destroyed, true)

      const {chunks} = collect(honest)
      honest.request(file.id, [0, 1, 2])
      await until(() => chunks.size === 3, 'the honest peer served')
      assert.deepEqual(chunks.get(2), file.chunk(2))
      assert.equal(good.stats.malformed, 0)
    })
  }
})

describe('files over a swarm', () => {
  test('each connected peer gets a session keyed by its key, and chunks flow', async () => {
    const file = await sharedFile(2)
    const [sa, sb] = [new FakeSwarm(), new FakeSwarm()]
    connect(sa, 'a', sb, 'b')
    const fa = attachFiles(await storeWith(file), sa)
    const fb = attachFiles(await storeWith(), sb)
    assert.deepEqual([...fa.peers().keys()], ['b'])
    const atB = fb.peers().get('a')!
    const {chunks} = collect(atB)
    await until(() => atB.remoteHas(file.id) !== undefined, 'the HAVE')
    atB.request(file.id, [0, 1])
    await until(() => chunks.size === 2, 'two chunks')
    assert.deepEqual(chunks.get(1), file.chunk(1))
    fa.detach()
    fb.detach()
    assert.equal(fa.peers().size, 0)
  })

  test('a peer breaking the protocol is destroyed with the error; others keep their session', async () => {
    const file = await sharedFile(2)
    const [sa, sb, sc] = [new FakeSwarm(), new FakeSwarm(), new FakeSwarm()]
    const {atA: bAtA, atB: aAtB} = connect(sa, 'a', sb, 'b')
    connect(sa, 'a', sc, 'c')
    const fa = attachFiles(await storeWith(file), sa)
    const fc = attachFiles(await storeWith(), sc)
    const drops: Array<[string, string | undefined]> = []
    fa.on('drop', (key, _peer, err) => drops.push([key, err?.code]))
    // b is hostile: it writes garbage on the protocol's channel.
    const hostile = aAtB.channel(FILES_PROTOCOL, {onmessage: () => {}})
    hostile.send(new Uint8Array([1, 2, 3]))
    await until(() => bAtA.destroyed !== null, 'b destroyed')
    assert.equal((bAtA.destroyed as P2PError).code, 'ERR_MALFORMED_MESSAGE')
    assert.deepEqual(drops, [['b', 'ERR_MALFORMED_MESSAGE']])
    assert.deepEqual([...fa.peers().keys()], ['c'])

    const atC = fc.peers().get('a')!
    const {chunks} = collect(atC)
    atC.request(file.id, [0])
    await until(() => chunks.size === 1, 'c served')
    fa.detach()
    fc.detach()
  })
})
