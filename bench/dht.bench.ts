// The browser DHT in simulation (docs/dht.md, issue 20). Four measurements:
//
// 1. Hops per lookup against log2 N (goal ≤ log2 N / 2 with k = 8). The links a
//    node holds are what bucket upkeep leaves (its 3 nearest, one random node of
//    each bucket, both ways, as connections are): on the wire protocol for
//    N = 100 and 1,000 (test/shared/dht-network.ts: fake swarms, every connection
//    after the first two signalled through the DHT, upkeep run until it opens
//    nothing), and in a model of those links for 100, 1,000 and 10,000 (the
//    wire's figures at 100 and 1,000 check the model). Baseline, same run, same
//    N: classic Kademlia with full tables (k = 8 random nodes a bucket).
// 2. Lookup success (the closest live node found, and the exact 8) once 20 % of
//    the nodes have left at once, before any upkeep, and after it.
// 3. Lookup success with 10 % hostile nodes (half silent, half answering with
//    made-up keys), 1 path against 3 disjoint paths.
// 4. RTCPeerConnections made per node per hour of churn (every node's visit
//    lasts 10 minutes on average: a tenth of them replaced each minute, each
//    newcomer starting from one live node), against the 500 a Chromium tab may
//    make in its life.
//
//   node --import tsx bench/dht.bench.ts
//   BENCH_DHT_QUICK=1 node --import tsx bench/dht.bench.ts   (smaller networks)
import {createRandom, VirtualClock} from '../src/core/gossip/simulation.js'
import {toHex} from '../src/core/bytes.js'
import {ID_BYTES, commonPrefix, compareDistance} from '../src/core/dht/node-id.js'
import {RoutingTable, type Contact} from '../src/core/dht/routing-table.js'
import {lookup} from '../src/core/dht/lookup.js'
import {DhtNetwork, type DhtSimNode, type LookupFigures} from '../test/shared/dht-network.js'
import {mean} from './stats.js'

const QUICK = process.env.BENCH_DHT_QUICK === '1'
const K = 8
const LOOKUPS = QUICK ? 50 : 200
const fixed = (x: number, digits = 2) => x.toFixed(digits)
const round = (x: number, digits = 3) => +x.toFixed(digits)
const percent = (n: number, of: number) => round(100 * n / of, 1)

function bench(fields: Record<string, unknown>): void {
  console.log(`BENCH ${JSON.stringify(fields)}`)
}

// ---- the model: ids, links as upkeep leaves them, full Kademlia tables ----------

function randomId(random: () => number): Uint8Array {
  return Uint8Array.from({length: ID_BYTES}, () => Math.floor(random() * 256))
}

const toBig = (id: Uint8Array): bigint => BigInt(`0x${toHex(id)}`)
const BITS = BigInt(ID_BYTES * 8)

/** Ids sorted as numbers: the ids sharing a prefix with one are a range of them. */
class SortedIds {
  readonly ids: Uint8Array[]
  readonly #big: bigint[]
  constructor(ids: Uint8Array[]) {
    this.ids = [...ids].sort((a, b) => {
      for (let i = 0; i < ID_BYTES; i++) if (a[i] !== b[i]) return a[i] - b[i]
      return 0
    })
    this.#big = this.ids.map(toBig)
  }

  /** The range [from, to) of ids sharing exactly `prefix` leading bits with `id` (its bit at `prefix` flipped). */
  bucket(id: Uint8Array, prefix: number): [number, number] {
    const shift = BITS - BigInt(prefix) - 1n
    const base = ((toBig(id) >> shift) ^ 1n) << shift
    return [this.#lowerBound(base), this.#lowerBound(base + (1n << shift))]
  }

  #lowerBound(value: bigint): number {
    let lo = 0
    let hi = this.#big.length
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      if (this.#big[mid] < value) lo = mid + 1
      else hi = mid
    }
    return lo
  }
}

const contactOf = (id: Uint8Array): Contact => ({id, key: toHex(id)})

/**
 * Tables for n nodes. 'upkeep': each node linked to its 3 nearest and to one
 * random node of each bucket up to its nearest's, links both ways, and a
 * table of its links (k a bucket), as on the wire. 'full': k random nodes of
 * every bucket, classic Kademlia.
 */
function modelTables(n: number, shape: 'upkeep' | 'full', random: () => number): {nodes: Contact[], tables: Map<string, RoutingTable>} {
  const sorted = new SortedIds(Array.from({length: n}, () => randomId(random)))
  const nodes = sorted.ids.map(contactOf)
  const links = new Map<string, Set<Contact>>(nodes.map(node => [node.key, new Set()]))
  const link = (a: Contact, b: Contact) => {
    if (a === b) return
    links.get(a.key)!.add(b)
    if (shape === 'upkeep') links.get(b.key)!.add(a)
  }
  for (const node of nodes) {
    const ranges: Array<{prefix: number, from: number, to: number}> = []
    for (let prefix = 0; prefix < 64; prefix++) {
      const [from, to] = sorted.bucket(node.id, prefix)
      if (to > from) ranges.push({prefix, from, to})
    }
    if (shape === 'full') {
      for (const {from, to} of ranges) {
        const picks = new Set<number>()
        while (picks.size < Math.min(K, to - from)) picks.add(from + Math.floor(random() * (to - from)))
        for (const i of picks) link(node, nodes[i])
      }
      continue
    }
    // The 3 nearest: in the deepest buckets (every id there is nearer than any in a shallower one).
    const near: Contact[] = []
    for (let r = ranges.length - 1; r >= 0 && near.length < 3; r--) {
      const {from, to} = ranges[r]
      near.push(...nodes.slice(from, to).sort((a, b) => compareDistance(node.id, a.id, b.id)))
    }
    for (const other of near.slice(0, 3)) link(node, other)
    const deepest = commonPrefix(node.id, near[0].id)
    for (const {prefix, from, to} of ranges) if (prefix < deepest) link(node, nodes[from + Math.floor(random() * (to - from))])
  }
  const tables = new Map<string, RoutingTable>()
  for (const node of nodes) {
    const table = new RoutingTable({self: node.id, k: K, clock: new VirtualClock()})
    for (const other of links.get(node.key)!) table.add(other)
    tables.set(node.key, table)
  }
  return {nodes, tables}
}

async function modelLookups(n: number, shape: 'upkeep' | 'full', seed: number): Promise<{hops: number, exact: number, degree: number}> {
  const random = createRandom(seed)
  const {nodes, tables} = modelTables(n, shape, random)
  const hops: number[] = []
  let exact = 0
  for (let i = 0; i < LOOKUPS; i++) {
    const from = nodes[Math.floor(random() * nodes.length)]
    const target = randomId(random)
    const result = await lookup({
      target, k: K, alpha: 3, clock: new VirtualClock(),
      seeds: tables.get(from.key)!.closest(target),
      // A node answers with its links closest to the target, never the asker (as Dht does).
      query: async (contact, t) => tables.get(contact.key)!.closest(t, K, c => c.key === from.key),
    })
    const truth = nodes.filter(c => c !== from).sort((a, b) => compareDistance(target, a.id, b.id)).slice(0, K)
    if (result.closest.map(c => c.key).join() === truth.map(c => c.key).join()) exact++
    hops.push(result.hops)
  }
  return {hops: mean(hops), exact: percent(exact, LOOKUPS), degree: round(mean([...tables.values()].map(t => t.size)), 1)}
}

// ---- the wire protocol ---------------------------------------------------------------

/** A network of n nodes on the wire, each joining through two live nodes (a hub's room), upkeep run until settled. */
async function wireNetwork(n: number, seed: number) {
  const random = createRandom(seed)
  const net = new DhtNetwork({random})
  for (let i = 0; i < n; i++) {
    const pick = () => net.live[Math.floor(random() * net.live.length)]
    await net.join(net.live.length === 0 ? [] : [...new Set([pick(), pick()])])
  }
  await net.tables()
  const started = performance.now()
  const rounds = await net.settle()
  return {net, random, rounds, settleMs: performance.now() - started}
}

const describe = (f: LookupFigures, count: number) => ({closest: percent(f.closest, count), exact: percent(f.exact, count), hops: round(mean(f.hops), 2)})

// 1. Hops against log2 N.
console.log('1. hops per lookup against log2 N (k = 8, alpha = 3)')
console.log('     N | log2 N | wire hops | model hops | full-table hops | wire/log2 N | exact wire/model/full | links a node wire/model')
const sizes = QUICK ? [100, 1000] : [100, 1000, 10_000]
for (const n of sizes) {
  const wire = n <= 1000 ? await wireNetwork(n, n) : null
  const wireFigures = wire ? await wire.net.lookups(LOOKUPS, wire.random) : null
  const wireDegree = wire ? mean(wire.net.live.map(node => node.swarm.peers.length)) : NaN
  wire?.net.close()
  const model = await modelLookups(n, 'upkeep', n + 1)
  const full = await modelLookups(n, 'full', n + 2)
  const log2 = Math.log2(n)
  const wireHops = wireFigures ? mean(wireFigures.hops) : NaN
  console.log([
    String(n).padStart(6), fixed(log2).padStart(6), (wire ? fixed(wireHops) : '-').padStart(9), fixed(model.hops).padStart(10), fixed(full.hops).padStart(15),
    (wire ? fixed(wireHops / log2) : fixed(model.hops / log2) + ' (model)').padStart(11),
    `${wireFigures ? percent(wireFigures.exact, LOOKUPS) : '-'}/${model.exact}/${full.exact} %`.padStart(21),
    `${wire ? fixed(wireDegree, 1) : '-'}/${model.degree}`.padStart(10),
    wire ? `(wire settled in ${wire.rounds} rounds, ${fixed(wire.settleMs / 1000, 1)} s)` : '',
  ].join(' | '))
  bench({
    name: `dht hops, N = ${n}`, log2N: round(log2, 2), value: round(wireFigures ? wireHops : model.hops, 2), unit: 'hops',
    source: wireFigures ? 'wire' : 'model', modelHops: round(model.hops, 2),
    baseline: round(full.hops, 2), baselineIs: 'full-table Kademlia, same N, same run',
    ratio: round((wireFigures ? wireHops : model.hops) / full.hops, 2), perLog2N: round((wireFigures ? wireHops : model.hops) / log2, 3), goalPerLog2N: 0.5,
    exact: wireFigures ? percent(wireFigures.exact, LOOKUPS) : model.exact,
  })
}

// 2. Churn: 20 % leave at once.
{
  const n = QUICK ? 150 : 300
  const {net, random} = await wireNetwork(n, 21)
  const gone = new Set<DhtSimNode>()
  while (gone.size < n / 5) gone.add(net.live[Math.floor(random() * net.live.length)])
  for (const node of gone) net.leave(node)
  const before = describe(await net.lookups(LOOKUPS, random), LOOKUPS)
  const rounds = await net.settle()
  const after = describe(await net.lookups(LOOKUPS, random), LOOKUPS)
  console.log(`2. ${n} nodes, 20 % gone at once: before upkeep ${before.closest} % found the closest, ${before.exact} % the exact 8; ` +
    `after ${rounds} rounds ${after.closest} % and ${after.exact} %`)
  bench({name: 'dht lookups, 20 % churn, before upkeep', value: before.closest, unit: '% found the closest', exact: before.exact, goal: 99, nodes: n})
  bench({name: 'dht lookups, 20 % churn, after upkeep', value: after.closest, unit: '% found the closest', exact: after.exact, rounds, goal: 99, nodes: n})
  net.close()
}

// 3. 10 % hostile nodes.
for (const paths of [1, 3]) {
  const n = QUICK ? 150 : 300
  const random = createRandom(31)
  const net = new DhtNetwork({random, dht: {paths, timeout: 400}})
  for (let i = 0; i < n; i++) {
    const everyone = [...net.live, ...net.hostile]
    const pick = () => everyone[Math.floor(random() * everyone.length)]
    const through = everyone.length === 0 ? [] : [...new Set([pick(), pick()])]
    if (i % 10 === 9) await net.joinHostile(through, i % 20 === 9 ? 'silent' : 'liar')
    else await net.join(through)
  }
  await net.tables()
  const rounds = await net.settle()
  const result = describe(await net.lookups(LOOKUPS, random), LOOKUPS)
  console.log(`3. ${n} nodes, 10 % hostile (half silent, half lying), ${paths} path${paths > 1 ? 's' : ''}: ${result.closest} % found the closest honest node, ` +
    `${result.exact} % the exact honest ones (settled in ${rounds} rounds)`)
  bench({name: `dht lookups, 10 % hostile, ${paths} path${paths > 1 ? 's' : ''}`, value: result.closest, unit: '% found the closest honest', exact: result.exact, goal: 99, nodes: n})
  net.close()
}

// 4. Connections per node-hour of churn.
{
  const n = QUICK ? 60 : 150
  const minutes = QUICK ? 20 : 60
  const {net, random} = await wireNetwork(n, 41)
  const made = net.connectionsMade
  let joins = 0
  // Each node's life in minutes, for the connections it made a node-hour of its own life.
  const joined = new Map(net.live.map(node => [node, 0]))
  const life = new Map<DhtSimNode, number>()
  for (let minute = 0; minute < minutes; minute++) {
    for (let i = 0; i < n / 10; i++) {
      const leaving = net.live[Math.floor(random() * net.live.length)]
      life.set(leaving, minute + 1 - joined.get(leaving)!)
      net.leave(leaving)
      joined.set(await net.join([net.live[Math.floor(random() * net.live.length)]]), minute)
      joins++
    }
    await net.tables()
    await net.settle(3)
  }
  const hours = minutes / 60
  // A join's first connection (its bootstrap) is made at both ends too.
  const perNodeHour = (net.connectionsMade - made + 2 * (joins + net.rejoined)) / (n * hours)
  for (const node of net.live) life.set(node, minutes - joined.get(node)!)
  // Over a node's life (one there from the start: from the start of the hour, its first links included).
  const lifetimes = [...life.entries()].filter(([, minutesLived]) => minutesLived >= 10)
  const perOwnHour = lifetimes.map(([node, minutesLived]) => node.swarm.signalledMade / (minutesLived / 60))
  const mostByOne = Math.max(...[...life.keys()].map(node => node.swarm.signalledMade))
  const end = describe(await net.lookups(LOOKUPS, random), LOOKUPS)
  console.log(`4. ${n} nodes, a tenth replaced every minute for ${minutes} minutes: ${fixed(perNodeHour, 1)} RTCPeerConnections a node-hour ` +
    `(a node that lived 10 minutes or more: ${fixed(mean(perOwnHour), 1)} an hour of its life; the most one node made in its whole life: ${mostByOne}); ` +
    `the tab limit is 500; ${net.rejoined} nodes left with no peer were linked again as a hub would; ` +
    `lookups at the end ${end.closest} % closest, ${end.exact} % exact`)
  bench({
    name: 'dht RTCPeerConnections per node-hour of churn', value: round(perNodeHour, 1), unit: 'connections/node-hour',
    baseline: 500, baselineIs: 'Chromium\'s RTCPeerConnections per tab (life)', ratio: round(perNodeHour / 500, 3),
    perOwnHour: round(mean(perOwnHour), 1), mostByOneNode: mostByOne, rejoined: net.rejoined, lookupsClosest: end.closest, lookupsExact: end.exact, nodes: n, minutes,
  })
  net.close()
}
process.exit(0)
