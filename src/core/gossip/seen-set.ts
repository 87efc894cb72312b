/**
 * Bounded memory for gossip: which ids were seen (to drop repeats) and which
 * messages we can still hand out (to answer GRAFTs). Both forget on a time to
 * live and on hard caps, so no sender can make them grow without bound.
 *
 * Entries live in an insertion-ordered Map. Every entry gets the same time to
 * live, so insertion order is expiry order: expiring walks from the head and
 * stops at the first live entry, and a cap evicts the head (the oldest).
 */
import {P2PError} from '../errors.js'

export interface ExpiringOptions<V> {
  /** Milliseconds an entry lives. */
  ttl: number
  /** Most entries held at once; the oldest goes first. */
  max: number
  /** Most total weight held at once (with `weigh`); the oldest goes first. */
  maxWeight?: number
  weigh?: (value: V) => number
  now: () => number
}

interface Entry<V> {
  value: V
  expires: number
  weight: number
}

function checkPositive(name: string, value: number): void {
  if (!(value > 0)) throw P2PError.INVALID_ARGUMENT(`${name} must be positive`)
}

/** A Map with a time to live, a count cap and an optional weight cap. */
export class ExpiringMap<V> {
  readonly ttl: number
  readonly max: number
  readonly maxWeight: number
  /** Entries pushed out by a cap before their time (a sign of a flood, or caps too small). */
  evicted = 0
  #weight = 0
  readonly #entries = new Map<string, Entry<V>>()
  readonly #weigh: (value: V) => number
  readonly #now: () => number

  constructor({ttl, max, maxWeight = Infinity, weigh = () => 0, now}: ExpiringOptions<V>) {
    checkPositive('ttl', ttl)
    checkPositive('max', max)
    checkPositive('maxWeight', maxWeight)
    this.ttl = ttl
    this.max = Math.floor(max)
    this.maxWeight = maxWeight
    this.#weigh = weigh
    this.#now = now
  }

  get size(): number {
    return this.#entries.size
  }

  /** Total weight of the entries held. */
  get weight(): number {
    return this.#weight
  }

  has(key: string): boolean {
    return this.get(key) !== undefined
  }

  get(key: string): V | undefined {
    const entry = this.#entries.get(key)
    if (!entry) return undefined
    if (entry.expires <= this.#now()) {
      this.expire()
      return undefined
    }
    return entry.value
  }

  /**
   * Adds `key` unless present; returns false if it was. The time to live counts
   * from the first insertion: adding again never refreshes it, which keeps the
   * Map in expiry order. A value heavier than `maxWeight` is not kept at all.
   */
  add(key: string, value: V): boolean {
    this.expire()
    if (this.#entries.has(key)) return false
    const weight = this.#weigh(value)
    if (weight > this.maxWeight) return true
    this.#entries.set(key, {value, expires: this.#now() + this.ttl, weight})
    this.#weight += weight
    for (const [oldest, entry] of this.#entries) {
      if (this.#entries.size <= this.max && this.#weight <= this.maxWeight) break
      this.#remove(oldest, entry)
      this.evicted++
    }
    return true
  }

  delete(key: string): boolean {
    const entry = this.#entries.get(key)
    if (!entry) return false
    this.#remove(key, entry)
    return true
  }

  /** Drops expired entries, oldest first; stops at the first live one. */
  expire(): void {
    const now = this.#now()
    for (const [key, entry] of this.#entries) {
      if (entry.expires > now) break
      this.#remove(key, entry)
    }
  }

  clear(): void {
    this.#entries.clear()
    this.#weight = 0
  }

  /** Live entries, oldest first. */
  *entries(): IterableIterator<[string, V]> {
    this.expire()
    for (const [key, entry] of this.#entries) yield [key, entry.value]
  }

  #remove(key: string, entry: Entry<V>): void {
    this.#entries.delete(key)
    this.#weight -= entry.weight
  }
}

export interface SeenSetOptions {
  /** Milliseconds an id is remembered. */
  ttl: number
  /** Most ids remembered at once. */
  max: number
  now: () => number
}

/** Ids seen lately. Past its time to live or its cap an id is forgotten, and a repeat of it looks new. */
export class SeenSet {
  readonly #map: ExpiringMap<true>

  constructor(options: SeenSetOptions) {
    this.#map = new ExpiringMap<true>(options)
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
  readonly #map: ExpiringMap<Uint8Array>

  constructor({ttl, max, maxBytes, now}: MessageCacheOptions) {
    this.#map = new ExpiringMap<Uint8Array>({ttl, max, maxWeight: maxBytes, weigh: frame => frame.byteLength, now})
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
