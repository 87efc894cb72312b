/**
 * A deterministic discrete-event simulation of gossip: real routers, real wire
 * frames, an in-memory network with latency, and a virtual clock, so a room of a
 * hundred peers with churn runs in a second and the same seed always gives the
 * same figures. No DOM, no WebRTC.
 *
 * The tests check correctness with it (every peer present throughout gets every
 * message exactly once, in both modes, under churn) and bench/gossip.bench.ts
 * compares flooding with Plumtree on the same workload.
 */
import {P2PError} from '../errors.js'
import type {Clock} from '../clock.js'
import {Gossip, type GossipMode, type GossipOptions, type GossipStats} from './router.js'

// ---- randomness -------------------------------------------------------------------

/** Mulberry32: a small, fast, seedable generator of uniform numbers in [0, 1); plenty for simulations. */
export function createRandom(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

function pick<T>(random: () => number, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)]
}

// ---- virtual clock ------------------------------------------------------------------

interface Timer {
  at: number
  seq: number
  callback: () => void
  cancelled: boolean
}

/**
 * Virtual time with an event queue (a binary heap ordered by time, then by
 * scheduling order, so equal times run first-in first-out), and seeded chance:
 * a `Clock` for any core object; `run` advances time event by event.
 */
export class VirtualClock implements Clock {
  #now = 0
  #seq = 0
  #live = 0
  readonly #heap: Timer[] = []

  /** Uniform in [0, 1), seeded: a run repeats exactly. */
  readonly random: () => number

  constructor(random: () => number = createRandom(1)) {
    this.random = random
  }

  /** Virtual milliseconds since the start. */
  readonly now = (): number => this.#now

  readonly setTimeout = (callback: () => void, ms: number): unknown => {
    const timer: Timer = {at: this.#now + Math.max(0, ms || 0), seq: this.#seq++, callback, cancelled: false}
    this.#push(timer)
    this.#live++
    return timer
  }

  readonly clearTimeout = (handle: unknown): void => {
    const timer = handle as Timer | null
    if (!timer || timer.cancelled) return
    timer.cancelled = true
    this.#live--
  }

  /** Timers still to run. */
  get pending(): number {
    return this.#live
  }

  /**
   * Runs events in order until none is left or the next is later than `until`
   * (then the clock stops at `until`). Returns the number of events run.
   */
  run(until = Infinity): number {
    let count = 0
    while (this.#heap.length > 0) {
      const next = this.#heap[0]
      if (next.at > until) break
      this.#pop()
      if (next.cancelled) continue
      next.cancelled = true
      this.#live--
      this.#now = next.at
      next.callback()
      count++
    }
    if (until !== Infinity && until > this.#now) this.#now = until
    return count
  }

  /** Runs everything due within the next `ms` milliseconds. */
  advance(ms: number): number {
    return this.run(this.#now + ms)
  }

  #before(a: Timer, b: Timer): boolean {
    return a.at < b.at || (a.at === b.at && a.seq < b.seq)
  }

  #push(timer: Timer): void {
    const heap = this.#heap
    heap.push(timer)
    let i = heap.length - 1
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (!this.#before(heap[i], heap[parent])) break
      ;[heap[i], heap[parent]] = [heap[parent], heap[i]]
      i = parent
    }
  }

  #pop(): void {
    const heap = this.#heap
    const last = heap.pop()!
    if (heap.length === 0) return
    heap[0] = last
    let i = 0
    for (;;) {
      const left = 2 * i + 1
      const right = left + 1
      let smallest = i
      if (left < heap.length && this.#before(heap[left], heap[smallest])) smallest = left
      if (right < heap.length && this.#before(heap[right], heap[smallest])) smallest = right
      if (smallest === i) return
      ;[heap[i], heap[smallest]] = [heap[smallest], heap[i]]
      i = smallest
    }
  }
}

// ---- network ------------------------------------------------------------------------

export interface SimPeer {
  /** Its link id on other routers (a fake public key: 64 hex characters). */
  readonly key: string
  readonly gossip: Gossip
  readonly neighbors: Set<SimPeer>
  /** False once removed. */
  present: boolean
}

export interface SimNetworkOptions {
  clock: VirtualClock
  random: () => number
  /** One-way delay of each frame, drawn uniformly per frame; a link still delivers in order. */
  latency?: {min: number, max: number}
  /** Router options for every peer (the clock, timers and randomness are the network's). */
  gossip?: GossipOptions
}

/** Decides whether a frame crosses a link; tests use it to lose frames on purpose. */
export type FrameFilter = (from: SimPeer, to: SimPeer, bytes: Uint8Array) => boolean

/** Routers joined by in-memory links on a virtual clock: ordered, reliable, with latency. */
export class SimNetwork {
  readonly clock: VirtualClock
  readonly peers = new Set<SimPeer>()
  /** Stats of every router that ever ran, removed ones included, in creation order. */
  readonly history: Array<{peer: SimPeer, final: GossipStats | null}> = []
  filter: FrameFilter | null = null
  readonly #random: () => number
  readonly #latency: {min: number, max: number}
  readonly #options: GossipOptions
  /** Per directed edge, when its last frame arrives: frames never overtake each other. */
  readonly #edges = new Map<string, {arrival: number}>()
  #created = 0

  constructor({clock, random, latency = {min: 5, max: 50}, gossip = {}}: SimNetworkOptions) {
    if (!(latency.min >= 0 && latency.max >= latency.min)) throw P2PError.INVALID_ARGUMENT('latency needs 0 <= min <= max')
    this.clock = clock
    this.#random = random
    this.#latency = latency
    this.#options = gossip
  }

  addPeer(options: GossipOptions = {}): SimPeer {
    const key = (++this.#created).toString(16).padStart(64, '0')
    const gossip = new Gossip({
      ...this.#options,
      ...options,
      clock: {now: this.clock.now, setTimeout: this.clock.setTimeout, clearTimeout: this.clock.clearTimeout, random: this.#random},
      label: key.slice(-8),
    })
    const peer: SimPeer = {key, gossip, neighbors: new Set(), present: true}
    this.peers.add(peer)
    this.history.push({peer, final: null})
    return peer
  }

  /** Links two peers both ways, as a connection would. */
  connect(a: SimPeer, b: SimPeer): void {
    if (a === b || a.neighbors.has(b) || !a.present || !b.present) return
    a.neighbors.add(b)
    b.neighbors.add(a)
    this.#edges.set(`${a.key}>${b.key}`, {arrival: 0})
    this.#edges.set(`${b.key}>${a.key}`, {arrival: 0})
    a.gossip.addLink(this.#link(a, b))
    b.gossip.addLink(this.#link(b, a))
  }

  /** Cuts a link both ways; frames in flight on it are lost. */
  disconnect(a: SimPeer, b: SimPeer): void {
    if (!a.neighbors.has(b)) return
    a.neighbors.delete(b)
    b.neighbors.delete(a)
    this.#edges.delete(`${a.key}>${b.key}`)
    this.#edges.delete(`${b.key}>${a.key}`)
    a.gossip.removeLink(b.key)
    b.gossip.removeLink(a.key)
  }

  /**
   * The peer leaves, as a swarm peer does with a GOODBYE: what it already sent
   * still arrives, then each neighbor drops the link; frames sent to it are lost.
   */
  removePeer(peer: SimPeer): void {
    if (!peer.present) return
    const entry = this.history.find(item => item.peer === peer)!
    entry.final = peer.gossip.stats
    peer.present = false
    peer.gossip.destroy()
    this.peers.delete(peer)
    for (const other of [...peer.neighbors]) {
      peer.neighbors.delete(other)
      other.neighbors.delete(peer)
      this.#edges.delete(`${other.key}>${peer.key}`)
      const outKey = `${peer.key}>${other.key}`
      const out = this.#edges.get(outKey)!
      this.clock.setTimeout(() => {
        if (this.#edges.get(outKey) === out) this.#edges.delete(outKey)
        other.gossip.removeLink(peer.key)
      }, out.arrival - this.clock.now())
    }
  }

  /** Stats of every router that ever ran. */
  allStats(): GossipStats[] {
    return this.history.map(({peer, final}) => final ?? peer.gossip.stats)
  }

  /** Groups of present peers that can reach each other, largest first. */
  components(): SimPeer[][] {
    const seen = new Set<SimPeer>()
    const groups: SimPeer[][] = []
    for (const start of this.peers) {
      if (seen.has(start)) continue
      const group = [start]
      seen.add(start)
      for (let i = 0; i < group.length; i++) {
        for (const next of group[i].neighbors) {
          if (!seen.has(next)) {
            seen.add(next)
            group.push(next)
          }
        }
      }
      groups.push(group)
    }
    return groups.sort((x, y) => y.length - x.length)
  }

  #link(from: SimPeer, to: SimPeer) {
    const edgeKey = `${from.key}>${to.key}`
    return {
      id: to.key,
      send: (bytes: Uint8Array) => {
        const edge = this.#edges.get(edgeKey)
        if (!edge) return
        if (this.filter && !this.filter(from, to, bytes)) return
        const {min, max} = this.#latency
        const arrival = Math.max(edge.arrival, this.clock.now() + min + this.#random() * (max - min))
        edge.arrival = arrival
        this.clock.setTimeout(() => {
          // A link cut (and maybe remade) meanwhile lost this frame.
          if (this.#edges.get(edgeKey) === edge) to.gossip.receive(from.key, bytes)
        }, arrival - this.clock.now())
      },
      drop: () => this.disconnect(from, to),
    }
  }
}

// ---- the room simulation --------------------------------------------------------------

export interface SimulationOptions {
  /** Seeds every random choice: the same seed gives the same result. */
  seed?: number
  mode?: GossipMode
  /** Peers in the room at any time. */
  peers?: number
  /** Links each peer aims for; the mesh is random and connected. */
  degree?: number
  /** Most links a peer accepts (its maxPeers). */
  maxDegree?: number
  /** Messages published, from random peers. */
  messages?: number
  /** Mean milliseconds between two publications (uniform jitter of ±50 %). */
  publishInterval?: number
  /** Size of each message (unsigned: the simulation measures dissemination, not crypto). */
  payloadBytes?: number
  /** One-way delay of a frame, uniform per frame. */
  latency?: {min: number, max: number}
  /** Peers replaced per second while messages are published (one leaves, a fresh one joins). */
  churn?: number
  /** Milliseconds (mean; ±50 %) a peer that lost a link waits before finding new ones. */
  reconnectDelay?: number
  /** A peer counts for a message if present (and not cut off) from its publication for this long. */
  messageLifetime?: number
  /** Router options for every peer. */
  gossip?: GossipOptions
}

export interface SimulationResult {
  mode: GossipMode
  seed: number
  peers: number
  messages: number
  /** Links per peer, averaged over the moments messages were published. */
  meanDegree: number
  /** Deliveries to peers present throughout a message's lifetime ÷ such (message, peer) pairs. */
  deliveryRatio: number
  deliveries: number
  expectedDeliveries: number
  /** The same message delivered twice to one peer (must be 0). */
  doubleDeliveries: number
  /** DATA frames that brought nothing new ÷ (messages × peers). */
  duplicatesPerPeerPerMessage: number
  /** All DATA frames received ÷ (messages × peers): 1 is the minimum. */
  receptionsPerPeerPerMessage: number
  meanHops: number
  maxHops: number
  /** IHAVE, GRAFT and PRUNE frames sent, in all and per message. */
  controlFrames: number
  controlPerMessage: number
  ihave: number
  graft: number
  prune: number
  /** Times a peer did not relay a message because it had reached `maxHops`. */
  hopLimited: number
  /** Links muted or dropped for their score: honest rooms must have none. */
  muted: number
  dropped: number
  joins: number
  leaves: number
  /** (message, peer) pairs left out because the peer or the publisher was cut off from the rest during the message's lifetime. */
  cutOff: number
  /** Virtual milliseconds simulated. */
  duration: number
  /** Events processed. */
  events: number
}

interface Presence {
  joinedAt: number
  leftAt: number
  /** Intervals when it was outside the main component. */
  cut: Array<[number, number]>
  cutSince: number | null
}

/** Runs one room: builds the mesh, publishes, churns, drains, and measures. */
export function simulate(options: SimulationOptions = {}): SimulationResult {
  const {
    seed = 1,
    mode = 'plumtree',
    peers: size = 100,
    degree = 6,
    maxDegree = degree + 2,
    messages = 200,
    publishInterval = 50,
    payloadBytes = 64,
    latency = {min: 5, max: 50},
    churn = 0,
    reconnectDelay = 1000,
    messageLifetime = 5000,
    gossip = {},
  } = options
  if (!(Number.isInteger(size) && size >= 2)) throw P2PError.INVALID_ARGUMENT('a room needs at least 2 peers')
  if (!(Number.isInteger(degree) && degree >= 1 && degree < size)) throw P2PError.INVALID_ARGUMENT('degree must be 1 to peers - 1')
  if (!(maxDegree >= degree)) throw P2PError.INVALID_ARGUMENT('maxDegree must be at least degree')

  const random = createRandom(seed)
  const clock = new VirtualClock()
  const net = new SimNetwork({clock, random, latency, gossip: {...gossip, mode}})
  const topic = 'sim'
  const presence = new Map<SimPeer, Presence>()
  /** Per message id: when and by whom published, and who delivered it. */
  const published = new Map<string, {at: number, by: SimPeer, deliveredBy: Set<SimPeer>}>()
  let doubleDeliveries = 0
  let hopSum = 0
  let hopCount = 0
  let maxHops = 0
  let joins = 0
  let leaves = 0
  let degreeSum = 0

  const join = (): SimPeer => {
    const peer = net.addPeer()
    presence.set(peer, {joinedAt: clock.now(), leftAt: Infinity, cut: [], cutSince: null})
    peer.gossip.subscribe(topic, message => {
      if (message.from === null) {
        published.set(message.id, {at: clock.now(), by: peer, deliveredBy: new Set([peer])})
        return
      }
      const record = published.get(message.id)
      if (!record) return
      if (record.deliveredBy.has(peer)) doubleDeliveries++
      record.deliveredBy.add(peer)
      hopSum += message.hops
      hopCount++
      maxHops = Math.max(maxHops, message.hops)
    })
    return peer
  }

  const hasRoom = (peer: SimPeer) => peer.present && peer.neighbors.size < maxDegree

  /** Links `peer` to random peers with fewer than `limit` links until it has `degree` (or no one is left). */
  const findPeers = (peer: SimPeer, limit = maxDegree): void => {
    if (!peer.present) return
    const candidates = [...net.peers].filter(other => other !== peer && !peer.neighbors.has(other) && other.neighbors.size < limit)
    while (peer.neighbors.size < degree && candidates.length > 0) {
      const i = Math.floor(random() * candidates.length)
      net.connect(peer, candidates[i])
      candidates.splice(i, 1)
    }
  }

  /** Notes who is outside the main component, and when they get back. */
  const checkCuts = (): void => {
    const [main, ...rest] = net.components()
    const now = clock.now()
    for (const peer of main ?? []) {
      const p = presence.get(peer)!
      if (p.cutSince !== null) {
        p.cut.push([p.cutSince, now])
        p.cutSince = null
      }
    }
    for (const group of rest) {
      for (const peer of group) presence.get(peer)!.cutSince ??= now
    }
  }

  /** A swarm would keep announcing until it finds peers: join every stray group to the main one. */
  const ensureConnected = (): void => {
    const [main, ...rest] = net.components()
    for (const group of rest) {
      const inside = pick(random, group)
      const withRoom = main.filter(hasRoom)
      net.connect(inside, pick(random, withRoom.length > 0 ? withRoom : main))
    }
    checkCuts()
  }

  // The mesh: a random tree first (so it is connected), then random links up to the degree.
  const initial: SimPeer[] = []
  for (let i = 0; i < size; i++) {
    const peer = join()
    const withRoom = initial.filter(other => other.neighbors.size < degree)
    if (withRoom.length > 0) net.connect(peer, pick(random, withRoom))
    initial.push(peer)
  }
  // Aiming at `degree` on both ends keeps the mean degree at `degree`; later joins may use the slack up to `maxDegree`.
  for (const peer of initial) findPeers(peer, degree)

  const leave = (peer: SimPeer): void => {
    const neighbors = [...peer.neighbors]
    net.removePeer(peer)
    const p = presence.get(peer)!
    p.leftAt = clock.now()
    if (p.cutSince !== null) p.cut.push([p.cutSince, p.leftAt])
    p.cutSince = null
    leaves++
    checkCuts()
    clock.setTimeout(() => {
      for (const neighbor of neighbors) findPeers(neighbor)
      ensureConnected()
    }, reconnectDelay * (0.5 + random()))
  }

  // Publications, spread with jitter.
  let at = 0
  for (let i = 0; i < messages; i++) {
    at += publishInterval * (0.5 + random())
    clock.setTimeout(() => {
      const present = [...net.peers]
      degreeSum += present.reduce((links, peer) => links + peer.neighbors.size, 0) / present.length
      const from = pick(random, present)
      void from.gossip.publish(topic, new Uint8Array(payloadBytes).fill(i & 0xff), {sign: false})
    }, at)
  }
  const publishEnd = at

  // Churn while messages are published: one random peer leaves, a fresh one joins.
  if (churn > 0) {
    for (let t = 1000 / churn; t < publishEnd; t += 1000 / churn) {
      clock.setTimeout(() => {
        leave(pick(random, [...net.peers]))
        const fresh = join()
        joins++
        findPeers(fresh)
        ensureConnected()
      }, t * (0.9 + 0.2 * random()))
    }
  }

  const events = clock.run()
  const duration = clock.now()

  // Who should have got what: present from publication through the lifetime, and
  // in the publisher's part of the room all along (a split room cannot deliver
  // across the split, and links made later do not carry older messages).
  const cutDuring = (p: Presence, from: number, until: number) =>
    p.cut.some(([start, end]) => start < until && end >= from) || (p.cutSince !== null && p.cutSince < until)
  let expected = 0
  let delivered = 0
  let cutOff = 0
  for (const {at: sentAt, by, deliveredBy} of published.values()) {
    const until = sentAt + messageLifetime
    const publisherCut = cutDuring(presence.get(by)!, sentAt, until)
    for (const [peer, p] of presence) {
      if (peer === by || p.joinedAt >= sentAt || p.leftAt < until) continue
      if (publisherCut || cutDuring(p, sentAt, until)) {
        cutOff++
        continue
      }
      expected++
      if (deliveredBy.has(peer)) delivered++
    }
  }

  const stats = net.allStats()
  const sum = (key: keyof GossipStats) => stats.reduce((total, s) => total + s[key], 0)
  const pairs = published.size * size
  const control = sum('ihaveSent') + sum('graftSent') + sum('pruneSent')
  for (const peer of net.peers) peer.gossip.destroy()

  return {
    mode,
    seed,
    peers: size,
    messages: published.size,
    meanDegree: degreeSum / messages,
    deliveryRatio: expected === 0 ? 1 : delivered / expected,
    deliveries: delivered,
    expectedDeliveries: expected,
    doubleDeliveries,
    duplicatesPerPeerPerMessage: sum('duplicates') / pairs,
    receptionsPerPeerPerMessage: sum('received') / pairs,
    meanHops: hopCount === 0 ? 0 : hopSum / hopCount,
    maxHops,
    controlFrames: control,
    controlPerMessage: control / published.size,
    ihave: sum('ihaveSent'),
    graft: sum('graftSent'),
    prune: sum('pruneSent'),
    hopLimited: sum('hopLimited'),
    muted: sum('muted'),
    dropped: sum('dropped'),
    joins,
    leaves,
    cutOff,
    duration,
    events,
  }
}
