// Signalling through the DHT over real WebRTC (node-datachannel, no ICE server:
// loopback only) and real hub processes: a partial mesh (a and b on different
// hubs, y on both) where a opens a connection to b signalled through y alone,
// and a connection signalled for one key that proves another is dropped.
import {after, before, describe, test} from 'node:test'
import assert from 'node:assert/strict'
import {startHubProcess} from '../../scripts/hub-process.js'
import {Swarm} from '../../src/core/swarm/swarm.js'
import {createIdentity} from '../../src/core/crypto/identity.js'
import {KeyPairIdentity} from '../../src/core/crypto/seed-identity.js'
import {fromHex, toHex} from '../../src/core/bytes.js'
import {nodeIdOf} from '../../src/core/dht/node-id.js'
import {Dht, swarmConnector, type SignalledConnection} from '../../src/core/dht/dht.js'
import {PeerConnection} from '../../src/core/swarm/peer-connection.js'
import {until} from '../shared/until.js'
import '../shared/node-webrtc.js'

const fast = {min: 100, max: 1000}
const swarms: Swarm[] = []
const dhts: Dht[] = []

async function node(hubs: string[], room: string): Promise<{swarm: Swarm, dht: Dht}> {
  const swarm = new Swarm({hubs, room, identity: await createIdentity(), iceServers: [], announceInterval: fast})
  swarms.push(swarm)
  const dht = new Dht({swarm, publicKey: swarm.publicKey, identity: swarm.identity, connector: swarmConnector(swarm)})
  dhts.push(dht)
  await dht.ready
  return {swarm, dht}
}

describe('signalling through the DHT, over real WebRTC', {timeout: 120_000}, () => {
  let hubs: Array<{url: string, close(): Promise<void>}>
  before(async () => {
    hubs = await Promise.all([startHubProcess(), startHubProcess()]) as typeof hubs
  })
  after(async () => {
    for (const dht of dhts) dht.close()
    for (const swarm of swarms) swarm.destroy()
    await Promise.all(hubs.map(hub => hub.close()))
  })

  test('a and b, on different hubs, connect through y (on both): the offer and answer go through y, the connection proves b\'s key', async () => {
    const room = `dht-signal-${Date.now()}`
    const [h1, h2] = hubs.map(hub => hub.url)
    const a = await node([h1], room)
    const y = await node([h1, h2], room)
    const b = await node([h2], room)
    await until(() => y.swarm.peers.length === 2 && a.dht.table.size === 1 && b.dht.table.size === 1, 'y connected to a and b, in their tables')
    assert.equal(a.swarm.peers.length, 1, 'a sees only y: b is on another hub')
    const {closest} = await a.dht.lookup(await nodeIdOf(fromHex(b.swarm.publicKey)))
    const found = closest.find(c => c.key === b.swarm.publicKey)
    assert.deepEqual(found?.via, [y.swarm.publicKey])
    const signalsOnHub = a.swarm.stats.signalsOut
    assert.equal(await a.dht.connect(b.swarm.publicKey, found!.via), true)
    const atA = a.swarm.peers.find(p => p.publicKey === b.swarm.publicKey)
    assert.ok(atA instanceof PeerConnection && atA.id === `dht:${b.swarm.publicKey}`)
    // Each end proves the other's key on its own: b may finish a moment after a.
    await until(() => b.swarm.peers.some(p => p.publicKey === a.swarm.publicKey), 'b has a as a peer too')
    // Data flows on it: the DHT's own session answers a direct ping.
    await until(() => a.dht.peers === 2 && b.dht.peers === 2, 'each DHT in session with the other')
    assert.ok(await a.dht.ping(b.swarm.publicKey) >= 0)
    assert.ok(a.swarm.stats.signalsOut > signalsOnHub, 'a sent signals, through the DHT')
    assert.ok(y.dht.stats.relayed >= 3, `y relayed the ping, the offer and the answer (${y.dht.stats.relayed})`)
    assert.equal(a.dht.stats.dialled, 1)
    assert.equal(b.dht.stats.answered, 1)
  })

  test('a connection signalled for one key whose remote proves another is dropped (ERR_HANDSHAKE)', async () => {
    const room = `dht-signal-key-${Date.now()}`
    const [h1] = hubs.map(hub => hub.url)
    // Two swarms signalling by hand (no hub peers between them: different rooms), c told b is someone else.
    const c = new Swarm({hubs: [h1], room: `${room}-c`, identity: await createIdentity(), iceServers: [], announceInterval: fast})
    const b = new Swarm({hubs: [h1], room: `${room}-b`, identity: await createIdentity(), iceServers: [], announceInterval: fast})
    swarms.push(c, b)
    const claimed = toHex(new KeyPairIdentity(new Uint8Array(32).fill(91)).publicKey)
    let atB: SignalledConnection | null = null
    const atC = swarmConnector(c).signalled(claimed, true, signal => {
      atB ??= swarmConnector(b).signalled(c.publicKey, false, back => atC!.signal(back))
      atB!.signal(signal)
    })
    assert.ok(atC)
    assert.equal(await atC.done, false)
    await until(() => c.stats.authFailures === 1 && c.peers.length === 0 && c.connections.length === 0, 'c let it go, an authentication failure')
    // b's end was signalled for c's key, which c proved: it may have opened, and closes as c lets go.
    assert.ok(atB !== null)
    await (atB as SignalledConnection).done
    await until(() => b.peers.length === 0 && b.connections.length === 0, 'b\'s end closed')
  })
})
