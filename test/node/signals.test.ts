// Signalling order and stale signals, with real WebRTC in Node (node-datachannel):
// the hub keeps no order between two POSTs, and a glare leaves the losing offer's
// candidates in flight. Connections follow one attempt of the remote's each.
import {afterEach, test} from 'node:test'
import assert from 'node:assert/strict'
import type {RtcSignal} from '../../src/core/swarm/rtc-link.js'
import '../shared/node-webrtc.js'
import {PeerConnection} from '../../src/core/swarm/peer-connection.js'
import {ConnectionBudget} from '../../src/core/swarm/budget.js'
import {generateIdentity} from '../../src/core/crypto/identity.js'
import {utf8} from '../../src/core/bytes.js'
import {until} from '../shared/until.js'

const budget = new ConnectionBudget({limit: 100})
const connect = (id: string, initiator: boolean) =>
  new PeerConnection({id, initiator, identity: generateIdentity(), rtcConfig: {iceServers: []}, connectTimeout: 10_000, budget})

// A test's connections linger (the goodbye) after it ends: the next test counts closes from a quiet budget.
afterEach(() => until(() => budget.stats.open === 0, 'every connection of the test closed'))

function opened(conn: PeerConnection): Promise<void> {
  return new Promise((resolve, reject) => {
    conn.once('open', () => resolve())
    conn.once('close', err => reject(err ?? new Error('closed')))
  })
}

/** The candidates `conn` trickles, once it has at least one. */
async function candidatesOf(conn: PeerConnection): Promise<RtcSignal[]> {
  const out: RtcSignal[] = []
  conn.on('signal', s => { if (s.candidate) out.push(s) })
  await until(() => out.length > 0, 'a candidate')
  return out
}

test("an abandoned attempt's candidates, come before the answer, are held and then dropped", async () => {
  // The glare's loser first offered (`dead`), then answered the winner's offer (`b`).
  const dead = connect('a', true)
  const stale = await candidatesOf(dead)
  const a = connect('b', true)
  const b = connect('a', false)
  try {
    a.on('signal', s => b.signal(s, a.attempt))
    b.on('signal', s => {
      // The dead attempt's candidates overtake the answer.
      for (const c of stale.splice(0)) a.signal(c, dead.attempt)
      a.signal(s, b.attempt)
    })
    await Promise.all([opened(a), opened(b)])
    assert.ok(a.staleCandidates >= 1, 'the dead attempt\'s candidates were dropped, not fed to the connection')
    assert.equal(b.staleCandidates, 0)
  } finally {
    for (const c of [a, b, dead]) c.destroy()
  }
})

test('candidates that overtake their offer wait in the connection, and are fed once the offer comes', async () => {
  const a = connect('b', true)
  const b = connect('a', false)
  const fromA: RtcSignal[] = []
  let direct = false
  try {
    a.on('signal', s => direct ? b.signal(s, a.attempt) : fromA.push(s))
    b.on('signal', s => a.signal(s, b.attempt))
    await until(() => fromA.some(s => s.type === 'offer') && fromA.some(s => s.candidate), 'an offer and a candidate')
    // Every candidate so far reaches B before the offer does.
    const candidates = fromA.filter(s => s.candidate)
    for (const c of candidates) b.signal(c, a.attempt)
    const held = b.takeEarlyCandidates()
    assert.equal(held.length, candidates.length, 'held, not fed, while the offer is not there')
    // Given back, as a swarm hands them to the connection that answers the offer.
    for (const c of held) b.signal(c.signal, c.attempt)
    for (const s of fromA.filter(s => !s.candidate)) b.signal(s, a.attempt)
    direct = true
    await Promise.all([opened(a), opened(b)])
    assert.equal(b.staleCandidates, 0)
  } finally {
    for (const c of [a, b]) c.destroy()
  }
})

// The budget's guard against closing twice is checked on its own in budget.test.ts; here, with real connections.
test('a connection made and dropped while a pair lives leaves the pair connected, and each is counted closed once', async () => {
  const before = budget.stats
  const a = connect('b', true)
  const b = connect('a', false)
  a.on('signal', s => b.signal(s, a.attempt))
  b.on('signal', s => a.signal(s, b.attempt))
  await Promise.all([opened(a), opened(b)])
  // A third connection is made and dropped while the pair lives, as in a glare.
  const third = connect('c', true)
  await candidatesOf(third)
  third.destroy()
  await until(() => budget.stats.closed - before.closed === 1, 'the third connection closed')
  // The sentinel: a message over the pair, sent after the third's close, arrives.
  const arrived = new Promise(resolve => b.channel('test/signals/1', {onmessage: resolve}))
  a.channel('test/signals/1', {onmessage() {}}).send(utf8('still connected'))
  await arrived
  assert.equal(a.state, 'connected')
  assert.equal(a.rtc.connectionState, 'connected', 'the pair was not closed by the third\'s close')
  a.destroy()
  b.destroy()
  // A goodbye lingers until the data channel closes (or 1.5 s), then the connection goes.
  await until(() => budget.stats.closed - before.closed >= 3, 'three connections closed')
  const after = budget.stats
  assert.equal(after.created - before.created, 3)
  assert.equal(after.closed - before.closed, 3, 'each counted closed once')
})
