import {test} from 'node:test'
import assert from 'node:assert/strict'
import {ExpiringMap} from '../../src/core/expiring-map.js'

test('one time to live: add never refreshes, set does, and expiry follows insertion', () => {
  let now = 0
  const map = new ExpiringMap<string, number>({ttl: 100, now: () => now})
  assert.equal(map.add('a', 1), true)
  assert.equal(map.add('a', 2), false)
  assert.equal(map.get('a'), 1)
  now = 50
  map.add('b', 1)
  map.set('a', 3)
  now = 120
  assert.equal(map.get('a'), 3, 'set restarted its time to live')
  assert.equal(map.has('b'), true)
  now = 150
  assert.deepEqual([...map.entries()], [], 'both expired')
  assert.equal(map.size, 0)
})

test('entries with their own time to live expire in their own order, not insertion order', () => {
  let now = 0
  const map = new ExpiringMap<string, true>({ttl: 1000, now: () => now})
  map.set('long', true, 500)
  map.set('short', true, 100)
  map.set('mid', true, 300)
  now = 100
  assert.equal(map.size, 2, 'the short entry behind a longer one is still found expired')
  now = 300
  assert.deepEqual([...map.entries()].map(([key]) => key), ['long'])
  now = 500
  assert.equal(map.size, 0)
})

test('count and weight caps evict the oldest and count them', () => {
  const map = new ExpiringMap<number, Uint8Array>({ttl: 1e9, max: 3, maxWeight: 100, weigh: value => value.byteLength, now: () => 0})
  for (let i = 0; i < 5; i++) map.add(i, new Uint8Array(10))
  assert.deepEqual([...map.entries()].map(([key]) => key), [2, 3, 4])
  map.add(9, new Uint8Array(90))
  assert.equal(map.weight, 100)
  assert.deepEqual([...map.entries()].map(([key]) => key), [4, 9])
  assert.equal(map.evicted, 4)
  map.add(10, new Uint8Array(101))
  assert.equal(map.has(10), false, 'heavier than the cap: not kept')
})

test('options are checked at once', () => {
  for (const ttl of [NaN, 0, -1]) assert.throws(() => new ExpiringMap({ttl, now: () => 0}), {code: 'ERR_INVALID_ARGUMENT'})
  assert.throws(() => new ExpiringMap({ttl: 1, max: 0, now: () => 0}), {code: 'ERR_INVALID_ARGUMENT'})
  const map = new ExpiringMap<string, true>({ttl: 1, now: () => 0})
  assert.throws(() => map.set('a', true, NaN), {code: 'ERR_INVALID_ARGUMENT'})
})
