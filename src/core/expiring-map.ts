/**
 * A Map whose entries expire, bounded by a count and by a total weight, so no
 * sender can make it grow without bound: gossip's seen ids, message cache and
 * retained scores, the hub client's cross-hub copies, and (through `Deadlines`)
 * the swarm's bans, refused joins and lost peers.
 *
 * Entries live in an insertion-ordered Map. While every entry is inserted with
 * an expiry no earlier than the one before (one time to live on a monotonic
 * clock), insertion order is expiry order: expiring walks from the head and
 * stops at the first live entry, and a cap evicts the head (the oldest). An
 * entry given a shorter time to live than one already held breaks that order;
 * from then until the map empties, expiring walks every entry.
 */
import {checkNumber} from './check.js'
import {systemClock} from './clock.js'

export interface ExpiringMapOptions<K, V> {
  /** Milliseconds an entry lives unless `set` names its own. */
  ttl: number
  /** Most entries held at once; the oldest goes first. */
  max?: number
  /** Most total weight held at once (with `weigh`); the oldest goes first. */
  maxWeight?: number
  weigh?: (value: V, key: K) => number
  /** Milliseconds, monotonic. */
  now: () => number
}

interface Entry<V> {
  value: V
  expires: number
  weight: number
}

export class ExpiringMap<K, V> {
  readonly ttl: number
  readonly max: number
  readonly maxWeight: number
  #evicted = 0
  #weight = 0
  // Whether insertion order is still expiry order, and the latest expiry inserted.
  #ordered = true
  #latest = -Infinity
  readonly #entries = new Map<K, Entry<V>>()
  readonly #weigh: (value: V, key: K) => number
  readonly #now: () => number

  constructor({ttl, max = Infinity, maxWeight = Infinity, weigh = () => 0, now}: ExpiringMapOptions<K, V>) {
    checkNumber('ttl', ttl, Number.MIN_VALUE)
    checkNumber('max', max, 1)
    checkNumber('maxWeight', maxWeight, Number.MIN_VALUE)
    this.ttl = ttl
    this.max = Math.floor(max)
    this.maxWeight = maxWeight
    this.#weigh = weigh
    this.#now = now
  }

  /** Live entries held. */
  get size(): number {
    this.expire()
    return this.#entries.size
  }

  /** Total weight of the entries held. */
  get weight(): number {
    return this.#weight
  }

  /** Entries pushed out by a cap before their time (a sign of a flood, or caps too small). */
  get evicted(): number {
    return this.#evicted
  }

  has(key: K): boolean {
    return this.#live(key) !== undefined
  }

  get(key: K): V | undefined {
    return this.#live(key)?.value
  }

  /**
   * Adds `key` unless present; returns false if it was. The time to live counts
   * from the first insertion: adding again never refreshes it. A value heavier
   * than `maxWeight` is not kept at all.
   */
  add(key: K, value: V): boolean {
    this.expire()
    if (this.#entries.has(key)) return false
    this.#insert(key, value, this.ttl)
    return true
  }

  /** Holds `value` at `key` for `ttl` ms from now, replacing what it held and when it expired. */
  set(key: K, value: V, ttl = this.ttl): void {
    checkNumber('ttl', ttl, 0)
    this.expire()
    this.delete(key)
    this.#insert(key, value, ttl)
  }

  delete(key: K): boolean {
    const entry = this.#entries.get(key)
    if (!entry) return false
    this.#remove(key, entry)
    return true
  }

  /** Drops expired entries. */
  expire(): void {
    const now = this.#now()
    for (const [key, entry] of this.#entries) {
      if (entry.expires > now) {
        if (this.#ordered) break
        continue
      }
      this.#remove(key, entry)
    }
  }

  clear(): void {
    this.#entries.clear()
    this.#weight = 0
    this.#reorder()
  }

  /** Live entries, oldest first. */
  *entries(): IterableIterator<[K, V]> {
    this.expire()
    for (const [key, entry] of this.#entries) yield [key, entry.value]
  }

  #live(key: K): Entry<V> | undefined {
    const entry = this.#entries.get(key)
    if (!entry) return undefined
    if (entry.expires > this.#now()) return entry
    this.expire()
    return undefined
  }

  #insert(key: K, value: V, ttl: number): void {
    const weight = this.#weigh(value, key)
    if (weight > this.maxWeight) return
    const expires = this.#now() + ttl
    if (expires < this.#latest) this.#ordered = false
    else this.#latest = expires
    this.#entries.set(key, {value, expires, weight})
    this.#weight += weight
    for (const [oldest, entry] of this.#entries) {
      if (this.#entries.size <= this.max && this.#weight <= this.maxWeight) break
      this.#remove(oldest, entry)
      this.#evicted++
    }
  }

  #remove(key: K, entry: Entry<V>): void {
    this.#entries.delete(key)
    this.#weight -= entry.weight
    if (this.#entries.size === 0) this.#reorder()
  }

  #reorder(): void {
    this.#ordered = true
    this.#latest = -Infinity
  }
}

/**
 * Keys that each hold until a moment and are then gone: the swarm's bans, the
 * rooms that refused to share a connection, the peers lost lately.
 */
export class Deadlines<K> {
  readonly #map: ExpiringMap<K, true>

  constructor(now: () => number = () => systemClock.now()) {
    this.#map = new ExpiringMap<K, true>({ttl: Infinity, now})
  }

  /** Holds `key` for `ms` from now, whatever it held before. */
  set(key: K, ms: number): void {
    this.#map.set(key, true, ms)
  }

  /** Whether `key` still holds; an expired key is forgotten here. */
  has(key: K): boolean {
    return this.#map.has(key)
  }

  delete(key: K): void {
    this.#map.delete(key)
  }

  /** Keys that still hold. */
  get size(): number {
    return this.#map.size
  }
}
