/**
 * A DHT node over a swarm's connections (docs/dht.md): its routing table holds
 * its connected peers, it answers FIND with the ones closest to a target,
 * forwards RELAYs along their routes (rewriting request ids, rate-limited per
 * source), and looks up targets through routes: a node learned from Y's answer
 * is reached through Y, which is connected to it. A lookup crosses the
 * connections there are; `connect` opens one to a node found, its offer and
 * answer signed and carried along the route, through a connector (a swarm).
 * Topics (announcements) and signed records are kept at the nodes closest to
 * their hash.
 */
import {Emitter} from '../emitter.js'
import {P2PError} from '../errors.js'
import {fromHex, randomBytes, toHex} from '../bytes.js'
import {shortId} from '../debug.js'
import {systemClock, type Clock} from '../clock.js'
import {ExpiringMap} from '../expiring-map.js'
import {TokenBucket} from '../token-bucket.js'
import type {Channel} from '../mux/mux.js'
import type {ProtocolPeer, ProtocolSwarm} from '../swarm/protocol-host.js'
import type {PeerConnection} from '../swarm/peer-connection.js'
import type {RtcSignal} from '../swarm/rtc-link.js'
import {nodeIdOf, sameId} from './node-id.js'
import type {Identity} from '../crypto/identity.js'
import {AnnouncementStore, createAnnouncement, verifyAnnouncement, type Announcement} from './announcements.js'
import {RecordStore, recordTarget, verifyRecord, type DhtRecord} from './records.js'
import {RoutingTable, type Contact} from './routing-table.js'
import {lookup, type LookupResult} from './lookup.js'
import {
  DHT_PROTOCOL, DhtMessageType, MAX_NODES, MAX_PEERS, MAX_ROUTE, NONCE_BYTES, decodeDhtMessage, encodeAnnounce, encodeFind, encodeFindPeers,
  encodeGet, encodeNodes, encodePeers, encodePing, encodePut, encodeRelay, encodeRelayReply, encodeSignal, encodeSignalled, encodeValue, verifySignal,
  type DhtMessage, type SignalMessage,
} from './messages.js'

/** A signal's time may be this far (ms) from the receiver's clock, either way; its nonce is remembered twice as long. */
export const SIGNAL_WINDOW = 2 * 60_000

/** A connection being signalled through the DHT, as its connector hands it out. */
export interface SignalledConnection {
  /** Feeds a signal from the remote. */
  signal(signal: RtcSignal): void
  /** Gives the attempt up (its signalling failed, or the remote refused it); a connection already open stays. */
  close(): void
  /** True once the remote proved the key and is a peer; false if the attempt ended before. */
  readonly done: Promise<boolean>
}

/** What opens the connections this node signals: a swarm, through `swarmConnector`. */
export interface DhtConnector {
  /**
   * A connection to `key` whose signals go to `send`; null when none may be
   * made now. `makeRoom`: the remote has no peer in the room yet, and a full
   * swarm may let its youngest connection go for it (see swarmConnector).
   */
  signalled(key: string, initiator: boolean, send: (signal: RtcSignal) => void, makeRoom?: boolean): SignalledConnection | null
  /** Whether it has a connected peer of that key. */
  connectedTo(key: string): boolean
}

/**
 * Per hop (ms): a request fails no sooner than RTO_MIN (RFC 6298's floor for its
 * retransmission timeout), and a lookup asks the next node past a slow one no
 * sooner than STALL_MIN, or STALL_FIRST before any answer.
 */
const RTO_MIN = 1000
const STALL_MIN = 250
const STALL_FIRST = 1000

/** How often a swarm lets a connection go to let a newcomer in (ms): at most once a minute. */
export const MAKE_ROOM_EVERY = 60_000

/** The part of a `Swarm` a connector needs. */
export interface SignallingSwarm {
  readonly peers: ReadonlyArray<{publicKey: string | null, connectedAt: number | null, destroy(): void}>
  readonly maxPeers: number
  signalled(key: string, initiator: boolean, send: (signal: RtcSignal) => void): PeerConnection | null
}

/**
 * A swarm as a connector: its `signalled` connection, settled once the swarm
 * has it as a peer of that key, or once it closes. One whose remote proves
 * another key than the one it was signalled for is closed (ERR_HANDSHAKE).
 *
 * A full swarm takes an offer from a room's newcomer that has no peer there
 * yet (`makeRoom`) by letting its youngest connection go, at most once every
 * MAKE_ROOM_EVERY: in a partial mesh where every page is full, as the hub's
 * ring does (docs/swarm.md). The page let go keeps its other connections, so
 * it has room, not none, and lets no one go in turn; the youngest goes, never
 * a long-lived one, and a newcomer that lies about being alone gets one such
 * connection a minute out of a swarm.
 */
export function swarmConnector(swarm: SignallingSwarm, now: () => number = () => Date.now()): DhtConnector {
  const connectedTo = (key: string): boolean => swarm.peers.some(p => p.publicKey === key)
  let madeRoom = -Infinity
  return {
    connectedTo,
    signalled(key, initiator, send, makeRoom = false) {
      const peers = swarm.peers
      if (makeRoom && peers.length >= swarm.maxPeers && peers.length > 1 && now() - madeRoom >= MAKE_ROOM_EVERY && !connectedTo(key)) {
        madeRoom = now()
        peers.reduce((young, p) => (p.connectedAt ?? 0) > (young.connectedAt ?? 0) ? p : young).destroy()
      }
      const conn = swarm.signalled(key, initiator, send)
      if (!conn) return null
      const done = new Promise<boolean>(resolve => {
        // After the swarm's own handler: it has taken the connection, or let it go.
        conn.once('open', () => {
          if (conn.publicKey !== key) conn.destroy(P2PError.HANDSHAKE(`signalled for ${shortId(key)}, the remote proved ${shortId(conn.publicKey ?? '')}`))
          resolve(connectedTo(key))
        })
        conn.once('close', () => resolve(false))
      })
      return {
        signal: signal => conn.signal(signal),
        close: () => {
          if (conn.state !== 'connected') conn.destroy()
        },
        done,
      }
    },
  }
}

const HEX_KEY = /^[0-9a-f]{64}$/

/**
 * A signal's payload, as signed: the simple-peer signal, and the route back to
 * its sender (the relays nearest the receiver first, then the sender). Null
 * unless it is exactly that.
 */
export function parseSignalPayload(json: string, sender: string): {signal: RtcSignal, back: string[], topic: string, alone: boolean} | null {
  let payload: unknown
  try {
    payload = JSON.parse(json)
  } catch {
    return null
  }
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) return null
  const {signal, back, topic = '', alone = false} = payload as {signal?: unknown, back?: unknown, topic?: unknown, alone?: unknown}
  if (typeof alone !== 'boolean') return null
  if (typeof signal !== 'object' || signal === null || Array.isArray(signal)) return null
  if (topic !== '' && (typeof topic !== 'string' || !HEX_KEY.test(topic))) return null
  if (!Array.isArray(back) || back.length < 1 || back.length > MAX_ROUTE) return null
  if (!back.every(key => typeof key === 'string' && HEX_KEY.test(key)) || back.at(-1) !== sender) return null
  return {signal: signal as RtcSignal, back: back as string[], topic: topic as string, alone}
}

export interface DhtOptions {
  swarm: ProtocolSwarm
  /** This node's proven public key (hex): the swarm's identity's. */
  publicKey: string
  /** The swarm's identity: signs this node's announcements and signals. Without it, `announce` and `connect` throw. */
  identity?: Identity
  /** Opens the connections this node signals (the swarm itself). Without it, `connect` throws and signals are refused. */
  connector?: DhtConnector
  /** Wall-clock milliseconds since the epoch, for announcements' times (Date.now by default). */
  now?: () => number
  /** Contacts per bucket, and results per lookup. */
  k?: number
  alpha?: number
  /** Disjoint paths per lookup. */
  paths?: number
  /**
   * A request unanswered this long (ms) a hop fails: until a first answer, and
   * then at most; once answers show the round trip, sooner (RFC 6298's
   * retransmission timeout, never under 1 s a hop).
   */
  timeout?: number
  /** RELAYs a peer may send per second, and in a burst. */
  relayRate?: number
  relayBurst?: number
  /**
   * Requests (FIND, PING, ANNOUNCE, FIND_PEERS) a peer may send per second, and
   * in a burst: past it a request is not answered, and one sent directly is a strike.
   */
  requestRate?: number
  requestBurst?: number
  /** Bad messages (malformed, unsolicited, over the relay limit) a peer may send before it is dropped. */
  maxStrikes?: number
  clock?: Clock
}

export interface DhtStats {
  /** Requests this node sent (FIND and PING, direct or relayed) and how many failed. */
  requests: number
  failures: number
  /** RELAYs forwarded for others, and refused (over a source's limit, a next hop not connected). */
  relayed: number
  refused: number
  /** Requests not answered: past their sender's rate (requestRate). */
  limited: number
  /** Bad messages received: malformed, unsolicited answers, relays over the limit, forged announcements. */
  strikes: number
  /** Announcements in answers, and signals, that failed their check (signature, topic): left out. */
  forged: number
  /** Connections signalled through the DHT: opened by this node, and taken from others. */
  dialled: number
  answered: number
  /** Signals refused: not for this node, outside the time window, a route back that is not one, no room for a connection. */
  signalsRefused: number
  /** Signals whose nonce was seen already. */
  replays: number
}

export type DhtEvents = {
  /** A peer was dropped for what it sent; the node goes on. */
  error: (err: P2PError) => void
  /** A connected peer's session started, its id known and in the table if there was room (true), or ended (false). */
  peer: (key: string, connected: boolean) => void
}

/** A node found by a lookup, with the route to it (the relays to cross, nearest first; empty for a connected peer). */
export interface DhtContact extends Contact {
  via: string[]
}

interface Session {
  key: string
  /** Its node id, once computed (then it is in the table). */
  id?: Uint8Array
  peer: ProtocolPeer
  channel: Channel
  relayLimit: TokenBucket
  /** Requests it sends, directly or as the last relay. */
  requestLimit: TokenBucket
  /** Relays and requests refused for being past its rates. */
  overLimit: number
  /**
   * This node's own requests to it wait here when they would go past the
   * rates it keeps (the same as this node's, with a margin): a burst of
   * lookups through one peer is paced, not refused there.
   */
  outbox: Array<{relayed: boolean, send(): void, fail(err: P2PError): void}>
  relayOut: TokenBucket
  requestOut: TokenBucket
  outboxTimer: unknown
  strikes: number
}

interface Pending {
  resolve(message: DhtMessage): void
  reject(err: P2PError): void
  timer: unknown
  /** The session the answer must come from. */
  session: Session
  /** When it left, and the hops its answer crosses each way (relays + 1). */
  sentAt: number
  hops: number
}

/** A connection being signalled through the DHT, from its first signal until it connects or ends. */
interface Signalling {
  key: string
  /** The topic (hex) whose connector it is for: '' for the node's own (its `connector`). */
  topic: string
  /** Said in the offer: this node has no peer in that topic's room yet. */
  alone: boolean
  /** The way this node's signals go: relays, then the remote. */
  route: string[]
  initiator: boolean
  connection: SignalledConnection
  /** Signals are signed one after another, so they leave in the order they were made. */
  signing: Promise<void>
}

interface Forwarded {
  /** Where the RELAY came from, and its id there. */
  from: Session
  id: number
  /** The session it went on to: the only one whose reply is taken. */
  to: Session
}

export class Dht extends Emitter<DhtEvents> {
  readonly publicKey: string
  /** The node's id, and its table, once computed. */
  readonly ready: Promise<void>
  table!: RoutingTable
  readonly #options: Required<Omit<DhtOptions, 'swarm' | 'publicKey' | 'identity' | 'now' | 'connector'>>
  readonly #identity: Identity | undefined
  readonly #connector: DhtConnector | undefined
  /** By `${topic}/${key}`. */
  readonly #signalling = new Map<string, Signalling>()
  /** The connectors of topics served (`serve`), by topic (hex). */
  readonly #served = new Map<string, DhtConnector>()
  /** Nonces of signals taken (sender and nonce), for SIGNAL_WINDOW * 2. */
  readonly #nonces: ExpiringMap<string, true>
  readonly #now: () => number
  /** Announcements of the topics this node is asked to keep. */
  readonly #store: AnnouncementStore
  /** Records this node is asked to keep. */
  readonly #records: RecordStore
  readonly #clock: Clock
  readonly #sessions = new Map<string, Session>()
  readonly #ids = new Map<string, Uint8Array>()
  readonly #pending = new Map<number, Pending>()
  readonly #forwarded: ExpiringMap<number, Forwarded>
  #nextId = 1
  #lookups = 0
  /**
   * A hop's round trip (ms), as answers show it: smoothed mean and deviation
   * (RFC 6298's estimator), for how long a request waits for its answer and a
   * lookup on a node before it asks the next (#hopTimeout). 0 until a first answer.
   */
  #rtt = 0
  #rttDeviation = 0
  /** Stops following the swarm and ends every session (set once following). */
  #detach: (() => void) | undefined
  /** Every session, by its connection, and by key (a key reached over several connections has one on each). */
  readonly #byPeer = new Map<ProtocolPeer, Session>()
  readonly #byKey = new Map<string, Session[]>()
  #closed = false
  readonly #stats: DhtStats = {requests: 0, failures: 0, relayed: 0, refused: 0, strikes: 0, forged: 0, limited: 0, dialled: 0, answered: 0, signalsRefused: 0, replays: 0}

  constructor({
    swarm, publicKey, identity, connector, now = () => Date.now(), k = 8, alpha = 3, paths = 1, timeout = 5_000, relayRate = 50, relayBurst = 150,
    requestRate = 100, requestBurst = 200, maxStrikes = 5, clock = systemClock,
  }: DhtOptions) {
    super()
    this.publicKey = publicKey
    this.#identity = identity
    this.#connector = connector
    this.#nonces = new ExpiringMap({ttl: SIGNAL_WINDOW * 2, max: 16_384, now: () => clock.now()})
    this.#now = now
    this.#store = new AnnouncementStore({now})
    this.#records = new RecordStore({now})
    this.#clock = clock
    this.#options = {k, alpha, paths, timeout, relayRate, relayBurst, requestRate, requestBurst, maxStrikes, clock}
    this.#forwarded = new ExpiringMap({ttl: timeout, max: 4096, now: () => clock.now()})
    this.ready = nodeIdOf(fromHex(publicKey)).then(self => {
      this.table = new RoutingTable({self, k, clock})
      if (this.#closed) return
      this.#follow(swarm)
    })
  }

  get stats(): DhtStats {
    return {...this.#stats}
  }

  /** Connected peers speaking the DHT. */
  get peers(): number {
    return this.#sessions.size
  }

  /** Lookups running now (announcing and finding peers run one each). */
  get lookups(): number {
    return this.#lookups
  }

  /** Whether `key` is a connected peer speaking the DHT. */
  connected(key: string): boolean {
    return this.#sessions.has(key)
  }

  /**
   * The k nodes closest to `target` that answered, found through the
   * connections there are, each with its route.
   */
  async lookup(target: Uint8Array): Promise<Omit<LookupResult, 'closest'> & {closest: DhtContact[]}> {
    await this.ready
    if (this.#closed) throw P2PError.DESTROYED('the DHT was closed')
    const {k, alpha, paths, timeout} = this.#options
    const via = new Map<string, string[]>()
    const seeds = this.table.closest(target)
    for (const seed of seeds) via.set(seed.key, [])
    this.#lookups++
    const result = await lookup({
      target, seeds, k, alpha, paths, timeout: timeout * MAX_ROUTE, clock: this.#clock,
      stall: contact => (via.get(contact.key)!.length + 1) * (this.#rtt ? this.#hopTimeout(STALL_MIN) : STALL_FIRST),
      query: async (contact, t) => {
        const route = via.get(contact.key)!
        const answer = await this.#request(route, contact.key, (id: number) => encodeFind(id, t))
        if (answer.type !== DhtMessageType.NODES) throw P2PError.PEER_MISBEHAVING('an answer to FIND that is not NODES')
        const found: Contact[] = []
        for (const key of answer.keys) {
          const hex = toHex(key)
          if (hex === this.publicKey) continue
          // The first route to a node is kept; one past the longest route cannot be used.
          if (!via.has(hex)) {
            const next = [...route, contact.key]
            if (next.length >= MAX_ROUTE) continue
            via.set(hex, next)
          }
          found.push({key: hex, id: await this.#idOf(hex)})
        }
        return found
      },
    }).finally(() => {
      this.#lookups--
    })
    return {...result, closest: result.closest.map(c => ({...c, via: via.get(c.key) ?? []}))}
  }

  /**
   * How long (ms) a hop's round trip may take: the smoothed mean of answered
   * requests' plus four deviations (RFC 6298's retransmission timeout), within
   * [`floor`, timeout]; the timeout until a first answer.
   */
  #hopTimeout(floor: number): number {
    return this.#rtt ? Math.min(this.#options.timeout, Math.max(floor, this.#rtt + 4 * this.#rttDeviation)) : this.#options.timeout
  }

  /**
   * Announces this node in `topic` (a topic hash, `topicHash(name)`) at the k
   * nodes closest to it, and returns how many took it and the topic's other
   * announcers they hold. Renew it before ANNOUNCE_TTL (10 minutes).
   */
  async announce(topic: Uint8Array): Promise<{stored: number, peers: Announcement[]}> {
    if (!this.#identity) throw P2PError.INVALID_ARGUMENT('announcing needs the identity option')
    const mine = await createAnnouncement(this.#identity, topic, this.#now())
    await this.#store.put(mine)
    let stored = 0
    const peers = await this.#askPeers(topic, id => encodeAnnounce(id, mine), held => {
      if (held.some(a => a.time === mine.time && toHex(a.key) === this.publicKey)) stored++
    })
    return {stored, peers}
  }

  /** The announcers of `topic` held by the k nodes closest to it (and by this node), each checked, one per key (the newest). */
  findPeers(topic: Uint8Array): Promise<Announcement[]> {
    return this.#askPeers(topic, id => encodeFindPeers(id, topic))
  }

  /** Looks `topic` up, asks each of the closest nodes with `make`, and merges the announcements they answer with. */
  async #askPeers(topic: Uint8Array, make: (id: number) => Uint8Array, each?: (held: Announcement[]) => void): Promise<Announcement[]> {
    const answers = await this.#askClosest(topic, make)
    const byKey = new Map<string, Announcement>()
    const take = (announcement: Announcement): void => {
      const key = toHex(announcement.key)
      if (key === this.publicKey) return
      const held = byKey.get(key)
      if (!held || held.time < announcement.time) byKey.set(key, announcement)
    }
    for (const announcement of this.#store.get(topic)) take(announcement)
    for (const answer of answers) {
      if (answer?.type !== DhtMessageType.PEERS) continue
      const valid: Announcement[] = []
      for (const announcement of answer.announcements) {
        if (sameId(announcement.topic, topic) && await verifyAnnouncement(announcement)) valid.push(announcement)
        else this.#stats.forged++
      }
      each?.(valid)
      for (const announcement of valid) take(announcement)
    }
    return [...byKey.values()].sort((a, b) => b.time - a.time)
  }

  /**
   * Looks `target` up and asks each of the k closest nodes with `make`, all at
   * once: their answers, null where a node did not answer (counted in
   * stats.failures; the others answer).
   */
  async #askClosest(target: Uint8Array, make: (id: number) => Uint8Array): Promise<Array<DhtMessage | null>> {
    const {closest} = await this.lookup(target)
    return Promise.all(closest.map(contact => this.#request(contact.via, contact.key, make).catch(() => null)))
  }

  /**
   * Stores `record` (`createRecord`) at the k nodes closest to its target (and
   * here). Resolves with how many hold it, and the newest record a node answered
   * with instead (a higher sequence number: the writer's next must be higher).
   */
  async put(record: DhtRecord): Promise<{stored: number, newer: DhtRecord | null}> {
    await this.#records.put(record)
    let stored = 0
    let newer: DhtRecord | null = null
    for (const answer of await this.#askClosest(await recordTarget(record.key, record.salt), id => encodePut(id, record))) {
      const held = await this.#recordIn(answer)
      if (!held || !sameId(held.key, record.key) || !sameId(held.salt, record.salt)) continue
      if (held.seq === record.seq && sameId(held.value, record.value)) stored++
      else if (held.seq > record.seq && (!newer || held.seq > newer.seq)) newer = held
    }
    return {stored, newer}
  }

  /**
   * The record of `key` under `salt` of the highest sequence number the k
   * nodes closest to its target (and this one) hold, each checked; null if none.
   */
  async get(key: Uint8Array, salt: Uint8Array = new Uint8Array(0)): Promise<DhtRecord | null> {
    const target = await recordTarget(key, salt)
    let best = this.#records.get(target) ?? null
    for (const answer of await this.#askClosest(target, id => encodeGet(id, target))) {
      const held = await this.#recordIn(answer)
      if (held && sameId(held.key, key) && sameId(held.salt, salt) && (!best || held.seq > best.seq)) best = held
    }
    return best
  }

  /** The record a node answered a PUT or GET with, if its signature holds (a bad one is counted); else null. */
  async #recordIn(answer: DhtMessage | null): Promise<DhtRecord | null> {
    if (answer?.type !== DhtMessageType.VALUE || !answer.record) return null
    if (await verifyRecord(answer.record)) return answer.record
    this.#stats.forged++
    return null
  }

  /** Round trip in ms to the node `key` through `via` (relays, nearest first). */
  async ping(key: string, via: string[] = []): Promise<number> {
    await this.ready
    const start = this.#clock.now()
    const answer = await this.#request(via, key, id => encodePing(id))
    if (answer.type !== DhtMessageType.PONG) throw P2PError.PEER_MISBEHAVING('an answer to PING that is not PONG')
    return this.#clock.now() - start
  }

  /**
   * Connects to the node `key`, reached through `via` (a lookup's route), with
   * its offer and answer signalled along that route: the route must answer a
   * PING first, so one that does not costs no connection. Resolves true once
   * `key` is a connected peer (it proved the key), false if the attempt was
   * refused or ended; rejects if the route did not answer. With a `topic` (a
   * room's, served by its swarm at the other end: `serve`), the connection is
   * that room's; `alone` says this page has no peer in that room yet, so a full
   * swarm there may make room for it.
   */
  async connect(key: string, via: string[], topic?: Uint8Array, {alone = false}: {alone?: boolean} = {}): Promise<boolean> {
    await this.ready
    if (this.#closed) throw P2PError.DESTROYED('the DHT was closed')
    const topicHex = topic ? toHex(topic) : ''
    const connector = this.#connectorFor(topicHex)
    if (!connector || !this.#identity) throw P2PError.INVALID_ARGUMENT('connecting needs the identity option, and a connector (the option, or the topic served)')
    if (!HEX_KEY.test(key) || key === this.publicKey) throw P2PError.INVALID_ARGUMENT('connect to another node\'s key (64 hex digits)')
    const has = () => connector.connectedTo(key) || (topicHex === '' && this.#sessions.has(key))
    if (has()) return true
    const slot = `${topicHex}/${key}`
    if (this.#signalling.has(slot)) return this.#connected(slot, has)
    // No relay: `key` is a peer of the DHT (over another room's connection) and the signals go to it directly.
    if (via.length >= MAX_ROUTE || (via.length === 0 && !this.#sessions.has(key))) {
      throw P2PError.INVALID_ARGUMENT(`a route of 0 (a peer of the DHT) to ${MAX_ROUTE - 1} relays`)
    }
    await this.ping(key, via)
    if (this.#closed || has()) return has()
    // The remote may have offered meanwhile.
    if (!this.#signalling.has(slot) && !this.#startSignalling(key, topicHex, connector, [...via, key], true, alone)) return false
    return this.#connected(slot, has)
  }

  /**
   * Takes the offers signalled for `topic` (a topic hash) with `connector`: a
   * room's swarm, whose connections to that room's announcers open through the
   * DHT with `connect(key, via, topic)`. Another call replaces it.
   */
  serve(topic: Uint8Array, connector: DhtConnector): void {
    this.#served.set(toHex(topic), connector)
  }

  unserve(topic: Uint8Array): void {
    this.#served.delete(toHex(topic))
  }

  #connectorFor(topic: string): DhtConnector | undefined {
    return topic === '' ? this.#connector : this.#served.get(topic)
  }

  /**
   * Whether the connection being signalled in `slot` connects: or the one that
   * replaces it (in a glare, the higher key gives its attempt up and answers the
   * other's offer).
   */
  async #connected(slot: string, has: () => boolean): Promise<boolean> {
    for (let current = this.#signalling.get(slot); current;) {
      if (await current.connection.done) return true
      const next = this.#signalling.get(slot)
      current = next === current ? undefined : next
    }
    return has()
  }

  close(): void {
    if (this.#closed) return
    this.#closed = true
    this.#detach?.()
    for (const [id, pending] of [...this.#pending]) {
      this.#pending.delete(id)
      this.#clock.clearTimeout(pending.timer)
      pending.reject(P2PError.DESTROYED('the DHT was closed'))
    }
    this.#forwarded.clear()
    for (const signalling of [...this.#signalling.values()]) signalling.connection.close()
    this.#signalling.clear()
    this.removeAllListeners()
  }

  // ---- sessions ---------------------------------------------------------------

  /**
   * A session on every connection of the swarm whose key is proven, now and as
   * they come and go. Two pages may reach each other over more than one
   * connection (a room's and the DHT's swarm each made one before they could
   * share): each end then listens on all of them and sends on the newest, and
   * answers on the connection a request came by, so the two ends never wait on
   * different ones.
   */
  #follow(swarm: ProtocolSwarm): void {
    const onConnect = (peer: ProtocolPeer): void => {
      if (!this.#closed && peer.publicKey && !this.#byPeer.has(peer)) this.#start(peer, peer.publicKey)
    }
    const onDisconnect = (peer: ProtocolPeer): void => {
      const session = this.#byPeer.get(peer)
      if (session) this.#stop(session)
    }
    swarm.on('connect', onConnect)
    swarm.on('disconnect', onDisconnect)
    for (const peer of swarm.peers) onConnect(peer)
    this.#detach = () => {
      swarm.off('connect', onConnect)
      swarm.off('disconnect', onDisconnect)
      for (const session of [...this.#byPeer.values()]) this.#stop(session)
    }
  }

  #start(peer: ProtocolPeer, key: string): void {
    const {relayRate, relayBurst, requestRate, requestBurst} = this.#options
    const now = () => this.#clock.now()
    // What the peer keeps (relayRate, requestRate), with a margin for messages that arrive bunched.
    const out = (rate: number, burst: number) => new TokenBucket(rate * 0.8, Math.max(1, Math.floor(burst * 0.8)), now)
    const session = {
      key, peer, strikes: 0, overLimit: 0, relayLimit: new TokenBucket(relayRate, relayBurst, now), requestLimit: new TokenBucket(requestRate, requestBurst, now),
      outbox: [] as Session['outbox'], relayOut: out(relayRate, relayBurst), requestOut: out(requestRate, requestBurst), outboxTimer: null as unknown,
    } as Session
    try {
      session.channel = peer.channel(DHT_PROTOCOL, {
        onmessage: bytes => this.#receive(session, bytes),
        onclose: () => this.#stop(session),
      })
    } catch (err) {
      // Only misuse gets here (the channel already open on this connection by someone else): a listener error, not the swarm's.
      queueMicrotask(() => {
        throw err
      })
      return
    }
    this.#byPeer.set(peer, session)
    const all = this.#byKey.get(key) ?? []
    all.push(session)
    this.#byKey.set(key, all)
    this.#sessions.set(key, session)
    void this.#idOf(key).then(id => {
      if (this.#byPeer.get(peer) !== session) return
      session.id = id
      if (!this.table.has(id)) this.table.add({id, key})
      this.emit('peer', key, true)
    })
  }

  #stop(session: Session): void {
    const {key, peer} = session
    if (this.#byPeer.get(peer) !== session) return
    this.#byPeer.delete(peer)
    const others = (this.#byKey.get(key) ?? []).filter(other => other !== session)
    if (!session.channel.closed) session.channel.close()
    this.#clock.clearTimeout(session.outboxTimer)
    const waiting = session.outbox.splice(0)
    for (const [requestId, pending] of [...this.#pending]) {
      if (pending.session !== session) continue
      this.#pending.delete(requestId)
      this.#clock.clearTimeout(pending.timer)
      pending.reject(P2PError.CONNECTION_CLOSED(`the connection to ${shortId(key)} closed`))
    }
    const next = others.at(-1)
    if (next) {
      // Still reached over another connection: what waited to leave goes that way.
      this.#byKey.set(key, others)
      if (this.#sessions.get(key) === session) this.#sessions.set(key, next)
      next.outbox.push(...waiting)
      this.#flush(next)
      return
    }
    this.#byKey.delete(key)
    this.#sessions.delete(key)
    for (const item of waiting) {
      this.#stats.failures++
      item.fail(P2PError.CONNECTION_CLOSED(`the connection to ${shortId(key)} closed`))
    }
    this.emit('peer', key, false)
    if (session.id && this.table.remove(session.id)) {
      // A connected peer a full bucket turned away takes the place: the table holds connected peers while there is room.
      for (const other of this.#sessions.values()) if (other.id && !this.table.has(other.id)) this.table.add({id: other.id, key: other.key})
    }
  }

  async #idOf(key: string): Promise<Uint8Array> {
    let id = this.#ids.get(key)
    if (!id) {
      id = await nodeIdOf(fromHex(key))
      // Ids of nodes met in lookups are kept for later lookups; a session keeps its own, so forgetting them all costs only hashing again.
      if (this.#ids.size > 10_000) this.#ids.clear()
      this.#ids.set(key, id)
    }
    return id
  }

  /**
   * Whether a peer's request is answered: within its rate, yes; past it, it is
   * not (counted), and one it sent directly is a strike (a relayed one may be
   * another node's doing, and that relay's forwarding is limited at its source).
   */
  #allowed(session: Session, direct: boolean): boolean {
    if (session.requestLimit.take()) return true
    this.#stats.limited++
    if (direct) this.#overLimit(session, 'asks', this.#options.requestRate, this.#options.requestBurst)
    return false
  }

  /**
   * A peer past one of its rates: a strike for every `burst` refused. An honest
   * peer that relays for many others goes past now and then, in a busy moment,
   * and is only refused; one that floods is past it by far, and is dropped.
   */
  #overLimit(session: Session, what: string, rate: number, burst: number): void {
    if (++session.overLimit % burst === 0) this.#strike(session, P2PError.RATE_LIMITED(`peer ${shortId(session.key)} ${what} more than ${rate} a second`))
  }

  /** A peer sent what no honest node sends: counted, and at maxStrikes it is dropped. */
  #strike(session: Session, err: P2PError): void {
    this.#stats.strikes++
    if (++session.strikes < this.#options.maxStrikes) return
    const dropped = P2PError.PEER_MISBEHAVING(`dht: peer ${shortId(session.key)} dropped after ${session.strikes} bad messages (${err.message})`)
    for (const other of this.#byKey.get(session.key) ?? [session]) other.peer.destroy(dropped)
    this.emit('error', dropped)
  }

  #send(session: Session, bytes: Uint8Array): void {
    if (!session.channel.closed) session.channel.send(bytes)
  }

  // ---- requests ---------------------------------------------------------------

  /** Sends the message `make(id)` to `key`, directly or along `via`, and resolves with its answer. */
  #request(via: string[], key: string, make: (id: number) => Uint8Array, relayed = via.length > 0): Promise<DhtMessage> {
    const first = this.#sessions.get(via[0] ?? key)
    this.#stats.requests++
    if (!first) {
      this.#stats.failures++
      return Promise.reject(P2PError.CONNECTION_CLOSED(`not connected to ${shortId(via[0] ?? key)}`))
    }
    const id = this.#takeId()
    return new Promise<DhtMessage>((resolve, reject) => {
      first.outbox.push({relayed, fail: reject, send: () => {
        // Its time runs from when it leaves, not while it waited its turn: as long as answers have taken, a hop.
        const wait = this.#hopTimeout(RTO_MIN) * (via.length + 1)
        const timer = this.#clock.setTimeout(() => {
          this.#pending.delete(id)
          this.#stats.failures++
          reject(P2PError.PEER_TIMEOUT(`no answer from ${shortId(key)} in ${Math.round(wait)} ms`))
        }, wait)
        this.#pending.set(id, {resolve, reject, timer, session: first, sentAt: this.#clock.now(), hops: via.length + 1})
        const inner = make(id)
        this.#send(first, relayed ? encodeRelay(id, [...via, key].map(fromHex), inner) : inner)
      }})
      this.#flush(first)
    })
  }

  /** Sends what waits for `session` as its rates allow, in order; the rest when a token comes. */
  #flush(session: Session): void {
    if (session.outboxTimer !== null) return
    while (session.outbox.length > 0) {
      const bucket = session.outbox[0].relayed ? session.relayOut : session.requestOut
      if (!bucket.take()) {
        session.outboxTimer = this.#clock.setTimeout(() => {
          session.outboxTimer = null
          this.#flush(session)
        }, Math.ceil(bucket.wait() * 1000))
        return
      }
      session.outbox.shift()!.send()
    }
  }

  /** A request id of this node's: its own requests and the relays it forwards share them, so they never collide. */
  #takeId(): number {
    const id = this.#nextId
    this.#nextId = this.#nextId >= 0xffffffff ? 1 : this.#nextId + 1
    return id
  }

  #answered(session: Session, id: number, message: DhtMessage): void {
    const pending = this.#pending.get(id)
    if (!pending || pending.session !== session) {
      this.#strike(session, P2PError.MALFORMED_MESSAGE(`an answer to no request (${id})`))
      return
    }
    this.#pending.delete(id)
    this.#clock.clearTimeout(pending.timer)
    const sample = (this.#clock.now() - pending.sentAt) / pending.hops
    this.#rttDeviation = this.#rtt ? 0.75 * this.#rttDeviation + 0.25 * Math.abs(this.#rtt - sample) : sample / 2
    this.#rtt = this.#rtt ? 0.875 * this.#rtt + 0.125 * sample : sample || 1
    pending.resolve(message)
  }

  // ---- signalling ------------------------------------------------------------

  /** Opens a connection to `key` with `connector`, its signals going along `route`; null when the connector takes none now. */
  #startSignalling(key: string, topic: string, connector: DhtConnector, route: string[], initiator: boolean, alone: boolean): Signalling | null {
    const signalling = {key, topic, route, initiator, alone, signing: Promise.resolve()} as Signalling
    // An offer from a room's newcomer with no peer there yet may make room (DhtConnector.signalled).
    const connection = connector.signalled(key, initiator, signal => this.#sendSignal(signalling, signal), !initiator && alone)
    if (!connection) return null
    signalling.connection = connection
    const slot = `${topic}/${key}`
    this.#signalling.set(slot, signalling)
    if (initiator) this.#stats.dialled++
    else this.#stats.answered++
    void connection.done.then(() => {
      if (this.#signalling.get(slot) === signalling) this.#signalling.delete(slot)
    })
    return signalling
  }

  /**
   * Signs one of our signals and sends it along the route; the remote answers
   * whether it took it, and an attempt it refused is given up. One that is lost
   * on the way fails its request (counted): the connection then times out.
   */
  #sendSignal(signalling: Signalling, signal: RtcSignal): void {
    const {key, route, topic, alone} = signalling
    // The way back: the same relays the other way round, then this node.
    const back = [...route.slice(0, -1).reverse(), this.publicKey]
    const payload = JSON.stringify(topic === '' ? {signal, back} : alone ? {signal, back, topic, alone} : {signal, back, topic})
    const signed = signalling.signing.then(() => encodeSignal(this.#identity!, fromHex(key), payload, this.#now(), randomBytes(NONCE_BYTES)))
    signalling.signing = signed.then(() => undefined, () => undefined)
    // Always in a RELAY, a route of the target alone too: the RELAY's id is what the answer comes back under.
    signed.then(bytes => this.#closed ? undefined : this.#request(route.slice(0, -1), key, () => bytes, true)).then(answer => {
      if (answer && (answer.type !== DhtMessageType.SIGNALLED || !answer.taken)) signalling.connection.close()
    }, () => {
      // Too large to sign, or lost on the way (counted in stats.failures): the connection times out.
    })
  }

  /**
   * A signal relayed to this node: taken if it is for this node, fresh (time
   * within SIGNAL_WINDOW, nonce unseen), signed by its sender, with a route
   * back that starts at the peer it came from. An offer opens a connection
   * (in a glare, the lower key's offer stands); anything else goes to the
   * connection being signalled with its sender.
   */
  async #takeSignal(message: SignalMessage, from: Session): Promise<boolean> {
    const sender = toHex(message.from)
    if (toHex(message.to) !== this.publicKey || sender === this.publicKey ||
      Math.abs(this.#now() - message.time) > SIGNAL_WINDOW) {
      this.#stats.signalsRefused++
      return false
    }
    const nonce = sender + toHex(message.nonce)
    if (this.#nonces.has(nonce)) {
      this.#stats.replays++
      return false
    }
    if (!(await verifySignal(message))) {
      this.#stats.forged++
      return false
    }
    // Two copies may have been checked at once: only the first is taken.
    if (this.#nonces.has(nonce) || this.#closed) {
      if (!this.#closed) this.#stats.replays++
      return false
    }
    this.#nonces.set(nonce, true)
    const parsed = parseSignalPayload(message.signal, sender)
    // A topic this node does not serve (it left that room), or none and no connector of its own: refused.
    const connector = parsed && this.#connectorFor(parsed.topic)
    if (!parsed || !connector || parsed.back[0] !== from.key) {
      this.#stats.signalsRefused++
      return false
    }
    const slot = `${parsed.topic}/${sender}`
    const held = this.#signalling.get(slot)
    if (held && parsed.signal.type !== 'offer') {
      held.connection.signal(parsed.signal)
      return true
    }
    if (parsed.signal.type !== 'offer' || connector.connectedTo(sender) || (parsed.topic === '' && this.#sessions.has(sender))) {
      this.#stats.signalsRefused++
      return false
    }
    if (held) {
      // Both offered: the lower key's offer stands, and the other end answers it once it comes (so this one is
      // taken: a connection to its sender is on its way). Or the remote started over: its new offer is answered.
      if (held.initiator && this.publicKey < sender) return true
      this.#signalling.delete(slot)
      held.connection.close()
    }
    const signalling = this.#startSignalling(sender, parsed.topic, connector, parsed.back, false, parsed.topic !== '' && parsed.alone)
    if (!signalling) {
      this.#stats.signalsRefused++
      return false
    }
    signalling.connection.signal(parsed.signal)
    return true
  }

  // ---- receiving --------------------------------------------------------------

  /** Decodes a peer's message; what is not one is a strike, and undefined. */
  #decode(session: Session, bytes: Uint8Array): DhtMessage | undefined {
    try {
      return decodeDhtMessage(bytes)
    } catch (err) {
      this.#strike(session, err as P2PError)
      return undefined
    }
  }

  #receive(session: Session, bytes: Uint8Array): void {
    if (this.#closed) return
    const message = this.#decode(session, bytes)
    if (!message) return
    switch (message.type) {
      case DhtMessageType.FIND:
      case DhtMessageType.PING:
      case DhtMessageType.ANNOUNCE:
      case DhtMessageType.FIND_PEERS:
      case DhtMessageType.PUT:
      case DhtMessageType.GET:
        if (!this.#allowed(session, true)) return
        this.#answer(message, session, true).then(answer => {
          if (answer) this.#send(session, answer)
        }, () => {
          // A local failure: the asker times out and asks another node.
        })
        return
      case DhtMessageType.NODES:
      case DhtMessageType.PONG:
      case DhtMessageType.PEERS:
      case DhtMessageType.SIGNALLED:
      case DhtMessageType.VALUE:
        this.#answered(session, message.id, message)
        return
      case DhtMessageType.RELAY:
        this.#relay(session, message.id, message.route.map(toHex), message.inner)
        return
      case DhtMessageType.RELAY_REPLY:
        this.#relayReply(session, message.id, message.inner)
        return
      default:
        // A signal goes to a node this one is not connected to, so always in a RELAY.
        this.#strike(session, P2PError.MALFORMED_MESSAGE(`a message of type ${message.type} sent outside a RELAY`))
    }
  }

  /**
   * The answer to a request, from here: for a FIND, the connected peers closest
   * to its target (not the asker); for ANNOUNCE (kept if it checks out) and
   * FIND_PEERS, the topic's announcers held. A forged announcement sent directly
   * is a strike; one that came through relays is not the relay's doing.
   */
  async #answer(message: DhtMessage, asker: Session, direct: boolean): Promise<Uint8Array | undefined> {
    switch (message.type) {
      case DhtMessageType.PING:
        return encodePing(message.id, true)
      case DhtMessageType.FIND: {
        const closest = this.table.closest(message.target, Math.min(this.#options.k, MAX_NODES), contact => contact.key === asker.key)
        return encodeNodes(message.id, closest.map(contact => fromHex(contact.key)))
      }
      case DhtMessageType.ANNOUNCE: {
        const taken = await this.#store.put(message.announcement)
        if (taken === 'bad signature' && direct) this.#strike(asker, P2PError.INVALID_SIGNATURE('an announcement whose signature does not hold'))
        return encodePeers(message.id, this.#store.get(message.announcement.topic, MAX_PEERS))
      }
      case DhtMessageType.FIND_PEERS:
        return encodePeers(message.id, this.#store.get(message.topic, MAX_PEERS))
      case DhtMessageType.PUT: {
        const taken = await this.#records.put(message.record)
        if (taken === 'bad signature' && direct) this.#strike(asker, P2PError.INVALID_SIGNATURE('a record whose signature does not hold'))
        return encodeValue(message.id, this.#records.get(await recordTarget(message.record.key, message.record.salt)) ?? null)
      }
      case DhtMessageType.GET:
        return encodeValue(message.id, this.#records.get(message.target) ?? null)
      case DhtMessageType.SIGNAL:
        // Only relayed: the RELAY's id routes the answer back.
        return direct ? undefined : encodeSignalled(0, await this.#takeSignal(message, asker))
      default:
        return undefined
    }
  }

  /**
   * A RELAY names this node first in its route: with nothing after it, the inner
   * message is for this node; else it goes on to the next key, a connected peer,
   * under an id of this node's.
   */
  #relay(from: Session, id: number, route: string[], inner: Uint8Array): void {
    if (route[0] !== this.publicKey) {
      this.#strike(from, P2PError.MALFORMED_MESSAGE('a RELAY whose route does not start here'))
      return
    }
    if (route.length === 1) {
      const message = this.#decode(from, inner)
      if (!message || !this.#allowed(from, false)) return
      this.#answer(message, from, false).then(answer => {
        if (answer) this.#send(from, encodeRelayReply(id, answer))
        else this.#strike(from, P2PError.MALFORMED_MESSAGE('a relayed message that is not a request'))
      }, () => {
        // A local failure: the asker times out.
      })
      return
    }
    if (!from.relayLimit.take()) {
      this.#stats.refused++
      this.#overLimit(from, 'relays', this.#options.relayRate, this.#options.relayBurst)
      return
    }
    const next = this.#sessions.get(route[1])
    if (!next) {
      this.#stats.refused++
      return
    }
    const forwardId = this.#takeId()
    this.#forwarded.set(forwardId, {from, id, to: next})
    this.#stats.relayed++
    this.#send(next, encodeRelay(forwardId, route.slice(1).map(fromHex), inner))
  }

  /** An answer coming back: to the request this node made, or to the one it forwarded under that id. */
  #relayReply(session: Session, id: number, inner: Uint8Array): void {
    const forwarded = this.#forwarded.get(id)
    if (forwarded) {
      if (forwarded.to !== session) {
        this.#strike(session, P2PError.MALFORMED_MESSAGE(`a reply to a relay it was not sent (${id})`))
        return
      }
      this.#forwarded.delete(id)
      this.#send(forwarded.from, encodeRelayReply(forwarded.id, inner))
      return
    }
    const message = this.#decode(session, inner)
    if (!message) return
    if (message.type !== DhtMessageType.NODES && message.type !== DhtMessageType.PONG && message.type !== DhtMessageType.PEERS &&
      message.type !== DhtMessageType.SIGNALLED && message.type !== DhtMessageType.VALUE) {
      this.#strike(session, P2PError.MALFORMED_MESSAGE('a relayed reply that is not an answer'))
      return
    }
    this.#answered(session, id, message)
  }
}
