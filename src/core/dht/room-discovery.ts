/**
 * A room found through the DHT (docs/dht.md, "Rooms through the DHT"): the
 * room's swarm announces itself under the room's topic, and while it has room
 * for more peers it looks the topic's announcers up and connects to the ones it
 * lacks, with offers and answers signalled through the DHT. So a page joins a
 * room with its hubs down, and a partial mesh mends itself.
 */
import {P2PError} from '../errors.js'
import {systemClock, type Clock} from '../clock.js'
import {toHex} from '../bytes.js'
import {nodeIdOf} from './node-id.js'
import {swarmConnector, type Dht, type DhtConnector, type SignallingSwarm} from './dht.js'

/** What a room's swarm offers discovery (a `Swarm` fits). */
export interface DiscoverySwarm extends SignallingSwarm {
  readonly publicKey: string
}

export interface RoomDiscoveryOptions {
  dht: Dht
  swarm: DiscoverySwarm
  /** The room's topic: `topicHash(room)`. */
  topic: Uint8Array
  /** Ms between announcements (an announcement lives ANNOUNCE_TTL, 10 minutes). */
  announceEvery?: number
  /** Ms between looks for announcers not connected, while the swarm has room for peers. */
  healEvery?: number
  clock?: Clock
}

export interface RoomDiscoveryStats {
  announcements: number
  /** Looks for the topic's announcers, and connections opened to them. */
  looks: number
  connected: number
  failed: number
}

export class RoomDiscovery {
  readonly #dht: Dht
  readonly #swarm: DiscoverySwarm
  readonly #connector: DhtConnector
  readonly #topic: Uint8Array
  readonly #announceEvery: number
  readonly #healEvery: number
  readonly #clock: Clock
  readonly #stats: RoomDiscoveryStats = {announcements: 0, looks: 0, connected: 0, failed: 0}
  #announceTimer: unknown = null
  #healTimer: unknown = null
  #healing: Promise<number> | null = null
  #announced = false
  #stopped = true

  constructor({dht, swarm, topic, announceEvery = 4 * 60_000, healEvery = 30_000, clock = systemClock}: RoomDiscoveryOptions) {
    if (!(topic instanceof Uint8Array) || topic.length !== 32) throw P2PError.INVALID_ARGUMENT('a topic is a 32-byte hash: topicHash(room)')
    this.#dht = dht
    this.#swarm = swarm
    this.#connector = swarmConnector(swarm)
    this.#topic = topic
    this.#announceEvery = announceEvery
    this.#healEvery = healEvery
    this.#clock = clock
  }

  get stats(): RoomDiscoveryStats {
    return {...this.#stats}
  }

  /** Serves the topic's offers with the swarm, announces, and looks for announcers now and every `healEvery`. */
  start(): void {
    if (!this.#stopped) return
    this.#stopped = false
    this.#dht.serve(this.#topic, this.#connector)
    this.#dht.on('peer', this.#onPeer)
    if (this.#dht.peers > 0) this.#kick()
  }

  stop(): void {
    if (this.#stopped) return
    this.#stopped = true
    this.#dht.unserve(this.#topic)
    this.#dht.off('peer', this.#onPeer)
    this.#clock.clearTimeout(this.#announceTimer)
    this.#clock.clearTimeout(this.#healTimer)
  }

  /** Announces the swarm under the topic; resolves with how many of the closest nodes took it. */
  async announce(): Promise<number> {
    const {stored} = await this.#dht.announce(this.#topic)
    this.#stats.announcements++
    return stored
  }

  /**
   * Looks the topic's announcers up and connects the swarm to the ones it
   * lacks, as many as it has room for; resolves with how many connected.
   */
  heal(): Promise<number> {
    this.#healing ??= this.#heal().finally(() => {
      this.#healing = null
    })
    return this.#healing
  }

  /**
   * The DHT's first peer: announce and look now (the node was alone until
   * then). A new peer later, while the swarm has room: look again soon, it may
   * know the way to announcers the last look could not reach.
   */
  #onPeer = (_key: string, connected: boolean): void => {
    if (!connected || this.#stopped) return
    if (!this.#announced) return this.#kick()
    if (this.#swarm.peers.length >= this.#swarm.maxPeers) return
    this.#clock.clearTimeout(this.#healTimer)
    this.#healTimer = this.#clock.setTimeout(this.#healLoop, Math.min(500, this.#healEvery))
  }

  #kick(): void {
    this.#announced = true
    this.#clock.clearTimeout(this.#announceTimer)
    this.#clock.clearTimeout(this.#healTimer)
    const announce = (): void => {
      void this.announce().catch(() => 0).finally(() => {
        if (!this.#stopped) this.#announceTimer = this.#clock.setTimeout(announce, this.#announceEvery)
      })
    }
    announce()
    this.#healLoop()
  }

  #healLoop = (): void => {
    this.#healTimer = null
    void this.heal().catch(() => 0).then(connected => {
      // Still room, and the last look found some to connect to: look again soon, not a whole interval later.
      const again = connected > 0 && this.#swarm.peers.length < this.#swarm.maxPeers ? Math.min(1_000, this.#healEvery) : this.#healEvery
      if (!this.#stopped && this.#healTimer === null) this.#healTimer = this.#clock.setTimeout(this.#healLoop, again)
    })
  }

  async #heal(): Promise<number> {
    const swarm = this.#swarm
    if (swarm.peers.length >= swarm.maxPeers) return 0
    this.#stats.looks++
    const announcers = await this.#dht.findPeers(this.#topic)
    // The newest announcers the swarm lacks, as many as it has room for, all at once: a page coming in
    // with no hub meets the room's pages in about the time of one connection, not one after another.
    const alone = swarm.peers.length === 0
    const wanted = announcers.map(a => ({key: toHex(a.key), raw: a.key}))
      .filter(({key}) => key !== swarm.publicKey && !this.#connector.connectedTo(key))
      .slice(0, swarm.maxPeers - swarm.peers.length)
    const results = await Promise.all(wanted.map(async ({key, raw}) => {
      if (this.#stopped) return false
      try {
        const via = this.#dht.connected(key) ? [] : (await this.#dht.lookup(await nodeIdOf(raw))).closest.find(c => c.key === key)?.via
        return via !== undefined && await this.#dht.connect(key, via, this.#topic, {alone})
      } catch {
        return false // no route that answers: counted, and the next look tries again
      }
    }))
    const connected = results.filter(Boolean).length
    this.#stats.connected += connected
    this.#stats.failed += results.length - connected
    return connected
  }
}
