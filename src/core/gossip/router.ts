/**
 * Gossip: messages that reach every peer of a room, over whatever links the
 * room has (a partial mesh is enough). Transport-agnostic: a link is an id, a
 * `send` and a `drop`; src/core/gossip/swarm.ts plugs it into a swarm, the
 * simulation into an in-memory network on a virtual clock.
 *
 * Two modes. `flood`: every new message goes to every other link. `plumtree`
 * (Leitão, Pereira, Rodrigues, "Epidemic Broadcast Trees", SRDS 2007): new
 * messages go eagerly along a spanning tree and only their ids (IHAVE) go to the
 * other links; duplicates prune the link they came over (after `pruneAfter` in a
 * row, where the paper prunes on the first: see docs/gossip.md), and a missing
 * message announced by IHAVE grafts that link back into the tree. The tree forms
 * and heals by itself from these two rules.
 *
 * Every peer relays every topic (a room is small); only subscribed topics are
 * delivered locally. See docs/gossip.md for the wire format and the numbers.
 */
import {Emitter} from '../emitter.js'
import {P2PError, toP2PError} from '../errors.js'
import {randomBytes, toHex} from '../bytes.js'
import {createDebug, shortId} from '../debug.js'
import {verify, type Identity} from '../crypto/identity.js'
import {
  DEFAULT_MAX_MESSAGE_BYTES, GossipFrameType, ID_BYTES, MAX_BATCH_IDS, MAX_HOPS,
  decodeGossipFrame, encodeData, encodeGraft, encodeIHave, encodePrune, signedBytes, topicBytes, withHops,
  type DataFrame, type IHaveEntry,
} from './messages.js'
import {MessageCache, SeenSet} from './seen-set.js'
import {ExpiringMap} from '../expiring-map.js'
import {rethrowLater} from '../rethrow-later.js'
import {TokenBucket, checkRateLimit} from '../token-bucket.js'
import {checkInteger, checkNumber} from '../check.js'
import {systemClock, type Clock} from '../clock.js'
import {
  DecayingCounter, PeerScore, scoreParams, type ScoreOptions, type ScoreParams,
} from './score.js'

const debug = createDebug('p2p:gossip')

export type GossipMode = 'flood' | 'plumtree'

/** One peer as the router sees it. */
export interface GossipLink {
  /** The peer's public key (hex): scores follow it across reconnections. */
  readonly id: string
  /** Hands one frame to the peer. Must not modify it; may keep it. */
  send(bytes: Uint8Array): void
  /** Ends the connection: the router gave up on this peer. */
  drop(err: P2PError): void
}

export interface GossipMessage {
  /** 8 random bytes as 16 hex characters. */
  readonly id: string
  readonly topic: string
  /** The receiver's own copy. */
  readonly payload: Uint8Array
  /** The author's public key (hex), present only when the signature verified. */
  readonly author?: string
  /** Links the message crossed to reach us; 0 for our own. */
  readonly hops: number
  /** The link it came from; null for our own. */
  readonly from: string | null
}

export interface PublishOptions {
  /** Sign with the router's identity. Default: true when the router has one. */
  sign?: boolean
}

export interface GossipOptions {
  /** Signs published messages; the author others see. */
  identity?: Identity
  mode?: GossipMode
  /**
   * Most links a message crosses (1 … 255). It bounds a flood if the seen-set
   * ever fails; it must also exceed the longest path of a Plumtree tree, which is
   * longer than the mesh's diameter (up to 25 hops measured in a 100-peer room).
   */
  maxHops?: number
  /** Largest payload published or accepted. */
  maxMessageBytes?: number
  /** Milliseconds an id is remembered; a copy arriving later is taken as new. */
  seenTTL?: number
  /** Most ids remembered. */
  seenMax?: number
  /** Milliseconds a message is kept to answer GRAFTs. */
  cacheTTL?: number
  cacheMax?: number
  cacheBytes?: number
  /** Plumtree: milliseconds IHAVEs wait to travel in one batch. */
  lazyDelay?: number
  /** Plumtree: milliseconds to wait for a message announced by IHAVE before grafting the announcer. */
  graftTimeout?: number
  /** Plumtree: milliseconds before grafting the next announcer when a graft brought nothing. */
  graftRetry?: number
  /**
   * Plumtree: duplicates a link may bring in a row (no first delivery between
   * them) before it is pruned. The paper prunes on the first; with several
   * messages in flight from different peers, that cuts one cycle in several
   * places at once, and the tree never settles (see docs/gossip.md).
   */
  pruneAfter?: number
  /**
   * Plumtree: when an IHAVE offered a path this many hops shorter than the one a
   * message took, graft that link and prune the slow one (the paper's
   * optimisation). Off (0) by default: with many senders it keeps reshaping the
   * tree for whoever spoke last, which costs more than it saves (docs/gossip.md).
   */
  optimizeThreshold?: number
  /**
   * Milliseconds of recent messages offered (an IHAVE marked as an offer) over
   * every new link, at most 256 of them, so a message whose wave passed while
   * links were being replaced still reaches the peers it missed. Offers carry
   * each message's age, and a router takes only those that reached the room
   * after it joined (got its first link): a newcomer gets what is published from
   * then on, never a slice of what came before. 0 turns it off (neither sent nor taken).
   */
  recentWindow?: number
  /** Announced ids awaiting their message, in all. */
  maxMissing?: number
  /** Signed messages awaiting verification, in all. */
  maxPending?: number
  /** New ids one peer may bring us: `rate` per second, `burst` at once. */
  rateLimit?: {rate: number, burst: number}
  score?: ScoreOptions
  /** Milliseconds a negative score outlives its link, so reconnecting does not wipe it. */
  retainScore?: number
  /** Least milliseconds between two `update` events. */
  updateInterval?: number
  /**
   * Time, timers and randomness; the system's by default. A clock of one's own
   * (a simulation) also draws the message ids, so a seeded run repeats exactly;
   * with the system clock they come from the platform's cryptographic source.
   */
  clock?: Clock
  /** Names this router in debug logs. */
  label?: string
}

export interface GossipStats {
  /** Links now, eager and lazy (muted ones included). */
  links: number
  eager: number
  lazy: number
  mutedLinks: number
  /** Ids remembered, messages cached (and their bytes), ids awaited, signatures being checked. */
  seen: number
  cached: number
  cachedBytes: number
  missing: number
  pending: number
  /** Messages published here. */
  published: number
  /** Messages handed to local subscribers (own ones included). */
  delivered: number
  /** DATA frames received. */
  received: number
  /** DATA frames sent, and those of them that carried others' messages. */
  sent: number
  forwarded: number
  /** DATA frames that brought nothing new. */
  duplicates: number
  /** Messages with a bad signature. */
  invalid: number
  malformed: number
  oversized: number
  /** Frames ignored because their sender was muted. */
  muted: number
  /** New ids refused by a peer's rate limit or a full table. */
  rateLimited: number
  /** Links dropped for their score. */
  dropped: number
  /** Messages not relayed because they reached `maxHops`. */
  hopLimited: number
  ihaveSent: number
  ihaveReceived: number
  graftSent: number
  graftReceived: number
  pruneSent: number
  pruneReceived: number
}

type ControlCounter = 'ihaveSent' | 'graftSent' | 'pruneSent'

type Counters = Omit<GossipStats, 'links' | 'eager' | 'lazy' | 'mutedLinks' | 'seen' | 'cached' | 'cachedBytes' | 'missing' | 'pending'>

/** Per-link figures for a peer list. */
export interface GossipLinkInfo {
  id: string
  /** Plumtree: messages go to it whole (eager) or as ids (lazy). Always eager when flooding. */
  eager: boolean
  muted: boolean
  score: number
  /** Frames received and sent. */
  received: number
  sent: number
  /** Messages it brought first. */
  firsts: number
  duplicates: number
  /** Bad signatures, malformed and oversized frames. */
  invalid: number
}

export type GossipEvents = {
  /** A message of a subscribed topic, delivered once. */
  message: (message: GossipMessage) => void
  /** A peer's score fell under the mute threshold: its frames are ignored. */
  mute: (linkId: string) => void
  /** A peer's score fell under the drop threshold: the link was removed and dropped. */
  drop: (linkId: string, err: P2PError) => void
  /** Stats changed; throttled to one per `updateInterval`. */
  update: (stats: GossipStats) => void
  /** A subscriber or a `message` listener threw (without an `error` listener, it is rethrown in a microtask). */
  error: (err: unknown) => void
  close: () => void
}

interface LinkState {
  readonly link: GossipLink
  eager: boolean
  muted: boolean
  /** Duplicates it brought since its last first delivery (plumtree prunes at `pruneAfter`). */
  strikes: number
  readonly score: PeerScore
  readonly bucket: TokenBucket
  /** Ids announced to it and not yet asked for: the only GRAFTs we answer. */
  readonly announced: ExpiringMap<string, true>
  readonly info: {received: number, sent: number, firsts: number, duplicates: number, invalid: number}
}

interface Announcement {
  link: string
  hops: number
}

/** An id announced by IHAVE that we do not have yet. */
interface Missing {
  /** Announcers not grafted yet, in arrival order. */
  announcers: Announcement[]
  /** Every link that announced it: they need no IHAVE from us. */
  heardFrom: Set<string>
  /** The announcer asked last, if any: it should have answered by the next timer. */
  grafted: string | null
  timer: unknown
}

/** A signed message being verified, and copies from other links in case it fails. */
interface Pending {
  copies: Array<{link: string, frame: DataFrame, bytes: Uint8Array}>
}

/** Copies of one id kept while its first copy is verified: beyond, copies are duplicates. */
const MAX_PENDING_COPIES = 4
/** Announcements queued per link between flushes; beyond, the link may learn the id elsewhere. */
const MAX_LAZY_QUEUE = 16 * MAX_BATCH_IDS
/** Recent ids announced over a new link, newest kept. */
const MAX_RECENT = 4 * MAX_BATCH_IDS

export class Gossip extends Emitter<GossipEvents> {
  readonly mode: GossipMode
  readonly identity: Identity | null
  /** The identity's public key (hex), or null without one. */
  readonly publicKey: string | null
  readonly maxHops: number
  readonly maxMessageBytes: number
  #destroyed = false

  readonly #params: ScoreParams
  readonly #lazyDelay: number
  readonly #graftTimeout: number
  readonly #graftRetry: number
  readonly #pruneAfter: number
  readonly #optimizeThreshold: number
  readonly #maxMissing: number
  readonly #maxPending: number
  readonly #rateLimit: {rate: number, burst: number}
  readonly #cacheTTL: number
  readonly #cacheMax: number
  readonly #updateInterval: number
  readonly #clock: Clock
  /** `clock.now` bound, for the structures that read the time. */
  readonly #now: () => number
  readonly #label: string

  readonly #links = new Map<string, LinkState>()
  readonly #topics = new Map<string, Set<(message: GossipMessage) => void>>()
  readonly #seen: SeenSet
  readonly #cache: MessageCache
  readonly #missing = new Map<string, Missing>()
  readonly #pending = new Map<string, Pending>()
  readonly #retained: ExpiringMap<string, PeerScore>
  /** New ids accepted lately, from anyone: what redundancy is measured against. */
  readonly #fresh: DecayingCounter
  /** Ids accepted within `recentWindow`, with their hops and arrival time, for new links; null when off. */
  readonly #recent: ExpiringMap<string, {hops: number, at: number}> | null
  /** When the first link came: offered messages older than that came before us. */
  #inRoomSince: number | null = null
  /** Ids to announce, by link, at the next lazy flush. */
  readonly #lazy = new Map<LinkState, IHaveEntry[]>()
  #lazyTimer: unknown = null
  /** GRAFTs due, by link, sent together once the timers of this moment have run. */
  readonly #grafts = new Map<LinkState, string[]>()
  #graftTimer: unknown = null
  #updateTimer: unknown = null
  readonly #stats: Counters = {
    published: 0, delivered: 0, received: 0, sent: 0, forwarded: 0, duplicates: 0, invalid: 0,
    malformed: 0, oversized: 0, muted: 0, rateLimited: 0, dropped: 0, hopLimited: 0,
    ihaveSent: 0, ihaveReceived: 0, graftSent: 0, graftReceived: 0, pruneSent: 0, pruneReceived: 0,
  }

  constructor(options: GossipOptions = {}) {
    super()
    const {
      identity,
      mode = 'plumtree',
      maxHops = 32,
      maxMessageBytes = DEFAULT_MAX_MESSAGE_BYTES,
      seenTTL = 120_000,
      seenMax = 20_000,
      cacheTTL = 30_000,
      cacheMax = 1024,
      cacheBytes = 8 * 1024 * 1024,
      lazyDelay = 50,
      graftTimeout = 500,
      graftRetry = 250,
      pruneAfter = 3,
      optimizeThreshold = 0,
      recentWindow = 10_000,
      maxMissing = 1024,
      maxPending = 256,
      rateLimit = {rate: 500, burst: 1000},
      score,
      retainScore = 300_000,
      updateInterval = 250,
      clock = systemClock,
      label = '',
    } = options
    if (mode !== 'flood' && mode !== 'plumtree') throw P2PError.INVALID_ARGUMENT(`mode must be 'flood' or 'plumtree'`)
    checkInteger('maxHops', maxHops, 1, MAX_HOPS)
    checkInteger('maxMessageBytes', maxMessageBytes, 0)
    checkNumber('seenTTL', seenTTL, 1)
    checkInteger('seenMax', seenMax, 1)
    checkNumber('cacheTTL', cacheTTL, 1)
    checkInteger('cacheMax', cacheMax, 1)
    checkInteger('cacheBytes', cacheBytes, 1)
    checkNumber('lazyDelay', lazyDelay, 0)
    checkNumber('graftTimeout', graftTimeout, 0)
    checkNumber('graftRetry', graftRetry, 0)
    checkInteger('pruneAfter', pruneAfter, 1)
    checkInteger('optimizeThreshold', optimizeThreshold, 0, MAX_HOPS)
    checkNumber('recentWindow', recentWindow, 0)
    checkInteger('maxMissing', maxMissing, 0)
    checkInteger('maxPending', maxPending, 0)
    checkNumber('retainScore', retainScore, 1)
    checkNumber('updateInterval', updateInterval, 0)
    this.#params = scoreParams(score)
    this.mode = mode
    this.identity = identity ?? null
    this.publicKey = identity ? toHex(identity.publicKey) : null
    this.maxHops = maxHops
    this.maxMessageBytes = maxMessageBytes
    this.#lazyDelay = lazyDelay
    this.#graftTimeout = graftTimeout
    this.#graftRetry = graftRetry
    this.#pruneAfter = pruneAfter
    this.#optimizeThreshold = optimizeThreshold
    this.#maxMissing = maxMissing
    this.#maxPending = maxPending
    checkRateLimit(rateLimit?.rate, rateLimit?.burst)
    this.#rateLimit = {...rateLimit}
    this.#cacheTTL = cacheTTL
    this.#cacheMax = cacheMax
    this.#updateInterval = updateInterval
    const now = (): number => clock.now()
    this.#clock = clock
    this.#now = now
    this.#label = shortId(label || this.publicKey || '')
    this.#seen = new SeenSet({ttl: seenTTL, max: seenMax, now})
    this.#cache = new MessageCache({ttl: cacheTTL, max: cacheMax, maxBytes: cacheBytes, now})
    this.#retained = new ExpiringMap<string, PeerScore>({ttl: retainScore, max: 1024, now})
    this.#fresh = new DecayingCounter(this.#params.halfLife, now)
    this.#recent = recentWindow > 0 ? new ExpiringMap<string, {hops: number, at: number}>({ttl: recentWindow, max: MAX_RECENT, now}) : null
  }

  get stats(): GossipStats {
    let eager = 0
    let mutedLinks = 0
    for (const state of this.#links.values()) {
      if (state.eager) eager++
      if (state.muted) mutedLinks++
    }
    return {
      links: this.#links.size, eager, lazy: this.#links.size - eager, mutedLinks,
      seen: this.#seen.size, cached: this.#cache.size, cachedBytes: this.#cache.bytes,
      missing: this.#missing.size, pending: this.#pending.size,
      ...this.#stats,
    }
  }

  /** A snapshot of every link, for a peer list. */
  get links(): GossipLinkInfo[] {
    return [...this.#links.values()].map(state => this.#info(state))
  }

  link(id: string): GossipLinkInfo | null {
    const state = this.#links.get(id)
    return state ? this.#info(state) : null
  }

  /**
   * Adds a peer. It starts eager, with the score it left with if it was here
   * lately (a peer cannot reconnect its way out of a penalty).
   */
  addLink(link: GossipLink): void {
    if (this.destroyed) throw P2PError.DESTROYED('the gossip router was destroyed')
    if (!link || typeof link.id !== 'string' || !link.id || typeof link.send !== 'function' || typeof link.drop !== 'function') {
      throw P2PError.INVALID_ARGUMENT('a link has an id, send() and drop()')
    }
    if (this.#links.has(link.id)) throw P2PError.INVALID_ARGUMENT(`link ${shortId(link.id)} was already added`)
    if (link.id === this.publicKey) throw P2PError.SELF_CONNECTION('a link to ourselves')
    const score = this.#retained.get(link.id) ?? new PeerScore(this.#params, this.#now)
    this.#retained.delete(link.id)
    const state: LinkState = {
      link,
      eager: true,
      muted: false,
      strikes: 0,
      score,
      bucket: new TokenBucket(this.#rateLimit.rate, this.#rateLimit.burst, this.#now),
      announced: new ExpiringMap<string, true>({ttl: this.#cacheTTL, max: this.#cacheMax, now: this.#now}),
      info: {received: 0, sent: 0, firsts: 0, duplicates: 0, invalid: 0},
    }
    this.#links.set(link.id, state)
    this.#inRoomSince ??= this.#now()
    debug(this.#label, 'link', shortId(link.id))
    this.#judge(state)
    if (this.#recent && this.#alive(state)) this.#offerRecent(state)
    this.#changed()
  }

  /** Links made after a message passed never carry it: offer what is recent, the peer grafts what it lacks. */
  #offerRecent(state: LinkState): void {
    const entries: IHaveEntry[] = []
    const now = this.#now()
    for (const [id, {hops, at}] of this.#recent!.entries()) {
      if (hops < this.maxHops && this.#cache.get(id)) {
        entries.push({id, hops, age: Math.round(now - at)})
        state.announced.add(id, true)
      }
    }
    this.#sendBatches(state, entries, batch => encodeIHave(batch, true), 'ihaveSent')
  }

  /** Removes a peer (it left); no frame is sent and `drop` is not called. */
  removeLink(id: string): boolean {
    const state = this.#links.get(id)
    if (!state) return false
    this.#links.delete(id)
    this.#lazy.delete(state)
    if (state.score.value < 0) this.#retained.add(id, state.score)
    debug(this.#label, 'unlink', shortId(id))
    this.#changed()
    return true
  }

  /** Calls `handler` with every message of `topic` from now on; returns the unsubscribe function. */
  subscribe(topic: string, handler: (message: GossipMessage) => void): () => void {
    topicBytes(topic)
    if (typeof handler !== 'function') throw P2PError.INVALID_ARGUMENT('a handler is a function')
    let handlers = this.#topics.get(topic)
    if (!handlers) this.#topics.set(topic, (handlers = new Set()))
    handlers.add(handler)
    return () => {
      handlers.delete(handler)
      if (handlers.size === 0 && this.#topics.get(topic) === handlers) this.#topics.delete(topic)
    }
  }

  /** Topics with at least one subscriber. */
  get topics(): string[] {
    return [...this.#topics.keys()]
  }

  /**
   * Sends a message to every peer of the room and delivers it here if the topic
   * is subscribed. Resolves with its id once it is handed to the links.
   */
  async publish(topic: string, payload: Uint8Array, {sign = this.identity !== null}: PublishOptions = {}): Promise<string> {
    if (this.destroyed) throw P2PError.DESTROYED('the gossip router was destroyed')
    topicBytes(topic)
    if (!(payload instanceof Uint8Array)) throw P2PError.INVALID_ARGUMENT('a payload is a Uint8Array')
    if (payload.length > this.maxMessageBytes) {
      throw P2PError.MESSAGE_TOO_LARGE(`payload of ${payload.length} bytes exceeds ${this.maxMessageBytes}`)
    }
    if (sign && !this.identity) throw P2PError.INVALID_ARGUMENT('signing needs an identity')
    // The caller may reuse its buffer as soon as this returns, and signing is async.
    const own = payload.slice()
    const id = this.#newId()
    let author: Uint8Array | null = null
    let signature: Uint8Array | null = null
    if (sign) {
      signature = await this.identity!.sign(signedBytes(id, topic, own))
      author = this.identity!.publicKey
      if (this.destroyed) throw P2PError.DESTROYED('the gossip router was destroyed')
    }
    const frame: DataFrame = {type: GossipFrameType.DATA, id, hops: 0, topic, author, signature, payload: own}
    this.#stats.published++
    this.#accept(null, frame, encodeData(frame))
    this.#changed()
    return id
  }

  /**
   * A frame from link `linkId`. Never throws for anything the peer sent: bad
   * frames are counted and scored, and the peer is muted or dropped when its
   * score says so. Frames from unknown links (late, after removal) are ignored.
   */
  receive(linkId: string, bytes: Uint8Array): void {
    if (this.destroyed) return
    const state = this.#links.get(linkId)
    if (!state) return
    state.info.received++
    if (state.muted) {
      if (state.score.muted) {
        this.#stats.muted++
        this.#penalize(state, this.#params.mutedPenalty)
        this.#changed()
        return
      }
      // Its penalties faded while it kept quiet: it is heard again.
      state.muted = false
      debug(this.#label, 'unmute', shortId(linkId))
    }
    let frame
    try {
      frame = decodeGossipFrame(bytes, this.maxMessageBytes)
    } catch (err) {
      const oversized = err instanceof P2PError && err.code === 'ERR_MESSAGE_TOO_LARGE'
      if (oversized) this.#stats.oversized++
      else this.#stats.malformed++
      state.info.invalid++
      debug(this.#label, 'bad frame from', shortId(linkId), (err as Error).message)
      this.#penalize(state, oversized ? this.#params.oversizedPenalty : this.#params.invalidPenalty)
      this.#changed()
      return
    }
    switch (frame.type) {
      case GossipFrameType.DATA:
        this.#stats.received++
        this.#onData(state, frame, bytes)
        break
      case GossipFrameType.IHAVE:
        this.#stats.ihaveReceived++
        this.#onIHave(state, frame.offer ? this.#takeOffers(frame.entries) : frame.entries)
        break
      case GossipFrameType.GRAFT:
        this.#stats.graftReceived++
        this.#onGraft(state, frame.ids)
        break
      case GossipFrameType.PRUNE:
        this.#stats.pruneReceived++
        this.#onPrune(state)
        break
    }
    this.#changed()
  }

  /** True once destroyed; read-only. */
  get destroyed(): boolean {
    return this.#destroyed
  }

  /**
   * Stops everything: timers cleared, links forgotten (not dropped), late
   * verifications ignored. Idempotent; emits `error` (with `err`), then `close`.
   */
  destroy(err?: Error): void {
    if (this.#destroyed) return
    this.#destroyed = true
    for (const timer of [this.#lazyTimer, this.#graftTimer, this.#updateTimer]) {
      if (timer !== null) this.#clock.clearTimeout(timer)
    }
    for (const missing of this.#missing.values()) this.#clock.clearTimeout(missing.timer)
    this.#lazyTimer = this.#graftTimer = this.#updateTimer = null
    this.#grafts.clear()
    this.#recent?.clear()
    this.#missing.clear()
    this.#pending.clear()
    this.#links.clear()
    this.#lazy.clear()
    this.#topics.clear()
    this.#seen.clear()
    this.#cache.clear()
    this.#retained.clear()
    debug(this.#label, 'destroyed', err?.message ?? '')
    if (err) this.emit('error', err)
    this.emit('close')
    this.removeAllListeners()
  }

  // ---- receiving ------------------------------------------------------------------

  #onData(state: LinkState, frame: DataFrame, bytes: Uint8Array): void {
    const id = frame.id
    if (this.#seen.has(id)) return this.#duplicate(state)
    const copy = {link: state.link.id, frame, bytes}
    const pending = this.#pending.get(id)
    if (pending) {
      // Held, not judged: if the copy being verified turns out forged, this one may be the real message.
      if (pending.copies.length < MAX_PENDING_COPIES && !pending.copies.some(other => other.link === copy.link)) {
        pending.copies.push(copy)
      } else {
        this.#duplicate(state)
      }
      return
    }
    if (!state.bucket.take()) return this.#rateLimited(state)
    if (!frame.signature) return this.#accept(state, frame, bytes)
    if (this.#pending.size >= this.#maxPending) {
      // Our own verification backlog is full: refuse without blaming this peer.
      this.#stats.rateLimited++
      return
    }
    this.#pending.set(id, {copies: [copy]})
    this.#verifyNext(id)
  }

  #verifyNext(id: string): void {
    const pending = this.#pending.get(id)!
    const {frame} = pending.copies[0]
    const message = signedBytes(frame.id, frame.topic, frame.payload)
    verify(message, frame.signature!, frame.author!).catch(() => false).then(ok => {
      if (this.destroyed || this.#pending.get(id) !== pending) return
      const first = pending.copies.shift()!
      const sender = this.#links.get(first.link)
      if (ok) {
        this.#pending.delete(id)
        // A sender gone meanwhile still brought a valid message: deliver it as from nobody we can credit.
        this.#accept(sender ?? null, first.frame, first.bytes, first.link)
        for (const copy of pending.copies) {
          const other = this.#links.get(copy.link)
          if (other) this.#duplicate(other)
        }
      } else {
        this.#stats.invalid++
        debug(this.#label, 'bad signature from', shortId(first.link), 'on', id)
        if (sender) {
          sender.info.invalid++
          this.#penalize(sender, this.#params.invalidPenalty)
        }
        if (pending.copies.length > 0) this.#verifyNext(id)
        else this.#pending.delete(id)
      }
      this.#changed()
    })
  }

  /**
   * A new, valid message: remember it, deliver it, pass it on. `from` is the link
   * it came over (null for our own); `fromId` names that link even if it is gone.
   */
  #accept(from: LinkState | null, frame: DataFrame, bytes: Uint8Array, fromId = from?.link.id ?? null): void {
    const id = frame.id
    const hops = fromId === null ? 0 : frame.hops + 1
    this.#seen.add(id)
    this.#fresh.add(1)
    const missing = this.#missing.get(id)
    if (missing) {
      this.#clock.clearTimeout(missing.timer)
      this.#missing.delete(id)
    }
    if (from) {
      from.info.firsts++
      from.strikes = 0
      from.score.reward()
      if (this.mode === 'plumtree' && !from.muted) {
        // The link that delivered first is on the tree (the paper's rule); a graft put it there already.
        from.eager = true
        if (missing) this.#optimize(from, hops, missing)
      }
    }
    const ours = fromId === null ? bytes : withHops(bytes, Math.min(hops, MAX_HOPS))
    this.#cache.add(id, ours)
    this.#recent?.add(id, {hops, at: this.#now()})
    this.#deliver(frame, hops, fromId)
    if (hops >= this.maxHops) {
      this.#stats.hopLimited++
      return
    }
    for (const state of this.#links.values()) {
      // Neither the link it came from nor those that announced it need it.
      if (state.link.id === fromId || missing?.heardFrom.has(state.link.id)) continue
      if (state.eager) {
        if (this.#send(state, ours)) {
          this.#stats.sent++
          if (fromId !== null) this.#stats.forwarded++
        }
      } else {
        this.#announce(state, id, hops)
      }
    }
  }

  /**
   * The paper's optimisation: an IHAVE showed a path at least `optimizeThreshold`
   * hops shorter than the one the message took. Swap the tree edge: graft the
   * short path (an empty GRAFT: no message wanted) and prune the long one.
   */
  #optimize(from: LinkState, hops: number, missing: Missing): void {
    if (this.#optimizeThreshold === 0) return
    let best: LinkState | null = null
    let bestHops = Infinity
    for (const {link, hops: theirs} of missing.announcers) {
      const state = this.#links.get(link)
      if (state && state !== from && !state.muted && theirs < bestHops) {
        best = state
        bestHops = theirs
      }
    }
    if (!best || hops - (bestHops + 1) < this.#optimizeThreshold) return
    debug(this.#label, 'optimise: graft', shortId(best.link.id), 'prune', shortId(from.link.id))
    best.eager = true
    this.#sendControl(best, encodeGraft([]), 'graftSent')
    this.#prune(from)
  }

  #duplicate(state: LinkState): void {
    this.#stats.duplicates++
    state.info.duplicates++
    this.#redundant(state)
    // Duplicates in a row mean this link closes a cycle of the tree: off the tree
    // with it. A lone duplicate may be two messages from opposite sides crossing,
    // which says nothing about which edge of their cycle should go.
    // Past the threshold every further duplicate prunes again: a PRUNE may have
    // crossed a GRAFT. The last eager link stays, or our own messages would leave
    // only as IHAVEs and die with us if we left at once.
    if (this.mode === 'plumtree' && ++state.strikes >= this.#pruneAfter && this.#otherEager(state)) this.#prune(state)
  }

  #onIHave(state: LinkState, entries: IHaveEntry[]): void {
    for (const {id, hops} of entries) {
      if (!this.#alive(state)) return
      if (this.#seen.has(id) || this.#pending.has(id)) {
        // Normal for a lazy link (it announces all it gets), so only counted.
        this.#redundant(state)
        continue
      }
      const missing = this.#missing.get(id)
      if (missing) {
        if (missing.heardFrom.has(state.link.id)) {
          this.#redundant(state)
        } else {
          missing.heardFrom.add(state.link.id)
          missing.announcers.push({link: state.link.id, hops})
        }
        continue
      }
      if (!state.bucket.take()) {
        this.#rateLimited(state)
        continue
      }
      if (this.#missing.size >= this.#maxMissing) {
        this.#stats.rateLimited++
        continue
      }
      // Give the eager path a chance first: the tree may deliver it any moment.
      this.#missing.set(id, {
        announcers: [{link: state.link.id, hops}],
        heardFrom: new Set([state.link.id]),
        grafted: null,
        timer: this.#clock.setTimeout(() => this.#graftNext(id), this.#graftTimeout),
      })
    }
  }

  /** The awaited message did not come: ask the next announcer for it, or give up. */
  #graftNext(id: string): void {
    const missing = this.#missing.get(id)
    if (this.destroyed || !missing) return
    const promised = missing.grafted !== null ? this.#links.get(missing.grafted) : undefined
    // It announced the message and did not send it when asked: a broken promise counts as redundant.
    if (promised) this.#redundant(promised)
    let target: LinkState | undefined
    while (!target && missing.announcers.length > 0) {
      const {link} = missing.announcers.shift()!
      const state = this.#links.get(link)
      if (state && !state.muted) target = state
    }
    if (!target) {
      this.#missing.delete(id)
      this.#changed()
      return
    }
    missing.grafted = target.link.id
    debug(this.#label, 'graft', shortId(target.link.id), 'for', id)
    if (this.mode === 'plumtree') target.eager = true
    const ids = this.#grafts.get(target)
    if (ids) ids.push(id)
    else this.#grafts.set(target, [id])
    // Timers set by one IHAVE fire together: their GRAFTs leave as one frame.
    this.#graftTimer ??= this.#clock.setTimeout(this.#flushGrafts, 0)
    missing.timer = this.#clock.setTimeout(() => this.#graftNext(id), this.#graftRetry)
    this.#changed()
  }

  readonly #flushGrafts = (): void => {
    this.#graftTimer = null
    if (this.destroyed) return
    for (const [state, ids] of this.#grafts) this.#sendBatches(state, ids, encodeGraft, 'graftSent')
    this.#grafts.clear()
  }

  #onGraft(state: LinkState, ids: string[]): void {
    if (this.mode === 'plumtree') state.eager = true
    for (const id of ids) {
      if (!this.#alive(state)) return
      const frame = this.#cache.get(id)
      // Only what we announced to this link, once each: GRAFTs cannot make us resend at will.
      if (!frame || !state.announced.has(id)) {
        this.#redundant(state)
        continue
      }
      state.announced.delete(id)
      if (this.#send(state, frame)) {
        this.#stats.sent++
        this.#stats.forwarded++
      }
    }
  }

  #onPrune(state: LinkState): void {
    // Flooding pushes to every link whatever it asks.
    if (this.mode === 'flood') return
    if (!state.eager) return this.#redundant(state)
    if (this.#otherEager(state)) {
      state.eager = false
      return
    }
    // A PRUNE that would leave us no eager link cuts us off the tree: several peers
    // pruned us at once. Keep this one and tell it so.
    this.#sendControl(state, encodeGraft([]), 'graftSent')
  }

  /** The offered messages that reached the room after we joined it; none when offers are off. */
  #takeOffers(entries: IHaveEntry[]): IHaveEntry[] {
    if (!this.#recent || this.#inRoomSince === null) return []
    const now = this.#now()
    return entries.filter(({age = 0}) => now - age >= this.#inRoomSince!)
  }

  /** Whether a link other than `state` is eager (and heard). */
  #otherEager(state: LinkState): boolean {
    for (const other of this.#links.values()) {
      if (other !== state && other.eager && !other.muted) return true
    }
    return false
  }

  // ---- sending --------------------------------------------------------------------

  #announce(state: LinkState, id: string, hops: number): void {
    const entries = this.#lazy.get(state)
    if (!entries) this.#lazy.set(state, [{id, hops}])
    else if (entries.length < MAX_LAZY_QUEUE) entries.push({id, hops})
    else return
    state.announced.add(id, true)
    this.#lazyTimer ??= this.#clock.setTimeout(this.#flushLazy, this.#lazyDelay)
  }

  readonly #flushLazy = (): void => {
    this.#lazyTimer = null
    if (this.destroyed) return
    for (const [state, entries] of this.#lazy) this.#sendBatches(state, entries, encodeIHave, 'ihaveSent')
    this.#lazy.clear()
    this.#changed()
  }

  #sendControl(state: LinkState, bytes: Uint8Array, counter: ControlCounter): void {
    if (this.#send(state, bytes)) this.#stats[counter]++
  }

  /** IHAVE or GRAFT ids in frames of at most MAX_BATCH_IDS, while the link lasts. */
  #sendBatches<T>(state: LinkState, items: T[], encode: (batch: T[]) => Uint8Array, counter: ControlCounter): void {
    for (let i = 0; i < items.length && this.#alive(state); i += MAX_BATCH_IDS) {
      this.#sendControl(state, encode(items.slice(i, i + MAX_BATCH_IDS)), counter)
    }
  }

  /** Off the tree: the link gets only IHAVEs from us, and is told to send us only IHAVEs. */
  #prune(state: LinkState): void {
    state.eager = false
    this.#sendControl(state, encodePrune(), 'pruneSent')
  }

  /** A link whose `send` throws is broken: it is removed and dropped. */
  #send(state: LinkState, bytes: Uint8Array): boolean {
    try {
      state.link.send(bytes)
      state.info.sent++
      return true
    } catch (err) {
      if (this.#alive(state)) {
        this.removeLink(state.link.id)
        this.#dropQuietly(state.link, toP2PError(err))
      }
      return false
    }
  }

  #deliver(frame: DataFrame, hops: number, from: string | null): void {
    const handlers = this.#topics.get(frame.topic)
    if (!handlers) return
    this.#stats.delivered++
    const message: GossipMessage = {
      id: frame.id,
      topic: frame.topic,
      // Subscribers get their own copy: the bytes we hold are also what we forward.
      payload: frame.payload.slice(),
      ...(frame.author ? {author: toHex(frame.author)} : {}),
      hops,
      from,
    }
    for (const handler of [...handlers]) {
      try {
        handler(message)
      } catch (err) {
        this.#report(err)
      }
    }
    try {
      this.emit('message', message)
    } catch (err) {
      this.#report(err)
    }
  }

  /** Someone else's code threw inside ours: tell who listens, else let the host report it, as the DOM does. */
  #report(err: unknown): void {
    if (this.listenerCount('error') > 0) this.emit('error', err)
    else rethrowLater(err)
  }

  // ---- scoring --------------------------------------------------------------------

  #redundant(state: LinkState): void {
    state.score.countRedundant(this.#fresh.value)
    this.#judge(state)
  }

  #rateLimited(state: LinkState): void {
    this.#stats.rateLimited++
    this.#penalize(state, this.#params.rateLimitPenalty)
  }

  #penalize(state: LinkState, amount: number): void {
    state.score.penalize(amount)
    this.#judge(state)
  }

  /** Mutes or drops a link whose score fell under a threshold. */
  #judge(state: LinkState): void {
    if (!this.#alive(state)) return
    if (state.score.dropped) {
      const err = P2PError.PEER_MISBEHAVING(
        `peer ${shortId(state.link.id)} scored ${state.score.value.toFixed(1)}, under ${this.#params.dropThreshold}`)
      debug(this.#label, 'drop', shortId(state.link.id), err.message)
      this.#stats.dropped++
      this.removeLink(state.link.id)
      this.emit('drop', state.link.id, err)
      this.#dropQuietly(state.link, err)
      return
    }
    if (state.muted || !state.score.muted) return
    state.muted = true
    debug(this.#label, 'mute', shortId(state.link.id), state.score.value.toFixed(1))
    if (this.mode === 'plumtree' && state.eager) {
      // Tell it to stop pushing: an honest but confused peer then stays quiet and recovers.
      this.#prune(state)
    }
    this.emit('mute', state.link.id)
  }

  /** False once a link was removed or replaced (a penalty may drop it halfway through a frame). */
  #alive(state: LinkState): boolean {
    return this.#links.get(state.link.id) === state
  }

  #dropQuietly(link: GossipLink, err: P2PError): void {
    try {
      link.drop(err)
    } catch (thrown) {
      this.#report(thrown)
    }
  }

  // ---- misc -----------------------------------------------------------------------

  #info(state: LinkState): GossipLinkInfo {
    return {id: state.link.id, eager: state.eager, muted: state.muted, score: state.score.value, ...state.info}
  }

  #newId(): string {
    const clock = this.#clock
    if (clock === systemClock) return toHex(randomBytes(ID_BYTES))
    const bytes = new Uint8Array(ID_BYTES)
    for (let i = 0; i < ID_BYTES; i++) bytes[i] = Math.floor(clock.random() * 256)
    return toHex(bytes)
  }

  #changed(): void {
    if (this.#updateTimer !== null || this.destroyed) return
    this.#updateTimer = this.#clock.setTimeout(this.#emitUpdate, this.#updateInterval)
  }

  readonly #emitUpdate = (): void => {
    this.#updateTimer = null
    if (this.destroyed) return
    this.emit('update', this.stats)
  }
}
