/**
 * Plugs a gossip router into a swarm: one mux channel per connected peer, named
 * after the protocol, and one link per channel, named by the peer's proven key.
 * The router decodes; this file only pipes bytes, as webtorrent's peer file does.
 */
import {Gossip, type GossipOptions} from './router.js'
import type {Channel} from '../mux/mux.js'
import type {ProtocolPeer, ProtocolSwarm} from '../swarm/protocol-host.js'

export const GOSSIP_PROTOCOL = 'p2p/gossip/1'

/** Kept as names of the gossip API; the shapes are the swarm's, shared by every protocol. */
export type GossipPeer = ProtocolPeer
export type GossipSwarm = ProtocolSwarm

export interface AttachOptions {
  /** The mux channel name; two routers on one swarm need two names. */
  protocol?: string
}

/**
 * Links every connected peer of `swarm`, now and as they connect, to `gossip`,
 * and unlinks them as they leave. A peer the router gives up on is destroyed with
 * the router's error. Returns `detach`, which unlinks every peer and closes the
 * channels (the router and the swarm live on).
 */
export function attachGossip(gossip: Gossip, swarm: GossipSwarm, {protocol = GOSSIP_PROTOCOL}: AttachOptions = {}): () => void {
  /** By key, the peer whose channel is linked now (a reconnected key replaces its old connection). */
  const attached = new Map<string, {peer: GossipPeer, channel: Channel}>()
  let detached = false

  const unlink = (key: string, peer: GossipPeer): void => {
    const entry = attached.get(key)
    if (!entry || entry.peer !== peer) return
    attached.delete(key)
    gossip.removeLink(key)
    if (!entry.channel.closed) entry.channel.close()
  }

  const link = (peer: GossipPeer, key: string): void => {
    const channel = peer.channel(protocol, {
      onmessage: bytes => gossip.receive(key, bytes),
      onclose: () => unlink(key, peer),
    })
    attached.set(key, {peer, channel})
    gossip.addLink({
      id: key,
      send: bytes => {
        // A channel closes a moment before the swarm reports the peer gone.
        if (!channel.closed) channel.send(bytes)
      },
      drop: err => {
        unlink(key, peer)
        peer.destroy(err)
      },
    })
  }

  const onConnect = (peer: GossipPeer): void => {
    const key = peer.publicKey
    if (detached || gossip.destroyed || !key) return
    const previous = attached.get(key)
    if (previous?.peer === peer) return
    if (previous) unlink(key, previous.peer)
    try {
      link(peer, key)
    } catch (err) {
      // Only misuse gets here (the protocol's channel already open on this peer by
      // someone else): report it as a listener error, never into the swarm's code.
      const entry = attached.get(key)
      if (entry?.peer === peer) {
        attached.delete(key)
        if (!entry.channel.closed) entry.channel.close()
      }
      queueMicrotask(() => {
        throw err
      })
    }
  }

  const onDisconnect = (peer: GossipPeer): void => {
    if (peer.publicKey) unlink(peer.publicKey, peer)
  }

  swarm.on('connect', onConnect)
  swarm.on('disconnect', onDisconnect)
  for (const peer of swarm.peers) onConnect(peer)

  return () => {
    if (detached) return
    detached = true
    swarm.off('connect', onConnect)
    swarm.off('disconnect', onDisconnect)
    for (const [key, {peer}] of [...attached]) unlink(key, peer)
  }
}

export interface SharedGossip {
  readonly gossip: Gossip
  /** Gives this hold back; the last one detaches and destroys the router. */
  release(): void
}

interface Share {
  gossip: Gossip
  detach: () => void
  holders: number
}

const shares = new WeakMap<GossipSwarm, Share>()

/**
 * One router per swarm, shared by everything on the page that gossips in that
 * room (several `<p2p-gossip>` topics): a mux channel name can be open only once
 * per connection. The first caller's options create it; the last release ends it.
 */
export function sharedGossip(swarm: GossipSwarm & {identity?: GossipOptions['identity']}, options: GossipOptions = {}): SharedGossip {
  let share = shares.get(swarm)
  if (!share || share.gossip.destroyed) {
    const gossip = new Gossip({identity: swarm.identity, ...options})
    share = {gossip, detach: attachGossip(gossip, swarm), holders: 0}
    shares.set(swarm, share)
  }
  const held = share
  held.holders++
  let released = false
  return {
    gossip: held.gossip,
    release: () => {
      if (released) return
      released = true
      if (--held.holders > 0) return
      held.detach()
      held.gossip.destroy()
      if (shares.get(swarm) === held) shares.delete(swarm)
    },
  }
}
