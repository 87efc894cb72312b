// A page's DHT node put together (src/core/dht/page-dht.ts) over real WebRTC
// (node-datachannel, loopback only) and a real hub process: six pages in a room
// each run one; the hub stops; a seventh page (maxPeers 2), whose only way in is
// one page met on the tabs of its origin, reaches the room through the DHT.
import {after, before, describe, test} from 'node:test'
import assert from 'node:assert/strict'
import {startHubProcess} from '../../scripts/hub-process.js'
import {Swarm} from '../../src/core/swarm/swarm.js'
import {createIdentity} from '../../src/core/crypto/identity.js'
import {DHT_ROOM, PageDht, pageDht} from '../../src/core/dht/page-dht.js'
import {until} from '../shared/until.js'
import '../shared/node-webrtc.js'

const fast = {min: 100, max: 1000}
/** Whether `swarm` has a connected peer of `key`. */
const has = (swarm: Swarm, key: string): boolean => swarm.peers.some(p => p.publicKey === key)
const swarms: Swarm[] = []
const dhts: PageDht[] = []

async function page(hub: string, room: string, tabs = false, maxPeers = 16) {
  const swarm = new Swarm({hubs: [hub], room, identity: await createIdentity(), iceServers: [], announceInterval: fast, maxPeers, pool: null})
  swarms.push(swarm)
  const node = pageDht(swarm, {tabs})
  dhts.push(node)
  node.follow(swarm)
  return {swarm, node}
}

describe('a page\'s DHT node', {timeout: 180_000}, () => {
  let hub: {url: string, close(): Promise<void>}
  before(async () => {
    hub = await startHubProcess() as typeof hub
  })
  after(async () => {
    for (const node of dhts) node.close()
    for (const swarm of swarms) swarm.destroy()
    await hub.close()
  })

  test('six pages in a room each run one; with the hub stopped, a seventh page in through one tab reaches the room', async () => {
    const room = `page-dht-${Date.now()}`
    const pages: Array<Awaited<ReturnType<typeof page>>> = []
    for (let i = 0; i < 6; i++) pages.push(await page(hub.url, room, i === 0))
    assert.equal(pageDht(pages[0].swarm), pages[0].node, 'one node per identity')
    assert.equal(pages[0].node.swarm.room, DHT_ROOM)
    await until(() => pages.every(p => p.node.dht.peers >= 2 && p.swarm.peers.length >= 1), 'every page in the DHT and the room')
    await until(() => pages.every(p => p.node.stats.upkeep.rounds > 0), 'every page kept its buckets once')

    await hub.close()
    // Its hub is gone: the only way in is pages[0], met on the tabs of this "origin" (this process).
    const late = await page(hub.url, room, true, 2)
    await until(() => has(late.node.swarm, pages[0].swarm.publicKey), 'the seventh page met the first on the tabs')
    await until(() => late.swarm.peers.length === 2, 'the seventh page has its two room peers')
    assert.ok(late.swarm.peers.every(p => pages.some(q => q.swarm.publicKey === p.publicKey)))
    const stats = late.node.stats
    assert.equal(stats.rooms, 1)
    assert.ok(stats.nodes >= 1 && stats.connections.created >= 2, JSON.stringify(stats))
  })
})
