// Signalling order and stale signals, with real WebRTC in Node (node-datachannel):
// the hub keeps no order between two POSTs, and a glare leaves the losing offer's
// candidates in flight. Connections follow one attempt of the remote's each.
import {afterEach, test} from 'node:test'
import assert from 'node:assert/strict'
import type {RtcSignal} from '../../src/core/swarm/rtc-link.js'
import '../shared/node-webrtc.js'
import {PeerConnection} from '../../src/core/swarm/peer-connection.js'
import {ConnectionBudget} from '../../src/core/swarm/budget.js'
import {KeyPairIdentity} from '../../src/core/crypto/seed-identity.js'
import {randomBytes, toHex, utf8} from '../../src/core/bytes.js'
import {until} from '../shared/until.js'
import {Swarm} from '../../src/core/swarm/swarm.js'
import {encodeSignal} from '../../src/core/swarm/messages.js'
import {Emitter} from '../../src/core/emitter.js'
import type {HubClient, HubClientEvents, Subscription} from '../../src/core/hub-client/hub-client.js'

/** What a swarm uses of a hub client: records its posts, delivers what the test hands it. */
class RecordingHub extends Emitter<HubClientEvents> {
  readonly posts: unknown[] = []
  #deliver: ((data: unknown) => void) | null = null
  subscribe(channels: readonly string[], onMessage: (data: unknown) => void): Subscription {
    this.#deliver = onMessage
    return {channels, ready: Promise.resolve(), close: () => { this.#deliver = null }}
  }
  broadcast(_channel: string, body: unknown): Promise<void> {
    this.posts.push(body)
    return Promise.resolve()
  }
  deliver(data: unknown): void {
    this.#deliver?.(data)
  }
}

const budget = new ConnectionBudget({limit: 100})
const connect = (id: string, initiator: boolean) =>
  new PeerConnection({id, initiator, identity: new KeyPairIdentity(), rtcConfig: {iceServers: []}, connectTimeout: 10_000, budget})

// A test's connections linger (the goodbye) after it ends: the next test counts closes from a quiet budget.
afterEach(() => until(() => budget.stats.open === 0, 'every connection of the test closed'))

function opened(conn: PeerConnection): Promise<void> {
  return new Promise((resolve, reject) => {
    conn.once('open', () => resolve())
    conn.once('close', err => reject(err ?? new Error('closed')))
  })
}

/** Resolves with `conn`'s offer. */
function offerOf(conn: PeerConnection): Promise<RtcSignal> {
  return new Promise(resolve => conn.on('signal', s => { if (s.type === 'offer') resolve(s) }))
}

/**
 * The candidates `offerer` trickles, once it has at least one. A Node offerer
 * sends them only once its answer is set (src/node/webrtc.ts), so a responder
 * made for the purpose answers it, and goes.
 */
async function candidatesOf(offerer: PeerConnection): Promise<RtcSignal[]> {
  const out: RtcSignal[] = []
  const responder = connect(offerer.id, false)
  try {
    offerer.on('signal', s => s.candidate ? out.push(s) : responder.signal(s, offerer.attempt))
    responder.on('signal', s => offerer.signal(s, responder.attempt))
    await until(() => out.length > 0, 'a candidate')
  } finally {
    responder.destroy()
  }
  return out
}

/** The candidates node-datachannel's connection has gathered, whether or not it has sent them yet. */
const gatheredBy = (conn: PeerConnection) => (conn.rtc as unknown as {ext_localCandidates: RTCIceCandidate[]}).ext_localCandidates

test("an abandoned attempt's candidates, come before the answer, are held and then dropped", async () => {
  // The glare's loser first offered (`dead`), then answered the winner's offer (`b`).
  // Its dead attempt's candidates are real ones, from an answer it had.
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
  try {
    const offer = await offerOf(a)
    // A browser trickles its candidates as it gathers them, and they may overtake
    // its offer; a Node offerer sends its own only once answered. A's, as a browser sends them:
    await until(() => gatheredBy(a).length > 0, 'a candidate gathered')
    const candidates = gatheredBy(a).map(c => ({type: 'candidate' as const, candidate: {candidate: c.candidate, sdpMid: c.sdpMid, sdpMLineIndex: 0}}))
    for (const c of candidates) b.signal(c, a.attempt)
    const held = b.takeEarlyCandidates()
    assert.equal(held.length, candidates.length, 'held, not fed, while the offer is not there')
    const answerSet = new Promise<void>(resolve => a.on('signal', s => {
      b.signal(s, a.attempt)
      if (s.candidate) resolve()
    }))
    b.on('signal', s => a.signal(s, b.attempt))
    b.signal(offer, a.attempt)
    // Given back, as a swarm hands them to the connection that answers the offer;
    // here once A's answer is set, as A's own come: given earlier, B could check A
    // while A sets its answer, libdatachannel's race (src/node/webrtc.ts).
    await answerSet
    for (const c of held) b.signal(c.signal, c.attempt)
    await Promise.all([opened(a), opened(b)])
    assert.equal(b.staleCandidates, 0)
  } finally {
    for (const c of [a, b]) c.destroy()
  }
})

test('an answer to an offer we gave up is dropped, and the answer to our new offer connects', async () => {
  // A's first attempt (`gaveUp`) was answered, but the hub brought that answer only
  // after A had given the attempt up and offered again.
  const gaveUp = connect('b', true)
  const late = connect('a', false)
  const staleAnswer = await new Promise<RtcSignal>(resolve => {
    late.on('signal', s => { if (s.type === 'answer') resolve(s) })
    gaveUp.on('signal', s => late.signal(s, gaveUp.attempt))
  })
  gaveUp.destroy()
  late.destroy()
  const a = connect('b', true)
  const b = connect('a', false)
  try {
    a.on('signal', s => b.signal(s, a.attempt))
    b.on('signal', s => {
      // The stale answer overtakes the right one, naming the offer it answers, as swarms send it.
      if (s.type === 'answer') a.signal(staleAnswer, late.attempt, gaveUp.attempt)
      a.signal(s, b.attempt, s.type === 'answer' ? a.attempt : undefined)
    })
    await Promise.all([opened(a), opened(b)])
    assert.equal(a.staleAnswers, 1, 'the answer to the abandoned offer was dropped')
  } finally {
    for (const c of [a, b]) c.destroy()
  }
})

test("a swarm's answer names the attempt of the offer it answers", async () => {
  const hub = new RecordingHub()
  const swarm = new Swarm({room: 'signals', hubClient: hub as unknown as HubClient, pool: null, budget, identity: new KeyPairIdentity(), announceInterval: {min: 60_000, max: 60_000}})
  const remote = toHex(randomBytes(10))
  const offerer = connect(swarm.id, true)
  try {
    offerer.on('signal', s => { if (s.type === 'offer') hub.deliver(encodeSignal(remote, swarm.id, s, offerer.attempt)) })
    await until(() => hub.posts.some(p => (p as {signal?: RtcSignal}).signal?.type === 'answer'), 'the swarm answered')
    const answer = hub.posts.find(p => (p as {signal?: RtcSignal}).signal?.type === 'answer') as {answers?: string, attempt?: string}
    assert.equal(answer.answers, offerer.attempt)
    assert.equal(answer.attempt, (swarm.connections[0] as PeerConnection | undefined)?.attempt)
  } finally {
    offerer.destroy()
    swarm.destroy()
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
  await offerOf(third)
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
