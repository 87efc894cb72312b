// The swarm's timing runs on the clock it is given: announcements back off,
// connection attempts time out, and unanswered ids and paced dials wait, all on
// a VirtualClock that the test moves, against a fake hub client that records
// what the swarm posts. Real WebRTC (node-datachannel) for the connections.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {Swarm} from '../../src/core/swarm/swarm.js'
import {createIdentity} from '../../src/core/crypto/identity.js'
import {ConnectionBudget} from '../../src/core/swarm/budget.js'
import {BanList} from '../../src/core/swarm/bans.js'
import {VirtualClock} from '../../src/core/gossip/simulation.js'
import {Emitter} from '../../src/core/emitter.js'
import type {HubClient, HubClientEvents, Subscription} from '../../src/core/hub-client/hub-client.js'
import type {Clock} from '../../src/core/clock.js'
import type {P2PError} from '../../src/core/errors.js'
import {randomBytes, toHex} from '../../src/core/bytes.js'
import '../shared/node-webrtc.js'

const identity = await createIdentity()

/** What a swarm uses of a hub client; each post is kept with the clock's time. */
class FakeHub extends Emitter<HubClientEvents> {
  readonly posts: Array<{channel: string, body: unknown, at: number}> = []
  #deliver: ((data: unknown) => void) | null = null
  constructor(readonly clock: Clock) {
    super()
  }
  subscribe(channels: readonly string[], onMessage: (data: unknown) => void): Subscription {
    this.#deliver = onMessage
    return {channels, ready: Promise.resolve(), close: () => { this.#deliver = null }}
  }
  broadcast(channel: string, body: unknown): Promise<void> {
    this.posts.push({channel, body, at: this.clock.now()})
    return Promise.resolve()
  }
  open(): void {
    this.emit('open', 'http://fake-hub')
  }
  deliver(data: unknown): void {
    this.#deliver?.(data)
  }
  /** When the swarm announced itself. */
  get announcedAt(): number[] {
    return this.posts.filter(p => p.channel === 'all').map(p => p.at)
  }
}

function swarmOn(clock: VirtualClock, opts: {announceInterval?: {min: number, max: number}, budget?: ConnectionBudget, connectTimeout?: number} = {}) {
  const hub = new FakeHub(clock)
  const errors: P2PError[] = []
  const swarm = new Swarm({
    room: 'clock', hubClient: hub as unknown as HubClient, clock, pool: null, identity,
    budget: opts.budget ?? new ConnectionBudget({clock}), bans: new BanList({clock}), ...opts,
  })
  swarm.on('error', err => errors.push(err))
  return {hub, swarm, errors}
}

const hubId = () => toHex(randomBytes(10))

test('announcements back off on the swarm\'s clock, doubling up to max, jittered by its random draw', () => {
  // Every draw 0.5: each wait is three quarters of its step of the back-off.
  const clock = new VirtualClock(() => 0.5)
  const {hub, swarm} = swarmOn(clock, {announceInterval: {min: 1000, max: 8000}})
  try {
    hub.open()
    clock.run(40_000)
    const at = hub.announcedAt
    const gaps = at.slice(1).map((t, i) => t - at[i])
    assert.deepEqual(gaps.slice(0, 7), [750, 1500, 3000, 6000, 6000, 6000, 6000])
    assert.equal(at[0], 0, 'the first announcement goes out when the hub opens')
    assert.equal(swarm.stats.announcesSent, at.length)
  } finally {
    swarm.destroy()
  }
})

test('an attempt times out and the budget paces, each for as long as the clock says', () => {
  const clock = new VirtualClock()
  // One untrusted dial a minute, none in reserve.
  const budget = new ConnectionBudget({clock, limit: 100, reserve: 0, dialBurst: 1, dialsPerMinute: 1})
  const {hub, swarm, errors} = swarmOn(clock, {budget, connectTimeout: 5000})
  const a = hubId()
  const b = hubId()
  const announce = (from: string) => hub.deliver({type: 'connect', from})
  try {
    announce(a)
    assert.equal(swarm.stats.connectionsCreated, 1, 'a is offered a connection')
    announce(b)
    assert.equal(budget.stats.paced, 1, 'b waits: the burst is spent')

    clock.run(5000)
    assert.equal(swarm.stats.timeouts, 1, "a's attempt timed out on the swarm's clock")
    assert.equal(errors[0]?.code, 'ERR_CONNECTION_FAILED')
    assert.equal(swarm.connections.length, 0)

    clock.run(59_999)
    announce(b)
    assert.equal(budget.stats.paced, 2, 'b still waits just before a minute')
    clock.run(60_000)
    announce(b)
    assert.equal(swarm.stats.connectionsCreated, 2, 'a minute on, the budget lets b be dialled')
    clock.run(65_000)
    assert.equal(swarm.stats.timeouts, 2)
  } finally {
    swarm.destroy()
  }
})

test('a hub id that leaves our offers unanswered waits for the next, 5 s first, doubling up to two minutes', () => {
  const clock = new VirtualClock()
  const budget = new ConnectionBudget({clock, reserve: 0, dialBurst: 1000, dialsPerMinute: 1e6})
  const {hub, swarm} = swarmOn(clock, {budget, connectTimeout: 1000})
  const a = hubId()
  const announce = () => hub.deliver({type: 'connect', from: a})
  /** Lets the attempt time out, then announces `a` every second until it is offered another: how long it waited. */
  const quietAfterTimeout = (): number => {
    clock.run(clock.now() + 1000)
    assert.equal(swarm.connections.length, 0, 'the attempt timed out')
    const from = clock.now()
    for (;;) {
      const refused = swarm.stats.paced
      announce()
      if (swarm.stats.paced === refused) return clock.now() - from
      clock.run(clock.now() + 1000)
    }
  }
  try {
    announce()
    const quiets: number[] = []
    for (let i = 1; i <= 7; i++) {
      assert.equal(swarm.stats.connectionsCreated, i, 'a is offered a connection')
      quiets.push(quietAfterTimeout())
    }
    assert.deepEqual(quiets, [5000, 10_000, 20_000, 40_000, 80_000, 120_000, 120_000])
    assert.equal(budget.stats.paced, 0, 'the waits were the swarm\'s, not the budget\'s')
  } finally {
    swarm.destroy()
  }
})

test('an id that signalled us while our offer went unanswered is offered another at its next announcement', () => {
  const clock = new VirtualClock()
  const budget = new ConnectionBudget({clock, reserve: 0, dialBurst: 1000, dialsPerMinute: 1e6})
  const {hub, swarm} = swarmOn(clock, {budget, connectTimeout: 1000})
  const a = hubId()
  const b = hubId()
  const announce = (from: string) => hub.deliver({type: 'connect', from})
  // A candidate of a's own offer, whose offer the hub lost: a is there.
  const candidate = {candidate: 'candidate:1 1 udp 2122260223 127.0.0.1 9 typ host', sdpMid: '0', sdpMLineIndex: 0}
  try {
    announce(a)
    announce(b)
    assert.equal(swarm.stats.connectionsCreated, 2)
    hub.deliver({from: a, to: swarm.id, signal: {candidate}, attempt: '0123456789abcdef'})
    clock.run(1000)
    assert.equal(swarm.connections.length, 0, 'both attempts timed out')
    announce(a)
    announce(b)
    assert.equal(swarm.stats.connectionsCreated, 3, 'a, which signalled, is offered another; b is quiet')
    assert.equal(swarm.stats.paced, 1)
  } finally {
    swarm.destroy()
  }
})

test('an offer the hub lost is made again when its id announces again: 8 s after it was posted, doubling per lost offer', () => {
  const clock = new VirtualClock()
  const budget = new ConnectionBudget({clock, reserve: 0, dialBurst: 1000, dialsPerMinute: 1e6})
  const {hub, swarm} = swarmOn(clock, {budget, connectTimeout: 120_000})
  const a = hubId()
  const announce = () => hub.deliver({type: 'connect', from: a})
  /** Announces `a` every 500 ms until it is offered again: how long after the last offer. */
  const reofferedAfter = (): number => {
    const from = clock.now()
    const created = swarm.stats.connectionsCreated
    for (;;) {
      clock.run(clock.now() + 500)
      announce()
      if (swarm.stats.connectionsCreated > created) return clock.now() - from
    }
  }
  try {
    announce()
    assert.equal(swarm.stats.connectionsCreated, 1, 'a is offered a connection')
    const waits = [reofferedAfter(), reofferedAfter(), reofferedAfter()]
    assert.deepEqual(waits, [8000, 16_000, 32_000])
    assert.equal(swarm.stats.reoffers, 3)
    assert.equal(swarm.connections.length, 1, 'each new offer replaced the lost one')
    assert.equal(swarm.stats.timeouts, 0)
  } finally {
    swarm.destroy()
  }
})

test('in a glare we win, our offer the hub lost is made again at once; a fresh one is kept', () => {
  const clock = new VirtualClock()
  const budget = new ConnectionBudget({clock, reserve: 0, dialBurst: 1000, dialsPerMinute: 1e6})
  const {hub, swarm} = swarmOn(clock, {budget, connectTimeout: 60_000})
  // The lowest hub id: we keep our offer in a glare with it.
  const a = '0'.repeat(20)
  const offer = (attempt: string) => hub.deliver({from: a, to: swarm.id, signal: {type: 'offer', sdp: 'v=0\r\n'}, attempt})
  try {
    hub.deliver({type: 'connect', from: a})
    assert.equal(swarm.stats.connectionsCreated, 1)
    clock.run(7999)
    offer('1111111111111111')
    assert.equal(swarm.stats.glare, 1)
    assert.equal(swarm.stats.connectionsCreated, 1, 'an offer of ours under 8 s old may still be on its way: kept')
    clock.run(8000)
    offer('2222222222222222')
    assert.equal(swarm.stats.glare, 2)
    assert.equal(swarm.stats.reoffers, 1)
    assert.equal(swarm.stats.connectionsCreated, 2, 'the remote never had our offer: we offer again, and it yields to that one')
    const [conn] = swarm.connections
    assert.equal(conn.initiator, true)
  } finally {
    swarm.destroy()
  }
})
