import type {SwarmPeer} from '../core/swarm/swarm.js'

export interface PeerEventDetail {
  /** The connection; its `publicKey` is the peer's proven identity. */
  peer: SwarmPeer
  /** The peer's ed25519 public key, hex. */
  publicKey: string
}

/** A peer proved its key and joined the room. */
export class PeerConnectEvent extends Event {
  static readonly eventName = 'p2p-peer-connect' as const
  readonly detail: PeerEventDetail

  constructor(detail: PeerEventDetail) {
    super(PeerConnectEvent.eventName, {bubbles: true, composed: true})
    this.detail = detail
  }
}

declare global {
  interface HTMLElementEventMap {
    'p2p-peer-connect': PeerConnectEvent
  }
}
