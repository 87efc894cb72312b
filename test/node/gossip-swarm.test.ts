import {describe, test} from 'node:test'
import assert from 'node:assert/strict'
import {P2PError} from '../../src/core/errors.js'
import {fromUtf8, utf8} from '../../src/core/bytes.js'
import type {Swarm} from '../../src/core/swarm/index.js'
import {
  Gossip, GossipSource, attachGossip, sharedGossip, gossipMessages, GOSSIP_PROTOCOL,
  type GossipMessage, type GossipSwarm,
} from '../../src/core/gossip/index.js'
import {KeyPairIdentity} from '../../src/core/crypto/seed-identity.js'
import {VirtualClock} from '../../src/core/gossip/simulation.js'
import {FakeSwarm, connect} from './fake-swarm.js'
import {until} from '../shared/until.js'

// The real Swarm must fit what gossip asks of a swarm.
const swarmFits: (swarm: Swarm) => GossipSwarm = swarm => swarm
void swarmFits

function inbox(gossip: Gossip, topic = 'chat'): GossipMessage[] {
  const list: GossipMessage[] = []
  gossip.subscribe(topic, message => list.push(message))
  return list
}

describe('gossip over a swarm', () => {
  test('peers connected before and after attaching are linked, and messages flow over the mux', async () => {
    const [sa, sb, sc] = [new FakeSwarm(), new FakeSwarm(), new FakeSwarm()]
    connect(sa, 'a', sb, 'b')
    const [ga, gb, gc] = [new Gossip({identity: sa.identity}), new Gossip(), new Gossip()]
    const detach = [attachGossip(ga, sa), attachGossip(gb, sb), attachGossip(gc, sc)]
    connect(sb, 'b', sc, 'c')
    assert.equal(gb.stats.links, 2)
    const got = inbox(gc)
    await ga.publish('chat', utf8('over the mux'))
    await until(() => got.length === 1, 'delivery at c')
    assert.equal(fromUtf8(got[0].payload), 'over the mux')
    assert.equal(got[0].from, 'b')
    assert.equal(got[0].hops, 2)
    assert.ok(got[0].author)
    assert.deepEqual(sb.peers.map(p => p.mux.remoteChannels.includes(GOSSIP_PROTOCOL)), [true, true])
    for (const d of detach) d()
    for (const g of [ga, gb, gc]) g.destroy()
  })

  test('a disconnected peer is unlinked; a reconnected key replaces its old connection', async () => {
    const [sa, sb] = [new FakeSwarm(), new FakeSwarm()]
    const ga = new Gossip()
    const gb = new Gossip()
    attachGossip(ga, sa)
    attachGossip(gb, sb)
    const first = connect(sa, 'a', sb, 'b')
    assert.equal(ga.stats.links, 1)
    const second = connect(sa, 'a', sb, 'b')
    assert.equal(ga.stats.links, 1, 'one link per key')
    // The old connection going away now must not unlink the new one.
    sa.remove(first.atA)
    assert.equal(ga.stats.links, 1)
    const got = inbox(gb)
    await ga.publish('chat', utf8('via the new one'))
    await until(() => got.length === 1, 'delivery')
    sa.remove(second.atA)
    assert.equal(ga.stats.links, 0)
    ga.destroy()
    gb.destroy()
  })

  test('a malformed frame is scored, never thrown, and a peer the router drops is destroyed with its error', async () => {
    const [sa, sb] = [new FakeSwarm(), new FakeSwarm()]
    const ga = new Gossip()
    attachGossip(ga, sa)
    const {atA, atB} = connect(sa, 'a', sb, 'evil')
    const raw = atB.channel(GOSSIP_PROTOCOL, {onmessage() {}})
    raw.send(new Uint8Array([0x0f, 1, 2]))
    await until(() => ga.stats.malformed === 1, 'the malformed frame')
    assert.equal(ga.link('evil')!.invalid, 1)
    for (let i = 0; i < 100; i++) raw.send(new Uint8Array([0x0f]))
    await until(() => atA.destroyed !== null, 'the drop')
    assert.equal((atA.destroyed as P2PError).code, 'ERR_PEER_MISBEHAVING')
    assert.equal(ga.stats.links, 0)
    assert.equal(sa.peers.length, 0)
    ga.destroy()
  })

  test('detach unlinks every peer and closes the channels; the router and swarm live on', async () => {
    const [sa, sb] = [new FakeSwarm(), new FakeSwarm()]
    const ga = new Gossip()
    const detach = attachGossip(ga, sa, {protocol: 'room:x/gossip/1'})
    const {atB} = connect(sa, 'a', sb, 'b')
    await until(() => atB.mux.remoteChannels.includes('room:x/gossip/1'), 'the remote channel')
    detach()
    detach()
    assert.equal(ga.stats.links, 0)
    await until(() => !atB.mux.remoteChannels.includes('room:x/gossip/1'), 'the channel to close')
    connect(sa, 'a', sb, 'c')
    assert.equal(ga.stats.links, 0, 'no longer listening')
    assert.equal(ga.destroyed, false)
    ga.destroy()
  })

  test('sharedGossip gives every holder on a swarm the same router, signed by the swarm identity, until the last release', async () => {
    const swarm = new FakeSwarm()
    const one = sharedGossip(swarm)
    const two = sharedGossip(swarm, {mode: 'flood'})
    assert.equal(one.gossip, two.gossip)
    assert.equal(one.gossip.mode, 'plumtree', 'the first caller configures it')
    assert.equal(one.gossip.publicKey, Buffer.from(swarm.identity.publicKey).toString('hex'))
    one.release()
    one.release()
    assert.equal(two.gossip.destroyed, false)
    two.release()
    assert.equal(two.gossip.destroyed, true)
    const three = sharedGossip(swarm)
    assert.notEqual(three.gossip, one.gossip)
    three.release()
  })
})

describe('GossipSource', () => {
  test('items are the JSON values of one topic, newest last, own ones local, authors verified', async () => {
    const identity = new KeyPairIdentity()
    const [sa, sb] = [new FakeSwarm(), new FakeSwarm()]
    const [ga, gb] = [new Gossip({identity}), new Gossip()]
    attachGossip(ga, sa)
    attachGossip(gb, sb)
    connect(sa, 'a', sb, 'b')
    const mine = new GossipSource(ga, 'chat')
    const theirs = new GossipSource(gb, 'chat', {epochNow: () => 1_700_000_000_000})
    const seen: unknown[] = []
    theirs.subscribe(item => seen.push(item.value))
    await mine.publish({text: 'hello', n: 1})
    await ga.publish('other', utf8('{"text":"elsewhere"}'))
    await until(() => theirs.items.length === 1, 'the item')
    assert.equal(mine.items.length, 1)
    assert.equal(mine.items[0].local, true)
    const [item] = theirs.items
    assert.deepEqual(item.value, {text: 'hello', n: 1})
    assert.equal(item.local, false)
    assert.equal(item.author, Buffer.from(identity.publicKey).toString('hex'))
    assert.equal(item.id, mine.items[0].id)
    assert.equal(item.receivedAt, 1_700_000_000_000, 'stamped by the source\'s clock')
    assert.deepEqual(seen, [{text: 'hello', n: 1}])
    ga.destroy()
    gb.destroy()
  })

  test('a payload that is not UTF-8 JSON is dropped and counted', () => {
    const gossip = new Gossip()
    const source = new GossipSource(gossip, 'chat')
    gossip.addLink({id: 'peer', send() {}, drop() {}})
    const frames = [utf8('not json'), new Uint8Array([0xff, 0xfe]), utf8('{"ok":true}')]
    frames.forEach((payload, i) => gossip.receive('peer', encodeDataFrame(i, payload)))
    assert.equal(source.stats.invalid, 2)
    assert.deepEqual(source.items.map(item => item.value), [{ok: true}])
    gossip.destroy()
  })

  test('items are bounded by the limit, oldest dropped first; a held id is not taken twice', () => {
    const clock = new VirtualClock()
    const gossip = new Gossip({seenTTL: 10, clock})
    const source = new GossipSource(gossip, 'chat', {limit: 3, epochNow: () => 42})
    gossip.addLink({id: 'peer', send() {}, drop() {}})
    for (let i = 0; i < 5; i++) gossip.receive('peer', encodeDataFrame(i, utf8(`${i}`)))
    assert.deepEqual(source.items.map(item => item.value), [2, 3, 4])
    assert.equal(source.items[0].receivedAt, 42)
    assert.equal(source.stats.items, 5)
    // The router forgets id 4 (seenTTL 10 ms) and takes the replay as new; the source still holds it.
    clock.advance(20)
    gossip.receive('peer', encodeDataFrame(4, utf8('4')))
    assert.equal(source.stats.repeated, 1)
    assert.equal(source.items.length, 3)
    gossip.destroy()
  })

  test('publish refuses values that are not JSON; close stops the source', async () => {
    const gossip = new Gossip()
    const source = new GossipSource(gossip, 'chat')
    await assert.rejects(source.publish(undefined), {code: 'ERR_INVALID_ARGUMENT'})
    const cyclic: Record<string, unknown> = {}
    cyclic.self = cyclic
    await assert.rejects(source.publish(cyclic), {code: 'ERR_INVALID_ARGUMENT'})
    await source.publish('fine')
    source.close()
    await gossip.publish('chat', utf8('"after close"'))
    assert.deepEqual(source.items.map(item => item.value), ['fine'])
    await assert.rejects(source.publish('x'), {code: 'ERR_DESTROYED'})
    assert.throws(() => new GossipSource(gossip, 'chat', {limit: 0}), {code: 'ERR_INVALID_ARGUMENT'})
    assert.throws(() => new GossipSource(gossip, 'chat', {limit: 2.5}), {code: 'ERR_INVALID_ARGUMENT'})
    gossip.destroy()
  })
})

function encodeDataFrame(n: number, payload: Uint8Array): Uint8Array {
  return gossipMessages.encodeData({id: n.toString(16).padStart(16, '0'), hops: 0, topic: 'chat', payload})
}
