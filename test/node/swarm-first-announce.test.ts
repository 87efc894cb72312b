// A swarm announces itself when its hub stream opens, and without it after three
// minimum intervals: Firefox sees a stream open only on its first body bytes, and a
// hub may send none before a message (signalhub's own server), so our own
// announcement is what opens it there. Coming back online after an outage is the
// same: the streams reopen, and the announcement waits for them. Until a stream has
// opened, a failed announcement is the outage the stream reports, once.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {Swarm} from '../../src/core/swarm/swarm.js'
import {createIdentity} from '../../src/core/crypto/identity.js'
import {ConnectionBudget} from '../../src/core/swarm/budget.js'
import {BanList} from '../../src/core/swarm/bans.js'
import {VirtualClock} from '../../src/core/gossip/simulation.js'
import {Emitter} from '../../src/core/emitter.js'
import {P2PError} from '../../src/core/errors.js'
import type {HubClient, HubClientEvents, Subscription} from '../../src/core/hub-client/hub-client.js'
import {FakeNetwork} from './fake-network.js'
import '../shared/node-webrtc.js'

const identity = await createIdentity()

/** A hub client whose stream never opens by itself; broadcasts are recorded, and fail while `failing`. */
class SilentHub extends Emitter<HubClientEvents> {
  readonly posts: string[] = []
  failing = false
  readonly stats = {hubs: {'http://silent-hub': {state: 'connecting'}}, duplicatesDropped: 0, malformedDropped: 0}
  subscribe(channels: readonly string[]): Subscription {
    return {channels, ready: new Promise(() => {}), close: () => {}}
  }
  broadcast(channel: string): Promise<void> {
    this.posts.push(channel)
    return this.failing ? Promise.reject(P2PError.HUB_UNREACHABLE('no hub')) : Promise.resolve()
  }
  open(): void {
    this.emit('open', 'http://silent-hub')
  }
}

function swarmOn(hub: SilentHub, clock: VirtualClock, network?: FakeNetwork) {
  const swarm = new Swarm({
    room: 'first-announce', hubClient: hub as unknown as HubClient, clock, pool: null, identity, network,
    budget: new ConnectionBudget({clock}), bans: new BanList({clock}), announceInterval: {min: 1000, max: 8000},
  })
  const errors: Error[] = []
  swarm.on('error', err => errors.push(err))
  return {swarm, errors}
}

/** Lets the swarm's rejected posts settle. */
const settle = () => new Promise(resolve => setImmediate(resolve))

test('a swarm whose hub stream never opens still announces, once three minimum intervals have passed', () => {
  const clock = new VirtualClock(() => 0.5)
  const hub = new SilentHub()
  const {swarm} = swarmOn(hub, clock)
  try {
    assert.deepEqual(hub.posts, [], 'nothing at once: an open stream restarts the announcements anyway')
    clock.run(2999)
    assert.deepEqual(hub.posts, [], 'offers answering an announcement would be lost before our stream opens')
    clock.run(3000)
    assert.deepEqual(hub.posts, ['all'])
    assert.equal(swarm.stats.announcesSent, 1)
  } finally {
    swarm.destroy()
  }
})

test('failed announcements before any stream opened are not reported; after one opened, they are', async () => {
  const clock = new VirtualClock(() => 0.5)
  const hub = new SilentHub()
  hub.failing = true
  const {swarm, errors} = swarmOn(hub, clock)
  try {
    clock.run(10_000)
    await settle()
    assert.ok(hub.posts.length >= 3, `announced ${hub.posts.length} times`)
    assert.deepEqual(errors, [])

    hub.open()
    await settle()
    assert.equal(errors.length, 1)
    assert.equal((errors[0] as P2PError).code, 'ERR_HUB_UNREACHABLE')
  } finally {
    swarm.destroy()
  }
})

test('back online, a swarm announces when its stream reopens, not before', () => {
  const clock = new VirtualClock(() => 0.5)
  const hub = new SilentHub()
  const network = new FakeNetwork()
  const {swarm} = swarmOn(hub, clock, network)
  try {
    hub.open()
    assert.equal(hub.posts.length, 1, 'the first announcement, when the stream opened')
    network.set(false)
    clock.advance(60_000)
    assert.equal(hub.posts.length, 1, 'nothing while offline')
    network.set(true)
    clock.advance(2999)
    assert.equal(hub.posts.length, 1, 'offers answering an announcement would be lost before the stream reopens')
    hub.open()
    assert.deepEqual(hub.posts, ['all', 'all'], 'announced as the stream reopened')
  } finally {
    swarm.destroy()
  }
})

test('back online, a swarm whose stream does not reopen announces anyway, once three minimum intervals have passed', () => {
  const clock = new VirtualClock(() => 0.5)
  const hub = new SilentHub()
  const network = new FakeNetwork()
  const {swarm} = swarmOn(hub, clock, network)
  try {
    hub.open()
    network.set(false)
    clock.advance(60_000)
    network.set(true)
    clock.advance(2999)
    assert.equal(hub.posts.length, 1)
    clock.advance(1)
    assert.deepEqual(hub.posts, ['all', 'all'])
  } finally {
    swarm.destroy()
  }
})
