// Swarm options are checked when the swarm is made: misuse throws at once
// instead of surfacing as odd behaviour later (2.5 peers, a NaN timeout).
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {Swarm, type SwarmOptions} from '../../src/core/swarm/swarm.js'
import {createIdentity} from '../../src/core/crypto/identity.js'
import {ConnectionBudget} from '../../src/core/swarm/budget.js'
import {BanList} from '../../src/core/swarm/bans.js'
import '../shared/node-webrtc.js'

// Never reached: a swarm whose options are refused makes no hub client.
const base: SwarmOptions = {room: 'options', hubs: ['http://127.0.0.1:9'], identity: await createIdentity()}

test('maxPeers must be a whole number of at least 1', () => {
  for (const maxPeers of [2.5, 0, -1, NaN, Infinity, '4' as unknown as number]) {
    assert.throws(() => new Swarm({...base, maxPeers}), {code: 'ERR_INVALID_ARGUMENT'}, String(maxPeers))
  }
})

test('connectTimeout, banTime and announceInterval must be numbers in range', () => {
  const bad: Array<Partial<SwarmOptions>> = [
    {connectTimeout: 0}, {connectTimeout: NaN}, {connectTimeout: -5},
    {banTime: -1}, {banTime: NaN},
    {announceInterval: {min: 0, max: 1000}}, {announceInterval: {min: 1000, max: 10}}, {announceInterval: {min: NaN, max: 10}},
  ]
  for (const opts of bad) assert.throws(() => new Swarm({...base, ...opts}), {code: 'ERR_INVALID_ARGUMENT'}, JSON.stringify(opts))
})

test('a swarm without an identity is refused, naming createIdentity()', () => {
  const {identity: _, ...noIdentity} = base
  for (const identity of [undefined, null]) {
    assert.throws(() => new Swarm({...noIdentity, identity} as unknown as SwarmOptions), {code: 'ERR_INVALID_ARGUMENT', message: /identity.*createIdentity\(\)/})
  }
})

test('a good set of options makes a swarm', () => {
  const swarm = new Swarm({...base, maxPeers: 3, connectTimeout: 5000, banTime: 0, announceInterval: {min: 100, max: 100}})
  try {
    assert.equal(swarm.maxPeers, 3)
  } finally {
    swarm.destroy()
  }
})

test('a budget limit and a ban time are checked too', () => {
  for (const limit of [1.5, -1, NaN]) assert.throws(() => new ConnectionBudget({limit}), {code: 'ERR_INVALID_ARGUMENT'})
  const bans = new BanList()
  for (const ms of [-1, NaN]) assert.throws(() => bans.ban('ab'.repeat(32), ms), {code: 'ERR_INVALID_ARGUMENT'})
  assert.equal(bans.size, 0)
})
