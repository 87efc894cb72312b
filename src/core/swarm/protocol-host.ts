import type {P2PError} from '../errors.js'
import type {Channel, ChannelHandlers} from '../mux/mux.js'

/**
 * What a protocol (gossip, files, later log replication and the DHT) needs from
 * one connected peer: a `PeerConnection` fits, and tests pass a mux-backed fake.
 */
export interface ProtocolPeer {
  /** The proven public key (hex); null until the identity proof is done. */
  readonly publicKey: string | null
  channel(name: string, handlers: ChannelHandlers): Channel
  destroy(err?: P2PError): void
}

/** What a protocol needs from a swarm: its peers now and as they come and go (a `Swarm` fits). */
export interface ProtocolSwarm {
  readonly peers: readonly ProtocolPeer[]
  on(event: 'connect' | 'disconnect', listener: (peer: ProtocolPeer) => void): unknown
  off(event: 'connect' | 'disconnect', listener: (peer: ProtocolPeer) => void): unknown
}

export interface ProtocolHostOptions<S> {
  /**
   * Starts the protocol with a connected peer whose key is proven. `ended()`
   * tells the host the session ended by itself; it answers whether that
   * session was still the key's live one (a reconnected key replaces it).
   */
  start(peer: ProtocolPeer, key: string, ended: () => boolean): S
  /** Ends a session the host no longer wants (peer gone, replaced, detached). */
  stop(session: S): void
  /** False once the protocol itself is gone: no new sessions start. */
  active?(): boolean
}

export interface ProtocolHost<S> {
  /** Stops every session and stops following the swarm. Idempotent. */
  detach(): void
  /** The live session of each peer, by proven key. */
  sessions(): Map<string, S>
}

/**
 * Runs one session of a protocol per connected peer of `swarm`, keyed by the
 * peer's proven key, now and as peers come and go: what gossip, files and the
 * protocols after them share. A key that reconnects replaces its old session.
 */
export function hostProtocol<S>(swarm: ProtocolSwarm, {start, stop, active = () => true}: ProtocolHostOptions<S>): ProtocolHost<S> {
  const live = new Map<string, {peer: ProtocolPeer, session: S}>()
  let detached = false

  const unlink = (key: string, peer: ProtocolPeer): void => {
    const entry = live.get(key)
    if (!entry || entry.peer !== peer) return
    live.delete(key)
    stop(entry.session)
  }

  const onConnect = (peer: ProtocolPeer): void => {
    const key = peer.publicKey
    if (detached || !active() || !key) return
    const previous = live.get(key)
    if (previous?.peer === peer) return
    if (previous) unlink(key, previous.peer)
    let session: S | undefined
    const ended = (): boolean => {
      const entry = live.get(key)
      if (entry === undefined || entry.session !== session) return false
      live.delete(key)
      return true
    }
    try {
      session = start(peer, key, ended)
      live.set(key, {peer, session})
    } catch (err) {
      // Only misuse gets here (the protocol's channel already open on this peer by
      // someone else): report it as a listener error, never into the swarm's code.
      queueMicrotask(() => {
        throw err
      })
    }
  }

  const onDisconnect = (peer: ProtocolPeer): void => {
    if (peer.publicKey) unlink(peer.publicKey, peer)
  }

  swarm.on('connect', onConnect)
  swarm.on('disconnect', onDisconnect)
  for (const peer of swarm.peers) onConnect(peer)

  return {
    detach() {
      if (detached) return
      detached = true
      swarm.off('connect', onConnect)
      swarm.off('disconnect', onDisconnect)
      for (const [key, {peer}] of [...live]) unlink(key, peer)
    },
    sessions: () => new Map([...live].map(([key, {session}]) => [key, session])),
  }
}
