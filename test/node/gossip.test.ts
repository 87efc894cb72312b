import {describe, test} from 'node:test'
import assert from 'node:assert/strict'
import {Gossip, type GossipMessage, type GossipOptions} from '../../src/core/gossip/router.js'
import {SimNetwork, VirtualClock, createRandom, type SimPeer} from '../../src/core/gossip/simulation.js'
import {MessageCache, SeenSet} from '../../src/core/gossip/seen-set.js'
import {PeerScore, scoreParams} from '../../src/core/gossip/score.js'
import {systemClock} from '../../src/core/clock.js'
import {
  GossipFrameType, decodeGossipFrame, encodeData, encodeGraft, encodeIHave, encodePrune, signedBytes,
} from '../../src/core/gossip/messages.js'
import {KeyPairIdentity} from '../../src/core/crypto/seed-identity.js'
import {P2PError} from '../../src/core/errors.js'
import {fromUtf8, toHex, utf8} from '../../src/core/bytes.js'
import {until} from '../shared/until.js'

const TOPIC = 'chat'

/** A network on a virtual clock with a fixed latency, so every run is the same. */
function createNet(gossip: GossipOptions = {}, latency = 10) {
  const clock = new VirtualClock()
  const net = new SimNetwork({clock, random: createRandom(7), latency: {min: latency, max: latency}, gossip})
  return {clock, net}
}

/** Every message each peer delivered, by peer. */
function record(peers: SimPeer[], topic = TOPIC): Map<SimPeer, GossipMessage[]> {
  const inbox = new Map<SimPeer, GossipMessage[]>()
  for (const peer of peers) {
    const list: GossipMessage[] = []
    inbox.set(peer, list)
    peer.gossip.subscribe(topic, message => list.push(message))
  }
  return inbox
}

function line(net: SimNetwork, n: number, options: GossipOptions = {}): SimPeer[] {
  const peers = Array.from({length: n}, () => net.addPeer(options))
  for (let i = 1; i < n; i++) net.connect(peers[i - 1], peers[i])
  return peers
}

/** Each peer publishes once; every peer must deliver every message exactly once. */
function assertExactlyOnce(clock: VirtualClock, peers: SimPeer[]): void {
  const inbox = record(peers)
  peers.forEach((peer, i) => clock.setTimeout(() => void peer.gossip.publish(TOPIC, utf8(`m${i}`)), i * 3))
  clock.run()
  for (const [peer, messages] of inbox) {
    const texts = messages.map(m => fromUtf8(m.payload)).sort()
    assert.deepEqual(texts, peers.map((_, i) => `m${i}`).sort(), `peer ${peer.key.slice(-4)} got ${texts}`)
    assert.equal(new Set(messages.map(m => m.id)).size, messages.length)
    assert.equal(peer.gossip.stats.delivered, peers.length)
  }
}

/** A peer the test drives by hand: frames it sends go straight into `target`. */
function hostile(target: Gossip, id = 'ee'.repeat(32)) {
  const state = {
    id,
    received: [] as Uint8Array[],
    dropped: null as P2PError | null,
    send: (bytes: Uint8Array) => target.receive(id, bytes),
  }
  target.addLink({id, send: bytes => { state.received.push(bytes) }, drop: err => { state.dropped = err }})
  return state
}

function hex(n: number): string {
  return n.toString(16).padStart(16, '0')
}

function dataFrame(id: string, payload = utf8('{}'), topic = TOPIC, hops = 0): Uint8Array {
  return encodeData({id, hops, topic, payload})
}

/** Lets real promises (signature checks) and the virtual clock both run dry. */
function settle(clock: VirtualClock, routers: Gossip[]): Promise<void> {
  // Checked once a macrotask, as long as it takes: native signature checks finish on a
  // worker thread, however many turns of the event loop that takes.
  return until(async () => {
    clock.run()
    await new Promise(resolve => setImmediate(resolve))
    return clock.pending === 0 && routers.every(r => r.destroyed || r.stats.pending === 0)
  }, 'the routers and the virtual clock to settle', {every: 0})
}

async function signedFrame(identity: KeyPairIdentity, id: string, text: string, topic = TOPIC): Promise<Uint8Array> {
  const payload = utf8(text)
  const signature = await identity.sign(signedBytes(id, topic, payload))
  return encodeData({id, hops: 0, topic, payload, author: identity.publicKey, signature})
}

describe('gossip: delivery', () => {
  for (const mode of ['flood', 'plumtree'] as const) {
    test(`${mode}: every message reaches every peer exactly once in a line`, () => {
      const {clock, net} = createNet({mode})
      assertExactlyOnce(clock, line(net, 6))
    })

    test(`${mode}: every message reaches every peer exactly once in a ring`, () => {
      const {clock, net} = createNet({mode})
      const peers = line(net, 7)
      net.connect(peers[6], peers[0])
      assertExactlyOnce(clock, peers)
    })

    test(`${mode}: every message reaches every peer exactly once in a partial mesh`, () => {
      const clock = new VirtualClock()
      const random = createRandom(3)
      const net = new SimNetwork({clock, random, gossip: {mode}})
      const peers = line(net, 20)
      for (let i = 0; i < 25; i++) net.connect(peers[Math.floor(random() * 20)], peers[Math.floor(random() * 20)])
      assertExactlyOnce(clock, peers)
    })
  }

  test('own messages are delivered at once with hops 0 and from null; relayed ones carry the link and hops', async () => {
    const {clock, net} = createNet()
    const [a, b, c] = line(net, 3)
    const inbox = record([a, b, c])
    const id = await a.gossip.publish(TOPIC, utf8('hi'))
    assert.match(id, /^[0-9a-f]{16}$/)
    assert.deepEqual(inbox.get(a)!.map(m => [m.id, m.hops, m.from]), [[id, 0, null]])
    clock.run()
    assert.deepEqual(inbox.get(b)!.map(m => [m.hops, m.from]), [[1, a.key]])
    assert.deepEqual(inbox.get(c)!.map(m => [m.hops, m.from]), [[2, b.key]])
  })

  test('a subscriber gets its own copy of the payload', async () => {
    const {clock, net} = createNet()
    const [a, b, c] = line(net, 3)
    b.gossip.subscribe(TOPIC, message => message.payload.fill(0))
    const inbox = record([c])
    const payload = utf8('keep')
    await a.gossip.publish(TOPIC, payload)
    payload.fill(1)
    clock.run()
    assert.equal(fromUtf8(inbox.get(c)![0].payload), 'keep')
  })

  test('only subscribed topics are delivered, but every topic is relayed', () => {
    const {clock, net} = createNet()
    const [a, b, c] = line(net, 3)
    const seenByB: string[] = []
    b.gossip.subscribe('other', m => seenByB.push(m.topic))
    b.gossip.on('message', m => seenByB.push(`event:${m.topic}`))
    const inboxC = record([c], 'news')
    void a.gossip.publish('news', utf8('x'))
    clock.run()
    assert.deepEqual(seenByB, [])
    assert.equal(b.gossip.stats.delivered, 0)
    assert.equal(b.gossip.stats.forwarded, 1)
    assert.equal(inboxC.get(c)!.length, 1)
    assert.deepEqual(b.gossip.topics, ['other'])
  })

  test('unsubscribing stops delivery', () => {
    const {clock, net} = createNet()
    const [a, b] = line(net, 2)
    const got: string[] = []
    const off = b.gossip.subscribe(TOPIC, m => got.push(fromUtf8(m.payload)))
    void a.gossip.publish(TOPIC, utf8('one'))
    clock.run()
    off()
    void a.gossip.publish(TOPIC, utf8('two'))
    clock.run()
    assert.deepEqual(got, ['one'])
    assert.deepEqual(b.gossip.topics, [])
  })

  test('a throwing subscriber does not keep others from their message; its error is reported', () => {
    const {clock, net} = createNet()
    const [a, b, c] = line(net, 3)
    const errors: unknown[] = []
    b.gossip.on('error', err => errors.push(err))
    b.gossip.subscribe(TOPIC, () => { throw new Error('subscriber bug') })
    const inbox = record([b, c])
    void a.gossip.publish(TOPIC, utf8('x'))
    clock.run()
    assert.equal(inbox.get(b)!.length, 1)
    assert.equal(inbox.get(c)!.length, 1, 'still relayed')
    assert.deepEqual(errors.map(err => (err as Error).message), ['subscriber bug'])
  })

  test('the hop limit stops relaying at maxHops', () => {
    const {clock, net} = createNet({maxHops: 3})
    const peers = line(net, 6)
    const inbox = record(peers)
    void peers[0].gossip.publish(TOPIC, utf8('far'))
    clock.run()
    assert.deepEqual(peers.map(p => inbox.get(p)!.length), [1, 1, 1, 1, 0, 0])
    assert.equal(inbox.get(peers[3])![0].hops, 3)
    assert.equal(peers[3].gossip.stats.hopLimited, 1)
    assert.equal(peers[3].gossip.stats.forwarded, 0)
  })

  test('signed messages carry their verified author; the router signs by default when it has an identity', async () => {
    const identity = new KeyPairIdentity()
    const {clock, net} = createNet()
    const a = net.addPeer({identity})
    const b = net.addPeer()
    net.connect(a, b)
    const inbox = record([b])
    await a.gossip.publish(TOPIC, utf8('signed'))
    await a.gossip.publish(TOPIC, utf8('plain'), {sign: false})
    await settle(clock, [a.gossip, b.gossip])
    // Unsigned messages skip verification, so they may overtake signed ones: gossip has no order.
    assert.deepEqual(inbox.get(b)!.map(m => [fromUtf8(m.payload), m.author]).sort(), [
      ['plain', undefined],
      ['signed', toHex(identity.publicKey)],
    ])
  })

  test('publish refuses bad input with typed errors', async () => {
    const gossip = new Gossip({maxMessageBytes: 10})
    await assert.rejects(gossip.publish('', utf8('x')), {code: 'ERR_INVALID_ARGUMENT'})
    await assert.rejects(gossip.publish('t', 'text' as unknown as Uint8Array), {code: 'ERR_INVALID_ARGUMENT'})
    await assert.rejects(gossip.publish('t', new Uint8Array(11)), {code: 'ERR_MESSAGE_TOO_LARGE'})
    await assert.rejects(gossip.publish('t', utf8('x'), {sign: true}), {code: 'ERR_INVALID_ARGUMENT'})
    assert.throws(() => gossip.subscribe('x'.repeat(300), () => {}), {code: 'ERR_INVALID_ARGUMENT'})
    assert.throws(() => new Gossip({mode: 'gossipsub' as 'flood'}), {code: 'ERR_INVALID_ARGUMENT'})
    assert.throws(() => new Gossip({maxHops: 0}), {code: 'ERR_INVALID_ARGUMENT'})
    gossip.destroy()
    await assert.rejects(gossip.publish('t', utf8('x')), {code: 'ERR_DESTROYED'})
    assert.throws(() => gossip.addLink({id: 'a', send() {}, drop() {}}), {code: 'ERR_DESTROYED'})
  })

  test('links are validated: one per id, never to ourselves', () => {
    const identity = new KeyPairIdentity()
    const gossip = new Gossip({identity})
    gossip.addLink({id: 'a', send() {}, drop() {}})
    assert.throws(() => gossip.addLink({id: 'a', send() {}, drop() {}}), {code: 'ERR_INVALID_ARGUMENT'})
    assert.throws(() => gossip.addLink({id: toHex(identity.publicKey), send() {}, drop() {}}), {code: 'ERR_SELF_CONNECTION'})
    assert.throws(() => gossip.addLink({id: 'b'} as never), {code: 'ERR_INVALID_ARGUMENT'})
    assert.equal(gossip.removeLink('a'), true)
    assert.equal(gossip.removeLink('a'), false)
    gossip.destroy()
  })

  test('a link whose send throws is removed and dropped; the others are still served', async () => {
    const {clock, net} = createNet()
    const [a, b] = line(net, 2)
    let dropped: P2PError | null = null
    a.gossip.addLink({id: 'broken', send: () => { throw new Error('channel gone') }, drop: err => { dropped = err }})
    const inbox = record([b])
    await a.gossip.publish(TOPIC, utf8('x'))
    clock.run()
    assert.equal(dropped!.code, 'ERR_CONNECTION_FAILED')
    assert.equal(a.gossip.link('broken'), null)
    assert.equal(inbox.get(b)!.length, 1)
  })

  test('destroy is idempotent, clears every timer and ignores late frames', async () => {
    const {clock, net} = createNet()
    const [a, b, c] = line(net, 3)
    net.connect(a, c)
    void a.gossip.publish(TOPIC, utf8('x'))
    clock.advance(15)
    let closes = 0
    b.gossip.on('close', () => closes++)
    for (const peer of [a, b, c]) {
      peer.gossip.destroy()
      peer.gossip.destroy()
    }
    assert.equal(closes, 1)
    assert.equal(b.gossip.stats.links, 0)
    clock.run()
    assert.equal(clock.pending, 0)
    b.gossip.receive(a.key, dataFrame(hex(1)))
    assert.equal(b.gossip.stats.received, 1)
  })

  test('update fires throttled, with the stats', () => {
    const {clock, net} = createNet({updateInterval: 100})
    const [a, b] = line(net, 2)
    const updates: number[] = []
    b.gossip.on('update', stats => updates.push(stats.received))
    for (let i = 0; i < 10; i++) void a.gossip.publish(TOPIC, utf8(`${i}`))
    clock.run()
    assert.ok(updates.length >= 1 && updates.length <= 2, `${updates.length} updates`)
    assert.equal(updates.at(-1), 10)
  })
})

describe('gossip: plumtree', () => {
  test('a mesh settles into a tree: later messages bring no duplicates', () => {
    const {clock, net} = createNet({pruneAfter: 1})
    const peers = line(net, 6)
    net.connect(peers[5], peers[0])
    net.connect(peers[1], peers[4])
    void peers[0].gossip.publish(TOPIC, utf8('first'))
    clock.run()
    const before = peers.reduce((n, p) => n + p.gossip.stats.duplicates, 0)
    assert.ok(before > 0)
    peers.forEach((p, i) => void p.gossip.publish(TOPIC, utf8(`later ${i}`)))
    clock.run()
    assert.equal(peers.reduce((n, p) => n + p.gossip.stats.duplicates, 0), before)
    // A tree on 6 peers has 5 edges, seen eager from both ends.
    assert.equal(peers.reduce((n, p) => n + p.gossip.stats.eager, 0), 10)
  })

  test('a link is pruned only after pruneAfter duplicates in a row', () => {
    const {clock, net} = createNet({pruneAfter: 3})
    const [a, b, c] = line(net, 3)
    net.connect(a, c)
    // C hears each of A's messages from A (first) and from B (duplicate).
    for (let i = 0; i < 2; i++) {
      void a.gossip.publish(TOPIC, utf8(`${i}`))
      clock.run()
    }
    assert.equal(c.gossip.stats.pruneSent, 0)
    void a.gossip.publish(TOPIC, utf8('3'))
    clock.run()
    assert.equal(c.gossip.stats.pruneSent, 1)
    assert.equal(c.gossip.link(b.key)!.eager, false)
    assert.equal(b.gossip.link(c.key)!.eager, false)
  })

  test('a lost eager push is repaired by IHAVE and GRAFT', () => {
    const {clock, net} = createNet({pruneAfter: 1, graftTimeout: 200, lazyDelay: 20})
    const [a, b, c] = line(net, 3)
    net.connect(a, c)
    void a.gossip.publish(TOPIC, utf8('shape the tree'))
    clock.run()
    // The tree is A-B, A-C; B-C is lazy. Now A's pushes to C are lost.
    assert.equal(c.gossip.link(b.key)!.eager, false)
    net.filter = (from, to, bytes) => !(from === a && to === c && decodeGossipFrame(bytes).type === GossipFrameType.DATA)
    const inbox = record([c])
    const start = clock.now()
    void a.gossip.publish(TOPIC, utf8('lost, then found'))
    clock.run()
    assert.deepEqual(inbox.get(c)!.map(m => [fromUtf8(m.payload), m.from]), [['lost, then found', b.key]])
    assert.equal(c.gossip.stats.graftSent, 1)
    assert.equal(b.gossip.stats.graftReceived, 1)
    assert.ok(clock.now() - start >= 200)
    // B is on the tree for C now.
    assert.equal(c.gossip.link(b.key)!.eager, true)
    assert.equal(b.gossip.link(c.key)!.eager, true)
  })

  test('a graft that brings nothing moves on to the next announcer', () => {
    const {clock, net} = createNet({pruneAfter: 1, graftTimeout: 200, graftRetry: 100, lazyDelay: 20})
    const [a, b, c, d] = line(net, 4)
    net.connect(a, d)
    net.connect(b, d)
    void a.gossip.publish(TOPIC, utf8('shape'))
    clock.run()
    const lazyAnnouncers = [a, b, c].filter(p => !d.gossip.link(p.key)!.eager)
    assert.equal(lazyAnnouncers.length, 2)
    // D loses every DATA, and the first graft's answer too: the retry asks the other announcer.
    let dataToD = 0
    net.filter = (_from, to, bytes) => !(to === d && decodeGossipFrame(bytes).type === GossipFrameType.DATA && dataToD++ < 2)
    const inbox = record([d])
    void a.gossip.publish(TOPIC, utf8('x'))
    clock.run()
    assert.equal(inbox.get(d)!.length, 1)
    assert.equal(d.gossip.stats.graftSent, 2)
  })

  test('a PRUNE that would leave a peer without an eager link is answered by a GRAFT', () => {
    const {clock, net} = createNet()
    const [a, b] = line(net, 2)
    a.gossip.receive(b.key, encodePrune())
    assert.equal(a.gossip.link(b.key)!.eager, true)
    assert.equal(a.gossip.stats.graftSent, 1)
    clock.run()
    assert.equal(b.gossip.link(a.key)!.eager, true)
  })

  test('the optimisation, when on, swaps a long tree path for a short one announced by IHAVE', () => {
    const {clock, net} = createNet({pruneAfter: 1, optimizeThreshold: 2, lazyDelay: 1})
    // A line of 5 and a lazy shortcut A-E that announces before the long path delivers.
    const peers = line(net, 5)
    const [a, , , , e] = peers
    net.connect(a, e)
    void peers[2].gossip.publish(TOPIC, utf8('shape'))
    clock.run()
    // Make A–E lazy (E heard it from both sides; whichever came second was pruned) and
    // the line the tree: only then can the optimisation see a shortcut.
    if (e.gossip.link(a.key)!.eager) {
      e.gossip.receive(a.key, encodePrune())
      a.gossip.receive(e.key, encodePrune())
      clock.run()
    }
    assert.equal(e.gossip.link(a.key)!.eager, false)
    const before = e.gossip.stats
    const inbox = record([e])
    // A publishes: E gets the IHAVE from A after 11 ms, the DATA down the line after 40 ms at 4 hops.
    void a.gossip.publish(TOPIC, utf8('far'))
    clock.run()
    assert.equal(inbox.get(e)![0].hops, 4)
    assert.equal(e.gossip.link(a.key)!.eager, true)
    assert.equal(e.gossip.link(peers[3].key)!.eager, false)
    assert.equal(e.gossip.stats.graftSent - before.graftSent, 1)
    assert.equal(e.gossip.stats.pruneSent - before.pruneSent, 1)
    assert.equal(e.gossip.stats.duplicates, before.duplicates, 'the shortcut is not sent what it announced')
  })

  test('flooding ignores PRUNE and sends no IHAVE', () => {
    const {clock, net} = createNet({mode: 'flood'})
    const [a, b, c] = line(net, 3)
    net.connect(a, c)
    a.gossip.receive(b.key, encodePrune())
    for (let i = 0; i < 5; i++) void a.gossip.publish(TOPIC, utf8(`${i}`))
    clock.run()
    for (const peer of [a, b, c]) {
      assert.equal(peer.gossip.stats.ihaveSent + peer.gossip.stats.pruneSent + peer.gossip.stats.graftSent, 0)
      assert.equal(peer.gossip.stats.lazy, 0)
    }
    assert.equal(b.gossip.stats.received, 10)
  })

  test('a lazy link is announced at most 1,024 ids per flush; the rest it learns elsewhere', () => {
    const clock = new VirtualClock()
    const gossip = new Gossip({clock, rateLimit: {rate: 1e6, burst: 1e6}, recentWindow: 0})
    const eager = hostile(gossip, 'aa'.repeat(32))
    const lazy = hostile(gossip, 'bb'.repeat(32))
    lazy.send(encodePrune())
    assert.equal(gossip.link(lazy.id)!.eager, false)
    for (let i = 0; i < 1100; i++) eager.send(dataFrame(hex(i)))
    clock.run()
    const announced = lazy.received.map(bytes => decodeGossipFrame(bytes))
      .flatMap(frame => frame.type === GossipFrameType.IHAVE ? frame.entries.map(e => e.id) : [])
    assert.deepEqual(announced, Array.from({length: 1024}, (_, i) => hex(i)))
    // The queue starts again after a flush.
    eager.send(dataFrame(hex(5000)))
    clock.run()
    const last = decodeGossipFrame(lazy.received.at(-1)!)
    assert.ok(last.type === GossipFrameType.IHAVE && last.entries[0].id === hex(5000))
  })
})

describe('gossip: lifecycle and options', () => {
  test('destroy(err) emits error then close, once; destroyed cannot be assigned', () => {
    const gossip = new Gossip()
    const events: string[] = []
    gossip.on('error', err => events.push(`error ${(err as P2PError).code}`))
    gossip.on('close', () => events.push('close'))
    gossip.destroy(P2PError.PEER_MISBEHAVING('test'))
    gossip.destroy(P2PError.PEER_MISBEHAVING('again'))
    assert.deepEqual(events, ['error ERR_PEER_MISBEHAVING', 'close'])
    assert.throws(() => { (gossip as {destroyed: boolean}).destroyed = false }, TypeError)
    assert.equal(gossip.destroyed, true)
  })

  test('counts that are not whole numbers, NaN or negative are refused at once', () => {
    for (const options of [{seenMax: 2.5}, {cacheBytes: NaN}, {maxPending: -1}, {maxHops: 1.5}, {seenTTL: NaN}]) {
      assert.throws(() => new Gossip(options), {code: 'ERR_INVALID_ARGUMENT'}, JSON.stringify(options))
    }
  })
})

describe('gossip: new links', () => {
  test('a new link is offered recent messages; a peer that was in the room grafts those it missed, in one frame', () => {
    const {clock, net} = createNet({recentWindow: 1000})
    const [a, b] = line(net, 2)
    // C and D are in the room too, but cut off from A and B while A speaks.
    const [c, d] = [net.addPeer(), net.addPeer()]
    net.connect(c, d)
    const inbox = record([c, d])
    clock.advance(50)
    for (let i = 0; i < 3; i++) void a.gossip.publish(TOPIC, utf8(`missed ${i}`))
    clock.run()
    net.connect(c, b)
    clock.run()
    for (const peer of [c, d]) {
      assert.deepEqual(inbox.get(peer)!.map(m => fromUtf8(m.payload)).sort(), ['missed 0', 'missed 1', 'missed 2'])
    }
    assert.equal(c.gossip.stats.graftSent, 1)
    assert.equal(b.gossip.stats.forwarded, 3, 'the three GRAFT answers')
  })

  test('a newcomer is offered recent messages but takes none from before it joined', () => {
    const {clock, net} = createNet({recentWindow: 1000})
    const [a, b] = line(net, 2)
    void a.gossip.publish(TOPIC, utf8('before'))
    clock.run()
    clock.advance(100)
    const late = net.addPeer()
    const inbox = record([late])
    net.connect(late, b)
    void a.gossip.publish(TOPIC, utf8('after'))
    clock.run()
    assert.deepEqual(inbox.get(late)!.map(m => fromUtf8(m.payload)), ['after'])
    assert.equal(b.gossip.stats.ihaveSent, 1, 'the offer')
    assert.equal(late.gossip.stats.graftSent, 0)
  })

  test('messages older than the window, or with recentWindow 0, are not offered', () => {
    for (const [recentWindow, wait] of [[1000, 1000], [0, 0]]) {
      const {clock, net} = createNet({recentWindow})
      const [a, b] = line(net, 2)
      const [c, d] = [net.addPeer(), net.addPeer()]
      net.connect(c, d)
      const inbox = record([c])
      void a.gossip.publish(TOPIC, utf8('old'))
      clock.run()
      clock.advance(wait)
      net.connect(c, b)
      clock.run()
      assert.equal(inbox.get(c)!.length, 0)
      assert.equal(b.gossip.stats.ihaveSent, 0)
    }
  })
})

describe('gossip: seen-set and cache', () => {
  test('the seen-set forgets after its time to live', () => {
    let now = 0
    const seen = new SeenSet({ttl: 100, max: 10, now: () => now})
    assert.equal(seen.add('a'), true)
    assert.equal(seen.add('a'), false)
    now = 60
    seen.add('b')
    now = 100
    assert.equal(seen.has('a'), false)
    assert.equal(seen.has('b'), true)
    assert.equal(seen.size, 1)
    assert.equal(seen.add('a'), true)
  })

  test('the seen-set keeps at most max ids, dropping the oldest', () => {
    const seen = new SeenSet({ttl: 1e9, max: 1000, now: () => 0})
    for (let i = 0; i < 100_000; i++) seen.add(hex(i))
    assert.equal(seen.size, 1000)
    assert.equal(seen.evicted, 99_000)
    assert.equal(seen.has(hex(98_999)), false)
    assert.equal(seen.has(hex(99_000)), true)
  })

  test('the message cache is bounded by count, bytes and time', () => {
    let now = 0
    const cache = new MessageCache({ttl: 50, max: 3, maxBytes: 100, now: () => now})
    for (let i = 0; i < 5; i++) cache.add(hex(i), new Uint8Array(10))
    assert.equal(cache.size, 3)
    assert.equal(cache.get(hex(1)), undefined)
    cache.add(hex(9), new Uint8Array(90))
    assert.equal(cache.bytes, 100)
    assert.equal(cache.size, 2)
    cache.add(hex(10), new Uint8Array(101))
    assert.equal(cache.get(hex(10)), undefined)
    now = 50
    assert.equal(cache.get(hex(9)), undefined)
    assert.equal(cache.size, 0)
    assert.equal(cache.bytes, 0)
  })

  test('memory stays bounded under 100 000 distinct ids from one peer, and the flood is still relayed', () => {
    const {clock, net} = createNet({
      seenMax: 5000, cacheMax: 500, cacheBytes: 64 * 1024, maxMissing: 100,
      rateLimit: {rate: Infinity, burst: 1},
      // Thresholds out of reach: this test is about the caps, not the score.
      score: {muteThreshold: -1e12, dropThreshold: -2e12},
    })
    const [a, b] = line(net, 2)
    const flood = hostile(a.gossip)
    for (let i = 0; i < 100_000; i++) {
      flood.send(dataFrame(hex(i)))
      if (i % 64 === 0) flood.send(encodeIHave([{id: hex(1e9 + i), hops: 0}]))
      if (i % 10_000 === 0) clock.run()
    }
    clock.run()
    for (const peer of [a, b]) {
      const stats = peer.gossip.stats
      assert.ok(stats.seen <= 5000, `seen ${stats.seen}`)
      assert.ok(stats.cached <= 500 && stats.cachedBytes <= 64 * 1024, `cached ${stats.cached}`)
      assert.ok(stats.missing <= 100, `missing ${stats.missing}`)
    }
    assert.equal(b.gossip.stats.received, 100_000)
  })

  test('a replay within the TTL is a duplicate; after it, the id is forgotten and the message taken as new', () => {
    const {clock, net} = createNet({seenTTL: 1000, cacheTTL: 500})
    const [a] = line(net, 1)
    const replayer = hostile(a.gossip)
    const inbox = record([a])
    const frame = dataFrame(hex(42))
    replayer.send(frame)
    replayer.send(frame)
    assert.equal(inbox.get(a)!.length, 1)
    assert.equal(a.gossip.stats.duplicates, 1)
    clock.advance(1000)
    replayer.send(frame)
    assert.equal(inbox.get(a)!.length, 2)
    assert.equal(inbox.get(a)![1].id, hex(42))
  })
})

describe('gossip: hostile peers', () => {
  test('a forged signature is rejected, not forwarded, scored, and does not shadow the real message', async () => {
    const author = new KeyPairIdentity()
    const {clock, net} = createNet()
    const [a, b] = line(net, 2)
    const inbox = record([a, b])
    const forger = hostile(a.gossip)
    const real = await signedFrame(author, hex(7), 'real')
    const forged = real.slice()
    forged[forged.length - 1] ^= 1 // the payload changed after signing
    forger.send(forged)
    await settle(clock, [a.gossip, b.gossip])
    assert.equal(a.gossip.stats.invalid, 1)
    assert.equal(inbox.get(a)!.length, 0)
    assert.equal(b.gossip.stats.received, 0)
    assert.ok(a.gossip.link(forger.id)!.score < -9.9, 'one invalid message costs 10, fading slowly')
    assert.equal(a.gossip.link(forger.id)!.invalid, 1)
    // The genuine message with the same id still gets through, from anyone.
    b.gossip.receive('late', real)
    b.gossip.addLink({id: 'honest', send() {}, drop() {}})
    b.gossip.receive('honest', real)
    await settle(clock, [a.gossip, b.gossip])
    assert.deepEqual(inbox.get(a)!.map(m => [fromUtf8(m.payload), m.author]), [['real', toHex(author.publicKey)]])
    assert.equal(inbox.get(b)!.length, 1)
  })

  test('while a forged copy is checked, a genuine copy from another link waits and wins', async () => {
    const author = new KeyPairIdentity()
    const gossip = new Gossip()
    const inbox: GossipMessage[] = []
    gossip.subscribe(TOPIC, m => inbox.push(m))
    const forger = hostile(gossip, 'aa'.repeat(32))
    const honest = hostile(gossip, 'bb'.repeat(32))
    const real = await signedFrame(author, hex(8), 'real')
    const forged = await signedFrame(author, hex(8), 'fake')
    forged.set(real.subarray(real.length - 4 - 64, real.length - 4), forged.length - 4 - 64)
    forger.send(forged)
    honest.send(real)
    assert.equal(gossip.stats.pending, 1)
    await until(() => gossip.stats.pending === 0, 'the signature checks', {every: 0})
    assert.deepEqual(inbox.map(m => [fromUtf8(m.payload), m.from]), [['real', honest.id]])
    assert.equal(gossip.stats.invalid, 1)
    assert.equal(gossip.stats.duplicates, 0)
    gossip.destroy()
  })

  test('an oversized message is dropped, counted and scored', () => {
    const {clock, net} = createNet({maxMessageBytes: 100})
    const [a, b] = line(net, 2)
    const inbox = record([a, b])
    const sender = hostile(a.gossip)
    sender.send(dataFrame(hex(1), new Uint8Array(101)))
    clock.run()
    assert.equal(a.gossip.stats.oversized, 1)
    assert.equal(inbox.get(a)!.length + inbox.get(b)!.length, 0)
    assert.ok(a.gossip.link(sender.id)!.score < -9.9)
  })

  test('malformed frames are counted and scored; enough of them drop the peer', () => {
    const gossip = new Gossip()
    const sender = hostile(gossip)
    for (let i = 0; i < 3; i++) sender.send(new Uint8Array([0x0e, i]))
    assert.equal(gossip.stats.malformed, 3)
    assert.equal(gossip.link(sender.id)!.muted, true)
    for (let i = 0; i < 100 && !sender.dropped; i++) sender.send(new Uint8Array([0x0e]))
    assert.equal(sender.dropped!.code, 'ERR_PEER_MISBEHAVING')
    gossip.destroy()
  })

  test('a duplicate storm gets the peer muted, then dropped, while others keep being served', () => {
    const {clock, net} = createNet()
    const [a, b] = line(net, 2)
    const inboxB = record([b])
    const storm = hostile(a.gossip)
    const events: string[] = []
    a.gossip.on('mute', id => events.push(`mute ${id === storm.id}`))
    a.gossip.on('drop', (id, err) => events.push(`drop ${id === storm.id} ${err.code}`))
    const frame = dataFrame(hex(1))
    for (let i = 0; i < 1000 && !storm.dropped; i++) storm.send(frame)
    assert.deepEqual(events, ['mute true', 'drop true ERR_PEER_MISBEHAVING'])
    assert.equal(storm.dropped!.code, 'ERR_PEER_MISBEHAVING')
    assert.equal(a.gossip.link(storm.id), null)
    assert.equal(a.gossip.stats.dropped, 1)
    assert.ok(a.gossip.stats.muted > 0)
    // Frames it still sends are ignored; B is served as before.
    storm.send(dataFrame(hex(2)))
    void a.gossip.publish(TOPIC, utf8('still here'))
    clock.run()
    assert.deepEqual(inboxB.get(b)!.map(m => fromUtf8(m.payload)), ['{}', 'still here'])
  })

  test('honest duplicates within the tolerance cost nothing', () => {
    const gossip = new Gossip({mode: 'flood'})
    const peers = [hostile(gossip, 'a1'), hostile(gossip, 'a2'), hostile(gossip, 'a3')]
    // Every message comes once from each of three peers, as flooding does.
    for (let i = 0; i < 500; i++) for (const peer of peers) peer.send(dataFrame(hex(i)))
    for (const info of gossip.links) assert.ok(info.score >= 0, `${info.id} scored ${info.score}`)
    assert.equal(gossip.stats.duplicates, 1000)
    gossip.destroy()
  })

  test('a PRUNE storm gets the peer dropped', () => {
    const {net} = createNet()
    const [a, b] = line(net, 2)
    const pruner = hostile(a.gossip)
    for (let i = 0; i < 1000 && !pruner.dropped; i++) pruner.send(encodePrune())
    assert.equal(pruner.dropped!.code, 'ERR_PEER_MISBEHAVING')
    assert.equal(a.gossip.link(b.key)!.eager, true)
  })

  test('GRAFTs are answered only for ids announced to that peer, once each', () => {
    const {clock, net} = createNet({lazyDelay: 5})
    const [a] = line(net, 2)
    const peer = hostile(a.gossip)
    // Eager: A pushes the message itself, so a GRAFT for it is not answered.
    void a.gossip.publish(TOPIC, utf8('pushed'))
    const pushed = decodeGossipFrame(peer.received[0])
    assert.equal(pushed.type, GossipFrameType.DATA)
    const pushedId = (pushed as {id: string}).id
    peer.send(encodeGraft([pushedId, hex(999)]))
    assert.equal(peer.received.length, 1)
    // Lazy: A announces, and answers one GRAFT for the announced id.
    peer.send(encodePrune())
    void a.gossip.publish(TOPIC, utf8('announced'))
    clock.run()
    const ihave = decodeGossipFrame(peer.received[1])
    assert.equal(ihave.type, GossipFrameType.IHAVE)
    const announced = (ihave as {entries: Array<{id: string}>}).entries[0].id
    peer.send(encodeGraft([announced]))
    peer.send(encodeGraft([announced]))
    assert.equal(peer.received.length, 3)
    assert.equal((decodeGossipFrame(peer.received[2]) as {id: string}).id, announced)
    assert.equal(a.gossip.link(peer.id)!.eager, true)
  })

  test('GRAFTs for unknown ids get the peer dropped', () => {
    const gossip = new Gossip()
    const peer = hostile(gossip)
    const ids = Array.from({length: 64}, (_, i) => hex(i))
    for (let i = 0; i < 100 && !peer.dropped; i++) peer.send(encodeGraft(ids))
    assert.equal(peer.dropped!.code, 'ERR_PEER_MISBEHAVING')
    assert.ok(peer.received.every(bytes => decodeGossipFrame(bytes).type === GossipFrameType.PRUNE), 'no message sent')
    gossip.destroy()
  })

  test('an IHAVE flood is bounded: missing ids are capped, the peer is rate limited and dropped', () => {
    const {clock, net} = createNet({maxMissing: 200})
    const [a] = line(net, 1)
    const liar = hostile(a.gossip)
    let next = 0
    for (let i = 0; i < 2000 && !liar.dropped; i++) {
      liar.send(encodeIHave(Array.from({length: 64}, () => ({id: hex(next++), hops: 0}))))
      assert.ok(a.gossip.stats.missing <= 200)
    }
    assert.equal(liar.dropped!.code, 'ERR_PEER_MISBEHAVING')
    assert.ok(a.gossip.stats.rateLimited > 0)
    clock.run()
    assert.equal(a.gossip.stats.missing, 0)
    assert.equal(clock.pending, 0)
  })

  test('announced ids that never come are grafted, and the broken promises count against the announcer', () => {
    const {clock, net} = createNet({graftTimeout: 10, graftRetry: 10})
    const [a] = line(net, 1)
    const liar = hostile(a.gossip)
    liar.send(encodeIHave([{id: hex(1), hops: 0}]))
    clock.run()
    assert.equal(a.gossip.stats.graftSent, 1)
    assert.deepEqual(decodeGossipFrame(liar.received.at(-1)!), {type: GossipFrameType.GRAFT, ids: [hex(1)]})
    assert.equal(a.gossip.stats.missing, 0)
  })

  test('a flood of distinct new ids is rate limited, then the peer is dropped', () => {
    const {clock, net} = createNet({rateLimit: {rate: 100, burst: 200}})
    const [a, b] = line(net, 2)
    const flooder = hostile(a.gossip)
    let sent = 0
    while (!flooder.dropped && sent < 100_000) flooder.send(dataFrame(hex(sent++)))
    clock.run()
    assert.equal(flooder.dropped!.code, 'ERR_PEER_MISBEHAVING')
    assert.ok(sent < 1000, `${sent} frames before the drop`)
    assert.equal(b.gossip.stats.received, 200)
  })

  test('a dropped peer that reconnects keeps its score', () => {
    const gossip = new Gossip()
    const first = hostile(gossip)
    for (let i = 0; i < 100 && !first.dropped; i++) first.send(new Uint8Array([0x0e]))
    assert.ok(first.dropped)
    const again = hostile(gossip)
    assert.ok(again.dropped, 'dropped again at once')
    gossip.destroy()
  })

  test('a muted peer that goes quiet is heard again once its penalty fades', () => {
    let now = 0
    const gossip = new Gossip({clock: {...systemClock, now: () => now}, score: {halfLife: 1000}})
    const peer = hostile(gossip)
    for (let i = 0; i < 3; i++) peer.send(new Uint8Array([0x0e]))
    assert.equal(gossip.link(peer.id)!.muted, true)
    now = 2000
    const inbox: GossipMessage[] = []
    gossip.subscribe(TOPIC, m => inbox.push(m))
    peer.send(dataFrame(hex(5)))
    assert.equal(gossip.link(peer.id)!.muted, false)
    assert.equal(inbox.length, 1)
    gossip.destroy()
  })
})

describe('gossip: score and rate limit', () => {
  test('penalties fade by half per half-life; rewards stop at the ceiling', () => {
    let now = 0
    const score = new PeerScore(scoreParams({halfLife: 100, maxScore: 1, deliveryReward: 0.4}), () => now)
    score.penalize(40)
    now = 100
    assert.equal(score.value, -20)
    for (let i = 0; i < 10; i++) score.reward()
    assert.equal(score.value, -19)
    assert.throws(() => scoreParams({muteThreshold: -60}), {code: 'ERR_INVALID_ARGUMENT'})
  })

})
