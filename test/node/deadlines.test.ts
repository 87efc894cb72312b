import {test} from 'node:test'
import assert from 'node:assert/strict'
import {Deadlines} from '../../src/core/expiring-map.js'

test('a key holds until its moment, is then forgotten, and size counts only live keys', () => {
  let now = 1000
  const d = new Deadlines<string>(() => now)
  d.set('a', 100)
  d.set('b', 300)
  assert.equal(d.has('a'), true)
  assert.equal(d.size, 2)
  now = 1100
  assert.equal(d.has('a'), false, 'held until, not at, its moment')
  assert.equal(d.size, 1)
  d.set('b', 50)
  now = 1151
  assert.equal(d.has('b'), false, 'setting again replaces the moment, shorter too')
  d.set('c', 10)
  d.delete('c')
  assert.equal(d.has('c'), false)
  assert.equal(d.size, 0)
})
