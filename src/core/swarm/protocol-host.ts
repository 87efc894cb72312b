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
