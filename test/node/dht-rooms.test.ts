// A room found through the DHT (src/core/dht/room-discovery.ts) over real WebRTC
// (node-datachannel, no ICE server: loopback only) and a real hub process: pages
// meet in a DHT room through the hub, two of them are also in a room of their own
// and announce it on the DHT; the hub stops; a third page then joins that room,
// with the hub gone, through the DHT alone.
import {after, before, describe, test} from 'node:test'
import assert from 'node:assert/strict'
import {startHubProcess} from '../../scripts/hub-process.js'
import {Swarm} from '../../src/core/swarm/swarm.js'
import {createIdentity, type Identity} from '../../src/core/crypto/identity.js'
import {Dht, swarmConnector} from '../../src/core/dht/dht.js'
import {SwarmUnion} from '../../src/core/dht/union.js'
import {RoomDiscovery} from '../../src/core/dht/room-discovery.js'
import {topicHash} from '../../src/core/dht/announcements.js'
import {PeerConnection} from '../../src/core/swarm/peer-connection.js'
import {HubClient} from '../../src/core/hub-client/hub-client.js'
import {TAB_HUB, tabHub} from '../../src/core/hub-client/tab-hub.js'
import {until} from '../shared/until.js'
import '../shared/node-webrtc.js'

const fast = {min: 100, max: 1000}
/** Whether `swarm` has a connected peer of `key`. */
const has = (swarm: Swarm, key: string): boolean => swarm.peers.some(p => p.publicKey === key)
const swarms: Swarm[] = []
const closers: Array<() => void> = []

/**
 * A page: its identity, a swarm in the DHT's room, and its DHT over every swarm
 * it joins. With `tabs`, the tabs of its origin are one of its hubs (a
 * BroadcastChannel: this process's tabs).
 */
async function page(hubs: string[], dhtRoom: string, {tabs = false} = {}) {
  const identity: Identity = await createIdentity()
  const swarmIn = (room: string, maxPeers?: number) => {
    const hubClient = tabs ? new HubClient({hubs: [TAB_HUB, ...hubs], app: room, ...tabHub()}) : undefined
    if (hubClient) closers.push(() => hubClient.destroy())
    const swarm = new Swarm({hubs, hubClient, room, identity, iceServers: [], announceInterval: fast, pool: null, maxPeers})
    swarms.push(swarm)
    return swarm
  }
  const dhtSwarm = swarmIn(dhtRoom)
  const union = new SwarmUnion()
  union.add(dhtSwarm)
  const dht = new Dht({swarm: union, publicKey: dhtSwarm.publicKey, identity, connector: swarmConnector(dhtSwarm)})
  closers.push(() => dht.close())
  await dht.ready
  /** Joins `room` too, found through the DHT as well as the hub. */
  const join = async (room: string, maxPeers?: number) => {
    const swarm = swarmIn(room, maxPeers)
    union.add(swarm)
    const discovery = new RoomDiscovery({dht, swarm, topic: await topicHash(room), healEvery: 500})
    closers.push(() => discovery.stop())
    discovery.start()
    return {swarm, discovery}
  }
  return {key: dhtSwarm.publicKey, dhtSwarm, dht, join}
}

describe('a room found through the DHT, over real WebRTC', {timeout: 120_000}, () => {
  let hub: {url: string, close(): Promise<void>}
  let others: Array<{url: string, close(): Promise<void>}>
  before(async () => {
    ;[hub, ...others] = await Promise.all([startHubProcess(), startHubProcess(), startHubProcess()]) as Array<typeof hub>
  })
  after(async () => {
    for (const close of closers) close()
    for (const swarm of swarms) swarm.destroy()
    await Promise.all([hub, ...others].map(h => h.close()))
  })

  test('with the hub stopped, a page joins a room it never met on the hub: the room\'s announcers are found and connected through the DHT', async () => {
    const dhtRoom = `dht-${Date.now()}`
    const room = `room-${Date.now()}`
    const [a, b, c] = await Promise.all([page([hub.url], dhtRoom), page([hub.url], dhtRoom), page([hub.url], dhtRoom)])
    await until(() => [a, b, c].every(p => p.dht.peers === 2), 'the three pages in each other\'s DHT')
    const [atB, atC] = await Promise.all([b.join(room), c.join(room)])
    await until(() => atB.swarm.peers.length === 1 && atC.swarm.peers.length === 1, 'b and c met in their room')
    await until(() => atB.discovery.stats.announcements > 0 && atC.discovery.stats.announcements > 0, 'b and c announced their room on the DHT')

    await hub.close()
    const atA = await a.join(room)
    await until(() => atA.swarm.peers.length === 2, 'a in the room with b and c')
    assert.deepEqual(atA.swarm.peers.map(p => p.publicKey).sort(), [b.key, c.key].sort())
    for (const peer of atA.swarm.peers) assert.ok(peer instanceof PeerConnection && peer.id.startsWith('dht:'), 'signalled through the DHT')
    await until(() => has(atB.swarm, a.key) && has(atC.swarm, a.key), 'b and c have a in the room')
    assert.ok(atA.discovery.stats.connected >= 1)
    // a's room swarm never had a hub: its announcements went nowhere and it heard none.
    assert.equal(atA.swarm.stats.announcesReceived, 0)
  })
  test('a room split between two hubs (each side alone there) mends: each side finds the other through the DHT, by way of a page on both hubs', async () => {
    const [h1, h2] = others.map(h => h.url)
    const dhtRoom = `dht-split-${Date.now()}`
    const room = `room-split-${Date.now()}`
    const [left, bridge, right] = await Promise.all([page([h1], dhtRoom), page([h1, h2], dhtRoom), page([h2], dhtRoom)])
    await until(() => bridge.dht.peers === 2 && left.dht.peers >= 1 && right.dht.peers >= 1, 'the bridge in both sides\' DHT')
    // left and right are in the room on different hubs: neither hears the other's announcements there.
    const [inLeft, inRight] = await Promise.all([left.join(room), right.join(room)])
    await until(() => has(inLeft.swarm, right.key) && has(inRight.swarm, left.key), 'left and right met in the room')
    const peer = inLeft.swarm.peers.find(p => p.publicKey === right.key)
    assert.ok(peer instanceof PeerConnection && peer.id.startsWith('dht:'), 'through the DHT, not a hub')
    assert.ok(bridge.dht.stats.relayed > 0, 'the offer and answer went through the bridge')
  })
  test('a new tab bootstraps from a tab of its origin with every hub gone, and reaches a room\'s pages through that tab\'s DHT', async () => {
    const own = await startHubProcess() as typeof hub
    const dhtRoom = `dht-tabs-${Date.now()}`
    const room = `room-tabs-${Date.now()}`
    const [b, c, first] = await Promise.all([page([own.url], dhtRoom), page([own.url], dhtRoom), page([own.url], dhtRoom, {tabs: true})])
    await until(() => [b, c, first].every(p => p.dht.peers === 2), 'the three in each other\'s DHT')
    const [atB, atC] = await Promise.all([b.join(room), c.join(room)])
    await until(() => atB.discovery.stats.announcements > 0 && atC.discovery.stats.announcements > 0, 'b and c announced their room')
    await own.close()
    // The new tab's only hub that answers is its origin's tabs: it meets the first tab there.
    const tab = await page([own.url], dhtRoom, {tabs: true})
    await until(() => has(tab.dhtSwarm, first.key), 'the new tab connected to the first tab')
    const inRoom = await tab.join(room)
    await until(() => has(inRoom.swarm, b.key) && has(inRoom.swarm, c.key), 'the new tab in the room with b and c')
    assert.equal(inRoom.swarm.stats.announcesReceived, 0, 'nothing of the room came from a hub or a tab')
  })
  test('a room where every page is full (maxPeers 2, three pages): a newcomer with no peer there is let in, the youngest connection of one page making room, and no page is left alone', async () => {
    const own = await startHubProcess() as typeof hub
    const dhtRoom = `dht-full-${Date.now()}`
    const room = `room-full-${Date.now()}`
    const members = await Promise.all([0, 1, 2].map(() => page([own.url], dhtRoom)))
    const newcomer = await page([own.url], dhtRoom)
    await until(() => [...members, newcomer].every(p => p.dht.peers === 3), 'the four in each other\'s DHT')
    const inRoom = await Promise.all(members.map(m => m.join(room, 2)))
    await until(() => inRoom.every(r => r.swarm.peers.length === 2 && r.discovery.stats.announcements > 0), 'the three full in their room, and announced')
    await own.close()
    const late = await newcomer.join(room, 2)
    await until(() => late.swarm.peers.length >= 1, 'the newcomer in the room')
    // The page that made room kept its other connection, and the one let go kept its own: no one alone.
    await until(() => inRoom.every(r => r.swarm.peers.length >= 1), 'every member still in the room')
    assert.ok(inRoom.some(r => has(r.swarm, newcomer.key)), 'a member has the newcomer')
  })
})
