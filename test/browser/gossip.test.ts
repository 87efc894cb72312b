import {expect} from '@open-wc/testing'
import type {Swarm} from '../../src/core/swarm/swarm.js'
import type {SwarmPeer} from '../../src/core/swarm/swarm.js'
import {Gossip, type GossipMessage, type GossipOptions} from '../../src/core/gossip/router.js'
import {attachGossip, GOSSIP_PROTOCOL} from '../../src/core/gossip/swarm.js'
import {encodeData} from '../../src/core/gossip/messages.js'
import {fromUtf8, randomBytes, toHex, utf8} from '../../src/core/bytes.js'
import type {P2PError} from '../../src/core/errors.js'
import {createSwarm, destroyAll, freshRoom, meshConnected, until} from './helpers/swarm.js'

interface Node {
  swarm: Swarm
  gossip: Gossip
  got: GossipMessage[]
  detach: () => void
}

function createNode(room: string, opts: {maxPeers?: number, gossip?: GossipOptions} = {}): Node {
  const swarm = createSwarm(room, {maxPeers: opts.maxPeers})
  const gossip = new Gossip({identity: swarm.identity, ...opts.gossip})
  const got: GossipMessage[] = []
  gossip.subscribe('chat', m => got.push(m))
  return {swarm, gossip, got, detach: attachGossip(gossip, swarm)}
}

function destroyNodes(nodes: Node[]): void {
  for (const n of nodes) {
    n.detach()
    n.gossip.destroy()
  }
  destroyAll(nodes.map(n => n.swarm))
}

/** Every node's links are up: the gossip channel follows the swarm's connect event. */
function linked(nodes: Node[]): boolean {
  return nodes.every(n => n.gossip.stats.links === n.swarm.peers.length)
}

function texts(node: Node): string[] {
  return node.got.map(m => fromUtf8(m.payload)).sort()
}

/** A swarm in the room that speaks gossip frames by hand: the hostile peer. */
async function hostileLink(room: string, victim: Node) {
  const hostile = createSwarm(room)
  const peer = await new Promise<SwarmPeer>(resolve => hostile.on('connect', p => {
    if (p.publicKey === victim.swarm.publicKey) resolve(p)
  }))
  const channel = peer.channel(GOSSIP_PROTOCOL, {onmessage() {}})
  await until(victim.gossip, ['update'], () => victim.gossip.stats.links >= 1, 'the victim linking the hostile peer')
  return {hostile, peer, channel}
}

describe('gossip over real swarms', () => {
  let nodes: Node[] = []
  let extra: Swarm[] = []
  afterEach(() => {
    destroyNodes(nodes)
    destroyAll(extra)
    nodes = []
    extra = []
  })

  it('delivers every message exactly once to every peer of a partial mesh (6 peers, maxPeers 2)', async () => {
    const room = freshRoom()
    nodes = Array.from({length: 6}, () => createNode(room, {maxPeers: 2}))
    const swarms = nodes.map(n => n.swarm)
    await until(swarms, ['update'], () => meshConnected(swarms) && swarms.every(s => s.connections.every(c => c.state === 'connected')), 'a connected partial mesh', 30_000)
    await until(nodes.map(n => n.gossip), ['update'], () => linked(nodes), 'gossip links on every connection')
    expect(swarms.every(s => s.peers.length <= 2)).to.equal(true)
    const sent = await Promise.all(nodes.map((n, i) => n.gossip.publish('chat', utf8(`hello from ${i}`))))
    const expected = nodes.map((_, i) => `hello from ${i}`).sort()
    await until(nodes.map(n => n.gossip), ['update', 'message'], () => nodes.every(n => n.got.length >= 6), 'every message everywhere')
    for (const n of nodes) {
      expect(texts(n)).to.deep.equal(expected)
      expect(new Set(n.got.map(m => m.id)).size).to.equal(6)
      for (const m of n.got) expect(m.author).to.be.a('string')
    }
    expect(new Set(sent).size).to.equal(6)
  })

  it('a peer that joins late receives the messages sent after it joined', async () => {
    const room = freshRoom()
    nodes = [createNode(room), createNode(room)]
    await until(nodes.map(n => n.swarm), ['update'], () => nodes.every(n => n.swarm.peers.length === 1), 'two peers')
    await until(nodes.map(n => n.gossip), ['update'], () => linked(nodes), 'links')
    await nodes[0].gossip.publish('chat', utf8('before'))
    await until(nodes[1].gossip, ['message'], () => nodes[1].got.length === 1, 'the first message')
    const late = createNode(room)
    nodes.push(late)
    await until(late.swarm, ['update'], () => late.swarm.peers.length === 2, 'the late peer connecting')
    await until(late.gossip, ['update'], () => late.gossip.stats.links === 2, 'the late peer linking')
    await nodes[1].gossip.publish('chat', utf8('after'))
    await until(late.gossip, ['message'], () => late.got.length === 1, 'the late peer receiving')
    expect(texts(late)).to.deep.equal(['after'])
  })

  it('refuses a message whose signature is forged, never forwards it, and scores the sender', async () => {
    const room = freshRoom()
    const victim = createNode(room)
    const bystander = createNode(room)
    nodes = [victim, bystander]
    await until([victim.swarm, bystander.swarm], ['update'], () => victim.swarm.peers.length === 1, 'victim and bystander')
    await until([victim.gossip, bystander.gossip], ['update'], () => linked(nodes), 'gossip linked')
    const {hostile, channel} = await hostileLink(room, victim)
    extra.push(hostile)
    // Claims a third author's key, so no peer could tell it from the author's own by its key.
    const forged = encodeData({
      id: toHex(randomBytes(8)), hops: 0, topic: 'chat', payload: utf8('I am someone else'),
      author: new Uint8Array(32).fill(7), signature: randomBytes(64),
    })
    channel.send(forged)
    await until(victim.gossip, ['update'], () => victim.gossip.stats.invalid === 1, 'the forged message being counted')
    expect(victim.got).to.have.length(0)
    const info = victim.gossip.link(hostile.publicKey)!
    expect(info.score).to.be.lessThan(0)
    // The sentinel: an honest message from the same peer, relayed after the forgery was judged.
    channel.send(encodeData({id: toHex(randomBytes(8)), hops: 0, topic: 'chat', payload: utf8('sentinel')}))
    await until(bystander.gossip, ['message'], () => bystander.got.length === 1, 'the sentinel relayed to the bystander')
    // What the relay sent: the sentinel, and not the forgery (the bystander received one DATA frame).
    expect(texts(bystander)).to.deep.equal(['sentinel'])
    expect(victim.gossip.stats.forwarded).to.equal(1)
    expect(bystander.gossip.stats.received).to.equal(1)
    expect(bystander.gossip.stats.invalid).to.equal(0)
    // Honest traffic still flows.
    await bystander.gossip.publish('chat', utf8('real'))
    await until(victim.gossip, ['message'], () => victim.got.length === 2, 'an honest message')
    expect(texts(victim)).to.deep.equal(['real', 'sentinel'])
  })

  it('drops an oversized message', async () => {
    const room = freshRoom()
    const victim = createNode(room, {gossip: {maxMessageBytes: 1024}})
    nodes = [victim]
    const {hostile, channel} = await hostileLink(room, victim)
    extra.push(hostile)
    channel.send(encodeData({id: toHex(randomBytes(8)), hops: 0, topic: 'chat', payload: new Uint8Array(4096)}))
    await until(victim.gossip, ['update'], () => victim.gossip.stats.oversized + victim.gossip.stats.malformed >= 1, 'the oversized message being counted')
    expect(victim.got).to.have.length(0)
  })

  it('mutes, then drops, a peer that storms duplicates, and keeps serving the others', async () => {
    const room = freshRoom()
    const victim = createNode(room)
    const friend = createNode(room)
    nodes = [victim, friend]
    await until([victim.swarm, friend.swarm], ['update'], () => victim.swarm.peers.length === 1, 'victim and friend')
    const {hostile, channel} = await hostileLink(room, victim)
    extra.push(hostile)
    const frame = encodeData({id: toHex(randomBytes(8)), hops: 0, topic: 'chat', payload: utf8('again')})
    const dropped = new Promise<P2PError>(resolve => victim.gossip.once('drop', (_id, err) => resolve(err)))
    let muted = false
    victim.gossip.once('mute', () => { muted = true })
    for (let i = 0; i < 2000 && !muted; i++) {
      channel.send(frame)
      if (i % 50 === 49) await new Promise(resolve => setTimeout(resolve, 0))
    }
    await until(victim.gossip, ['mute', 'update'], () => muted, 'the storming peer being muted')
    // A muted peer still loses score with every frame: one that keeps storming is dropped.
    for (let i = 0; i < 4000 && victim.swarm.peers.some(p => p.publicKey === hostile.publicKey); i++) {
      if (!channel.closed) channel.send(frame)
      if (i % 50 === 49) await new Promise(resolve => setTimeout(resolve, 0))
    }
    const err = await dropped
    expect(err.code).to.equal('ERR_PEER_MISBEHAVING')
    await until(victim.swarm, ['update'], () => !victim.swarm.peers.some(p => p.publicKey === hostile.publicKey), 'the hostile peer gone')
    expect(texts(victim)).to.deep.equal(['again'])
    await friend.gossip.publish('chat', utf8('still here'))
    await until(victim.gossip, ['message'], () => victim.got.length === 2, 'the friend still served')
  })
})
