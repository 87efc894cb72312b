/**
 * Bucket upkeep (docs/dht.md): keeps a node's connections in Kademlia's shape,
 * so lookups route. A round looks its own id up and connects to the `near`
 * nodes nearest to it, then, for each bucket between the farthest and the
 * nearest node found that holds no connected contact, looks up a random id in
 * that bucket and connects to the node found there: one link per bucket, a
 * random one (the bucket's whole range is a random long link's, as Spray keeps
 * them). Connections are opened through `Dht.connect` (signalled through the
 * DHT, a route that answers first), at most `perRound` a round. Bucket links
 * are capped at `links` held; links to the nearest nodes are not (what makes
 * lookups exact: under churn, a node whose nearest changed must reach its new
 * ones), and the swarm's maxPeers bounds all of them. A peer lost brings a
 * round soon, and so does the first peer of a node whose last round found
 * none (a page that started before its first connection); a settled node only
 * checks every `interval`.
 */
import {systemClock, type Clock} from '../clock.js'
import {commonPrefix, randomIdInBucket} from './node-id.js'
import type {Dht, DhtContact} from './dht.js'

export interface UpkeepOptions {
  /** Nearest nodes to be connected to. */
  near?: number
  /** Bucket links the upkeep opened that it may hold at once. */
  links?: number
  /** Connections it opens in one round, at most. */
  perRound?: number
  /** Ms between rounds once settled; a round that opened connections brings the next one after `soon`. */
  interval?: number
  soon?: number
  clock?: Clock
  random?: () => number
}

export interface UpkeepStats {
  rounds: number
  lookups: number
  /** Connections opened by the upkeep, and attempts that failed (a route that did not answer, a refusal). */
  opened: number
  failed: number
  /** Bucket links it opened that are still up. */
  held: number
}

export class DhtUpkeep {
  readonly #dht: Dht
  readonly #near: number
  readonly #links: number
  readonly #perRound: number
  readonly #interval: number
  readonly #soon: number
  readonly #clock: Clock
  readonly #random: () => number
  /** Keys of the bucket links this upkeep opened, while they are up. */
  readonly #held = new Set<string>()
  readonly #stats = {rounds: 0, lookups: 0, opened: 0, failed: 0}
  #timer: unknown = null
  #running: Promise<void> | null = null
  #stopped = true
  /** The last round found no peer to look anything up through. */
  #alone = false

  constructor(dht: Dht, {near = 3, links = 12, perRound = 3, interval = 60_000, soon = 1_000, clock = systemClock, random = Math.random}: UpkeepOptions = {}) {
    this.#dht = dht
    this.#near = near
    this.#links = links
    this.#perRound = perRound
    this.#interval = interval
    this.#soon = soon
    this.#clock = clock
    this.#random = random
  }

  get stats(): UpkeepStats {
    return {...this.#stats, held: this.#held.size}
  }

  /** Runs rounds: the first soon, then every `interval`, and soon after a peer is lost. */
  start(): void {
    if (!this.#stopped) return
    this.#stopped = false
    this.#dht.on('peer', this.#onPeer)
    this.#schedule(this.#soon)
  }

  stop(): void {
    this.#stopped = true
    this.#dht.off('peer', this.#onPeer)
    this.#clock.clearTimeout(this.#timer)
    this.#timer = null
  }

  /** One round now (after the one running, if any); resolves with the connections it opened. */
  async round(): Promise<number> {
    while (this.#running) await this.#running
    let opened = 0
    this.#running = this.#round().then(n => {
      opened = n
    }, () => {
      // A lookup that failed as a whole (the DHT closed): the next round tries again.
    }).finally(() => {
      this.#running = null
    })
    await this.#running
    return opened
  }

  #onPeer = (key: string, connected: boolean): void => {
    if (connected) {
      if (!this.#alone || this.#stopped) return
      this.#alone = false
    } else {
      this.#held.delete(key)
      if (this.#stopped) return
    }
    this.#schedule(this.#soon)
  }

  #schedule(delay: number): void {
    this.#clock.clearTimeout(this.#timer)
    this.#timer = this.#clock.setTimeout(() => {
      this.#timer = null
      void this.round().then(opened => {
        if (!this.#stopped && this.#timer === null) this.#schedule(opened > 0 ? this.#soon : this.#interval * (0.75 + this.#random() / 2))
      })
    }, delay)
  }

  async #round(): Promise<number> {
    const dht = this.#dht
    await dht.ready
    this.#alone = dht.peers === 0
    if (this.#alone) return 0
    this.#stats.rounds++
    let opened = 0
    const self = dht.table.self
    this.#stats.lookups++
    const {closest} = await dht.lookup(self)
    for (const contact of closest.slice(0, this.#near)) {
      if (opened >= this.#perRound) break
      if (await this.#connect(contact, false)) opened++
    }
    // Buckets from the farthest to the one of the nearest node found: each should hold a connected contact.
    const deepest = closest.length > 0 ? commonPrefix(self, closest[0].id) : 0
    const filled = new Set(dht.table.buckets().map(b => b.index))
    const allowed = Math.min(this.#perRound, opened + this.#links - this.#held.size)
    for (let prefix = 0; prefix < deepest && opened < allowed; prefix++) {
      if (filled.has(prefix)) continue
      this.#stats.lookups++
      const {closest: found} = await dht.lookup(randomIdInBucket(self, prefix, this.#random))
      const pick = found.find(contact => commonPrefix(self, contact.id) === prefix)
      if (pick && await this.#connect(pick, true)) opened++
    }
    return opened
  }

  /** Connects to a node a lookup found (not one connected already); whether a connection was opened. */
  async #connect(contact: DhtContact, bucketLink: boolean): Promise<boolean> {
    if (contact.via.length === 0 || this.#dht.connected(contact.key)) return false
    try {
      if (await this.#dht.connect(contact.key, contact.via)) {
        this.#stats.opened++
        if (bucketLink) this.#held.add(contact.key)
        return true
      }
    } catch {
      // The route did not answer: counted below, and the next round looks again.
    }
    this.#stats.failed++
    return false
  }
}
