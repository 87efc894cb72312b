// Swarm.state, what a user is shown about the hubs, follows its hub client's
// per-hub state and failures and the network status. A fake client plays the hubs.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {Swarm, type SwarmState} from '../../src/core/swarm/swarm.js'
import {createIdentity} from '../../src/core/crypto/identity.js'
import {FakeNetwork} from './fake-network.js'
import {Emitter} from '../../src/core/emitter.js'
import {P2PError} from '../../src/core/errors.js'
import {BanList} from '../../src/core/swarm/bans.js'
import {ConnectionBudget} from '../../src/core/swarm/budget.js'
import type {HubClient, HubClientEvents, HubState, Subscription} from '../../src/core/hub-client/hub-client.js'
import '../shared/node-webrtc.js'

const identity = await createIdentity()

/** Hubs whose streams open, fail and are lost when the test says so. */
class FakeHubs extends Emitter<HubClientEvents> {
  readonly stats: {hubs: Record<string, {state: HubState}>}
  constructor(urls: string[]) {
    super()
    this.stats = {hubs: Object.fromEntries(urls.map(url => [url, {state: 'connecting' as HubState}]))}
  }
  subscribe(channels: readonly string[]): Subscription {
    return {channels, ready: new Promise(() => {}), close: () => {}}
  }
  broadcast(): Promise<void> {
    return Promise.resolve()
  }
  pause(): void {}
  resume(): void {}
  destroy(): void {}
  /** As HubClient does: the state changes, `open` or `lost`, then `update`. */
  set(url: string, state: HubState): void {
    const before = this.stats.hubs[url].state
    this.stats.hubs[url].state = state
    if (state === 'open') this.emit('open', url)
    else if (before === 'open') this.emit('lost', url)
    this.emit('update')
  }
  /** A stream failed: the client retries, so the hub is `connecting` again. */
  fail(url: string): void {
    if (this.stats.hubs[url].state === 'open') this.set(url, 'connecting')
    this.emit('error', P2PError.HUB_UNREACHABLE(`cannot reach ${url}`))
  }
  /** What the client emits when a subscriber's onMessage throws. */
  callbackThrew(err: Error): void {
    this.emit('error', err)
  }
}

function swarmOn(urls: string[]) {
  const hubs = new FakeHubs(urls)
  const network = new FakeNetwork()
  const swarm = new Swarm({
    room: 'state', hubClient: hubs as unknown as HubClient, network, pool: null, identity,
    budget: new ConnectionBudget(), bans: new BanList(),
  })
  swarm.on('error', () => {})
  // The states as `update` shows them, each change once.
  const seen: SwarmState[] = [swarm.state]
  swarm.on('update', () => {
    if (seen.at(-1) !== swarm.state) seen.push(swarm.state)
  })
  return {hubs, network, swarm, seen}
}

test('one hub: connecting, then online once its stream opens, hub-unreachable when it fails, online again', () => {
  const {hubs, swarm, seen} = swarmOn(['http://a'])
  try {
    assert.equal(swarm.state, 'connecting')
    hubs.set('http://a', 'open')
    hubs.fail('http://a')
    hubs.fail('http://a')
    hubs.set('http://a', 'open')
    assert.deepEqual(seen, ['connecting', 'online', 'hub-unreachable', 'online'])
  } finally {
    swarm.destroy()
  }
})

test('a hub that never opens is hub-unreachable from its first failure on', () => {
  const {hubs, swarm, seen} = swarmOn(['http://dead'])
  try {
    hubs.fail('http://dead')
    assert.deepEqual(seen, ['connecting', 'hub-unreachable'])
  } finally {
    swarm.destroy()
  }
})

test('several hubs: online while any stream is open, hub-unreachable when none is and one failed', () => {
  const {hubs, swarm, seen} = swarmOn(['http://a', 'http://b'])
  try {
    hubs.fail('http://b')
    hubs.set('http://a', 'open')
    hubs.fail('http://b')
    assert.equal(swarm.state, 'online')
    hubs.fail('http://a')
    assert.deepEqual(seen, ['connecting', 'hub-unreachable', 'online', 'hub-unreachable'])
  } finally {
    swarm.destroy()
  }
})

test('offline wins over the hubs; back online, the swarm is connecting until a stream opens again', () => {
  const {hubs, network, swarm, seen} = swarmOn(['http://a'])
  try {
    hubs.fail('http://a')
    network.set(false)
    hubs.set('http://a', 'closed')
    network.set(true)
    hubs.set('http://a', 'open')
    assert.deepEqual(seen, ['connecting', 'hub-unreachable', 'offline', 'connecting', 'online'])
  } finally {
    swarm.destroy()
  }
})

test('an error that is not a stream failure (a subscriber callback throwing) leaves the state alone', () => {
  const {hubs, swarm} = swarmOn(['http://a'])
  try {
    hubs.callbackThrew(new TypeError('a callback threw'))
    assert.equal(swarm.state, 'connecting')
  } finally {
    swarm.destroy()
  }
})
