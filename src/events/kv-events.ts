import type {KV, KvChange} from '../core/kv/kv.js'

export interface KvChangeEventDetail {
  kv: KV
  /** The keys whose values changed, each with its values after (`values`) and before (`old`). */
  changes: KvChange[]
}

/** Keys of a KV changed: written here, received from a peer, or folded from storage as the KV caught up. */
export class KvChangeEvent extends Event {
  static readonly eventName = 'p2p-kv-change' as const
  readonly detail: KvChangeEventDetail

  constructor(detail: KvChangeEventDetail) {
    super(KvChangeEvent.eventName, {bubbles: true, composed: true})
    this.detail = detail
  }
}

declare global {
  interface HTMLElementEventMap {
    'p2p-kv-change': KvChangeEvent
  }
}
