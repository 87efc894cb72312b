import {test} from 'node:test'
import assert from 'node:assert/strict'
import {RoomMembers} from '../../src/core/swarm/topology.js'

test('ring neighbours are the keys just before and after ours, wrapping around', () => {
  const m = new RoomMembers({ttl: 1000})
  for (const k of ['b', 'd', 'f', 'h']) m.note(k, `id-${k}`, 0)
  assert.deepEqual([...m.ringNeighbours('e', 0)].sort(), ['d', 'f'])
  assert.deepEqual([...m.ringNeighbours('a', 0)].sort(), ['b', 'h'])
  assert.deepEqual([...m.ringNeighbours('h', 0)].sort(), ['b', 'f'])
  assert.deepEqual([...m.ringNeighbours('z', 0)].sort(), ['b', 'h'])
})

test('the ring over everyone\'s view joins every member (degree 2 is enough)', () => {
  const keys = Array.from({length: 12}, (_, i) => `k${String(i).padStart(2, '0')}`)
  const m = new RoomMembers({ttl: 1000})
  for (const k of keys) m.note(k, k, 0)
  const edges = new Map(keys.map(k => [k, m.ringNeighbours(k, 0)]))
  // Wanted by both ends, and one component.
  for (const [k, ns] of edges) for (const n of ns) assert.ok(edges.get(n)!.has(k), `${k}-${n} is wanted by both ends`)
  const seen = new Set([keys[0]])
  const queue = [keys[0]]
  while (queue.length) for (const n of edges.get(queue.pop()!)!) if (!seen.has(n)) { seen.add(n); queue.push(n) }
  assert.equal(seen.size, keys.length)
})

test('small rooms have fewer neighbours, and we are never our own', () => {
  const m = new RoomMembers({ttl: 1000})
  assert.equal(m.ringNeighbours('a', 0).size, 0)
  m.note('a', 'self', 0)
  assert.equal(m.ringNeighbours('a', 0).size, 0)
  m.note('b', 'x', 0)
  assert.deepEqual([...m.ringNeighbours('a', 0)], ['b'])
})

test('silent members expire, leavers are forgotten at once, and the list is bounded', () => {
  const m = new RoomMembers({ttl: 100, max: 3})
  m.note('a', 'ia', 0)
  m.note('b', 'ib', 50)
  assert.equal(m.keyOf('ia', 60), 'a')
  assert.equal(m.keyOf('ia', 120), undefined, 'a expired')
  assert.equal(m.keyOf('ib', 120), 'b')
  m.forget('b')
  assert.equal(m.keyOf('ib', 120), undefined)
  for (const k of ['c', 'd', 'e', 'f']) m.note(k, k, 130)
  assert.equal(m.size, 3)
  assert.equal(m.keyOf('c', 130), undefined, 'the oldest went first')
})

test('a key announced again from a new hub id (a reload) moves to it', () => {
  const m = new RoomMembers({ttl: 1000})
  m.note('a', 'old', 0)
  m.note('a', 'new', 10)
  assert.equal(m.keyOf('new', 20), 'a')
  assert.equal(m.keyOf('old', 20), undefined)
})
