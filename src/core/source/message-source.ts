/**
 * What `<p2p-feed>` and a plain `<form>` need from whatever provides items:
 * gossip now, a log later. Kept tiny so any producer can implement it.
 */
export interface SourceItem {
  /** Stable identity of the item (a gossip message id, a log entry hash). */
  readonly id: string
  /** The item's fields, as published (JSON). Rendered as text, never as HTML. */
  readonly value: unknown
  /** The author's ed25519 public key (hex), when the item is signed. */
  readonly author?: string
  /** Milliseconds since the epoch when this peer first saw the item. */
  readonly receivedAt: number
  /** True when this peer published it. */
  readonly local: boolean
}

export interface MessageSource {
  /** Items seen so far, oldest first (bounded by the producer). */
  readonly items: readonly SourceItem[]
  /** Publishes a JSON value; resolves once it has been handed to the network. */
  publish(value: unknown): Promise<void>
  /** Calls `listener` for every new item; returns the unsubscribe function. */
  subscribe(listener: (item: SourceItem) => void): () => void
}
