/**
 * A page's DHT node, put together (docs/dht.md "One DHT a page"): a swarm in
 * the room every DHT page joins on its hubs (and, in a page, on the tabs of its
 * origin: tab-hub.ts), the DHT over that swarm's connections and those of every
 * room it follows, bucket upkeep, and each followed room made findable through
 * the DHT. One per identity: `pageDht(swarm)` makes it from the first room's
 * swarm (its identity, hubs and ICE servers) and hands it out after.
 */
import {P2PError} from '../errors.js'
import {Emitter} from '../emitter.js'
import {Swarm} from '../swarm/swarm.js'
import type {WebRTC} from '../swarm/rtc-link.js'
import {HubClient} from '../hub-client/hub-client.js'
import {pageStreams} from '../hub-client/shared-streams.js'
import {TAB_HUB, tabHub} from '../hub-client/tab-hub.js'
import {Dht, swarmConnector} from './dht.js'
import {DhtUpkeep, type UpkeepStats} from './upkeep.js'
import {SwarmUnion} from './union.js'
import {RoomDiscovery} from './room-discovery.js'
import {topicHash} from './announcements.js'

/** The room every DHT page joins on its hubs: where pages first find each other. */
export const DHT_ROOM = 'p2p-elements/dht/1'

export interface PageDhtOptions {
  /** The DHT swarm's most connections at once (hub peers and upkeep links). */
  maxPeers?: number
  /** Upkeep links held at most. */
  links?: number
  /** The tabs of the page's origin as one of its hubs: on in a page with BroadcastChannel. */
  tabs?: boolean
  /** The WebRTC implementation (in Node: `loadNodeWebRTC()`): the platform's by default. */
  webrtc?: WebRTC
}

export interface PageDhtStats {
  /** Peers speaking the DHT, contacts in the routing table and its buckets' fill. */
  peers: number
  nodes: number
  buckets: Array<{index: number, size: number}>
  lookups: number
  /** RTCPeerConnections of the page: open now, made in all, and the most it may make. */
  connections: {open: number, created: number, limit: number}
  upkeep: UpkeepStats
  /** Rooms followed, and announcements of them made on the DHT. */
  rooms: number
  announcements: number
}

type PageDhtEvents = {
  /** Peers, the table or lookups changed. */
  update: () => void
  error: (err: P2PError) => void
}

const pages = new Map<string, PageDht>()

/** The page's DHT node for `swarm`'s identity: made from `swarm` on the first call, the same one after. */
export function pageDht(swarm: Swarm, options?: PageDhtOptions): PageDht {
  let page = pages.get(swarm.publicKey)
  if (!page || page.closed) pages.set(swarm.publicKey, page = new PageDht(swarm, options))
  return page
}

export class PageDht extends Emitter<PageDhtEvents> {
  readonly swarm: Swarm
  readonly dht: Dht
  readonly upkeep: DhtUpkeep
  readonly #union = new SwarmUnion()
  readonly #rooms = new Map<Swarm, RoomDiscovery | null>()
  readonly #hubClient: HubClient | null
  #closed = false

  constructor(from: Swarm, {maxPeers = 14, links = 10, tabs = typeof BroadcastChannel === 'function' && 'document' in globalThis, webrtc}: PageDhtOptions = {}) {
    super()
    const hubs = from.hubs.filter(hub => hub !== TAB_HUB)
    this.#hubClient = tabs ? new HubClient({hubs: [TAB_HUB, ...hubs], app: DHT_ROOM, ...tabHub({openStream: pageStreams.open})}) : null
    if (!this.#hubClient && hubs.length === 0) throw P2PError.INVALID_ARGUMENT('a page DHT needs a hub, or the tabs of its origin')
    this.swarm = new Swarm({
      room: DHT_ROOM, identity: from.identity, hubs, hubClient: this.#hubClient ?? undefined, maxPeers,
      iceServers: () => from.iceServers, webrtc,
    })
    this.swarm.on('error', err => this.emit('error', err))
    this.#union.add(this.swarm)
    this.dht = new Dht({swarm: this.#union, publicKey: this.swarm.publicKey, identity: from.identity, connector: swarmConnector(this.swarm)})
    this.dht.on('peer', () => this.emit('update'))
    this.dht.on('error', err => this.emit('error', err))
    this.upkeep = new DhtUpkeep(this.dht, {links})
    this.upkeep.start()
  }

  get closed(): boolean {
    return this.#closed
  }

  get stats(): PageDhtStats {
    const budget = this.swarm.budget.stats
    return {
      peers: this.dht.peers,
      nodes: this.dht.table?.size ?? 0,
      buckets: this.dht.table?.buckets() ?? [],
      lookups: this.dht.lookups,
      connections: {open: budget.open, created: budget.created, limit: budget.limit},
      upkeep: this.upkeep.stats,
      rooms: this.#rooms.size,
      announcements: [...this.#rooms.values()].reduce((n, discovery) => n + (discovery?.stats.announcements ?? 0), 0),
    }
  }

  /**
   * Follows a room's swarm: its peers are DHT contacts, and (unless
   * `findable` is false: a room with a secret should not publish its name)
   * the room is announced on the DHT and its missing peers found through it.
   * Returns what stops following it.
   */
  follow(swarm: Swarm, {findable = true}: {findable?: boolean} = {}): () => void {
    if (this.#closed) throw P2PError.DESTROYED('the page DHT was closed')
    if (swarm.publicKey !== this.swarm.publicKey) throw P2PError.INVALID_ARGUMENT('a page DHT follows swarms of its own identity')
    if (!this.#rooms.has(swarm)) {
      this.#union.add(swarm)
      this.#rooms.set(swarm, null)
      if (findable) {
        void topicHash(swarm.room).then(topic => {
          if (!this.#rooms.has(swarm) || this.#closed) return
          const discovery = new RoomDiscovery({dht: this.dht, swarm, topic})
          this.#rooms.set(swarm, discovery)
          discovery.start()
        })
      }
      this.emit('update')
    }
    return () => this.unfollow(swarm)
  }

  unfollow(swarm: Swarm): void {
    if (!this.#rooms.has(swarm)) return
    this.#rooms.get(swarm)?.stop()
    this.#rooms.delete(swarm)
    this.#union.remove(swarm)
    this.emit('update')
  }

  close(): void {
    if (this.#closed) return
    this.#closed = true
    for (const swarm of [...this.#rooms.keys()]) this.unfollow(swarm)
    this.upkeep.stop()
    this.dht.close()
    this.swarm.destroy()
    this.#hubClient?.destroy()
    this.removeAllListeners()
  }
}
