/**
 * Plugs a gossip router into a swarm: one mux channel per connected peer, named
 * after the protocol, and one link per channel, named by the peer's proven key.
 * The router decodes; this file only pipes bytes, as webtorrent's peer file does.
 */
import {Gossip, type GossipOptions} from './router.js'
import type {Channel} from '../mux/mux.js'
import {hostProtocol, type ProtocolPeer, type ProtocolSwarm} from '../swarm/protocol-host.js'

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
  const host = hostProtocol<{channel: Channel, key: string}>(swarm, {
    active: () => !gossip.destroyed,
    start(peer, key, ended) {
      const channel = peer.channel(protocol, {
        onmessage: bytes => gossip.receive(key, bytes),
        onclose: () => { if (ended()) gossip.removeLink(key) },
      })
      gossip.addLink({
        id: key,
        send: bytes => {
          // A channel closes a moment before the swarm reports the peer gone.
          if (!channel.closed) channel.send(bytes)
        },
        drop: err => {
          if (ended()) unlink({channel, key})
          peer.destroy(err)
        },
      })
      return {channel, key}
    },
    stop: link => unlink(link),
  })
  return () => host.detach()

  function unlink({channel, key}: {channel: Channel, key: string}): void {
    gossip.removeLink(key)
    if (!channel.closed) channel.close()
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
