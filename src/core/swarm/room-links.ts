/**
 * A swarm's side of rooms sharing a connection (the pool and its protocol are
 * rooms.ts): meeting an announcer over a connection another room of the page
 * already has to its key, and taking in the remote's rooms that ask to meet
 * this one. A peer met this way is a `RoomPeer` in the swarm's table, admitted
 * exactly as one on a connection of its own (bans, `admit`, `maxPeers`).
 *
 * A swarm loads this module only when it is reachable: when the pool finds
 * another room's connection to an announcer's key, or a remote's JOIN names
 * the swarm's room. Until then no RoomPeer exists, so the pool's answers and
 * LEAVEs have nothing here to reach. The swarm registers with the pool and
 * offers its connections to the page's other rooms itself.
 */
import {Emitter} from '../emitter.js'
import {P2PError} from '../errors.js'
import {createDebug, shortId} from '../debug.js'
import {systemClock, type Clock} from '../clock.js'
import {Deadlines} from '../expiring-map.js'
import type {Channel, ChannelHandlers, Mux} from '../mux/mux.js'
import type {ConnectionPool, RoomMember} from './rooms.js'
import type {PeerConnection, PeerState} from './peer-connection.js'
import type {Swarm, SwarmPeer} from './swarm.js'

const debug = createDebug('p2p:swarm')

export type RoomPeerEvents = {
  /** The remote's swarm let this one in: protocols may start. */
  open: () => void
  update: () => void
  /** The connection under it was repaired by an ICE restart. */
  reconnect: () => void
  error: (err: P2PError) => void
  /** Left (LEAVE, either side: no error) or the connection under it closed (its error). */
  close: (err?: P2PError) => void
}

/**
 * A remote peer met in one room over a connection another room made. Reads like
 * a PeerConnection (key, state, RTT and byte counters are the connection's) and
 * opens channels scoped to its room; `destroy()` leaves the room and leaves the
 * connection to the others.
 */
export class RoomPeer extends Emitter<RoomPeerEvents> {
  /** When it was made and when it opened, on its clock (its swarm's). */
  readonly createdAt: number
  state: PeerState = 'authenticating'
  connectedAt: number | null = null
  #destroyed = false
  readonly #prefix: string
  readonly #clock: Clock
  readonly #onLinkClose: (err?: P2PError) => void
  readonly #onLinkUpdate = () => this.emit('update')
  readonly #onLinkReconnect = () => this.emit('reconnect')

  constructor(
    /** The remote's hub id in this room. */
    readonly id: string,
    /** The connection this room rides on. */
    readonly link: PeerConnection,
    /** This room's tag (hex). */
    readonly tag: string,
    /** True when this side asked to join (sent JOIN). */
    readonly initiator: boolean,
    private readonly sendLeave: () => void,
    clock: Clock = systemClock,
  ) {
    super()
    this.#clock = clock
    this.createdAt = clock.now()
    this.#prefix = `room/${tag.slice(0, 16)}/`
    this.#onLinkClose = (err?: P2PError) => this.#close(err ?? P2PError.CONNECTION_CLOSED('the shared connection closed'))
    link.on('close', this.#onLinkClose)
    link.on('update', this.#onLinkUpdate)
    link.on('reconnect', this.#onLinkReconnect)
  }

  get destroyed(): boolean {
    return this.#destroyed
  }

  get publicKey(): string | null {
    return this.link.publicKey
  }

  get mux(): Mux | null {
    return this.link.mux
  }

  get rtc(): RTCPeerConnection {
    return this.link.rtc
  }

  get rtt(): number | null {
    return this.link.rtt
  }

  /** The whole connection's bytes: every room on it counts them. */
  get bytesIn(): number {
    return this.link.bytesIn
  }

  get bytesOut(): number {
    return this.link.bytesOut
  }

  get restarts(): number {
    return this.link.restarts
  }

  get restarting(): boolean {
    return this.link.restarting
  }

  /** A channel of this room on the shared connection. */
  channel(name: string, handlers: ChannelHandlers): Channel {
    if (this.state !== 'connected') throw P2PError.INVALID_ARGUMENT('the peer is not connected')
    return this.link.channel(this.#prefix + name, handlers)
  }

  /** Signals belong to connections; a room on a shared one has none of its own. */
  signal(): void {}

  isRenegotiation(): boolean {
    return false
  }

  restartIce(): void {
    this.link.restartIce()
  }

  /** Accepted by the remote (or accepted by us): the room is open on the connection. */
  open(): void {
    if (this.destroyed || this.state === 'connected') return
    this.state = 'connected'
    this.connectedAt = this.#clock.now()
    this.emit('open')
    this.emit('update')
  }

  /** Leaves the room on this connection (the remote drops it at once); the connection stays. */
  destroy(err?: P2PError): void {
    if (this.destroyed) return
    if (!this.link.destroyed) this.sendLeave()
    this.#close(err)
  }

  /** The remote left, or the connection went: no LEAVE to send. */
  closeQuietly(err?: P2PError): void {
    this.#close(err)
  }

  #close(err?: P2PError): void {
    if (this.#destroyed) return
    this.#destroyed = true
    this.state = 'closed'
    this.link.off('close', this.#onLinkClose)
    this.link.off('update', this.#onLinkUpdate)
    this.link.off('reconnect', this.#onLinkReconnect)
    if (err) this.emit('error', err)
    this.emit('close', err)
    this.removeAllListeners()
  }
}

/** A page that refused to share a connection with this room is not asked again for this long. */
const REFUSED_JOIN_QUIET = 60_000

/** What the room glue needs of its swarm besides its public face: its table, and a say in it. */
export interface RoomLinksHost {
  /** The swarm's peers by hub id, pending ones included. */
  readonly table: ReadonlyMap<string, SwarmPeer>
  /** Rejects (ERR_ADMISSION_REFUSED) when the swarm will not take `publicKey`. */
  admit(publicKey: string): Promise<void>
  /** Files a peer met over a shared connection, followed like one on a connection of the swarm's own. */
  adopt(peer: RoomPeer): void
  /** Counts a peer refused because the swarm is full. */
  refuseFull(): void
  /** Lets a pending peer go without a LEAVE: the remote refused it. */
  drop(peer: RoomPeer): void
}

export interface RoomLinksOptions {
  clock: Clock
  /** How long a JOIN may wait for its answer. */
  connectTimeout: number
}

export class RoomLinks {
  readonly #swarm: Pick<Swarm, 'id' | 'publicKey' | 'maxPeers' | 'destroyed' | 'isBanned'>
  readonly #host: RoomLinksHost
  readonly #pool: ConnectionPool
  readonly #clock: Clock
  readonly #connectTimeout: number
  readonly #member: RoomMember
  /** Keys whose page is not asked again for a while to share a connection (it refused). */
  readonly #refusedJoins: Deadlines<string>

  /** `member` is the swarm's entry in the pool, with its room's tag (null for a room that never joins others'). */
  constructor(
    swarm: Pick<Swarm, 'id' | 'publicKey' | 'maxPeers' | 'destroyed' | 'isBanned'>, host: RoomLinksHost,
    pool: ConnectionPool, member: RoomMember, {clock, connectTimeout}: RoomLinksOptions,
  ) {
    this.#swarm = swarm
    this.#host = host
    this.#pool = pool
    this.#member = member
    this.#clock = clock
    this.#connectTimeout = connectTimeout
    this.#refusedJoins = new Deadlines<string>(() => clock.now())
  }

  /**
   * Meets an announcing peer over a connection the page already has to its key
   * (made by another room), instead of making a new one. True when it did (or
   * already had it); false means: connect as usual.
   */
  join(remoteId: string, key: string | undefined): boolean {
    const swarm = this.#swarm
    const host = this.#host
    const tag = this.#member.tag
    if (!tag || key === undefined || key === swarm.publicKey) return false
    // Refused there lately (full, or it holds an older connection of ours): connect as usual.
    if (this.#refusedJoins.has(key)) return false
    const link = this.#pool.find(swarm.publicKey, key, tag)
    if (!link) return false
    if (host.table.has(remoteId) || this.#hasKey(key)) return true
    if (swarm.isBanned(key)) return true
    if (host.table.size >= swarm.maxPeers) {
      host.refuseFull()
      return true
    }
    const peer = this.#adopt(remoteId, link, tag, true)
    debug('joining', shortId(key), 'over a shared connection')
    this.#pool.join(link, this.#member, tag)
    // An answer that never comes (an old version, a lost message) must not hold the slot.
    const timer = this.#clock.setTimeout(() => {
      if (peer.state !== 'connected') peer.closeQuietly(P2PError.CONNECTION_FAILED(`no answer to joining ${shortId(key)} over a shared connection`))
    }, this.#connectTimeout)
    peer.once('close', () => this.#clock.clearTimeout(timer))
    peer.once('open', () => this.#clock.clearTimeout(timer))
    return true
  }

  #adopt(remoteId: string, link: PeerConnection, tag: string, initiator: boolean): RoomPeer {
    const peer = new RoomPeer(remoteId, link, tag, initiator, () => this.#pool.leave(link, this.#member, tag), this.#clock)
    this.#host.adopt(peer)
    return peer
  }

  /** A remote room asks to meet this one over `link`: admitted as over a connection of our own. */
  async onJoin(link: PeerConnection, remoteId: string): Promise<RoomPeer | null> {
    const swarm = this.#swarm
    const host = this.#host
    const key = link.publicKey
    const tag = this.#member.tag
    if (swarm.destroyed || !key || !tag) return null
    const existing = host.table.get(remoteId)
    // Both sides joined at once: their JOIN answers ours.
    if (existing instanceof RoomPeer && existing.link === link) return existing
    if (this.#hasKey(key)) return null
    await host.admit(key)
    if (swarm.destroyed || link.destroyed || host.table.has(remoteId) || this.#hasKey(key)) return null
    if (host.table.size >= swarm.maxPeers) {
      host.refuseFull()
      return null
    }
    return this.#adopt(remoteId, link, tag, false)
  }

  /** A connection to `key` in this room, pending or open, on any link. */
  #hasKey(key: string): boolean {
    for (const c of this.#host.table.values()) if (c.publicKey === key) return true
    return false
  }

  #pendingOn(link: PeerConnection): RoomPeer | undefined {
    for (const c of this.#host.table.values()) if (c instanceof RoomPeer && c.link === link && c.state !== 'connected') return c
    return undefined
  }

  /** The remote answered our JOIN on `link`. */
  onAnswer(link: PeerConnection, accepted: boolean): void {
    const pending = this.#pendingOn(link)
    if (!pending) return
    if (accepted) return pending.open()
    if (link.publicKey) this.#refusedJoins.set(link.publicKey, REFUSED_JOIN_QUIET)
    this.#host.drop(pending)
  }

  /** The remote's room left `link`. */
  onLeave(link: PeerConnection): void {
    for (const c of [...this.#host.table.values()]) {
      if (c instanceof RoomPeer && c.link === link) c.closeQuietly()
    }
  }
}
