// Messages per second delivered across 4 peers in one page, through real swarms
// (WebRTC, mux, identity proof) with a gossip router on each. The baseline, in
// the same run and the same mesh: the publisher sends the same messages straight
// to each peer over a plain mux channel (no ids, no signatures, no relaying).
import {Swarm} from '../../src/core/swarm/swarm.js'
import {createIdentity} from '../../src/core/crypto/identity.js'
import {Gossip} from '../../src/core/gossip/router.js'
import {attachGossip} from '../../src/core/gossip/swarm.js'
import type {Channel} from '../../src/core/mux/mux.js'

const PEERS = 4

interface Node {
  swarm: Swarm
  gossip: Gossip
  detach: () => void
}

async function mesh(hub: string): Promise<Node[]> {
  const room = `bench-gossip-${Math.random().toString(36).slice(2)}`
  const identities = await Promise.all(Array.from({length: PEERS}, () => createIdentity()))
  const nodes = identities.map(identity => {
    const swarm = new Swarm({hubs: [hub], room, identity, iceServers: [], maxPeers: PEERS, announceInterval: {min: 100, max: 2000}})
    const gossip = new Gossip({identity: swarm.identity, rateLimit: {rate: 1e9, burst: 1e9}})
    return {swarm, gossip, detach: attachGossip(gossip, swarm)}
  })
  await new Promise<void>(resolve => {
    const check = () => {
      if (nodes.every(n => n.swarm.peers.length === PEERS - 1 && n.gossip.stats.links === PEERS - 1)) resolve()
    }
    for (const n of nodes) {
      n.swarm.on('update', check)
      n.gossip.on('update', check)
    }
  })
  return nodes
}

function teardown(nodes: Node[]): void {
  for (const n of nodes) {
    n.detach()
    n.gossip.destroy()
    n.swarm.destroy()
  }
}

/** Gossip: `count` messages of `size` bytes published by one peer; ms until every other peer has all. */
async function gossip(nodes: Node[], count: number, size: number, sign: boolean): Promise<number> {
  const topic = `t${Math.random()}`
  let pending = count * (PEERS - 1)
  const done = new Promise<void>(resolve => {
    for (const n of nodes.slice(1)) n.gossip.subscribe(topic, () => { if (--pending === 0) resolve() })
  })
  const payload = new Uint8Array(size).fill(7)
  const start = performance.now()
  for (let i = 0; i < count; i++) void nodes[0].gossip.publish(topic, payload, {sign})
  await done
  return performance.now() - start
}

/** Baseline: the same messages sent directly to each peer over a plain mux channel. */
async function direct(nodes: Node[], count: number, size: number): Promise<number> {
  const name = `bench/direct/${Math.random().toString(36).slice(2)}`
  let pending = count * (PEERS - 1)
  let resolveDone!: () => void
  const done = new Promise<void>(resolve => { resolveDone = resolve })
  const receivers: Channel[] = []
  for (const n of nodes.slice(1)) {
    const peer = n.swarm.peers.find(p => p.publicKey === nodes[0].swarm.publicKey)!
    receivers.push(peer.channel(name, {onmessage: () => { if (--pending === 0) resolveDone() }}))
  }
  const senders = nodes[0].swarm.peers.map(p => p.channel(name, {onmessage() {}}))
  const payload = new Uint8Array(size).fill(7)
  const start = performance.now()
  for (let i = 0; i < count; i++) for (const s of senders) s.send(payload)
  await done
  const ms = performance.now() - start
  for (const c of [...senders, ...receivers]) c.close()
  return ms
}

;(window as unknown as {gossipBench: unknown}).gossipBench = {
  async run(hub: string, count: number, size: number) {
    const nodes = await mesh(hub)
    try {
      const rows = []
      for (let round = 0; round < 3; round++) {
        rows.push({
          direct: await direct(nodes, count, size),
          unsigned: await gossip(nodes, count, size, false),
          signed: await gossip(nodes, count, size, true),
        })
      }
      return rows
    } finally {
      teardown(nodes)
    }
  },
}
