import type {P2PError} from '../core/errors.js'
import type {PeerEventDetail} from './peer-connect-event.js'

export interface PeerDisconnectEventDetail extends PeerEventDetail {
  /** Why the peer went; absent when it said goodbye. */
  error?: P2PError
}

/** A connected peer left, vanished or failed. */
export class PeerDisconnectEvent extends Event {
  static readonly eventName = 'p2p-peer-disconnect' as const
  readonly detail: PeerDisconnectEventDetail

  constructor(detail: PeerDisconnectEventDetail) {
    super(PeerDisconnectEvent.eventName, {bubbles: true, composed: true})
    this.detail = detail
  }
}

declare global {
  interface HTMLElementEventMap {
    'p2p-peer-disconnect': PeerDisconnectEvent
  }
}
