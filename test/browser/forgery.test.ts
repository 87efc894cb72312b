// A stranger on the hub: hub ids are public (every peer announces its own on
// `all`), so anyone may post signals that claim to come from a connected peer.
// None of that may cut, replace or stall a live connection; only a connection
// that proves the same key may replace it.
import {expect} from '@open-wc/testing'
import type {RtcSignal} from '../../src/core/swarm/rtc-link.js'
import type {Swarm, SwarmPeer} from '../../src/core/swarm/swarm.js'
import {PeerConnection} from '../../src/core/swarm/peer-connection.js'
import {HubClient} from '../../src/core/hub-client/hub-client.js'
import {createIdentity, type Identity} from '../../src/core/crypto/identity.js'
import {fromUtf8, randomBytes, toHex, utf8} from '../../src/core/bytes.js'
import {createSwarms, destroyAll, freshRoom, fullMesh, hubUrl, testBudget, until} from './helpers/swarm.js'
import {until as poll} from '../shared/until.js'

const PROTOCOL = 'test/forgery/1'
const attempt = () => toHex(randomBytes(8))

/** A channel on `peer` collecting what arrives as text. */
function inbox(peer: SwarmPeer): {got: string[], send: (text: string) => void} {
  const got: string[] = []
  const channel = peer.channel(PROTOCOL, {onmessage: bytes => got.push(fromUtf8(bytes))})
  return {got, send: text => channel.send(utf8(text))}
}

/** Sends `text` from `from` and waits until `to` has it: the sentinel that everything before it was handled. */
async function roundTrip(swarm: Swarm, from: {send: (t: string) => void}, to: {got: string[]}, text: string): Promise<void> {
  from.send(text)
  await until(swarm, ['update'], () => to.got.includes(text), `"${text}" to arrive`)
}

/** Offers from a real RTCPeerConnection: what a forger would send to look like a peer. */
async function realOffers(n: number): Promise<{sdps: string[], close: () => void}> {
  const pcs = Array.from({length: n}, () => new RTCPeerConnection({iceServers: []}))
  const sdps = await Promise.all(pcs.map(async pc => {
    pc.createDataChannel('p2p/mux/1')
    const offer = await pc.createOffer()
    return offer.sdp!
  }))
  return {sdps, close: () => pcs.forEach(pc => pc.close())}
}

describe('forged signalling from a stranger on the hub', () => {
  let swarms: Swarm[] = []
  const cleanup: Array<() => void> = []
  afterEach(() => {
    destroyAll(swarms)
    swarms = []
    for (const c of cleanup.splice(0)) c()
  })

  it('offers and busy messages claiming a connected peer\'s id leave the connection, its channels and its messages alone', async function () {
    this.timeout(60_000)
    const room = freshRoom()
    const [a, b] = swarms = createSwarms(2, room)
    await fullMesh(swarms)
    const link = a.peers[0]
    const rtc = link.rtc
    const atA = inbox(link)
    const atB = inbox(b.peers[0])
    await roundTrip(a, atB, atA, 'before')

    const offers = await realOffers(4)
    cleanup.push(offers.close)
    const post = (body: unknown) => fetch(`${hubUrl()}/v1/${room}/${a.id}`, {method: 'POST', body: JSON.stringify(body)})
    const ROUNDS = 20
    for (let i = 0; i < ROUNDS; i++) {
      await Promise.all([
        post({from: b.id, to: a.id, signal: {type: 'offer', sdp: offers.sdps[i % offers.sdps.length]}, attempt: attempt()}),
        post({from: b.id, to: a.id, signal: {type: 'offer', sdp: 'v=0\r\nnot an sdp'}, attempt: attempt()}),
        post({type: 'busy', from: b.id, to: a.id}),
        post({type: 'busy', from: b.id, to: a.id, attempt: attempt()}),
      ])
    }
    // A message the swarm counts, posted after the forgeries: the hub keeps their order on A's stream.
    await post([1, 2, 3])
    await until(a, ['update'], () => a.stats.malformed >= 1, 'the message after the forgeries')
    expect(a.peers).to.have.length(1)
    expect(a.peers[0]).to.equal(link, 'the same connection')
    expect(link.rtc).to.equal(rtc)
    expect(link.state).to.equal('connected')
    await roundTrip(a, atB, atA, 'after')
    await roundTrip(b, atA, atB, 'back')
    // Every busy is counted at once; every offer once a newer one replaces it or it fails
    // (the last real-looking one may still be waiting for its timeout).
    await until(a, ['update'], () => a.stats.forgedSignals >= 4 * ROUNDS - 1, 'the forgeries to be counted')
    expect(a.peers[0]).to.equal(link)
    expect(a.stats.busy).to.equal(0)
    expect(b.stats.forgedSignals).to.equal(0)
    expect(testBudget.stats.created).to.be.greaterThan(0)
  })

  it('a busy without our attempt does not drop a pending offer; the real one does', async () => {
    const room = freshRoom()
    const [a] = swarms = createSwarms(1, room)
    const fake = toHex(randomBytes(10))
    const hub = new HubClient({hubs: [hubUrl()], app: room})
    cleanup.push(() => hub.destroy())
    let offer: {attempt: string} | undefined
    const sub = hub.subscribe([fake], data => {
      const m = data as {signal?: RtcSignal, attempt?: string}
      if (m.signal?.type === 'offer' && m.attempt) offer ??= {attempt: m.attempt}
    })
    await Promise.all([sub.ready, a.ready()])
    // Someone announces; A offers to it and waits for an answer.
    await hub.broadcast('all', {type: 'connect', from: fake})
    // The offer reaches the hub client after A's last update: poll.
    await poll(() => offer !== undefined && a.connections.length === 1, 'an offer to the announcer')
    const pending = a.connections[0]
    // A stranger, who cannot see the offer, says the announcer is full.
    await hub.broadcast(a.id, {type: 'busy', from: fake, to: a.id})
    await hub.broadcast(a.id, {type: 'busy', from: fake, to: a.id, attempt: attempt()})
    // A message A counts, sent after them (the hub keeps their order on A's stream): both were handled by then.
    await hub.broadcast(a.id, [1, 2, 3])
    await until(a, ['update'], () => a.stats.malformed === 1, 'the message after the forgeries')
    expect(a.connections).to.deep.equal([pending])
    // The announcer, who saw the offer, says so.
    await hub.broadcast(a.id, {type: 'busy', from: fake, to: a.id, attempt: offer!.attempt})
    await until(a, ['update'], () => a.stats.busy === 1, 'the real busy to be taken')
    expect(a.stats.forgedSignals).to.equal(2)
    expect(pending.destroyed).to.equal(true, 'the pending offer was still there for the real busy to drop')
    expect(a.connections).to.have.length(0)
  })

  /** A connection made outside the swarms, posting as `from` to `to`'s channel and reading `from`'s channel. */
  async function outsider(room: string, from: Swarm, to: Swarm, identity: Identity): Promise<PeerConnection> {
    const hub = new HubClient({hubs: [hubUrl()], app: room})
    cleanup.push(() => hub.destroy())
    let conn: PeerConnection | undefined
    const sub = hub.subscribe([from.id], data => {
      const m = data as {from?: string, signal?: RtcSignal, attempt?: string}
      if (m.from === to.id && m.signal && m.attempt) conn?.signal(m.signal, m.attempt)
    })
    await sub.ready
    conn = new PeerConnection({id: to.id, initiator: true, identity, rtcConfig: {iceServers: []}, connectTimeout: 10_000, budget: testBudget})
    const made = conn
    cleanup.push(() => made.destroy())
    conn.on('signal', signal => void hub.broadcast(to.id, {from: from.id, to: to.id, signal, attempt: made.attempt}))
    return conn
  }

  it('an offer under a connected peer\'s id that proves another key is dropped and counted; the peer stays', async function () {
    this.timeout(40_000)
    const room = freshRoom()
    const [a, b] = swarms = createSwarms(2, room)
    await fullMesh(swarms)
    const link = a.peers[0]
    const stranger = await outsider(room, b, a, await createIdentity())
    // A answers it and the stranger proves its own key, which is not B's.
    await new Promise<void>(resolve => {
      stranger.once('open', () => resolve())
      stranger.once('close', () => resolve())
    })
    // The stranger's end closes on A's goodbye, which A emits nothing for: poll.
    await poll(() => stranger.destroyed || a.peers[0] !== link, 'A to let the stranger go (or, wrongly, B)')
    expect(a.peers).to.deep.equal([link])
    expect(link.state).to.equal('connected')
    await until(a, ['update'], () => a.stats.forgedSignals === 1, 'the stranger\'s connection counted')
  })

  it('an offer under a connected peer\'s id that proves the same key replaces the connection (its end was lost)', async function () {
    this.timeout(40_000)
    const room = freshRoom()
    const [a, b] = swarms = createSwarms(2, room)
    await fullMesh(swarms)
    const old = a.peers[0]
    // B's page made a new connection with B's own key and hub id, as it does when its end of the old one is gone.
    const again = await outsider(room, b, a, b.identity)
    await new Promise<void>((resolve, reject) => {
      again.once('open', () => resolve())
      again.once('close', err => reject(err ?? new Error('closed')))
    })
    await until(a, ['update'], () => a.peers.length === 1 && a.peers[0] !== old, 'the new connection taking B\'s place')
    expect(old.destroyed).to.equal(true)
    expect(a.peers[0].publicKey).to.equal(b.publicKey)
    expect(a.stats.forgedSignals).to.equal(0)
  })
  it('an offer pending beside a peer goes when that peer says goodbye', async function () {
    this.timeout(90_000)
    const room = freshRoom()
    const [a, b] = swarms = createSwarms(2, room)
    await fullMesh(swarms)
    const offers = await realOffers(1)
    cleanup.push(offers.close)
    const created = a.stats.connectionsCreated
    // A late offer under B's id (a glare's loser, or a stranger's): answered beside B's connection.
    await fetch(`${hubUrl()}/v1/${room}/${a.id}`, {method: 'POST', body: JSON.stringify({from: b.id, to: a.id, signal: {type: 'offer', sdp: offers.sdps[0]}, attempt: attempt()})})
    await until(a, ['update'], () => a.stats.connectionsCreated === created + 1, 'the offer answered beside B')
    b.destroy()
    // Left to its connect timeout (20 s), it would close as a failed replacement and count as forged.
    await until(a, ['update'], () => a.peers.length === 0 && a.stats.connectionsClosed === a.stats.connectionsCreated, 'every connection of A closed', 60_000)
    expect(a.stats.forgedSignals).to.equal(0, 'dropped with B, not timed out')
  })
})
