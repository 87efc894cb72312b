/**
 * Bounded memory for gossip: which ids were seen (to drop repeats) and which
 * messages we can still hand out (to answer GRAFTs). Both forget on a time to
 * live and on hard caps (the shared ExpiringMap), so no sender can make them
 * grow without bound.
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
export class SeenSet {
  readonly #map: ExpiringMap<string, true>

  constructor(options: SeenSetOptions) {
    this.#map = new ExpiringMap<string, true>(options)
  }

  get size(): number {
    return this.#map.size
  }

  get evicted(): number {
    return this.#map.evicted
  }

  has(id: string): boolean {
    return this.#map.has(id)
  }

  /** Returns true if `id` is new. */
  add(id: string): boolean {
    return this.#map.add(id, true)
  }

  clear(): void {
    this.#map.clear()
  }
}

export interface MessageCacheOptions extends SeenSetOptions {
  /** Most bytes of frames held at once. */
  maxBytes: number
}

/** Encoded DATA frames by id, bounded in count and in bytes, to answer GRAFTs. */
export class MessageCache {
  readonly #map: ExpiringMap<string, Uint8Array>

  constructor({ttl, max, maxBytes, now}: MessageCacheOptions) {
    this.#map = new ExpiringMap<string, Uint8Array>({ttl, max, maxWeight: maxBytes, weigh: frame => frame.byteLength, now})
  }

  get size(): number {
    return this.#map.size
  }

  get bytes(): number {
    return this.#map.weight
  }

  get(id: string): Uint8Array | undefined {
    return this.#map.get(id)
  }

  add(id: string, frame: Uint8Array): void {
    this.#map.add(id, frame)
  }

  clear(): void {
    this.#map.clear()
  }
}
