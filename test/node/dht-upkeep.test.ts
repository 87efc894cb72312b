// Bucket upkeep (src/core/dht/upkeep.ts) on the DHT's wire protocol: fake swarms
// (real muxes over in-memory transports, test/node/fake-swarm.ts) whose
// connections are signalled through the DHT itself. From a sparse start, as a
// hub's first peers leave a room, rounds of upkeep give every node the links
// lookups need; after churn, they mend them.
import {after, describe, test} from 'node:test'
import assert from 'node:assert/strict'
import {createRandom, VirtualClock} from '../../src/core/gossip/simulation.js'
import {KeyPairIdentity} from '../../src/core/crypto/seed-identity.js'
import {fromHex, toHex} from '../../src/core/bytes.js'
import {compareDistance, nodeIdOf} from '../../src/core/dht/node-id.js'
import {Dht} from '../../src/core/dht/dht.js'
import {DhtUpkeep} from '../../src/core/dht/upkeep.js'
import {FakeSwarm, connect} from './fake-swarm.js'
import {until} from '../shared/until.js'

interface Node {
  key: string
  id: Uint8Array
  swarm: FakeSwarm
  dht: Dht
  upkeep: DhtUpkeep
}

const all: Node[] = []
after(() => {
  for (const node of all) {
    node.upkeep.stop()
    node.dht.close()
  }
})

async function makeNode(seed: number, random: () => number): Promise<Node> {
  const identity = new KeyPairIdentity(Uint8Array.from({length: 32}, (_, i) => (seed * 131 + i * 7 + (seed >> 8)) & 0xff).map((b, i) => i === 31 ? seed & 0xff : b))
  const key = toHex(identity.publicKey)
  const swarm = new FakeSwarm().signalsAs(key)
  swarm.maxPeers = 24
  const dht = new Dht({swarm, publicKey: key, identity, connector: swarm, timeout: 2_000})
  await dht.ready
  const node = {key, id: await nodeIdOf(fromHex(key)), swarm, dht, upkeep: new DhtUpkeep(dht, {random})}
  all.push(node)
  return node
}

/** Rounds of upkeep on every node at once until a round opens nothing anywhere; how many rounds that took. */
async function settle(nodes: Node[], most = 30): Promise<number> {
  for (let round = 1; round <= most; round++) {
    const opened = await Promise.all(nodes.map(node => node.upkeep.round()))
    if (opened.every(n => n === 0)) return round
  }
  throw new Error(`upkeep did not settle in ${most} rounds`)
}

/** Lookups from random live nodes for random targets: how many found the true 8 closest live nodes. */
async function lookups(nodes: Node[], count: number, random: () => number): Promise<number> {
  let exact = 0
  for (let i = 0; i < count; i++) {
    const from = nodes[Math.floor(random() * nodes.length)]
    const target = Uint8Array.from({length: 32}, () => Math.floor(random() * 256))
    const {closest} = await from.dht.lookup(target)
    const truth = nodes.filter(n => n !== from).sort((a, b) => compareDistance(target, a.id, b.id)).slice(0, 8).map(n => n.key)
    if (closest.map(c => c.key).join() === truth.join()) exact++
  }
  return exact
}

function leave(node: Node): void {
  node.upkeep.stop()
  for (const peer of [...node.swarm.peers]) peer.destroy()
  node.dht.close()
}

describe('DHT bucket upkeep', () => {
  test('from a sparse start (each node linked to two others), rounds of upkeep give lookups the links they need; after 20 % of the nodes leave and new ones join through one node each, they mend them', {timeout: 300_000}, async () => {
    const random = createRandom(11)
    const nodes: Node[] = []
    for (let i = 0; i < 80; i++) nodes.push(await makeNode(2000 + i, random))
    // A hub's room: each newcomer meets two of the nodes already there.
    for (let i = 1; i < nodes.length; i++) {
      const peers = new Set([Math.floor(random() * i), Math.floor(random() * i)])
      for (const j of peers) connect(nodes[i].swarm, nodes[i].key, nodes[j].swarm, nodes[j].key)
    }
    await until(() => nodes.every(n => n.dht.table.size === n.swarm.peers.length), 'every table holds its peers')
    const before = await lookups(nodes, 30, random)
    const rounds = await settle(nodes)
    const exact = await lookups(nodes, 100, random)
    const degrees = nodes.map(n => n.swarm.peers.length)
    const opened = nodes.reduce((n, node) => n + node.upkeep.stats.opened, 0)
    console.log(`# 80 nodes: ${before}/30 exact before upkeep, ${exact}/100 after ${rounds} rounds; ${opened} connections opened ` +
      `(${(opened / nodes.length).toFixed(1)} a node), degree ${Math.min(...degrees)} to ${Math.max(...degrees)}`)
    assert.equal(exact, 100)
    assert.ok(Math.max(...degrees) <= 24)
    assert.equal(nodes.reduce((n, node) => n + node.dht.stats.strikes, 0), 0, 'honest nodes strike no one')

    // Churn: 16 leave; 16 join, each through one live node.
    const leaving = new Set<Node>()
    while (leaving.size < 16) leaving.add(nodes[Math.floor(random() * nodes.length)])
    for (const node of leaving) leave(node)
    const live = nodes.filter(n => !leaving.has(n))
    for (let i = 0; i < 16; i++) {
      const node = await makeNode(3000 + i, random)
      const through = live[Math.floor(random() * live.length)]
      connect(node.swarm, node.key, through.swarm, through.key)
      live.push(node)
    }
    await until(() => live.every(n => n.dht.table.size === n.swarm.peers.length), 'every live table holds its live peers')
    const mended = await settle(live)
    const afterChurn = await lookups(live, 100, random)
    const reopened = live.reduce((n, node) => n + node.upkeep.stats.opened, 0) - opened
    console.log(`# after churn: ${afterChurn}/100 exact after ${mended} rounds; ${reopened} connections opened to mend (80 nodes)`)
    assert.ok(afterChurn >= 99, `${afterChurn} of 100 lookups exact after churn`)
  })

  test('a node that started with no peer keeps its buckets soon after its first peer comes, not an interval later', async () => {
    const clock = new VirtualClock()
    const random = createRandom(7)
    const [a, b] = await Promise.all([makeNode(901, random), makeNode(902, random)])
    const upkeep = new DhtUpkeep(a.dht, {clock, soon: 1_000, interval: 60_000, random})
    upkeep.start()
    const flush = async () => {
      for (let i = 0; i < 5; i++) await new Promise(resolve => setImmediate(resolve))
    }
    clock.advance(1_000)
    await flush()
    assert.equal(upkeep.stats.rounds, 0, 'a round with no peer looks nothing up')
    // The upkeep hears of the peer before this test does (its listener came first).
    const first = new Promise(resolve => a.dht.once('peer', resolve))
    connect(a.swarm, a.key, b.swarm, b.key)
    await first
    clock.advance(1_000)
    await until(() => upkeep.stats.rounds === 1, 'a round within `soon` of the first peer')
    upkeep.stop()
  })
})
