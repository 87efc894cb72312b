import type {SourceItem} from '../core/source/message-source.js'

export interface GossipMessageEventDetail {
  /** The message as the feed renders it: id, value, signer, arrival time, whether it is ours. */
  item: SourceItem
  /** The topic it was published on. */
  topic: string
}

/** A message reached this peer on a topic: from the network, or published by this user. */
export class GossipMessageEvent extends Event {
  static readonly eventName = 'p2p-gossip-message' as const
  readonly detail: GossipMessageEventDetail

  constructor(detail: GossipMessageEventDetail) {
    super(GossipMessageEvent.eventName, {bubbles: true, composed: true})
    this.detail = detail
  }
}

declare global {
  interface HTMLElementEventMap {
    'p2p-gossip-message': GossipMessageEvent
  }
}
