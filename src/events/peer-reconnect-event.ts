import type {PeerEventDetail} from './peer-connect-event.js'

export interface PeerReconnectEventDetail extends PeerEventDetail {
  /**
   * `ice-restart`: the same connection was repaired and its channels carried on.
   * `new-connection`: a new connection replaced the broken one (a
   * `p2p-peer-connect` for it came just before).
   */
  how: 'ice-restart' | 'new-connection'
}

/** A peer whose connection broke is back; fired once per break. */
export class PeerReconnectEvent extends Event {
  static readonly eventName = 'p2p-peer-reconnect' as const
  readonly detail: PeerReconnectEventDetail

  constructor(detail: PeerReconnectEventDetail) {
    super(PeerReconnectEvent.eventName, {bubbles: true, composed: true})
    this.detail = detail
  }
}

declare global {
  interface HTMLElementEventMap {
    'p2p-peer-reconnect': PeerReconnectEvent
  }
}
