import {describe, test} from 'node:test'
import assert from 'node:assert/strict'
import {ConnectionBudget, pageBudget} from '../../src/core/swarm/budget.js'
import {VirtualClock} from '../../src/core/gossip/simulation.js'
import type {P2PError} from '../../src/core/errors.js'

/** What the budget touches of an RTCPeerConnection: its signalling state and close(). */
class FakePc {
  signalingState: RTCSignalingState = 'stable'
  closes = 0
  close(): void {
    this.closes++
    this.signalingState = 'closed'
  }
}
const fake = () => new FakePc() as unknown as RTCPeerConnection & FakePc

describe('ConnectionBudget', () => {
  test('counts created, open and closed; refuses at the limit with ERR_CONNECTION_BUDGET', () => {
    const budget = new ConnectionBudget({limit: 2})
    let updates = 0
    budget.on('update', () => updates++)
    const one = budget.take(fake)
    const two = budget.take(fake)
    assert.deepEqual(budget.stats, {limit: 2, created: 2, open: 2, closed: 0, refused: 0, reserved: 0, paced: 0})
    assert.equal(budget.remaining, 0)
    let made = 0
    assert.throws(() => budget.take(() => { made++; return fake() }), (err: P2PError) => err.code === 'ERR_CONNECTION_BUDGET')
    assert.equal(made, 0, 'a refused connection is never created')
    one.ticket.close()
    one.ticket.close()
    assert.equal(one.pc.closes, 1, 'the ticket closes its connection once')
    // Closing gives back an open slot, not budget: the cap is on connections created over the page's life.
    assert.deepEqual(budget.stats, {limit: 2, created: 2, open: 1, closed: 1, refused: 1, reserved: 0, paced: 0})
    assert.throws(() => budget.take(fake), {code: 'ERR_CONNECTION_BUDGET'})
    two.ticket.close()
    assert.deepEqual(budget.stats, {limit: 2, created: 2, open: 0, closed: 2, refused: 2, reserved: 0, paced: 0})
    assert.ok(updates >= 6)
  })

  test('a connection closed already is counted closed without closing it again', () => {
    const budget = new ConnectionBudget({limit: 1})
    const {pc, ticket} = budget.take(fake)
    pc.close()
    ticket.close()
    assert.equal(pc.closes, 1)
    assert.equal(budget.stats.closed, 1)
  })

  test("a connection Node's polyfill closed already (signalingState left as it was) is not closed again", () => {
    // The polyfill frees the native connection on close(); a second close() reached a newer
    // connection (a glare's new one). Its close() leaves signalingState and says so in connectionState.
    const polyfilled = () => Object.assign(fake(), {
      connectionState: 'new' as RTCPeerConnectionState,
      close(this: FakePc & {connectionState: RTCPeerConnectionState}) {
        this.closes++
        this.connectionState = 'closed'
      },
    })
    const budget = new ConnectionBudget({limit: 1})
    const {pc, ticket} = budget.take(polyfilled)
    pc.close()
    ticket.close()
    assert.equal(pc.closes, 1, 'closed once')
    assert.equal(pc.signalingState, 'stable')
    assert.equal(budget.stats.closed, 1)
  })

  test('a connection that refuses to close is not counted closed', () => {
    const budget = new ConnectionBudget({limit: 1})
    const stubborn = Object.assign(fake(), {close() {}})
    budget.take(() => stubborn).ticket.close()
    assert.deepEqual(budget.stats, {limit: 1, created: 1, open: 1, closed: 0, refused: 0, reserved: 0, paced: 0})
  })

  test("the browser's own refusal becomes ERR_CONNECTION_BUDGET, with the cause, and is not counted as created", () => {
    const budget = new ConnectionBudget({limit: 10})
    const cause = new Error('Cannot create so many PeerConnections')
    assert.throws(() => budget.take(() => { throw cause }), (err: P2PError) => err.code === 'ERR_CONNECTION_BUDGET' && err.cause === cause)
    assert.deepEqual(budget.stats, {limit: 10, created: 0, open: 0, closed: 0, refused: 1, reserved: 2, paced: 0})
  })

  test('the limit can be changed, and must be a whole number or Infinity', () => {
    const budget = new ConnectionBudget({limit: 0})
    assert.throws(() => budget.take(fake), {code: 'ERR_CONNECTION_BUDGET'})
    budget.limit = 1
    budget.take(fake)
    budget.limit = Infinity
    assert.equal(budget.remaining, Infinity)
    for (const bad of [-1, 1.5, NaN, '3' as unknown as number]) {
      assert.throws(() => { budget.limit = bad }, {code: 'ERR_INVALID_ARGUMENT'})
      assert.throws(() => new ConnectionBudget({limit: bad}), {code: 'ERR_INVALID_ARGUMENT'})
    }
  })

  test('outside a browser the page budget is unlimited and unpaced: a bot may run for months', () => {
    assert.equal(pageBudget.limit, Infinity)
    for (let i = 0; i < 1000; i++) pageBudget.take(fake).ticket.close()
    assert.equal(pageBudget.stats.paced, 0)
  })
})

describe('ConnectionBudget: pacing and the reserve', () => {
  /** A budget on a virtual clock the test moves. */
  function clocked(opts: ConstructorParameters<typeof ConnectionBudget>[0] = {}) {
    const clock = new VirtualClock()
    return {clock, budget: new ConnectionBudget({clock, ...opts})}
  }

  test('untrusted connections come in a burst, then at dialsPerMinute; refusals are ERR_RATE_LIMITED and counted', () => {
    const {clock, budget} = clocked({limit: 1000, dialsPerMinute: 30, dialBurst: 5})
    for (let i = 0; i < 5; i++) budget.take(fake)
    let made = 0
    assert.throws(() => budget.take(() => { made++; return fake() }), {code: 'ERR_RATE_LIMITED'})
    assert.equal(made, 0, 'a paced connection is never created')
    assert.equal(budget.stats.paced, 1)
    clock.advance(1999)
    assert.throws(() => budget.take(fake), {code: 'ERR_RATE_LIMITED'})
    clock.advance(1)
    budget.take(fake)
    // A minute of asking every 100 ms gets 30 connections.
    let got = 0
    for (let i = 0; i < 600; i++) {
      clock.advance(100)
      try {
        budget.take(fake)
        got++
      } catch (err) {
        assert.equal((err as P2PError).code, 'ERR_RATE_LIMITED')
      }
    }
    assert.equal(got, 30)
    assert.equal(budget.stats.created, 5 + 1 + 30)
  })

  test('trusted connections (keys the page met) are not paced and may spend the reserve', () => {
    const {budget} = clocked({limit: 10, dialBurst: 2})
    assert.equal(budget.reserved, 2)
    budget.take(fake)
    budget.take(fake)
    assert.throws(() => budget.take(fake), {code: 'ERR_RATE_LIMITED'})
    for (let i = 0; i < 8; i++) budget.take(fake, true)
    assert.equal(budget.stats.created, 10)
    assert.throws(() => budget.take(fake, true), {code: 'ERR_CONNECTION_BUDGET'})
  })

  test('untrusted connections stop at the reserve', () => {
    const {budget} = clocked({limit: 10, dialsPerMinute: Infinity})
    for (let i = 0; i < 8; i++) budget.take(fake)
    assert.throws(() => budget.take(fake), (err: P2PError) => err.code === 'ERR_CONNECTION_BUDGET' && err.message.includes('kept for peers it knows'))
    assert.equal(budget.stats.refused, 1)
    budget.take(fake, true)
    budget.take(fake, true)
    assert.equal(budget.remaining, 0)
  })

  test('a key the page met is known for a day, then forgotten', () => {
    const {clock, budget} = clocked()
    const key = 'ab'.repeat(32)
    assert.equal(budget.knows(key), false)
    budget.met(key)
    assert.equal(budget.knows(key), true)
    clock.advance(24 * 60 * 60_000)
    assert.equal(budget.knows(key), false)
  })

  test('pacing and reserve options are checked', () => {
    for (const bad of [{reserve: -0.1}, {reserve: 1.5}, {reserve: NaN}, {dialsPerMinute: 0}, {dialsPerMinute: NaN}, {dialBurst: 0.5}]) {
      assert.throws(() => new ConnectionBudget(bad), {code: 'ERR_INVALID_ARGUMENT'}, JSON.stringify(bad))
    }
  })
})
