/**
 * A swarm's side of rooms sharing a connection (the pool and its protocol are
 * rooms.ts): meeting an announcer over a connection another room of the page
 * already has to its key, taking in the remote's rooms that ask to meet this
 * one, and offering the swarm's own connections to the page's other rooms.
 * A peer met this way is a `RoomPeer` in the swarm's table, admitted exactly as
 * one on a connection of its own (bans, `admit`, `maxPeers`).
 */
import {P2PError} from '../errors.js'
import {createDebug, shortId} from '../debug.js'
import type {Clock} from '../clock.js'
import {Deadlines} from '../expiring-map.js'
import {RoomPeer, type ConnectionPool, type RoomMember} from './rooms.js'
import type {PeerConnection} from './peer-connection.js'
import type {Swarm, SwarmPeer} from './swarm.js'

// What a page loads by import() when a second swarm joins its pool (room-pool.ts).
export {ConnectionPool, RoomPeer} from './rooms.js'

const debug = createDebug('p2p:swarm')

/** A page that refused to share a connection with this room is not asked again for this long. */
const REFUSED_JOIN_QUIET = 60_000

/** What the room glue needs of its swarm. */
export interface RoomLinksHost {
  /** Its public face: hub id, key, maxPeers, destroyed, bans. */
  readonly swarm: Pick<Swarm, 'id' | 'publicKey' | 'maxPeers' | 'destroyed' | 'isBanned'>
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
  /** The room's tag on shared connections (roomTag). */
  tag: string
  clock: Clock
  /** How long a JOIN may wait for its answer. */
  connectTimeout: number
}

export class RoomLinks {
  readonly #host: RoomLinksHost
  readonly #pool: ConnectionPool
  readonly #clock: Clock
  readonly #connectTimeout: number
  readonly #member: RoomMember
  /** Keys whose page is not asked again for a while to share a connection (it refused). */
  readonly #refusedJoins: Deadlines<string>
  readonly #tag: string

  /** Made for rooms without a secret only: a secret is what admits a peer, so such a room never joins others' connections. */
  constructor(host: RoomLinksHost, pool: ConnectionPool, {tag, clock, connectTimeout}: RoomLinksOptions) {
    this.#host = host
    this.#pool = pool
    this.#clock = clock
    this.#connectTimeout = connectTimeout
    this.#refusedJoins = new Deadlines<string>(() => clock.now())
    this.#tag = tag
    this.#member = {
      get publicKey() { return host.swarm.publicKey },
      tag,
      get id() { return host.swarm.id },
      onJoin: (link, remoteId) => this.#onJoin(link, remoteId),
      onAnswer: (link, _tag, _remoteId, accepted) => this.#onAnswer(link, accepted),
      onLeave: link => this.#onLeave(link),
    }
    pool.register(this.#member)
  }

  /**
   * Meets an announcing peer over a connection the page already has to its key
   * (made by another room), instead of making a new one. True when it did (or
   * already had it); false means: connect as usual.
   */
  join(remoteId: string, key: string | undefined): boolean {
    const host = this.#host
    const tag = this.#tag
    if (key === undefined || key === host.swarm.publicKey) return false
    // Refused there lately (full, or it holds an older connection of ours): connect as usual.
    if (this.#refusedJoins.has(key)) return false
    const link = this.#pool.find(host.swarm.publicKey, key, tag)
    if (!link) return false
    if (host.table.has(remoteId) || this.#hasKey(key)) return true
    if (host.swarm.isBanned(key)) return true
    if (host.table.size >= host.swarm.maxPeers) {
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

  /** The swarm is done: no more JOINs reach it. Idempotent. */
  destroy(): void {
    this.#pool.unregister(this.#member)
  }

  #adopt(remoteId: string, link: PeerConnection, tag: string, initiator: boolean): RoomPeer {
    const peer = new RoomPeer(remoteId, link, tag, initiator, () => this.#pool.leave(link, this.#member, tag), this.#clock)
    this.#host.adopt(peer)
    return peer
  }

  /** A remote room asks to meet this one over `link`: admitted as over a connection of our own. */
  async #onJoin(link: PeerConnection, remoteId: string): Promise<RoomPeer | null> {
    const host = this.#host
    const key = link.publicKey
    const tag = this.#tag
    if (host.swarm.destroyed || !key) return null
    const existing = host.table.get(remoteId)
    // Both sides joined at once: their JOIN answers ours.
    if (existing instanceof RoomPeer && existing.link === link) return existing
    if (this.#hasKey(key)) return null
    await host.admit(key)
    if (host.swarm.destroyed || link.destroyed || host.table.has(remoteId) || this.#hasKey(key)) return null
    if (host.table.size >= host.swarm.maxPeers) {
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

  #onAnswer(link: PeerConnection, accepted: boolean): void {
    const pending = this.#pendingOn(link)
    if (!pending) return
    if (accepted) return pending.open()
    if (link.publicKey) this.#refusedJoins.set(link.publicKey, REFUSED_JOIN_QUIET)
    this.#host.drop(pending)
  }

  #onLeave(link: PeerConnection): void {
    for (const c of [...this.#host.table.values()]) {
      if (c instanceof RoomPeer && c.link === link) c.closeQuietly()
    }
  }
}
