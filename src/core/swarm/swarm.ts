import {resolveWebRTC, type RtcSignal, type WebRTC} from './rtc-link.js'
import {Emitter} from '../emitter.js'
import {P2PError, toP2PError} from '../errors.js'
import {randomBytes, toHex} from '../bytes.js'
import {createDebug, shortId} from '../debug.js'
import type {Identity} from '../crypto/identity.js'
import type {RoomCipher} from '../crypto/room-cipher.js'
import {HubClient, type Subscription} from '../hub-client/hub-client.js'
import {pageStreams} from '../hub-client/shared-streams.js'
import type {OpenStream} from '../hub-client/sse.js'
import type {MuxOptions} from '../mux/mux.js'
import {decodeHubMessage, encodeAnnounce, encodeBusy, encodeSignal, roomTag} from './messages.js'
import {PeerConnection} from './peer-connection.js'
import {pageBudget, type ConnectionBudget, type ConnectionBudgetStats} from './budget.js'
import type {ConnectionPool, RoomPeer, RoomPeerEvents} from './rooms.js'
import type {RoomLinks} from './room-links.js'
import {PagePool, pagePoolOf, type PoolSeat, type RoomsCode} from './room-pool.js'
import {Announcer, EarlyCandidates, keepsOwnOffer, type EarlyCandidate} from './signalling.js'
import {RoomMembers} from './topology.js'
import {pageBans, type BanList} from './bans.js'
import {Deadlines, ExpiringMap} from '../expiring-map.js'
import {checkInteger, checkNumber} from '../check.js'
import {systemClock, type Clock} from '../clock.js'

/** A peer of a swarm: on a connection of its own, or on one another room of the page shares (rooms.ts). */
export type SwarmPeer = PeerConnection | RoomPeer

const debug = createDebug('p2p:swarm')

/**
 * Loads the room cipher, which only a room with a secret runs: a page without
 * one never fetches it; and the code that shares connections between rooms,
 * which only a page with two swarms in one pool runs (room-pool.ts). Tests
 * replace them to count, hold or fail the loads.
 */
export const loaders = {
  cipher: () => import('../crypto/room-cipher.js'),
  rooms: (): Promise<RoomsCode> => import('./room-links.js'),
}

/** The page's pool, shared by every swarm of the page (unless given another). */
export const pagePool = new PagePool(() => loaders.rooms())

/** webrtc-swarm's channel for announcements. */
const ALL = 'all'

/** Below this share of its budget left, the swarm no longer trades connections for ring neighbours. */
const BUDGET_RESERVE = 0.1

/** A key that comes back within this long of losing its connection has reconnected. */
const RECONNECT_WINDOW = 60_000

/**
 * A key an announcement claimed and the connection did not prove is not
 * trusted for this long: announcements are public and anyone may forge them.
 * It is also the longest a hub id that keeps not answering our offers waits
 * for the next one.
 */
const UNANSWERED_QUIET = 2 * 60_000

/**
 * A hub id whose offer went unanswered waits this long for the next, doubling
 * with each unanswered offer up to UNANSWERED_QUIET. Not the whole quiet at
 * once: a real peer's answer can be lost too (a glare whose winning offer the
 * hub dropped leaves both ends unanswered), and two peers that each made the
 * other wait two minutes stayed apart that long (seen: twelve tabs of one
 * origin, a pair missing from the mesh after 45 s).
 */
const UNANSWERED_FIRST_QUIET = 5_000
/**
 * A hub id whose peer said goodbye is not offered a connection for this long. An
 * announcement it posted just before leaving can reach us after its goodbye (the hub
 * is slower than the data channel), and an offer to a peer that left waits out the
 * whole connect timeout (seen in Firefox: 1 leave in 7 took 10 s to clear). A page
 * that joins again does so under a new hub id; one that let us go can still offer.
 */
const LEFT_QUIET = 30_000
/**
 * Our offer still unanswered this long after we posted it, when its id shows it
 * is there (it announces again, or offers us in a glare we win), was lost on
 * the hub: it is made again then, not after the whole connect timeout. Well
 * above an answer's time on a busy machine: twelve tabs of one origin on two
 * busy cores, behind the hub's rate limit, had answers back within 1 s at the
 * median, 2.9 s at p90 and 5 s at most (770 offers); at 2 s, a quarter of the
 * offers were made twice and the room took longer to mesh. Doubling per offer
 * to that id that went unanswered, so an id that never answers (or a
 * stranger announcing under it) gets one more offer before the timeout, not
 * one per announcement.
 */
const REOFFER_AFTER = 8_000
/** Unanswered offers per hub id are remembered this long, and for this many ids (a flood of fresh ids pushes out the oldest). */
const UNANSWERED_MEMORY = 10 * 60_000
const MAX_UNANSWERED_IDS = 1024

/**
 * Offers from a hub id we already have a connection with, answered beside it
 * until one proves its key (see #answerBeside): at most one per id, and this
 * many per swarm. Anyone on the hub can send such offers.
 */
const MAX_REPLACEMENTS = 8


/**
 * Whether the platform has a network, and word when that changes: in a page,
 * `navigator.onLine` and the window's `online`/`offline` events (the elements
 * layer passes those: see src/elements/p2p-swarm/page-network.ts). The core
 * touches no DOM, so it is told.
 */
export interface NetworkStatus {
  readonly online: boolean
  on(event: 'online' | 'offline', listener: () => void): void
  off(event: 'online' | 'offline', listener: () => void): void
}

/**
 * Where the swarm stands with its hubs, for a user to see (`Swarm.state`):
 * - `connecting`: no hub stream open yet, and none failed since the last try;
 * - `online`: a stream to at least one hub is open;
 * - `hub-unreachable`: none is open and at least one failed (a dead or wrong
 *   hub URL; the client keeps retrying);
 * - `offline`: the network status says there is no network (the hub is paused).
 */
export type SwarmState = 'connecting' | 'online' | 'hub-unreachable' | 'offline'

export interface SwarmOptions {
  /** The room: peers of one room find each other (the signalhub "app"). */
  room: string
  /** Hub URLs; the swarm subscribes to all and broadcasts to all. */
  hubs?: string[]
  /** Or a hub client to share (then `hubs` is ignored and the swarm does not destroy it). */
  hubClient?: HubClient
  /**
   * How the hub client it makes opens event streams: the page's shared streams
   * by default. `<p2p-swarm>` holds them back until its hub's ICE servers are in.
   */
  openStream?: OpenStream
  /**
   * This peer's key pair: its name to every peer. Made by `createIdentity()`
   * (async, as WebCrypto makes keys), so the swarm itself starts synchronously.
   */
  identity: Identity
  /** Most connections at once, pending ones included. */
  maxPeers?: number
  /** When set, signalling is encrypted (AES-GCM) and only holders of the secret can join. */
  secret?: string
  /**
   * STUN/TURN servers. Empty by default: no third party unless the app names one.
   * A function is asked for each new connection, so credentials that expire
   * (a hub's `/v1/ice`, see HubIceConfig) are fresh for connections made later.
   */
  iceServers?: RTCIceServer[] | (() => RTCIceServer[])
  iceTransportPolicy?: RTCIceTransportPolicy
  /** Called with a proven public key (hex) before a peer is admitted; return false to refuse. */
  admit?: (publicKey: string) => boolean | Promise<boolean>
  /** Milliseconds a connection may take from first signal to proven identity. */
  connectTimeout?: number
  /** Announcement back-off bounds, in milliseconds. */
  announceInterval?: {min: number, max: number}
  /** Multiplexer settings for every connection (keep-alive, water marks). */
  mux?: MuxOptions
  /**
   * Milliseconds a key dropped for breaking a protocol (ERR_PEER_MISBEHAVING)
   * is refused when it comes back. Default 10 minutes.
   */
  banTime?: number
  /**
   * Counts every RTCPeerConnection this swarm creates: the page-wide budget by
   * default, shared by every swarm of the page (see budget.ts).
   */
  budget?: ConnectionBudget
  /** Keys refused for a while: the page-wide list by default, so a ban holds in every room (see bans.ts). */
  bans?: BanList
  /**
   * Offline pauses the hub and announcing, online resumes them and restarts
   * broken ICE. Without it (Node, a bot) the swarm takes the network as given.
   */
  network?: NetworkStatus
  /**
   * Time and chance for everything local: timeouts, announcement back-off and
   * its jitter, the swarm's expiring tables and view of the room's members,
   * its connections, their multiplexers (unless `mux.clock` names another) and
   * the hub client it makes. The system's by default; tests drive it virtually.
   * (The budget and ban list are page-wide and keep their own.)
   */
  clock?: Clock
  /**
   * Milliseconds since the epoch: what sealed messages are stamped with and
   * checked against (room secret). Wall time, compared across pages, unlike
   * the clock's monotonic `now`. `Date.now` by default.
   */
  epochNow?: () => number
  /**
   * Where connections are shared between the page's rooms: the page's pool by
   * default. A peer met in two rooms, both ends using one identity in both,
   * rides one connection (rooms.ts). The page's pool loads that code when a
   * second swarm takes a seat in it (room-pool.ts); a ConnectionPool made
   * already loads it with its first. `null` keeps this swarm's connections to
   * itself. Rooms with a secret never join others' connections.
   */
  pool?: PagePool | ConnectionPool | null
  /**
   * The WebRTC implementation: the platform's (`globalThis.RTCPeerConnection`)
   * by default. Node has none: pass `await loadNodeWebRTC()` from
   * `p2p-elements/node` (node-datachannel). Without either the swarm throws
   * ERR_WEBRTC_UNSUPPORTED.
   */
  webrtc?: WebRTC
}

export interface SwarmStats {
  connecting: number
  connected: number
  maxPeers: number
  connectionsCreated: number
  connectionsClosed: number
  announcesSent: number
  announcesReceived: number
  signalsIn: number
  signalsOut: number
  malformed: number
  decryptFailures: number
  refusedFull: number
  glare: number
  /** Connections let go to make room for a ring neighbour (see topology.ts). */
  madeRoom: number
  /** Our offers a full peer declined. */
  busy: number
  authFailures: number
  admissionRefused: number
  timeouts: number
  /** Offers made again because the first was lost on the hub (see REOFFER_AFTER). */
  reoffers: number
  /** Keys refused for now because they misbehaved. */
  banned: number
  /** Peers back after their connection broke: by ICE restart, or on a new connection. */
  reconnects: number
  /** True while the browser reports no network (`offline`): the hub is paused. */
  offline: boolean
  /** Connections not made because the page's connection budget was spent (or only its reserve is left). */
  refusedBudget: number
  /**
   * Connections not made for now: the page made too many new ones lately
   * (budget pacing), or the hub id never answered our last offer.
   */
  paced: number
  /**
   * Signalling that claimed a peer's hub id and could not be its: a `busy` not
   * naming our attempt, an offer beside a live connection that then proved
   * another key, failed, timed out, or was replaced by a newer one.
   */
  forgedSignals: number
  /** Sealed messages (room secret) refused as a replay or as outside the time window. */
  replays: number
  /** Peers met over a connection another room of the page made (no new connection needed). */
  sharedConnections: number
  /** The page's connections, all swarms together: created, open, closed, refused, limit. */
  budget: ConnectionBudgetStats
}

export type SwarmEvents = {
  /** A peer proved its key and was admitted. */
  connect: (peer: SwarmPeer) => void
  /** A connected peer left, vanished or failed; `err` is absent when it said goodbye. */
  disconnect: (peer: SwarmPeer, err?: P2PError) => void
  /**
   * A peer whose connection broke is back, once per break: repaired by an ICE
   * restart (`peer` is the same connection, its channels carried on), or on a
   * new connection (`peer` is new; `connect` came just before, so protocols
   * have attached to it already).
   */
  reconnect: (peer: SwarmPeer, how: 'ice-restart' | 'new-connection') => void
  /** Anything shown in a peer list changed, `state` included. */
  update: () => void
  error: (err: P2PError) => void
  close: () => void
}

/**
 * A room of peers: discovers them through one or more signalling hubs with
 * webrtc-swarm's messages (so the original module can join the same room),
 * connects to each over WebRTC, proves identities, and keeps the mesh alive.
 */
export class Swarm extends Emitter<SwarmEvents> {
  /** This peer's hub id: random per swarm, carries no authority. */
  readonly id = toHex(randomBytes(10))
  readonly room: string
  readonly identity: Identity
  readonly publicKey: string
  readonly maxPeers: number
  /** Where this swarm's connections are counted (the page's, unless given another). */
  readonly budget: ConnectionBudget
  readonly bans: BanList
  #destroyed = false

  readonly #opts: SwarmOptions
  readonly #hub: HubClient
  readonly #ownsHub: boolean
  /** Loading from the constructor on (null without a secret): every seal and open waits for it, in order. */
  readonly #cipher: Promise<RoomCipher> | null
  readonly #connections = new Map<string, SwarmPeer>()
  /** Hub id → an answered offer held beside the connection of that id until it proves its key. */
  readonly #replacements = new Map<string, PeerConnection>()
  /** Connections let go without a word to the swarm's peers (replacements): their close only counts. */
  readonly #discarded = new WeakSet<PeerConnection>()
  /** Our pending offers made trusted on an announced key: the key they must prove. */
  readonly #claims = new Map<PeerConnection, string>()
  /** A connection one past maxPeers to a claimed ring neighbour, until it proves the key (#makeRoomFor). */
  #ringCandidate: {conn: PeerConnection, key: string} | null = null
  /** `id:<hub id>` that never answered, `key:<key>` claimed and not proven: not offered again for a while. */
  readonly #quiet: Deadlines<string>
  /** Hub id → offers of ours it left unanswered lately: each one doubles its quiet. */
  readonly #unanswered: ExpiringMap<string, number>
  /** Hub id → when it last sent us a signal (clock time): a peer that is there, whatever became of one offer. */
  readonly #heard: ExpiringMap<string, number>
  /** Where this swarm's connections are offered to the page's other rooms; null without a pool. */
  readonly #pool: PagePool | null
  /** Its seat there, and this room's tag on shared connections (null with a secret: it never joins others'). */
  #seat: PoolSeat | null = null
  #tag: string | null = null
  /** Resolves once the swarm has its seat in the pool (its tag is computed first). */
  readonly #seated: Promise<void> | null
  /** This swarm's side of rooms sharing connections (room-links.ts), once the page shares: null until then. */
  #rooms: RoomLinks | null = null
  /** Candidates that came before any offer from their sender. */
  readonly #early: EarlyCandidates
  readonly #subscription: Subscription
  /** Keys whose connection broke lately (not a goodbye), so their return counts as a reconnect. */
  readonly #lost: Deadlines<string>
  readonly #clock: Clock
  readonly #stats: Omit<SwarmStats, 'connecting' | 'connected' | 'maxPeers' | 'banned' | 'offline' | 'budget'> = {
    connectionsCreated: 0, connectionsClosed: 0, announcesSent: 0, announcesReceived: 0,
    signalsIn: 0, signalsOut: 0, malformed: 0, decryptFailures: 0, refusedFull: 0,
    glare: 0, madeRoom: 0, busy: 0, authFailures: 0, admissionRefused: 0, timeouts: 0, reoffers: 0, reconnects: 0,
    refusedBudget: 0, paced: 0, forgedSignals: 0, replays: 0, sharedConnections: 0,
  }
  /** The budget's refusal is reported once until a connection can be made again, not per announcement. */
  #budgetReported = false
  #offline = false
  readonly #announcer: Announcer
  #hubOutageReported = false
  /** A hub stream failed since a hub last opened (or the network came back): see `state`. */
  #hubFailed = false
  /** A hub stream opened at least once (announcements go out before that: see the constructor). */
  #hubOpened = false
  readonly #members: RoomMembers
  readonly #webrtc: WebRTC

  constructor(opts: SwarmOptions) {
    super()
    if (!opts || typeof opts.room !== 'string' || !opts.room) throw P2PError.INVALID_ARGUMENT('a swarm needs a room')
    if (!opts.hubClient && !opts.hubs?.length) throw P2PError.INVALID_ARGUMENT('a swarm needs at least one hub')
    if (!opts.identity) throw P2PError.INVALID_ARGUMENT('a swarm needs an identity: make one with createIdentity()')
    const maxPeers = opts.maxPeers ?? 16
    checkInteger('maxPeers', maxPeers, 1)
    if (opts.connectTimeout !== undefined) checkNumber('connectTimeout', opts.connectTimeout, 1)
    if (opts.banTime !== undefined) checkNumber('banTime', opts.banTime, 0)
    if (opts.announceInterval !== undefined) {
      const {min, max} = opts.announceInterval
      checkNumber('announceInterval.min', min, 1)
      checkNumber('announceInterval.max', max, min)
    }
    this.#webrtc = resolveWebRTC(opts.webrtc)
    this.#opts = opts
    this.room = opts.room
    this.maxPeers = maxPeers
    this.budget = opts.budget ?? pageBudget
    this.bans = opts.bans ?? pageBans
    this.identity = opts.identity
    this.publicKey = toHex(this.identity.publicKey)
    const clock = this.#clock = opts.clock ?? systemClock
    const now = () => clock.now()
    this.#quiet = new Deadlines<string>(now)
    this.#unanswered = new ExpiringMap<string, number>({ttl: UNANSWERED_MEMORY, max: MAX_UNANSWERED_IDS, now})
    this.#heard = new ExpiringMap<string, number>({ttl: UNANSWERED_MEMORY, max: MAX_UNANSWERED_IDS, now})
    this.#lost = new Deadlines<string>(now)
    this.#early = new EarlyCandidates(clock)
    const {secret, epochNow} = opts
    this.#cipher = secret ? loaders.cipher().then(({RoomCipher}) => new RoomCipher(secret, opts.room, {epochNow})) : null
    // Registered before any message or post waits on it, so those find the swarm closed.
    this.#cipher?.catch(err => this.destroy(P2PError.CONNECTION_FAILED('cannot load the room cipher, so cannot seal or open the room\'s messages', err)))
    const bounds = opts.announceInterval ?? {min: 1000, max: 30_000}
    this.#announcer = new Announcer({
      bounds, clock,
      announce: () => {
        this.#stats.announcesSent++
        // Before any hub opened, a failed announcement is the outage the streams report, once.
        void this.#post(ALL, encodeAnnounce(this.id, this.#connections.size, this.publicKey), this.#hubOpened)
      },
      full: () => this.#connections.size >= this.maxPeers,
    })
    // Members announce at least every `max`; three missed announcements mean gone.
    this.#members = new RoomMembers({ttl: bounds.max * 3 + bounds.min, clock})
    const pool = opts.pool === undefined ? pagePool : opts.pool
    this.#pool = pool && (pool instanceof PagePool ? pool : pagePoolOf(pool, () => loaders.rooms()))
    this.#seated = this.#pool && this.#takeSeat(this.#pool, clock)
    this.#ownsHub = !opts.hubClient
    this.#hub = opts.hubClient ?? new HubClient({hubs: opts.hubs!, app: opts.room, openStream: opts.openStream ?? pageStreams.open, clock})
    this.#hub.on('open', this.#onHubOpen)
    this.#hub.on('lost', this.#onHubLost)
    this.#hub.on('update', this.#onHubUpdate)
    this.#hub.on('error', this.#onHubError)
    // One stream carries both channels (and those of the page's other swarms):
    // the messages tell themselves apart.
    this.#subscription = this.#hub.subscribe([ALL, this.id], data => void this.#onHubMessage(data))
    this.bans.on('ban', this.#onBan)
    if (opts.network) {
      opts.network.on('offline', this.#onOffline)
      opts.network.on('online', this.#onOnline)
      if (!opts.network.online) this.#onOffline()
    }
    if (!this.#offline) this.#announcer.onceOpen()
    debug('start', shortId(this.id), 'room', this.room, 'key', shortId(this.publicKey))
  }

  get destroyed(): boolean {
    return this.#destroyed
  }

  /** Its hubs (normalized URLs), and the ICE servers a new connection gets now: what a page's DHT swarm copies. */
  get hubs(): readonly string[] {
    return this.#hub.hubs
  }

  get iceServers(): RTCIceServer[] {
    return this.#iceServers()
  }

  /**
   * Where this swarm stands with its hubs (see SwarmState); `update` follows
   * each change. With several hubs, one open stream is enough to be online.
   */
  get state(): SwarmState {
    if (this.#offline) return 'offline'
    // The client's per-hub state, so a shared client that is already open counts too.
    if (Object.values(this.#hub.stats.hubs).some(hub => hub.state === 'open')) return 'online'
    return this.#hubFailed ? 'hub-unreachable' : 'connecting'
  }

  /** Resolves once the swarm listens on at least one hub. */
  ready(): Promise<void> {
    return this.#subscription.ready
  }

  /** Peers that proved their key and were admitted. */
  get peers(): SwarmPeer[] {
    return [...this.#connections.values()].filter(c => c.state === 'connected')
  }

  /** Every connection, pending ones included. */
  get connections(): SwarmPeer[] {
    return [...this.#connections.values()]
  }

  get stats(): SwarmStats {
    const connected = this.peers.length
    return {
      connecting: this.#connections.size - connected, connected, maxPeers: this.maxPeers, ...this.#stats,
      banned: this.bans.size, offline: this.#offline, budget: this.budget.stats,
    }
  }

  /**
   * Refuses `publicKey` for `ms` (default: the swarm's banTime) in every swarm
   * sharing this one's ban list (the page's, by default), and drops its
   * connections there, shared ones included. A protocol that drops a peer with
   * ERR_PEER_MISBEHAVING gets this on its own: the peer cannot just reconnect
   * and start again.
   */
  ban(publicKey: string, ms = this.#banTime): void {
    this.bans.ban(publicKey, ms)
  }

  /** Whether `publicKey` is refused right now. */
  isBanned(publicKey: string): boolean {
    return this.bans.has(publicKey)
  }

  /** A key was banned (here or in another room of the page): its connections go. */
  #onBan = (publicKey: string) => {
    if (this.#destroyed) return
    const err = () => P2PError.PEER_MISBEHAVING(`peer ${shortId(publicKey)} is banned`)
    for (const conn of [...this.#connections.values()]) if (conn.publicKey === publicKey) conn.destroy(err())
    this.emit('update')
  }

  get #banTime(): number {
    return this.#opts.banTime ?? 10 * 60_000
  }

  /** Leaves the room: every connection says goodbye. Emits `error` (with `err`), then `close`. Idempotent. */
  /**
   * A connection to `key` signalled outside the hub (by the DHT, docs/dht.md):
   * `send` carries this side's signals to the remote, and the remote's go to
   * its `signal`. It is counted and paced as any other; whoever signals it
   * checks that the key it proves is `key` (dht.ts, swarmConnector). Null when
   * the swarm takes none now: closed, full, out of budget, banned key, or a
   * connection to that key there or on its way.
   */
  signalled(key: string, initiator: boolean, send: (signal: RtcSignal) => void): PeerConnection | null {
    // Not a hub id (those are 20 hex digits): nothing from the hub reaches it.
    const id = `dht:${key}`
    if (this.#destroyed || this.isBanned(key) || this.#connections.has(id) || this.peers.some(p => p.publicKey === key) ||
      this.#connections.size >= this.maxPeers) return null
    const conn = this.#create(id, initiator, this.#trusts(key), send)
    if (conn) {
      this.#connections.set(id, conn)
      this.emit('update')
    }
    return conn
  }

  destroy(err?: P2PError): void {
    if (this.#destroyed) return
    this.#destroyed = true
    this.#announcer.stop()
    this.bans.off('ban', this.#onBan)
    this.#opts.network?.off('offline', this.#onOffline)
    this.#opts.network?.off('online', this.#onOnline)
    this.#hub.off('open', this.#onHubOpen)
    this.#hub.off('lost', this.#onHubLost)
    this.#hub.off('update', this.#onHubUpdate)
    this.#hub.off('error', this.#onHubError)
    this.#subscription.close()
    if (this.#seat) this.#pool!.unseat(this.#seat)
    this.#rooms?.destroy()
    for (const conn of this.#connections.values()) conn.destroy()
    this.#connections.clear()
    for (const conn of this.#replacements.values()) conn.destroy()
    this.#replacements.clear()
    this.#claims.clear()
    if (this.#ownsHub) this.#hub.destroy()
    debug('destroyed', shortId(this.id))
    this.emit('update')
    if (err) this.emit('error', err)
    this.emit('close')
    this.removeAllListeners()
  }

  /**
   * Seats the swarm in its pool once its tag is computed. The room glue comes
   * when the page shares connections (at once, if it does already), reaching
   * into this swarm's table through a narrow host.
   */
  async #takeSeat(pool: PagePool, clock: Clock): Promise<void> {
    const tag = this.#opts.secret ? null : await roomTag(this.room)
    if (this.#destroyed) return
    this.#tag = tag
    this.#seat = {
      attach: (code, real) => {
        if (tag !== null) this.#rooms = this.#roomLinks(code, real, tag, clock)
      },
      fail: err => this.destroy(err),
    }
    pool.seat(this.#seat)
  }

  #roomLinks({RoomLinks}: RoomsCode, pool: ConnectionPool, tag: string, clock: Clock): RoomLinks {
    return new RoomLinks({
      swarm: this,
      table: this.#connections,
      admit: key => this.#admit(key),
      adopt: peer => {
        this.#stats.sharedConnections++
        this.#connections.set(peer.id, peer)
        this.#wire(peer)
        this.emit('update')
      },
      refuseFull: () => {
        this.#stats.refusedFull++
        this.emit('update')
      },
      drop: peer => this.#drop(peer, false),
    }, pool, {tag, clock, connectTimeout: this.#opts.connectTimeout ?? 20_000})
  }

  /**
   * The browser lost the network: stop knocking on the hub (its streams and
   * retries pause when this swarm owns the client) and stop announcing. Peer
   * connections stay: their ICE restarts once the network is back.
   */
  #onOffline = () => {
    if (this.#destroyed || this.#offline) return
    this.#offline = true
    debug('offline: pausing', shortId(this.id))
    this.#announcer.stop()
    if (this.#ownsHub) this.#hub.pause()
    this.emit('update')
  }

  /** The network is back: hub streams reopen at once, we announce once one is open, and broken transports restart. */
  #onOnline = () => {
    if (this.#destroyed || !this.#offline) return
    this.#offline = false
    // The streams start over: a failure from before the outage says nothing about now.
    this.#hubFailed = false
    debug('online: resuming', shortId(this.id))
    // Before the resume: a stream that opens within it restarts the announcer, and must not be put off.
    this.#announcer.onceOpen()
    if (this.#ownsHub) this.#hub.resume()
    for (const conn of this.peers) {
      const ice = conn.rtc.iceConnectionState
      if (ice === 'disconnected' || ice === 'failed') conn.restartIce()
    }
    this.emit('update')
  }

  #onHubOpen = () => {
    if (this.#destroyed) return
    this.#hubOpened = true
    this.#hubOutageReported = false
    this.#hubFailed = false
    // A (re)opened stream may have missed announcements, and our first (or first
    // back online) waited for it (Announcer.onceOpen): start over quickly.
    if (!this.#offline) this.#announcer.restart()
  }

  /**
   * A hub stopped serving us. The client says so before the stream's error, so
   * this counts as the failure: a lost last hub reads as unreachable at once,
   * not as connecting for a moment.
   */
  #onHubLost = () => {
    this.#hubFailed = true
  }

  /** A hub opened or was lost: `state` may have changed. */
  #onHubUpdate = () => {
    if (!this.#destroyed) this.emit('update')
  }

  /** The hub client retries on its own; an outage is reported once, not per attempt. */
  #onHubError = (err: Error) => {
    if (this.#destroyed) return
    // Streams fail with a P2PError; anything else is a subscriber's callback throwing.
    if (err instanceof P2PError && !this.#hubFailed) {
      this.#hubFailed = true
      this.emit('update')
    }
    if (this.#hubOutageReported) return
    this.#hubOutageReported = true
    this.emit('error', toP2PError(err, 'ERR_HUB_UNREACHABLE'))
  }

  async #post(channel: string, message: unknown, report = true): Promise<void> {
    try {
      const body = this.#cipher ? await (await this.#cipher).seal(channel, message) : message
      if (this.#destroyed) return
      await this.#hub.broadcast(channel, body)
    } catch (err) {
      if (!this.#destroyed && report) this.emit('error', toP2PError(err, 'ERR_HUB_UNREACHABLE'))
    }
  }

  async #onHubMessage(data: unknown): Promise<void> {
    if (this.#destroyed) return
    // Until the swarm has its seat, and while the page loads the code that shares connections, messages
    // queue, in the order they came: an announcement must find the other rooms' connections, not dial its own.
    if (this.#seated) {
      await this.#seated
      await this.#pool!.loading
      if (this.#destroyed) return
    }
    let message = data
    if (this.#cipher) {
      try {
        // Messages that come while the cipher loads queue on it, and are opened in the order they came.
        const opened = await (await this.#cipher).open(data)
        if (!opened.fresh) {
          this.#stats.replays++
          this.emit('update')
          return
        }
        if (opened.channel !== ALL && opened.channel !== this.id) throw P2PError.DECRYPT('sealed for another channel')
        message = opened.message
      } catch {
        // A cipher that failed to load has closed the swarm: its messages were never opened.
        if (this.#destroyed) return
        this.#stats.decryptFailures++
        this.emit('update')
        return
      }
      if (this.#destroyed) return
    }
    let decoded
    try {
      decoded = decodeHubMessage(message)
    } catch {
      this.#stats.malformed++
      this.emit('update')
      return
    }
    if (decoded.from === this.id) return // our own announcement, echoed by the hub
    if (decoded.kind !== 'announce' && decoded.to !== undefined && decoded.to !== this.id) return // another swarm's, on a shared stream
    if (decoded.kind === 'announce') {
      this.#stats.announcesReceived++
      if (decoded.key !== undefined && decoded.key !== this.publicKey) this.#members.note(decoded.key, decoded.from)
      if (!this.#rooms?.join(decoded.from, decoded.key)) this.#dial(decoded.from, decoded.key)
    } else if (decoded.kind === 'busy') {
      // Only the peer we offered to knows our attempt's id (it came with the offer): anyone else's busy is forged.
      const pending = this.#connections.get(decoded.from)
      if (pending instanceof PeerConnection && pending.initiator && pending.state === 'connecting' && decoded.attempt === pending.attempt) {
        this.#stats.busy++
        this.#drop(pending)
      } else {
        this.#stats.forgedSignals++
        this.emit('update')
      }
    } else {
      this.#stats.signalsIn++
      this.#heard.set(decoded.from, this.#clock.now())
      this.#onSignal(decoded.from, decoded.signal, decoded.to !== undefined, decoded.attempt, decoded.answers)
    }
  }

  /**
   * A full peer still takes a connection to one of its two ring neighbours,
   * letting a connection that is not on the ring go: the ring is what keeps a
   * partial mesh (maxPeers below the room's size) one piece, where full peers
   * would otherwise answer nobody and small groups could stay apart. The peer
   * let go keeps its other connections and announces its free slot. Ring
   * connections are never let go.
   *
   * The key that places an announcer on the ring is a claim anyone can make,
   * so nothing is let go for it: the connection to the claimed neighbour is
   * made one past maxPeers (one such at a time), and only once it proves that
   * key does the youngest off-ring connection go (#onOpen). One that proves
   * another key is dropped; the peers stay.
   *
   * Connections are a budget (see budget.ts), so churn is kept low: the
   * youngest off-ring connection goes, never a long-lived one, and once the
   * page's budget runs low no room is made at all.
   */
  #ringNeighbourToMakeRoomFor(remoteId: string): string | undefined {
    if (this.#ringCandidate || this.budget.remaining < this.budget.limit * BUDGET_RESERVE) return undefined
    const key = this.#members.keyOf(remoteId)
    if (key === undefined) return undefined
    const ring = this.#members.ringNeighbours(this.publicKey)
    if (!ring.has(key) || this.peers.some(p => p.publicKey === key)) return undefined
    if (!this.peers.some(p => !ring.has(p.publicKey!))) return undefined
    return key
  }

  /** The ring neighbour `conn` proved its key: the youngest connection off the ring goes. */
  #makeRoomFor(conn: SwarmPeer): void {
    const ring = this.#members.ringNeighbours(this.publicKey)
    const offRing = this.peers.filter(p => p !== conn && !ring.has(p.publicKey!))
    if (offRing.length === 0) return
    const leaving = offRing.reduce((young, p) => (p.connectedAt ?? 0) > (young.connectedAt ?? 0) ? p : young)
    debug('made room for ring neighbour', shortId(conn.publicKey!), 'by letting', shortId(leaving.publicKey!), 'go')
    this.#stats.madeRoom++
    this.#drop(leaving)
  }

  #onSignal(from: string, signal: RtcSignal, fromKit: boolean, attempt?: string, answers?: string): void {
    const existing = this.#connections.get(from)
    if (signal.type === 'offer') {
      // An offer on the live connection itself (an ICE restart) renegotiates it.
      if (existing?.isRenegotiation(signal)) return existing.signal(signal, attempt)
      if (!existing) return this.#answer(from, signal, attempt, this.#early.take(from), fromKit)
      if (existing.state === 'connected') return this.#answerBeside(from, signal, attempt)
      if (existing.initiator && existing.state === 'connecting') {
        // Glare: both sides offered; one of them yields and answers.
        this.#stats.glare++
        if (keepsOwnOffer(this.id, from)) {
          // The remote yields to our offer once it has it: unless it was lost, which leaves both waiting.
          if (this.#offerLost(from)) this.#connect(from, true, this.#members.keyOf(from))
          return
        }
      }
      // Yielding in a glare, or a fresh offer on a pairing not proven yet (the
      // remote gave that attempt up): the new attempt replaces the old one. The
      // offer's candidates may have come first (the hub keeps no order between
      // two POSTs) and wait in the old connection: they go to the new one.
      const early = existing instanceof PeerConnection ? existing.takeEarlyCandidates() : []
      this.#drop(existing)
      return this.#answer(from, signal, attempt, early, fromKit)
    }
    const replacement = this.#replacements.get(from)
    if (replacement && attempt !== undefined && attempt === replacement.remoteAttempt) return replacement.signal(signal, attempt)
    if (existing instanceof PeerConnection && signal.candidate !== undefined && attempt !== undefined &&
      existing.remoteAttempt !== null && attempt !== existing.remoteAttempt) {
      // Not this connection's: a candidate that overtook the offer it belongs to
      // (it waits for it), or one of an abandoned attempt (it expires).
      return this.#early.hold(from, signal, attempt)
    }
    // Candidates of the offer we ignored in a glare come here too: the connection drops them by their attempt.
    if (existing) return existing.signal(signal, attempt, answers)
    // A kit peer's candidate that overtook its offer waits for it; anything else without a connection is stale.
    if (signal.candidate !== undefined && attempt !== undefined) this.#early.hold(from, signal, attempt)
  }

  /**
   * An offer from a hub id we have a proven connection with: the remote lost
   * its end (its connection broke or timed out on its side), or a stranger on
   * the hub claims that id (hub ids are public). The answer is held BESIDE the
   * live connection, which stays until the new one proves the same key
   * (#onOpen). One per id (a newer offer replaces it), a few per swarm.
   */
  #answerBeside(from: string, offer: RtcSignal, attempt: string | undefined): void {
    const old = this.#replacements.get(from)
    if (old) {
      this.#stats.forgedSignals++
      this.#discard(old)
    }
    if (this.#replacements.size >= MAX_REPLACEMENTS) {
      this.#stats.refusedFull++
      this.emit('update')
      return
    }
    // Never trusted: the key it would prove is the one the offer claims, unproven.
    const conn = this.#create(from, false, false)
    if (!conn) return
    this.#replacements.set(from, conn)
    this.emit('update')
    conn.signal(offer, attempt)
    // Its candidates that came before the offer waited in the swarm.
    for (const e of this.#early.take(from)) conn.signal(e.signal, e.attempt)
  }

  /** Answers an offer with a new connection, handing it the candidates that came before the offer. */
  #answer(from: string, offer: RtcSignal, attempt: string | undefined, early: EarlyCandidate[], fromKit: boolean): void {
    const conn = this.#connect(from, false, this.#members.keyOf(from))
    if (!conn) {
      // The busy names the offer's attempt: the offerer takes no busy that does not.
      if (fromKit && attempt !== undefined) void this.#post(from, encodeBusy(this.id, from, attempt))
      return
    }
    conn.signal(offer, attempt)
    for (const e of early) conn.signal(e.signal, e.attempt)
  }

  /**
   * Offers a connection to an announcer. One that claims a key the page has
   * met is trusted (the budget's reserve, no pacing: see budget.ts) until an
   * attempt on that claim fails to prove it; an id that never answered our
   * last offer is not offered another for a while. (Offers we answer are
   * trusted the same way, on the key their sender announced: #answer.)
   */
  #dial(remoteId: string, key: string | undefined): void {
    if (this.#quiet.has(`id:${remoteId}`)) {
      this.#stats.paced++
      this.emit('update')
      return
    }
    this.#offerLost(remoteId)
    this.#connect(remoteId, true, key)
  }

  /**
   * Lets our pending offer to `remoteId` go when it has waited past
   * REOFFER_AFTER (doubled per unanswered offer to that id) with no answer,
   * though the id has just shown it is there: the caller offers again. Counted
   * as an unanswered offer. Whether it went.
   */
  #offerLost(remoteId: string): boolean {
    const pending = this.#connections.get(remoteId)
    if (!(pending instanceof PeerConnection) || !pending.initiator || pending.answered || pending.state !== 'connecting') return false
    const strikes = this.#unanswered.get(remoteId) ?? 0
    if (this.#clock.now() - pending.createdAt < REOFFER_AFTER * 2 ** strikes) return false
    debug('offer to', shortId(remoteId), 'lost: offering again')
    this.#unanswered.set(remoteId, strikes + 1)
    this.#stats.reoffers++
    this.#drop(pending)
    return true
  }

  /** Whether a connection to a hub id announcing `key` may count as one to a known peer. */
  #trusts(key: string | undefined): boolean {
    if (key === undefined || !this.budget.knows(key) || this.#quiet.has(`key:${key}`)) return false
    // One trusted attempt per claimed key at a time: a thousand ids claiming it get one.
    return ![...this.#claims.values()].includes(key)
  }

  /** A connection to `remoteId` in the table, trusted on the key it announced (`key`) when #trusts says so. */
  #connect(remoteId: string, initiator: boolean, key: string | undefined): PeerConnection | null {
    if (this.#connections.has(remoteId)) return null
    let ringKey: string | undefined
    if (this.#connections.size >= this.maxPeers) {
      ringKey = this.#ringNeighbourToMakeRoomFor(remoteId)
      if (ringKey === undefined) {
        this.#stats.refusedFull++
        this.emit('update')
        return null
      }
    }
    const trusted = this.#trusts(key)
    const conn = this.#create(remoteId, initiator, trusted)
    if (!conn) return null
    if (trusted) this.#claims.set(conn, key!)
    this.#connections.set(remoteId, conn)
    if (ringKey !== undefined) this.#ringCandidate = {conn, key: ringKey}
    this.emit('update')
    return conn
  }

  #iceServers(): RTCIceServer[] {
    const servers = this.#opts.iceServers ?? []
    return typeof servers === 'function' ? servers() : servers
  }

  /**
   * A new connection to `remoteId`, counted against the budget (null when it
   * refused); the caller files it and emits `update`. Its signals go through the
   * hub, or to `send` when given (signalled outside the hub).
   */
  #create(remoteId: string, initiator: boolean, trusted: boolean, send?: (signal: RtcSignal) => void): PeerConnection | null {
    let conn: PeerConnection
    try {
      conn = new PeerConnection({
        id: remoteId,
        initiator,
        identity: this.identity,
        rtcConfig: {iceServers: this.#iceServers(), iceTransportPolicy: this.#opts.iceTransportPolicy ?? 'all'},
        connectTimeout: this.#opts.connectTimeout ?? 20_000,
        mux: this.#opts.mux,
        admit: key => this.#admit(key),
        budget: this.budget,
        trusted,
        clock: this.#clock,
        webrtc: this.#webrtc,
      })
    } catch (err) {
      const error = toP2PError(err, 'ERR_CONNECTION_BUDGET')
      debug('no connection to', shortId(remoteId), error.message)
      if (error.code === 'ERR_RATE_LIMITED') {
        // Pacing under a flood of announcements: expected, retried on the next one, not the app's concern.
        this.#stats.paced++
      } else if (error.code !== 'ERR_CONNECTION_BUDGET') {
        this.emit('error', error)
      } else {
        this.#stats.refusedBudget++
        if (!this.#budgetReported) {
          this.#budgetReported = true
          this.emit('error', error)
        }
      }
      this.emit('update')
      return null
    }
    this.#budgetReported = false
    this.#stats.connectionsCreated++
    conn.on('signal', signal => {
      this.#stats.signalsOut++
      if (send) return send(signal)
      // An answer names the offer it answers: the offerer may have offered again meanwhile.
      const answers = signal.type === 'answer' ? conn.remoteAttempt ?? undefined : undefined
      void this.#post(remoteId, encodeSignal(this.id, remoteId, signal, conn.attempt, answers))
    })
    this.#wire(conn)
    return conn
  }

  /** What the swarm follows on each of its peers, on its own connection or a shared one. */
  #wire(conn: SwarmPeer): void {
    // Both kinds emit these four alike; the union's overloads just do not say so.
    const events = conn as Emitter<Pick<RoomPeerEvents, 'open' | 'reconnect' | 'update' | 'close'>>
    events.on('open', () => this.#onOpen(conn))
    events.on('reconnect', () => {
      this.#stats.reconnects++
      this.emit('reconnect', conn, 'ice-restart')
    })
    events.on('update', () => this.emit('update'))
    events.on('close', (err?: P2PError) => this.#onClose(conn, err))
  }

  async #admit(publicKey: string): Promise<void> {
    if (this.isBanned(publicKey)) throw P2PError.ADMISSION_REFUSED(`peer ${shortId(publicKey)} is banned for misbehaving`)
    if (this.#opts.admit && !(await this.#opts.admit(publicKey))) {
      throw P2PError.ADMISSION_REFUSED(`peer ${shortId(publicKey)} was not admitted`)
    }
  }

  #onOpen(conn: SwarmPeer): void {
    if (this.#destroyed) return
    if (conn instanceof PeerConnection) {
      const claim = this.#claims.get(conn)
      this.#claims.delete(conn)
      if (claim !== undefined && claim !== conn.publicKey) this.#quiet.set(`key:${claim}`, UNANSWERED_QUIET)
      if (this.#replacements.get(conn.id) === conn) {
        this.#replacements.delete(conn.id)
        const held = this.#connections.get(conn.id)
        if (held?.state === 'connected' && held.publicKey !== conn.publicKey) {
          // Someone else's connection under a connected peer's hub id: the peer stays.
          debug('refusing', shortId(conn.publicKey ?? ''), 'under the hub id of', shortId(held.publicKey ?? ''))
          this.#stats.forgedSignals++
          this.#discard(conn)
          return
        }
        // The same key (its remote end was lost), or the live one has gone meanwhile: the new one takes the id.
        if (held) this.#drop(held)
        this.#connections.set(conn.id, conn)
      }
      this.budget.met(conn.publicKey!)
      if (this.#ringCandidate?.conn === conn) {
        const {key} = this.#ringCandidate
        this.#ringCandidate = null
        if (conn.publicKey === key) {
          this.#makeRoomFor(conn)
        } else if (this.#connections.size > this.maxPeers) {
          // Not the neighbour it claimed to be, and one too many: it goes, the peers stay.
          this.#connections.delete(conn.id)
          this.#discard(conn)
          return
        }
      }
      // A connection of our own may carry the page's other rooms to this peer.
      this.#pool?.add(conn, this.publicKey, this.#tag)
    }
    // The key is the identity: a second connection with a known key is the same
    // peer come back (a reloaded tab, a repaired network). The newest wins, so
    // the old one cannot linger as a ghost.
    for (const other of this.#connections.values()) {
      if (other !== conn && other.publicKey === conn.publicKey) {
        debug('replacing', shortId(other.id), 'by', shortId(conn.id), 'for key', shortId(conn.publicKey ?? ''))
        this.#drop(other)
      }
    }
    this.emit('connect', conn)
    if (this.#lost.has(conn.publicKey!)) {
      this.#lost.delete(conn.publicKey!)
      this.#stats.reconnects++
      this.emit('reconnect', conn, 'new-connection')
    }
    this.emit('update')
  }

  #onClose(conn: SwarmPeer, err?: P2PError): void {
    if (conn instanceof PeerConnection) {
      const claim = this.#claims.get(conn)
      this.#claims.delete(conn)
      if (!this.#discarded.has(conn) && conn.initiator && !conn.answered && this.#connections.get(conn.id) === conn) {
        // Our offer went unanswered (no one there, or a forged announcement): not again for a while. Unless
        // the id signalled us meanwhile: a peer that is there and lost our offer or its answer (seen: a glare
        // whose winning offer the hub dropped), to be offered again at its next announcement. (Pacing, not
        // this, bounds what an id that signals junk can spend.)
        if ((this.#heard.get(conn.id) ?? -Infinity) < conn.createdAt) {
          const strikes = this.#unanswered.get(conn.id) ?? 0
          this.#unanswered.set(conn.id, strikes + 1)
          this.#quiet.set(`id:${conn.id}`, Math.min(UNANSWERED_FIRST_QUIET * 2 ** strikes, UNANSWERED_QUIET))
        }
      }
      // A trusted attempt that never proved the key it claimed (whatever ended it): that claim is not trusted for a while.
      if (claim !== undefined && conn.connectedAt === null) this.#quiet.set(`key:${claim}`, UNANSWERED_QUIET)
      if (this.#ringCandidate?.conn === conn) this.#ringCandidate = null
      const replacement = this.#replacements.get(conn.id) === conn
      if (replacement) this.#replacements.delete(conn.id)
      if (replacement || this.#discarded.has(conn)) {
        // Never a peer of this swarm: a replacement that failed or timed out, or one let go.
        if (replacement) this.#stats.forgedSignals++
        this.#stats.connectionsClosed++
        this.emit('update')
        return
      }
    }
    // Connections this swarm let go (#drop) have left the table already.
    const droppedByUs = this.#connections.get(conn.id) !== conn
    if (!droppedByUs) this.#connections.delete(conn.id)
    this.#stats.connectionsClosed++
    const beside = this.#replacements.get(conn.id)
    if (beside && !droppedByUs) {
      this.#replacements.delete(conn.id)
      // The peer said goodbye: an offer still pending under its id is a stale one (a glare's
      // loser that came late) or a stranger's, and goes. Its end broke: the offer is likely
      // its new attempt, and takes the id as any connection does (seen and counted as one).
      if (!err) this.#discard(beside)
      else this.#connections.set(conn.id, beside)
    }
    if (err?.code === 'ERR_PEER_TIMEOUT' || (err?.code === 'ERR_CONNECTION_FAILED' && conn.connectedAt === null)) this.#stats.timeouts++
    if (err?.code === 'ERR_INVALID_SIGNATURE' || err?.code === 'ERR_HANDSHAKE' || err?.code === 'ERR_SELF_CONNECTION') this.#stats.authFailures++
    if (err?.code === 'ERR_ADMISSION_REFUSED') this.#stats.admissionRefused++
    if (err?.code === 'ERR_PEER_MISBEHAVING' && conn.publicKey && !this.isBanned(conn.publicKey)) {
      this.bans.ban(conn.publicKey, this.#banTime)
    }
    if (this.#destroyed) return
    // A goodbye means it left the room: off the ring at once, not after its announcements
    // lapse, and its hub id is not offered a connection again on a late one.
    if (!err && !droppedByUs && conn.connectedAt !== null) {
      if (conn.publicKey) this.#members.forget(conn.publicKey)
      this.#quiet.set(`id:${conn.id}`, LEFT_QUIET)
    }
    // A connection that broke (not a goodbye, not ours to drop, not a misbehaving
    // peer): its key coming back soon is a reconnect. Both ends announce again
    // at once (below), so a live peer is found again within about a second.
    const broke = err && !droppedByUs && conn.connectedAt !== null && conn.publicKey && err.code !== 'ERR_PEER_MISBEHAVING'
    if (broke) this.#lost.set(conn.publicKey!, RECONNECT_WINDOW)
    if (conn.connectedAt !== null) this.emit('disconnect', conn, err)
    if (err && conn.connectedAt === null) this.emit('error', err)
    // A broken connection: announce at once (jittered, so the two ends rarely
    // offer together), and the peer, which announces too, is found again. A
    // connected peer gone otherwise frees a slot: announce it soon. An attempt
    // that never connected changes nothing the room needs to hear: retrying it
    // faster would only spend the connection budget.
    if (!this.#offline) {
      if (broke) this.#announcer.soon(this.#clock.random() * 100)
      else if (conn.connectedAt !== null) this.#announcer.soon()
    }
    this.emit('update')
  }

  /**
   * Closes a connection this swarm no longer wants. It leaves the table first,
   * so a replacement under the same hub id is not mistaken for it on close.
   */
  #drop(conn: SwarmPeer, sayLeave = true): void {
    this.#connections.delete(conn.id)
    if (!(conn instanceof PeerConnection) && !sayLeave) conn.closeQuietly()
    else conn.destroy()
  }

  /** Closes a connection that never was (nor will be) one of this swarm's peers. */
  #discard(conn: PeerConnection): void {
    if (this.#replacements.get(conn.id) === conn) this.#replacements.delete(conn.id)
    this.#discarded.add(conn)
    conn.destroy()
  }
}
