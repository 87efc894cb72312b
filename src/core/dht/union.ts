/**
 * The connections of several swarms as one (a `ProtocolSwarm`), for a DHT that
 * runs over every connection of a page whatever room made it (docs/dht.md,
 * "One DHT a page"). A peer met in a room over another room's connection is
 * that connection (its `link`), so both ends host the DHT on the same
 * connection's own channel, never on a room's prefixed one; a connection
 * several rooms share is one peer, there while any of them has it.
 */
import {Emitter} from '../emitter.js'
import type {ProtocolPeer, ProtocolSwarm} from '../swarm/protocol-host.js'

type UnionEvents = {
  connect: (peer: ProtocolPeer) => void
  disconnect: (peer: ProtocolPeer) => void
}

/** The connection a swarm's peer rides on: its own, or the one it shares (a room's peer has a `link`). */
function connectionOf(peer: ProtocolPeer): ProtocolPeer {
  return (peer as {link?: ProtocolPeer}).link ?? peer
}

export class SwarmUnion extends Emitter<UnionEvents> implements ProtocolSwarm {
  /** Each swarm followed, with its listeners. */
  readonly #swarms = new Map<ProtocolSwarm, {connect: (peer: ProtocolPeer) => void, disconnect: (peer: ProtocolPeer) => void}>()
  /** Each connection, with the swarms' peers on it. */
  readonly #connections = new Map<ProtocolPeer, Set<ProtocolPeer>>()

  get peers(): ProtocolPeer[] {
    return [...this.#connections.keys()]
  }

  /** Whether `swarm` is followed. */
  has(swarm: ProtocolSwarm): boolean {
    return this.#swarms.has(swarm)
  }

  /** Follows `swarm`: its peers now and as they come and go. */
  add(swarm: ProtocolSwarm): void {
    if (this.#swarms.has(swarm)) return
    const listeners = {connect: (peer: ProtocolPeer) => this.#connect(peer), disconnect: (peer: ProtocolPeer) => this.#disconnect(peer)}
    this.#swarms.set(swarm, listeners)
    swarm.on('connect', listeners.connect)
    swarm.on('disconnect', listeners.disconnect)
    for (const peer of swarm.peers) this.#connect(peer)
  }

  /** Stops following `swarm`: a connection only it had is gone from the union. */
  remove(swarm: ProtocolSwarm): void {
    const listeners = this.#swarms.get(swarm)
    if (!listeners) return
    this.#swarms.delete(swarm)
    swarm.off('connect', listeners.connect)
    swarm.off('disconnect', listeners.disconnect)
    for (const peer of swarm.peers) this.#disconnect(peer)
  }

  #connect(peer: ProtocolPeer): void {
    const connection = connectionOf(peer)
    const on = this.#connections.get(connection)
    if (on) {
      on.add(peer)
      return
    }
    this.#connections.set(connection, new Set([peer]))
    this.emit('connect', connection)
  }

  #disconnect(peer: ProtocolPeer): void {
    const connection = connectionOf(peer)
    const on = this.#connections.get(connection)
    if (!on?.delete(peer) || on.size > 0) return
    this.#connections.delete(connection)
    this.emit('disconnect', connection)
  }
}
