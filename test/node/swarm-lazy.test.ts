// A swarm loads the room cipher only for a room with a secret, and room links only
// when another room of the page is there to share with (rooms.ts): a typical page,
// one room and no secret, never fetches either. Counted through the swarm's loaders
// (the one route to both), and checked in a split bundle of the swarm.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {build} from 'esbuild'
import {Swarm, loaders, MAX_HELD_SEALED} from '../../src/core/swarm/swarm.js'
import {ConnectionBudget} from '../../src/core/swarm/budget.js'
import {BanList} from '../../src/core/swarm/bans.js'
import {ConnectionPool} from '../../src/core/swarm/rooms.js'
import {ROOMS_PROTOCOL, RoomMessageType, decodeRoomMessage, encodeAnnounce} from '../../src/core/swarm/messages.js'
import type {PeerConnection} from '../../src/core/swarm/peer-connection.js'
import {RoomCipher} from '../../src/core/crypto/room-cipher.js'
import {VirtualClock} from '../../src/core/gossip/simulation.js'
import {Emitter} from '../../src/core/emitter.js'
import {kitBuildOptions} from '../../scripts/kit-build.js'
import type {HubClient, HubClientEvents, Subscription} from '../../src/core/hub-client/hub-client.js'
import {until} from '../shared/until.js'
import '../shared/node-webrtc.js'

/** A hub client that records what the swarm posts and lets the test deliver hub messages. */
class RecordingHub extends Emitter<HubClientEvents> {
  readonly posts: Array<{channel: string, body: unknown}> = []
  readonly stats = {hubs: {'http://recording-hub': {state: 'open'}}, duplicatesDropped: 0, malformedDropped: 0}
  deliver: (data: unknown) => void = () => { throw new Error('nothing subscribed') }
  subscribe(channels: readonly string[], onMessage: (data: unknown) => void): Subscription {
    this.deliver = onMessage
    return {channels, ready: Promise.resolve(), close: () => {}}
  }
  broadcast(channel: string, body: unknown): Promise<void> {
    this.posts.push({channel, body})
    return Promise.resolve()
  }
}

/** Counts the swarm's loads; `hold()` makes them wait until `release()`. */
function countLoads() {
  const original = {...loaders}
  const counts = {cipher: 0, links: 0}
  let release = () => {}
  let gate: Promise<void> = Promise.resolve()
  loaders.cipher = () => {
    counts.cipher++
    return gate.then(original.cipher)
  }
  loaders.links = () => {
    counts.links++
    return gate.then(original.links)
  }
  return {
    counts,
    hold: () => { gate = new Promise(resolve => { release = resolve }) },
    release: () => release(),
    restore: () => Object.assign(loaders, original),
  }
}

function swarmOn(hub: RecordingHub, opts: {secret?: string, pool?: ConnectionPool | null} = {}) {
  const clock = new VirtualClock(() => 0.5)
  const swarm = new Swarm({
    room: 'lazy', hubClient: hub as unknown as HubClient, clock, budget: new ConnectionBudget({clock}),
    bans: new BanList({clock}), announceInterval: {min: 1000, max: 8000}, pool: null, ...opts,
  })
  return {swarm, clock}
}

const settle = () => new Promise(resolve => setImmediate(resolve))

test('a swarm without a secret in a one-room page loads neither the cipher nor room links', async () => {
  const loads = countLoads()
  const hub = new RecordingHub()
  const {swarm, clock} = swarmOn(hub, {pool: new ConnectionPool()})
  try {
    clock.run(1000)
    await settle()
    assert.equal(hub.posts.length, 1)
    assert.equal((hub.posts[0].body as {type: string}).type, 'connect', 'announced in the clear')
    // Others announcing (no shared connection to their keys: the pool has none) are dialled, no load needed.
    hub.deliver(encodeAnnounce('0c'.repeat(10), 0, 'c'.repeat(64)))
    hub.deliver({junk: true})
    await until(() => swarm.stats.malformed === 1, 'the junk counted')
    assert.equal(swarm.stats.announcesReceived, 1)
    assert.deepEqual(loads.counts, {cipher: 0, links: 0})
  } finally {
    swarm.destroy()
    loads.restore()
  }
})

test('a swarm with a secret seals its very first announcement, posted once the cipher has loaded', async () => {
  const loads = countLoads()
  loads.hold()
  const hub = new RecordingHub()
  const {swarm, clock} = swarmOn(hub, {secret: 's3cret'})
  try {
    clock.run(1000)
    assert.equal(swarm.stats.announcesSent, 1)
    await settle()
    assert.deepEqual(hub.posts, [], 'nothing posted while the cipher loads')
    loads.release()
    await until(() => hub.posts.length === 1, 'the first announcement posted')
    const [{channel, body}] = hub.posts
    assert.equal(channel, 'all')
    assert.equal((body as {p2p: string}).p2p, 'enc1')
    const opened = await new RoomCipher('s3cret', 'lazy').open(body)
    assert.deepEqual(opened, {fresh: true, channel: 'all', message: {type: 'connect', from: swarm.id, peers: 0, key: swarm.publicKey}})
    assert.deepEqual(loads.counts, {cipher: 1, links: 0})
  } finally {
    swarm.destroy()
    loads.restore()
  }
})

test('sealed messages that arrive while the cipher loads are opened then, or refused as they would be', async () => {
  const loads = countLoads()
  loads.hold()
  const hub = new RecordingHub()
  const {swarm} = swarmOn(hub, {secret: 's3cret'})
  try {
    const peer = new RoomCipher('s3cret', 'lazy')
    const junk = await peer.seal('all', {junk: true})
    hub.deliver(junk)
    hub.deliver(junk)
    hub.deliver(await peer.seal('someone-else', {junk: true}))
    hub.deliver(await new RoomCipher('wrong', 'lazy').seal('all', {junk: true}))
    await settle()
    assert.deepEqual([swarm.stats.malformed, swarm.stats.replays, swarm.stats.decryptFailures], [0, 0, 0], 'all held')
    loads.release()
    await until(() => swarm.stats.malformed + swarm.stats.replays + swarm.stats.decryptFailures === 4, 'all four handled')
    // Opened (then malformed inside), the same again (a replay), another channel's and another secret's.
    assert.deepEqual([swarm.stats.malformed, swarm.stats.replays, swarm.stats.decryptFailures], [1, 1, 2])
  } finally {
    swarm.destroy()
    loads.restore()
  }
})

test('sealed messages held while the cipher loads are bounded: past the bound they are refused', async () => {
  const loads = countLoads()
  loads.hold()
  const hub = new RecordingHub()
  const {swarm} = swarmOn(hub, {secret: 's3cret'})
  try {
    const peer = new RoomCipher('s3cret', 'lazy')
    for (let i = 0; i < MAX_HELD_SEALED + 3; i++) hub.deliver(await peer.seal('all', {junk: i}))
    await until(() => swarm.stats.decryptFailures === 3, 'the three past the bound refused')
    loads.release()
    await until(() => swarm.stats.malformed === MAX_HELD_SEALED, 'the held ones opened')
    assert.equal(swarm.stats.decryptFailures, 3)
  } finally {
    swarm.destroy()
    loads.restore()
  }
})

test('the swarm\'s bundle leaves the cipher and room links to chunks it imports on demand', async () => {
  const result = await build({
    ...kitBuildOptions(), entryPoints: ['src/core/swarm/swarm.ts'], splitting: true, outdir: 'out', write: false, metafile: true,
  })
  const entry = Object.entries(result.metafile.outputs).find(([, o]) => o.entryPoint === 'src/core/swarm/swarm.ts')![1]
  const inputs = new Set(Object.keys(entry.inputs))
  for (const imp of entry.imports) if (imp.kind === 'import-statement') for (const i of Object.keys(result.metafile.outputs[imp.path].inputs)) inputs.add(i)
  assert.ok(inputs.has('src/core/swarm/rooms.ts'), 'the pool is loaded up front')
  assert.ok(!inputs.has('src/core/crypto/room-cipher.ts'), 'the cipher is not')
  assert.ok(!inputs.has('src/core/swarm/room-links.ts'), 'room links are not')
})

/** Another room's open connection to `publicKey`, as the pool sees it; records what is sent on its rooms channel. */
class OtherRoomsLink extends Emitter<{close: () => void, update: () => void, reconnect: () => void}> {
  state = 'connected'
  destroyed = false
  readonly sent: Uint8Array[] = []
  constructor(readonly publicKey: string) {
    super()
  }
  channel(name: string) {
    assert.equal(name, ROOMS_PROTOCOL)
    return {closed: false, send: (bytes: Uint8Array) => { this.sent.push(bytes) }}
  }
}

/** A swarm whose pool holds another room's connection to a remote key, and that remote's announcement, until room links are asked for. */
async function announcedOverSharedLink(loads: ReturnType<typeof countLoads>) {
  const hub = new RecordingHub()
  const pool = new ConnectionPool()
  const {swarm} = swarmOn(hub, {pool})
  const link = new OtherRoomsLink('c'.repeat(64))
  pool.add(link as unknown as PeerConnection, swarm.publicKey, 'ff'.repeat(32))
  // Announced until the swarm knows its room's tag (a SHA-256 away) and finds the connection; an
  // announcement before that is dialled as usual, so each comes under a hub id of its own.
  let n = 0
  let remoteId = ''
  await until(() => {
    remoteId = (++n).toString(16).padStart(20, '0')
    hub.deliver(encodeAnnounce(remoteId, 1, link.publicKey))
    return loads.counts.links > 0
  }, 'room links asked for')
  return {swarm, link, remoteId, dialled: swarm.stats.connectionsCreated}
}

/** Lets the swarm's pending load finish: the module is in once our own import of it is. */
const loaded = async () => {
  await import('../../src/core/swarm/room-links.js')
  await settle()
}

test('an announcement that finds another room\'s connection waits for room links, then joins over it', async () => {
  const loads = countLoads()
  loads.hold()
  const {swarm, link, remoteId, dialled} = await announcedOverSharedLink(loads)
  try {
    assert.deepEqual(link.sent, [], 'nothing sent before room links are in')
    assert.equal(swarm.connections.find(c => c.id === remoteId), undefined)
    loads.release()
    await loaded()
    assert.equal(link.sent.length, 1)
    assert.deepEqual({...decodeRoomMessage(link.sent[0]), tag: undefined}, {type: RoomMessageType.JOIN, id: swarm.id, tag: undefined})
    const peer = swarm.connections.find(c => c.id === remoteId)
    assert.ok(peer && 'link' in peer && peer.link === (link as unknown), 'met over the other room\'s connection')
    assert.equal(swarm.stats.connectionsCreated, dialled, 'no connection of its own')
    assert.deepEqual(loads.counts, {cipher: 0, links: 1})
  } finally {
    swarm.destroy()
    loads.restore()
  }
})

test('a swarm that leaves while room links load neither joins over the shared connection nor dials', async () => {
  const loads = countLoads()
  loads.hold()
  const {swarm, link, dialled} = await announcedOverSharedLink(loads)
  try {
    swarm.destroy()
    loads.release()
    await loaded()
    assert.deepEqual(link.sent, [])
    assert.equal(swarm.stats.connectionsCreated, dialled)
  } finally {
    loads.restore()
  }
})
