// Kademlia's pieces on their own (src/core/dht): ids and distances, the routing
// table, and iterative lookups in a seeded in-process network of nodes whose
// tables know the others as a settled network's would. The full simulation
// (the DHT protocol on the swarm, churn over time, relayed signalling) builds on these.
import {describe, test} from 'node:test'
import assert from 'node:assert/strict'
import {createRandom, VirtualClock} from '../../src/core/gossip/simulation.js'
import {toHex} from '../../src/core/bytes.js'
import {commonPrefix, compareDistance, ID_BITS, ID_BYTES, nodeIdOf, randomIdInBucket, sameId} from '../../src/core/dht/node-id.js'
import {RoutingTable, type Contact} from '../../src/core/dht/routing-table.js'
import {lookup, type LookupResult} from '../../src/core/dht/lookup.js'

function randomId(random: () => number): Uint8Array {
  return Uint8Array.from({length: ID_BYTES}, () => Math.floor(random() * 256))
}

function contactOf(id: Uint8Array): Contact {
  return {id, key: toHex(id)}
}

describe('node ids', () => {
  test('an id is the SHA-256 of the public key', async () => {
    const id = await nodeIdOf(new Uint8Array(32).fill(1))
    assert.equal(id.length, ID_BYTES)
    assert.equal(toHex(id), '72cd6e8422c407fb6d098690f1130b7ded7ec2f7f5e1d30bd9d521f015363793')
  })

  test('distance is XOR, compared big-endian; the common prefix counts shared leading bits', () => {
    const zero = new Uint8Array(ID_BYTES)
    const a = new Uint8Array(ID_BYTES)
    a[0] = 0b0001_0000
    const b = new Uint8Array(ID_BYTES)
    b[31] = 0xff
    assert.ok(compareDistance(zero, b, a) < 0, 'a difference in the last byte is nearer than one in the first')
    assert.ok(compareDistance(zero, a, b) > 0)
    assert.equal(compareDistance(zero, a, a), 0)
    assert.equal(commonPrefix(zero, a), 3)
    assert.equal(commonPrefix(zero, b), 248)
    assert.equal(commonPrefix(a, a), ID_BITS)
    assert.ok(sameId(a, Uint8Array.from(a)) && !sameId(a, b))
  })

  test('a random id in bucket i shares exactly i leading bits', () => {
    const random = createRandom(3)
    const self = randomId(random)
    for (const prefix of [0, 1, 7, 8, 9, 100, 255]) {
      for (let n = 0; n < 20; n++) assert.equal(commonPrefix(self, randomIdInBucket(self, prefix, random)), prefix)
    }
    assert.throws(() => randomIdInBucket(self, ID_BITS, random), RangeError)
  })
})

describe('routing table', () => {
  test('buckets by shared prefix, at most k each; a full bucket keeps its old contacts and names the oldest', () => {
    const clock = new VirtualClock()
    const self = new Uint8Array(ID_BYTES)
    const table = new RoutingTable({self, k: 2, clock})
    const inBucket0 = [0x80, 0x90, 0xa0].map(first => contactOf(Uint8Array.from({length: ID_BYTES}, (_, i) => i === 0 ? first : 0)))
    assert.deepEqual(table.add(inBucket0[0]), {result: 'added'})
    assert.deepEqual(table.add(inBucket0[1]), {result: 'added'})
    assert.deepEqual(table.add(inBucket0[2]), {result: 'full', oldest: inBucket0[0]})
    assert.deepEqual(table.add(contactOf(self)), {result: 'self'})
    // Heard from again: now the newest, so the other one is the oldest.
    assert.deepEqual(table.add(inBucket0[0]), {result: 'updated'})
    assert.deepEqual(table.add(inBucket0[2]), {result: 'full', oldest: inBucket0[1]})
    assert.ok(table.replace(inBucket0[1].id, inBucket0[2]))
    assert.deepEqual(table.contacts().map(c => c.key), [inBucket0[0].key, inBucket0[2].key])
    assert.deepEqual(table.buckets(), [{index: 0, size: 2}])
    assert.equal(table.size, 2)
  })

  test('a contact that fails maxFailures times in a row is dropped; an answer in between clears its count', () => {
    const table = new RoutingTable({self: new Uint8Array(ID_BYTES), k: 4, maxFailures: 2})
    const contact = contactOf(Uint8Array.from({length: ID_BYTES}, (_, i) => i === 5 ? 1 : 0))
    table.add(contact)
    assert.equal(table.failed(contact.id), false)
    table.seen(contact.id)
    assert.equal(table.failed(contact.id), false)
    assert.equal(table.failed(contact.id), true)
    assert.equal(table.has(contact.id), false)
    assert.equal(table.size, 0)
  })

  test('closest: the n nearest to a target, nearest first; stale: not heard from since a time', () => {
    const clock = new VirtualClock()
    const random = createRandom(7)
    const self = randomId(random)
    const table = new RoutingTable({self, k: 20, clock})
    const contacts = Array.from({length: 200}, () => contactOf(randomId(random)))
    for (const contact of contacts) table.add(contact)
    const target = randomId(random)
    const near = table.closest(target, 5)
    const all = table.contacts().sort((a, b) => compareDistance(target, a.id, b.id))
    assert.deepEqual(near.map(c => c.key), all.slice(0, 5).map(c => c.key))
    clock.run(1000)
    table.seen(near[0].id)
    assert.equal(table.stale(500).length, table.size - 1)
  })
})

/** A settled network of `n` nodes: each table offered every other node, in a random order. */
function network(n: number, k: number, seed: number) {
  const random = createRandom(seed)
  const nodes = Array.from({length: n}, () => contactOf(randomId(random)))
  const tables = new Map<string, RoutingTable>()
  for (const node of nodes) {
    const table = new RoutingTable({self: node.id, k, clock: new VirtualClock()})
    const order = [...nodes]
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [order[i], order[j]] = [order[j], order[i]]
    }
    for (const other of order) table.add(other)
    tables.set(node.key, table)
  }
  return {random, nodes, tables}
}

describe('iterative lookup in a settled network', () => {
  const K = 8

  test('1,000 nodes: every lookup finds the k closest nodes, in a few hops', async () => {
    const {random, nodes, tables} = network(1000, K, 11)
    const hops: number[] = []
    for (let i = 0; i < 100; i++) {
      const from = nodes[Math.floor(random() * nodes.length)]
      const target = randomId(random)
      const result = await lookup({
        target, k: K, alpha: 3, clock: new VirtualClock(),
        seeds: tables.get(from.key)!.closest(target),
        query: async (contact, t) => tables.get(contact.key)!.closest(t),
      })
      const truth = [...nodes].sort((a, b) => compareDistance(target, a.id, b.id)).slice(0, K)
      assert.deepEqual(result.closest.map(c => c.key), truth.map(c => c.key), `lookup ${i}`)
      assert.equal(result.failed, 0)
      hops.push(result.hops)
    }
    const mean = hops.reduce((a, b) => a + b, 0) / hops.length
    assert.ok(mean <= Math.log2(1000) / 2, `mean hops ${mean} against log2 N / 2 = ${(Math.log2(1000) / 2).toFixed(2)}`)
  })

  test('nodes that fail to answer or answer with made-up contacts: disjoint paths still find the honest closest', async () => {
    const {random, nodes, tables} = network(500, K, 12)
    // A tenth of the nodes are hostile: half never answer, half answer with ids of nobody, near the target.
    const hostile = new Map<string, 'silent' | 'liar'>()
    for (const node of nodes) if (random() < 0.1) hostile.set(node.key, random() < 0.5 ? 'silent' : 'liar')
    let found = 0
    const lookups = 100
    for (let i = 0; i < lookups; i++) {
      const honest = nodes.filter(n => !hostile.has(n.key))
      const from = honest[Math.floor(random() * honest.length)]
      const target = randomId(random)
      const failures: string[] = []
      const clock = new VirtualClock()
      const result = await lookup({
        target, k: K, alpha: 3, paths: 3, clock, timeout: 1000,
        seeds: tables.get(from.key)!.closest(target),
        query: async (contact, t) => {
          const kind = hostile.get(contact.key)
          if (kind === 'silent') throw new Error('no answer')
          if (kind === 'liar') return Array.from({length: K}, () => contactOf(t.map((b, j) => j < 2 ? b : Math.floor(random() * 256))))
          return tables.get(contact.key)!.closest(t)
        },
        onfail: contact => failures.push(contact.key),
      })
      const truth = honest.sort((a, b) => compareDistance(target, a.id, b.id))[0]
      if (result.closest.some(c => c.key === truth.key)) found++
      // Made-up ids never answer, so they never count among the results.
      assert.ok(result.closest.every(c => tables.has(c.key)), 'only real nodes that answered')
      assert.ok(failures.every(key => hostile.has(key) || !tables.has(key)), 'only hostile or made-up nodes fail')
    }
    assert.ok(found / lookups >= 0.99, `the honest closest found in ${found} of ${lookups} lookups`)
  })

  test('20 % of the nodes gone since the tables were made: the closest node still there is found in at least 99 % of lookups', async () => {
    const {random, nodes, tables} = network(1000, K, 13)
    const gone = new Set(nodes.filter(() => random() < 0.2).map(n => n.key))
    let found = 0
    const lookups = 200
    for (let i = 0; i < lookups; i++) {
      const present = nodes.filter(n => !gone.has(n.key))
      const from = present[Math.floor(random() * present.length)]
      const target = randomId(random)
      const result = await lookup({
        target, k: K, alpha: 3, clock: new VirtualClock(),
        seeds: tables.get(from.key)!.closest(target),
        query: async (contact, t) => {
          if (gone.has(contact.key)) throw new Error('gone')
          return tables.get(contact.key)!.closest(t)
        },
      })
      const truth = [...present].sort((a, b) => compareDistance(target, a.id, b.id))[0]
      if (result.closest[0]?.key === truth.key) found++
      assert.ok(result.closest.every(c => !gone.has(c.key)), 'nodes that are gone never count')
    }
    assert.ok(found / lookups >= 0.99, `the closest present node found in ${found} of ${lookups} lookups`)
  })

  /**
   * Nodes at distance 1 (a), 2 (b), 3 (c) and 4 (d) from the zero target, answering after the
   * ms given (never: no entry), on a virtual clock; a lookup with k 3, α 1, stall 100 and
   * timeout 10,000 from them all. Resolves with the result and the virtual time it ended.
   */
  async function stalling(answerAfter: Record<string, number>, target = new Uint8Array(ID_BYTES)) {
    const clock = new VirtualClock()
    const nodes = Object.fromEntries(['a', 'b', 'c', 'd'].map((name, i) => [name, contactOf(Uint8Array.from({length: ID_BYTES}, (_, j) => j === ID_BYTES - 1 ? i + 1 : 0))]))
    const name = (key: string) => Object.keys(nodes).find(n => nodes[n].key === key)!
    const asked: string[] = []
    let ended: {result: LookupResult, at: number} | undefined
    void lookup({
      target, seeds: Object.values(nodes), k: 3, alpha: 1, clock, timeout: 10_000, stall: () => 100,
      query: contact => {
        asked.push(name(contact.key))
        const after = answerAfter[name(contact.key)]
        return new Promise(resolve => {
          if (after !== undefined) clock.setTimeout(() => resolve([]), after)
        })
      },
    }).then(result => {
      ended = {result, at: clock.now()}
    })
    for (let i = 0; i < 100 && !ended; i++) {
      await new Promise(resolve => setImmediate(resolve))
      clock.advance(10)
    }
    assert.ok(ended, 'the lookup ended')
    return {...ended, names: ended.result.closest.map(c => name(c.key)), asked}
  }

  test('a node that never answers: past its stall the next is asked, and the lookup ends without it, long before its timeout', async () => {
    const {names, asked, at, result} = await stalling({b: 10, c: 10, d: 10})
    assert.deepEqual(asked, ['a', 'b', 'c', 'd'])
    assert.deepEqual(names, ['b', 'c', 'd'])
    assert.ok(at < 10_000, `ended at ${at} ms, not at the silent node's timeout`)
    assert.equal(result.failed, 0, 'not counted failed: it might have answered')
  })

  test('nodes past their stall are waited for while fewer than k have answered, and one that answers while the lookup runs is taken', async () => {
    // Every node stalls (each answers after 300 ms): the lookup asks them all, and ends once three have answered.
    const {names, asked, at} = await stalling({a: 150, b: 300, c: 300, d: 300})
    assert.deepEqual(asked, ['a', 'b', 'c', 'd'])
    assert.deepEqual(names, ['a', 'b', 'c'])
    assert.ok(at >= 500 && at < 600, `ended at ${at} ms: when c answered, not waiting for d`)
  })

  test('the node looked up is waited for, however long it takes within the timeout', async () => {
    const a = Uint8Array.from({length: ID_BYTES}, (_, j) => j === ID_BYTES - 1 ? 1 : 0)
    const {names, at} = await stalling({a: 900, b: 10, c: 10, d: 10}, a)
    // From a: c at distance 2, b at 3.
    assert.deepEqual(names, ['a', 'c', 'b'])
    assert.ok(at >= 900, `ended at ${at} ms, once it answered`)
  })

  test('a query unanswered within the timeout counts as failed, on the clock given', async () => {
    const clock = new VirtualClock()
    const self = new Uint8Array(ID_BYTES)
    const slow = contactOf(Uint8Array.from({length: ID_BYTES}, (_, i) => i === 0 ? 1 : 0))
    const failed: string[] = []
    let settled: LookupResult | undefined
    void lookup({target: self, seeds: [slow], clock, timeout: 500, query: () => new Promise(() => {}), onfail: (c, err) => failed.push(`${c.key.slice(0, 4)} ${err.code}`)})
      .then(result => {
        settled = result
      })
    await Promise.resolve()
    clock.run(499)
    await new Promise(resolve => setImmediate(resolve))
    assert.equal(settled, undefined, 'still waiting before the timeout')
    clock.run(500)
    await new Promise(resolve => setImmediate(resolve))
    assert.deepEqual(failed, ['0100 ERR_PEER_TIMEOUT'])
    assert.deepEqual(settled, {closest: [], hops: 0, queried: 1, failed: 1})
  })
})
