/**
 * A Kademlia routing table sized for browsers: buckets of at most `k` contacts
 * by the length of the prefix they share with this node's id. A browser can
 * hold only a few dozen connections and create about 500 in a tab's life, so k
 * is small (8 by default) and a full bucket keeps its contacts (the longest
 * seen, the likeliest to stay: Kademlia's bias for old nodes, which also resists
 * a flood of new ids) unless the oldest fails to answer.
 */
import {systemClock, type Clock} from '../clock.js'
import {commonPrefix, compareDistance, ID_BITS, ID_BYTES, sameId} from './node-id.js'

/** A node as the table knows it: its id, and its proven public key (hex). */
export interface Contact {
  id: Uint8Array
  key: string
}

export interface RoutingTableOptions {
  /** This node's id. */
  self: Uint8Array
  /** Contacts per bucket (Kademlia's k). */
  k?: number
  /** Failed requests in a row after which a contact is dropped. */
  maxFailures?: number
  clock?: Clock
}

/** What `add` did: a full bucket names its least recently seen contact, to ask whether it is still there. */
export type AddResult = {result: 'added' | 'updated' | 'self'} | {result: 'full', oldest: Contact}

interface Slot {
  contact: Contact
  /** When it was last heard from (clock time). */
  seen: number
  /** Requests it failed in a row. */
  failures: number
}

export class RoutingTable {
  readonly self: Uint8Array
  readonly k: number
  readonly #maxFailures: number
  readonly #clock: Clock
  /** Bucket i holds contacts sharing exactly i leading bits with self, least recently seen first. */
  readonly #buckets: Slot[][] = Array.from({length: ID_BITS}, () => [])
  #size = 0

  constructor({self, k = 8, maxFailures = 2, clock = systemClock}: RoutingTableOptions) {
    if (!(self instanceof Uint8Array) || self.length !== ID_BYTES) throw new RangeError(`a node id is ${ID_BYTES} bytes`)
    if (!Number.isInteger(k) || k < 1) throw new RangeError('k is a whole number, 1 or more')
    if (!Number.isInteger(maxFailures) || maxFailures < 1) throw new RangeError('maxFailures is a whole number, 1 or more')
    this.self = self
    this.k = k
    this.#maxFailures = maxFailures
    this.#clock = clock
  }

  /** Contacts in the table. */
  get size(): number {
    return this.#size
  }

  /**
   * Adds or refreshes a contact that was just heard from. A full bucket keeps
   * its contacts and returns the oldest: ask it, and `replace` it if it fails.
   */
  add(contact: Contact): AddResult {
    const prefix = commonPrefix(this.self, contact.id)
    if (prefix === ID_BITS) return {result: 'self'}
    const bucket = this.#buckets[prefix]
    const at = bucket.findIndex(slot => sameId(slot.contact.id, contact.id))
    if (at !== -1) {
      const [slot] = bucket.splice(at, 1)
      slot.seen = this.#clock.now()
      slot.failures = 0
      bucket.push(slot)
      return {result: 'updated'}
    }
    if (bucket.length >= this.k) return {result: 'full', oldest: bucket[0].contact}
    bucket.push({contact, seen: this.#clock.now(), failures: 0})
    this.#size++
    return {result: 'added'}
  }

  /** Marks a contact as having answered (a response, a request from it). */
  seen(id: Uint8Array): void {
    const slot = this.#find(id)
    if (slot) this.add(slot.contact)
  }

  /** Counts a failed request to `id`; at maxFailures in a row it is dropped. True if it was dropped. */
  failed(id: Uint8Array): boolean {
    const slot = this.#find(id)
    if (!slot) return false
    if (++slot.failures < this.#maxFailures) return false
    this.remove(id)
    return true
  }

  /** Drops `old` (it failed to answer) for `contact`, in old's bucket. False if old is not there. */
  replace(old: Uint8Array, contact: Contact): boolean {
    if (!this.remove(old)) return false
    this.add(contact)
    return true
  }

  remove(id: Uint8Array): boolean {
    const prefix = commonPrefix(this.self, id)
    if (prefix === ID_BITS) return false
    const bucket = this.#buckets[prefix]
    const at = bucket.findIndex(slot => sameId(slot.contact.id, id))
    if (at === -1) return false
    bucket.splice(at, 1)
    this.#size--
    return true
  }

  has(id: Uint8Array): boolean {
    return this.#find(id) !== undefined
  }

  /** The `n` contacts closest to `target` (k by default), closest first, those `exclude` refuses left out. */
  closest(target: Uint8Array, n = this.k, exclude?: (contact: Contact) => boolean): Contact[] {
    const all: Contact[] = []
    for (const bucket of this.#buckets) for (const slot of bucket) if (!exclude?.(slot.contact)) all.push(slot.contact)
    all.sort((a, b) => compareDistance(target, a.id, b.id))
    return all.slice(0, n)
  }

  /** Every contact, bucket by bucket (nearest last). */
  contacts(): Contact[] {
    return this.#buckets.flatMap(bucket => bucket.map(slot => slot.contact))
  }

  /** The buckets that hold contacts: their index (shared prefix length) and fill, for a view of the table. */
  buckets(): Array<{index: number, size: number}> {
    const out: Array<{index: number, size: number}> = []
    for (const [index, bucket] of this.#buckets.entries()) if (bucket.length > 0) out.push({index, size: bucket.length})
    return out
  }

  /** Contacts not heard from since `before` (clock time): the ones to ask whether they are still there. */
  stale(before: number): Contact[] {
    return this.#buckets.flatMap(bucket => bucket.filter(slot => slot.seen < before).map(slot => slot.contact))
  }

  #find(id: Uint8Array): Slot | undefined {
    const prefix = commonPrefix(this.self, id)
    if (prefix === ID_BITS) return undefined
    return this.#buckets[prefix].find(slot => sameId(slot.contact.id, id))
  }
}
