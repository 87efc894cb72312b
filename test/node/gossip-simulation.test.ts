import {describe, test} from 'node:test'
import assert from 'node:assert/strict'
import {VirtualClock, createRandom, simulate, type SimulationOptions, type SimulationResult} from '../../src/core/gossip/simulation.js'

// The room the issue asks for: 100 peers, degree 6, 200 messages from random
// peers, one peer replaced per second while they are published.
const ROOM: SimulationOptions = {peers: 100, degree: 6, messages: 200, churn: 1}

function assertHonest(result: SimulationResult): void {
  assert.equal(result.deliveryRatio, 1, `delivered ${result.deliveries} of ${result.expectedDeliveries}`)
  assert.equal(result.doubleDeliveries, 0)
  assert.equal(result.muted, 0, 'no honest peer is muted')
  assert.equal(result.dropped, 0, 'no honest peer is dropped')
  assert.equal(result.messages, 200)
  assert.ok(result.leaves >= 5 && result.joins === result.leaves, `churn: ${result.leaves} left, ${result.joins} joined`)
  assert.ok(result.expectedDeliveries > 0.9 * 200 * 99, 'most peers count for most messages')
}

describe('gossip simulation: 100 peers, degree 6, with churn', () => {
  const results = new Map<string, SimulationResult>()
  for (const mode of ['flood', 'plumtree'] as const) {
    for (const seed of [1, 2]) {
      const result = simulate({...ROOM, mode, seed})
      results.set(`${mode}/${seed}`, result)

      test(`${mode}, seed ${seed}: every peer present throughout gets every message exactly once`, () => {
        assertHonest(result)
      })
    }
  }

  test('flooding: each peer receives each message about (degree - 1) times', () => {
    for (const seed of [1, 2]) {
      const result = results.get(`flood/${seed}`)!
      const expected = result.meanDegree - 1
      assert.ok(Math.abs(result.receptionsPerPeerPerMessage - expected) < 0.25,
        `receptions ${result.receptionsPerPeerPerMessage} against mean degree ${result.meanDegree}`)
      assert.ok(result.duplicatesPerPeerPerMessage > 3.5)
      // Flooding sends IHAVEs only over new links, to offer recent messages.
      assert.ok(result.controlPerMessage < 3, `control frames per message ${result.controlPerMessage}`)
      assert.equal(result.prune, 0)
    }
  })

  test('plumtree: at most 1.2 duplicates per peer per message', () => {
    for (const seed of [1, 2]) {
      const result = results.get(`plumtree/${seed}`)!
      assert.ok(result.duplicatesPerPeerPerMessage <= 1.2, `duplicates ${result.duplicatesPerPeerPerMessage}`)
      const flood = results.get(`flood/${seed}`)!
      assert.ok(result.duplicatesPerPeerPerMessage < flood.duplicatesPerPeerPerMessage / 5)
      assert.ok(result.maxHops < 32, 'the default hop limit covers the tree')
    }
  })

  test('the same seed gives the same figures; another seed other ones', () => {
    for (const mode of ['flood', 'plumtree'] as const) {
      assert.deepEqual(simulate({...ROOM, mode, seed: 1}), results.get(`${mode}/1`))
      assert.notDeepEqual(results.get(`${mode}/2`), results.get(`${mode}/1`))
    }
  })

  test('without churn nobody is cut off, and every pair counts', () => {
    const result = simulate({peers: 30, degree: 4, messages: 50, seed: 5})
    assert.equal(result.deliveryRatio, 1)
    assert.equal(result.cutOff, 0)
    assert.equal(result.expectedDeliveries, 50 * 29)
    assert.equal(result.leaves, 0)
  })

  test('a sparse room that churns hard still delivers to everyone who stays connected', () => {
    // Degree 2, a peer replaced every 200 ms: links are often made after a message
    // passed; the recent messages offered over new links make up for it.
    for (const mode of ['flood', 'plumtree'] as const) {
      const result = simulate({peers: 40, degree: 2, maxDegree: 3, messages: 100, churn: 5, seed: 9, mode})
      assert.equal(result.deliveryRatio, 1, `${mode}: ${result.deliveries} of ${result.expectedDeliveries}`)
      assert.equal(result.doubleDeliveries, 0)
    }
  })
})

describe('gossip simulation: building blocks', () => {
  test('the virtual clock runs timers in time order, equal times first-in first-out, and honours cancellation', () => {
    const clock = new VirtualClock()
    const order: string[] = []
    clock.setTimeout(() => order.push('b'), 20)
    clock.setTimeout(() => order.push('a'), 10)
    clock.setTimeout(() => order.push('a2'), 10)
    const cancelled = clock.setTimeout(() => order.push('never'), 15)
    clock.setTimeout(() => clock.setTimeout(() => order.push('nested'), 0), 5)
    clock.clearTimeout(cancelled)
    assert.equal(clock.pending, 4)
    assert.equal(clock.run(12), 4)
    assert.equal(clock.now(), 12)
    clock.run()
    assert.deepEqual(order, ['nested', 'a', 'a2', 'b'])
    assert.equal(clock.now(), 20)
    assert.equal(clock.pending, 0)
  })

  test('the random source is seeded and uniform enough', () => {
    const a = createRandom(42)
    const b = createRandom(42)
    const values = Array.from({length: 10_000}, () => a())
    assert.deepEqual(values.slice(0, 5), Array.from({length: 5}, () => b()))
    assert.ok(values.every(v => v >= 0 && v < 1))
    const mean = values.reduce((sum, v) => sum + v, 0) / values.length
    assert.ok(Math.abs(mean - 0.5) < 0.02)
  })

  test('bad room shapes are refused', () => {
    assert.throws(() => simulate({peers: 1}), {code: 'ERR_INVALID_ARGUMENT'})
    assert.throws(() => simulate({peers: 5, degree: 5}), {code: 'ERR_INVALID_ARGUMENT'})
    assert.throws(() => simulate({degree: 6, maxDegree: 4}), {code: 'ERR_INVALID_ARGUMENT'})
  })
})
