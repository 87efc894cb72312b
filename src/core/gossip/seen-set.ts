/**
 * Bounded memory for gossip: which ids were seen (to drop repeats) and which
 * messages we can still hand out (to answer GRAFTs). Both forget on a time to
 * live and on hard caps (they are the shared ExpiringMap), so no sender can make
 * them grow without bound.
 */
import {ExpiringMap} from '../expiring-map.js'

export interface SeenSetOptions {
  /** Milliseconds an id is remembered. */
  ttl: number
  /** Most ids remembered at once. */
  max: number
  now: () => number
}

/** Ids seen lately. Past its time to live or its cap an id is forgotten, and a repeat of it looks new. */
export class SeenSet extends ExpiringMap<string, true> {
  /** Returns true if `id` is new. */
  override add(id: string): boolean {
    return super.add(id, true)
  }
}

export interface MessageCacheOptions extends SeenSetOptions {
  /** Most bytes of frames held at once. */
  maxBytes: number
}

/** Encoded DATA frames by id, bounded in count and in bytes, to answer GRAFTs. */
export class MessageCache extends ExpiringMap<string, Uint8Array> {
  constructor({ttl, max, maxBytes, now}: MessageCacheOptions) {
    super({ttl, max, maxWeight: maxBytes, weigh: frame => frame.byteLength, now})
  }

  /** Bytes of frames held. */
  get bytes(): number {
    return this.weight
  }
}
