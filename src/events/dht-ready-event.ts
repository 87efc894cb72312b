import type {PageDht} from '../core/dht/page-dht.js'

export interface DhtReadyEventDetail {
  /** The page's DHT node: its `dht` (lookups, topics, records), `swarm`, `upkeep` and `stats`. */
  dht: PageDht
}

/** The page's DHT node has its first contact: lookups, topics and records work from now on. */
export class DhtReadyEvent extends Event {
  static readonly eventName = 'p2p-dht-ready' as const
  readonly detail: DhtReadyEventDetail

  constructor(detail: DhtReadyEventDetail) {
    super(DhtReadyEvent.eventName, {bubbles: true, composed: true})
    this.detail = detail
  }
}

declare global {
  interface HTMLElementEventMap {
    'p2p-dht-ready': DhtReadyEvent
  }
}
