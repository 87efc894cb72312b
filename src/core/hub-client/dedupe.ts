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
  readonly #maxChars: number
  readonly #now: () => number
  // Ordered by each text's newest delivery, oldest first, so expiry walks from the head.
  readonly #recent = new Map<string, Delivery[]>()
  #chars = 0

  constructor({window = 5000, maxChars = 4 * 1024 * 1024, now = () => performance.now()}: CrossHubDedupeOptions = {}) {
    this.#window = window
    this.#maxChars = maxChars
    this.#now = now
  }

  /** Texts currently remembered. */
  get size(): number {
    return this.#recent.size
  }

  /** True when `text` from hub number `source` should be delivered. */
  accept(source: number, text: string): boolean {
    const now = this.#now()
    const horizon = now - this.#window
    this.#expire(horizon)
    let deliveries = this.#recent.get(text)
    if (deliveries !== undefined) {
      for (const delivery of deliveries) {
        if (delivery.at < horizon || delivery.sources.includes(source)) continue
        delivery.sources.push(source)
        return false
      }
      this.#recent.delete(text)
      deliveries = deliveries.filter(delivery => delivery.at >= horizon)
      if (deliveries.length >= MAX_DELIVERIES_PER_TEXT) deliveries.shift()
    } else {
      deliveries = []
      this.#chars += text.length
    }
    deliveries.push({at: now, sources: [source]})
    this.#recent.set(text, deliveries)
    this.#trim()
    return true
  }

  clear(): void {
    this.#recent.clear()
    this.#chars = 0
  }

  #expire(horizon: number): void {
    for (const [text, deliveries] of this.#recent) {
      if (deliveries[deliveries.length - 1].at >= horizon) return
      this.#forget(text)
    }
  }

  #trim(): void {
    for (const text of this.#recent.keys()) {
      if (this.#chars <= this.#maxChars) return
      this.#forget(text)
    }
  }

  #forget(text: string): void {
    this.#recent.delete(text)
    this.#chars -= text.length
  }
}
