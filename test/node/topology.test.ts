import {test} from 'node:test'
import assert from 'node:assert/strict'
import {RoomMembers} from '../../src/core/swarm/topology.js'
import {VirtualClock} from '../../src/core/gossip/simulation.js'

test('ring neighbours are the keys just before and after ours, wrapping around', () => {
  const m = new RoomMembers({ttl: 1000})
  for (const k of ['b', 'd', 'f', 'h']) m.note(k, `id-${k}`)
  assert.deepEqual([...m.ringNeighbours('e')].sort(), ['d', 'f'])
  assert.deepEqual([...m.ringNeighbours('a')].sort(), ['b', 'h'])
  assert.deepEqual([...m.ringNeighbours('h')].sort(), ['b', 'f'])
  assert.deepEqual([...m.ringNeighbours('z')].sort(), ['b', 'h'])
})

test('the ring over everyone\'s view joins every member (degree 2 is enough)', () => {
  const keys = Array.from({length: 12}, (_, i) => `k${String(i).padStart(2, '0')}`)
  const m = new RoomMembers({ttl: 1000})
  for (const k of keys) m.note(k, k)
  const edges = new Map(keys.map(k => [k, m.ringNeighbours(k)]))
  // Wanted by both ends, and one component.
  for (const [k, ns] of edges) for (const n of ns) assert.ok(edges.get(n)!.has(k), `${k}-${n} is wanted by both ends`)
  const seen = new Set([keys[0]])
  const queue = [keys[0]]
  while (queue.length) for (const n of edges.get(queue.pop()!)!) if (!seen.has(n)) { seen.add(n); queue.push(n) }
  assert.equal(seen.size, keys.length)
})

test('small rooms have fewer neighbours, and we are never our own', () => {
  const m = new RoomMembers({ttl: 1000})
  assert.equal(m.ringNeighbours('a').size, 0)
  m.note('a', 'self')
  assert.equal(m.ringNeighbours('a').size, 0)
  m.note('b', 'x')
  assert.deepEqual([...m.ringNeighbours('a')], ['b'])
})

test('silent members expire on the clock, leavers are forgotten at once, and the list is bounded', () => {
  const clock = new VirtualClock()
  const m = new RoomMembers({ttl: 100, max: 3, clock})
  m.note('a', 'ia')
  clock.run(50)
  m.note('b', 'ib')
  clock.run(60)
  assert.equal(m.keyOf('ia'), 'a')
  clock.run(120)
  assert.equal(m.keyOf('ia'), undefined, 'a expired')
  assert.equal(m.keyOf('ib'), 'b')
  m.forget('b')
  assert.equal(m.keyOf('ib'), undefined)
  clock.run(130)
  for (const k of ['c', 'd', 'e', 'f']) m.note(k, k)
  assert.equal(m.size, 3)
  assert.equal(m.keyOf('c'), undefined, 'the oldest went first')
})

test('a key announced again from a new hub id (a reload) moves to it', () => {
  const m = new RoomMembers({ttl: 1000})
  m.note('a', 'old')
  m.note('a', 'new')
  assert.equal(m.keyOf('new'), 'a')
  assert.equal(m.keyOf('old'), undefined)
})
