// FileShare's lifecycle, options and timing on an injected clock.
import {describe, test, afterEach} from 'node:test'
import assert from 'node:assert/strict'
import {MemoryLevel} from 'memory-level'
import {P2PError} from '../../src/core/errors.js'
import {ChunkStore} from '../../src/core/files/chunk-store.js'
import {MIN_CHUNK_SIZE, createManifest} from '../../src/core/files/manifest.js'
import {FileShare, type FileShareOptions} from '../../src/core/files/share.js'
import {FILES_PROTOCOL} from '../../src/core/files/swarm.js'
import {FilePeer} from '../../src/core/files/file-peer.js'
import {
  Bitfield, FileMessageType, decodeFileMessage, encodeHave, encodeManifestMessage, encodeManifestRequest,
} from '../../src/core/files/messages.js'
import {VirtualClock} from '../../src/core/gossip/simulation.js'
import {FakeSwarm, connect} from './fake-swarm.js'
import {within} from './helpers.js'

const shares: FileShare[] = []

function share(options: Partial<FileShareOptions> = {}): {share: FileShare, swarm: FakeSwarm} {
  const swarm = new FakeSwarm()
  const s = new FileShare({store: new ChunkStore({db: new MemoryLevel<string, string>()}), swarm, ...options})
  shares.push(s)
  return {share: s, swarm}
}

afterEach(() => {
  for (const s of shares.splice(0)) s.destroy()
})

describe('file share: lifecycle', () => {
  test('destroy(err) releases everything, then emits error and close, once', async () => {
    const {share: s} = share()
    const events: string[] = []
    s.on('error', err => events.push(`error ${err.code}`))
    s.on('close', err => events.push(`close ${err?.code}`))
    const pending = s.download('ab'.repeat(32))
    s.destroy(P2PError.STORAGE_FULL('disk gone'))
    s.destroy(P2PError.STORAGE_FULL('again'))
    s.destroy()
    assert.deepEqual(events, ['error ERR_STORAGE_FULL', 'close ERR_STORAGE_FULL'])
    await assert.rejects(pending, {code: 'ERR_ABORTED'})
  })

  test('destroy() without an error emits close only', () => {
    const {share: s} = share()
    const events: string[] = []
    s.on('error', () => events.push('error'))
    s.on('close', err => events.push(`close ${err}`))
    s.destroy()
    assert.deepEqual(events, ['close undefined'])
  })

  test('destroyed is read-only: assigning it changes nothing', () => {
    const {share: s} = share()
    assert.throws(() => { (s as {destroyed: boolean}).destroyed = true }, TypeError)
    assert.equal(s.destroyed, false)
    assert.equal(Object.keys(s).some(key => /destroyed/.test(key)), false, 'no public or underscored field behind it')
  })

  test('options are checked at once: NaN, negative or fractional counts and durations', () => {
    for (const options of [{requestTimeout: NaN}, {requestTimeout: -1}, {maxRequests: 2.5}, {maxRequests: 0}]) {
      assert.throws(() => share(options), {code: 'ERR_INVALID_ARGUMENT'}, JSON.stringify(options))
    }
  })
})

describe('file session: lifecycle', () => {
  test('destroy(err) closes the channel, emits error then close, once; destroyed is read-only', () => {
    let channelCloses = 0
    const peer = new FilePeer({
      store: new ChunkStore({db: new MemoryLevel<string, string>()}),
      open: () => ({send() {}, ready: async () => {}, close() { channelCloses++ }}),
    })
    assert.throws(() => { (peer as {destroyed: boolean}).destroyed = true }, TypeError)
    assert.equal(peer.destroyed, false)
    assert.equal(Object.keys(peer).some(key => /destroyed/.test(key)), false)
    const events: string[] = []
    peer.on('error', err => events.push(`error ${err.code}`))
    peer.on('close', err => events.push(`close ${err?.code}`))
    peer.destroy(P2PError.PEER_MISBEHAVING('test'))
    peer.destroy()
    assert.deepEqual(events, ['error ERR_PEER_MISBEHAVING', 'close ERR_PEER_MISBEHAVING'])
    assert.equal(channelCloses, 1)
    assert.throws(() => peer.request('ab'.repeat(32), [0]), {code: 'ERR_DESTROYED'})
  })
})

describe('file share: timing on an injected clock', () => {
  test('a holder that never answers the manifest request is given up on when the fake clock says so, and another is asked', async () => {
    const clock = new VirtualClock()
    const {share: victim, swarm} = share({clock})
    const data = new Uint8Array(2 * MIN_CHUNK_SIZE).fill(7)
    const {id, bytes: manifest} = await createManifest(data, {name: 'x.bin', chunkSize: MIN_CHUNK_SIZE})
    const all = new Bitfield(2)
    all.set(0)
    all.set(1)

    // A holder that takes the manifest request and never answers.
    let askedSilent!: () => void
    const silentAsked = new Promise<void>(resolve => { askedSilent = resolve })
    const {atB: silentSide} = connect(swarm, 'V', new FakeSwarm(), 'SILENT')
    const silent = silentSide.channel(FILES_PROTOCOL, {
      onmessage(bytes) {
        if (decodeFileMessage(bytes).type === FileMessageType.MANIFEST_REQUEST) askedSilent()
      },
    })
    silent.send(encodeHave(id, all))
    await within(silentAsked, 5000, 'the silent holder asked')

    // A holder that answers. The victim answers its request for an unknown file with a
    // REJECT, after reading the HAVE before it: the sentinel that the HAVE was taken in.
    const other = 'cd'.repeat(32)
    const seen: FileMessageType[] = []
    let sentinel!: () => void
    const rejected = new Promise<void>(resolve => { sentinel = resolve })
    const {atB: goodSide} = connect(swarm, 'V', new FakeSwarm(), 'GOOD')
    const good = goodSide.channel(FILES_PROTOCOL, {
      onmessage(bytes) {
        const message = decodeFileMessage(bytes)
        seen.push(message.type)
        if (message.type === FileMessageType.REJECT && message.id === other) sentinel()
        if (message.type === FileMessageType.MANIFEST_REQUEST && message.id === id) good.send(encodeManifestMessage(id, manifest))
      },
    })
    good.send(encodeHave(id, all))
    good.send(encodeManifestRequest(other))
    await within(rejected, 5000, 'the sentinel REJECT')
    assert.equal(seen.includes(FileMessageType.MANIFEST_REQUEST), false, 'one request out at a time: the good holder waits')

    const listed = new Promise<void>(resolve => victim.on('file', info => { if (info.id === id) resolve() }))
    // Past the 10 s manifest timeout, at the next 1 s tick.
    clock.advance(11_000)
    await within(listed, 5000, 'the file listed from the good holder')
    assert.equal(victim.file(id)?.name, 'x.bin')
  })
})
