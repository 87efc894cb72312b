import {expect, fixture, html} from '@open-wc/testing'
import type {Swarm, SwarmPeer} from '../../src/core/swarm/swarm.js'
import type {Channel} from '../../src/core/mux/mux.js'
import {fromUtf8, utf8} from '../../src/core/bytes.js'
import '../../src/p2p-swarm.js'
import type {P2PSwarmElement} from '../../src/elements/p2p-swarm/p2p-swarm.js'
import type {PeerReconnectEvent} from '../../src/events/peer-reconnect-event.js'
import {createSwarms, destroyAll, freshRoom, fullMesh, hubUrl, until} from './helpers/swarm.js'
// The event-driven wait above where an event says it; polling only for what has none.
import {until as untilPolled} from '../shared/until.js'

type How = 'ice-restart' | 'new-connection'

/** Every `reconnect` a swarm emits, in order. */
function reconnects(swarm: Swarm): Array<{peer: SwarmPeer, how: How}> {
  const seen: Array<{peer: SwarmPeer, how: How}> = []
  swarm.on('reconnect', (peer, how) => seen.push({peer, how}))
  return seen
}

/** An echo-free test channel on a connection, collecting what arrives as text. */
function listen(peer: SwarmPeer, inbox: string[]): Channel {
  return peer.channel('test/reconnect/1', {onmessage: bytes => inbox.push(fromUtf8(bytes))})
}

const ufrag = (sdp: string | undefined) => /^a=ice-ufrag:(\S+)/m.exec(sdp ?? '')?.[1]

describe('reconnect', () => {
  let swarms: Swarm[] = []
  afterEach(() => {
    destroyAll(swarms)
    swarms = []
  })

  for (const side of ['initiator', 'responder'] as const) {
    it(`an ICE restart asked for by the ${side} repairs the connection in place: its channels carry on`, async () => {
      const [a, b] = swarms = createSwarms(2, freshRoom())
      await fullMesh(swarms)
      const [atA, atB] = [a.peers[0], b.peers[0]]
      const restarter = atA.initiator === (side === 'initiator') ? atA : atB
      const [seenA, seenB] = [reconnects(a), reconnects(b)]
      const [inA, inB] = [[] as string[], [] as string[]]
      const [chA, chB] = [listen(atA, inA), listen(atB, inB)]
      const before = {a: ufrag(atA.rtc.localDescription?.sdp), b: ufrag(atB.rtc.localDescription?.sdp)}

      restarter.restartIce()
      expect(restarter.restarting).to.equal(true)
      await until(swarms, ['reconnect', 'update'], () => seenA.length >= 1 && seenB.length >= 1, 'both ends to report the repair')

      // The same connections, with new ICE credentials on both ends.
      expect(a.peers).to.deep.equal([atA])
      expect(b.peers).to.deep.equal([atB])
      expect(ufrag(atA.rtc.localDescription?.sdp)).to.not.equal(before.a)
      expect(ufrag(atB.rtc.localDescription?.sdp)).to.not.equal(before.b)
      expect(atA.restarts + atB.restarts).to.equal(2)
      // The channels opened before the restart still carry messages.
      chA.send(utf8('after restart, from A'))
      chB.send(utf8('after restart, from B'))
      await until(swarms, ['update'], () => inA.length === 1 && inB.length === 1, 'messages over the old channels')
      expect(inB).to.deep.equal(['after restart, from A'])
      expect(inA).to.deep.equal(['after restart, from B'])
      expect(seenA.map(r => [r.peer, r.how])).to.deep.equal([[atA, 'ice-restart']])
      expect(seenB.map(r => [r.peer, r.how])).to.deep.equal([[atB, 'ice-restart']])
      expect(a.stats.reconnects).to.equal(1)
      expect(b.stats.reconnects).to.equal(1)
    })
  }

  it('a connection closed underneath comes back as a new connection, and messages flow on it', async () => {
    const [a, b] = swarms = createSwarms(2, freshRoom())
    await fullMesh(swarms)
    const [oldA, oldB] = [a.peers[0], b.peers[0]]
    const [seenA, seenB] = [reconnects(a), reconnects(b)]
    const disconnects: string[] = []
    for (const s of swarms) s.on('disconnect', (_p, err) => disconnects.push(err?.code ?? 'goodbye'))

    // A's RTCPeerConnection goes away under the swarm, with no goodbye.
    oldA.rtc.close()
    await until(swarms, ['reconnect', 'update'], () => seenA.length >= 1 && seenB.length >= 1, 'both ends back on a new connection', 30_000)

    const [newA, newB] = [a.peers[0], b.peers[0]]
    expect(newA).to.not.equal(oldA)
    expect(newB).to.not.equal(oldB)
    expect(newA.publicKey).to.equal(b.publicKey)
    expect(seenA.map(r => [r.peer, r.how])).to.deep.equal([[newA, 'new-connection']])
    expect(seenB.map(r => [r.peer, r.how])).to.deep.equal([[newB, 'new-connection']])
    // The break was reported as one (not as a goodbye) on each side.
    expect(disconnects).to.have.length(2)
    expect(disconnects).to.not.include('goodbye')
    const inB: string[] = []
    listen(newB, inB)
    listen(newA, []).send(utf8('on the new connection'))
    await until(swarms, ['update'], () => inB.length === 1, 'a message on the new connection')
    expect(inB).to.deep.equal(['on the new connection'])
  })

  it('a peer that says goodbye and comes back is a new peer, not a reconnect', async () => {
    const room = freshRoom()
    const [a, b] = swarms = createSwarms(2, room)
    await fullMesh(swarms)
    const seenA = reconnects(a)
    const identity = b.identity
    b.destroy()
    await until(a, ['update'], () => a.peers.length === 0, 'the goodbye')
    const [b2] = createSwarms(1, room, {identity})
    swarms.push(b2)
    await fullMesh([a, b2])
    expect(a.peers[0].publicKey).to.equal(b.publicKey)
    expect(seenA).to.have.length(0)
  })

  it('offline pauses the hub and announcing; online reopens the stream at once and announces when it is open', async () => {
    // The announcement that waits for no stream (three minimum intervals) comes long after the stream reopens.
    const [a, b] = swarms = createSwarms(2, freshRoom(), {announceInterval: {min: 5000, max: 30_000}})
    await fullMesh(swarms)
    const subscribers = async () => ((await (await fetch(`${hubUrl().replace(/\/$/, '')}/`)).json()) as {subscribers: number}).subscribers
    const before = await subscribers()
    expect(before).to.be.above(0)
    window.dispatchEvent(new Event('offline'))
    expect(a.stats.offline).to.equal(true)
    expect(b.stats.offline).to.equal(true)
    const announced = a.stats.announcesSent
    // The page's swarms share one stream per hub: with both paused, it closes.
    await untilPolled(async () => (await subscribers()) < before, 'the hub to lose our stream')
    // Peers stay connected: transports that survive the blip need no hub.
    expect(a.peers).to.have.length(1)
    window.dispatchEvent(new Event('online'))
    expect(a.stats.offline).to.equal(false)
    // Offers answering an announcement made now would be posted before our stream is back, and lost.
    expect(a.stats.announcesSent).to.equal(announced, 'no announcement before the stream reopens')
    await until(a, ['update'], () => a.state === 'online', 'the stream to reopen')
    expect(a.stats.announcesSent).to.equal(announced + 1, 'an announcement as it reopened')
    await untilPolled(async () => (await subscribers()) === before, 'the hub to count our stream again')
  })

  it('<p2p-swarm> fires p2p-peer-reconnect once when a connection is repaired', async () => {
    const room = freshRoom()
    const root = await fixture<HTMLElement>(html`<div>
      <p2p-swarm hub=${hubUrl()} room=${room}></p2p-swarm>
      <p2p-swarm hub=${hubUrl()} room=${room}></p2p-swarm>
    </div>`)
    const [ea, eb] = [...root.querySelectorAll<P2PSwarmElement>('p2p-swarm')]
    const events: PeerReconnectEvent[] = []
    root.addEventListener('p2p-peer-reconnect', e => events.push(e as PeerReconnectEvent))
    // The fixture awaited the div; each element's swarm comes once its key is in.
    await Promise.all([ea.updateComplete, eb.updateComplete])
    const [a, b] = [ea.swarm!, eb.swarm!]
    await fullMesh([a, b], 30_000)
    a.peers[0].restartIce()
    await until([a, b], ['reconnect', 'update'], () => events.length >= 2, 'both elements firing p2p-peer-reconnect')
    expect(events.map(e => [e.detail.publicKey, e.detail.how]).sort()).to.deep.equal([
      [a.publicKey, 'ice-restart'], [b.publicKey, 'ice-restart'],
    ].sort())
    expect(events.every(e => e.bubbles && e.composed)).to.equal(true)
  })
})
