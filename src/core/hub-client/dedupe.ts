/**
 * Drops the copies of a message that several hubs carry, and only those.
 *
 * The same text arriving from two hubs within `window` ms is one message. The
 * same text arriving twice from one hub is two messages: apps re-announce
 * identical bodies on purpose (webrtc-swarm's `connect`), and swallowing the
 * repeat would stall discovery. So each delivered text remembers which hubs
 * have since matched it: a copy from a hub that has not matched the oldest
 * recent delivery is absorbed by it; anything else is a new delivery.
 *
 * Memory is bounded by time (`window`) and by the total length of the texts
 * kept (`maxChars`), oldest first.
 */
import {ExpiringMap} from '../expiring-map.js'

export interface CrossHubDedupeOptions {
  /** Milliseconds during which copies from other hubs count as the same message. */
  window?: number
  /** Most UTF-16 code units of message text kept for matching. */
  maxChars?: number
  now?: () => number
}

interface Delivery {
  readonly at: number
  readonly sources: number[]
}

// A text re-sent faster than this many times per window keeps only its newest deliveries.
const MAX_DELIVERIES_PER_TEXT = 32

export class CrossHubDedupe {
  readonly #window: number
  readonly #now: () => number
  // Each text's deliveries, held `window` ms after its newest one and weighed by the text's length.
  readonly #recent: ExpiringMap<string, Delivery[]>

  constructor({window = 5000, maxChars = 4 * 1024 * 1024, now = () => performance.now()}: CrossHubDedupeOptions = {}) {
    this.#window = window
    this.#now = now
    this.#recent = new ExpiringMap<string, Delivery[]>({ttl: window, maxWeight: maxChars, weigh: (_, text) => text.length, now})
  }

  /** Texts currently remembered. */
  get size(): number {
    return this.#recent.size
  }

  /** True when `text` from hub number `source` should be delivered. */
  accept(source: number, text: string): boolean {
    const now = this.#now()
    const horizon = now - this.#window
    let deliveries: Delivery[] = []
    const held = this.#recent.get(text)
    if (held !== undefined) {
      for (const delivery of held) {
        if (delivery.at < horizon || delivery.sources.includes(source)) continue
        delivery.sources.push(source)
        return false
      }
      deliveries = held.filter(delivery => delivery.at >= horizon)
      if (deliveries.length >= MAX_DELIVERIES_PER_TEXT) deliveries.shift()
    }
    deliveries.push({at: now, sources: [source]})
    this.#recent.set(text, deliveries)
    return true
  }

  clear(): void {
    this.#recent.clear()
  }
}
