/**
 * Rooms sharing connections. A page whose swarms use one identity (the
 * `<p2p-swarm>` default: see page-identity.ts) meets a remote page in several
 * rooms over ONE RTCPeerConnection: Chromium caps how many a tab may ever
 * create, and every connection costs a handshake, ICE and keep-alive traffic.
 *
 * The room whose swarm made the connection owns it and names its channels as
 * they are. Each further room joins over the connection's ROOMS_PROTOCOL
 * channel (JOIN, answered ACCEPT or REFUSE; LEAVE to go) and becomes a
 * `RoomPeer` in that room's swarm: the same remote key, the same transport,
 * channel names prefixed with the room's tag. A room's swarm admits such a peer
 * exactly as it admits one on its own connection: bans, the `admit` hook and
 * `maxPeers` apply. Rooms with a secret never share: the secret is what lets a
 * peer in, and a connection made for another room has not proven it.
 */
import {Emitter} from '../emitter.js'
import {P2PError, toP2PError} from '../errors.js'
import {createDebug, shortId} from '../debug.js'
import {systemClock, type Clock} from '../clock.js'
import type {Channel, ChannelHandlers, Mux} from '../mux/mux.js'
import type {PeerConnection, PeerState} from './peer-connection.js'
import {ROOMS_PROTOCOL, RoomMessageType, decodeRoomMessage, encodeRoomMessage, type RoomMessage} from './room-messages.js'

const debug = createDebug('p2p:rooms')

/** Rooms one connection may carry besides its own; JOINs past this are refused. */
export const MAX_ROOMS_PER_CONNECTION = 64

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

/** What a swarm offers the pool so rooms can join it over shared connections. */
export interface RoomMember {
  /** The swarm's own public key (hex): only connections made with it are shared. */
  readonly publicKey: string
  /** The room's tag, once computed (null before, and for rooms that never share). */
  readonly tag: string | null
  /** The swarm's hub id in its room. */
  readonly id: string
  /**
   * The remote's swarm asks to join ours over `link`. Resolves with the
   * RoomPeer to add (then it is ACCEPTed), or null to REFUSE.
   */
  onJoin(link: PeerConnection, remoteId: string): Promise<RoomPeer | null>
  /** A JOIN we sent was answered. */
  onAnswer(link: PeerConnection, tag: string, remoteId: string, accepted: boolean): void
  /** The remote left this room on `link`. */
  onLeave(link: PeerConnection, remoteId: string): void
}

interface Link {
  conn: PeerConnection
  /** The tag of the room that made it (null for a room that never shares). */
  ownerTag: string | null
  channel: Channel
  /** Room tags the remote joined or we joined on it (besides its owner's). */
  rooms: Set<string>
}

export interface ConnectionPoolStats {
  /** Connections the pool knows (open and authenticated). */
  connections: number
  /** Rooms riding on connections that another room made. */
  sharedRooms: number
  /** JOINs answered with REFUSE, and malformed room messages that dropped a connection. */
  refused: number
  malformed: number
}

/**
 * The page's authenticated connections, by local and remote key, and the
 * swarms that may share them. Swarms add their connections once the identity
 * proof is done and register themselves to hear JOINs.
 */
export class ConnectionPool {
  readonly #links = new Map<string, Link>()
  readonly #members = new Set<RoomMember>()
  readonly #stats = {refused: 0, malformed: 0}

  get stats(): ConnectionPoolStats {
    let sharedRooms = 0
    for (const l of this.#links.values()) sharedRooms += l.rooms.size
    return {connections: this.#links.size, sharedRooms, ...this.#stats}
  }

  register(member: RoomMember): void {
    this.#members.add(member)
  }

  unregister(member: RoomMember): void {
    this.#members.delete(member)
  }

  /**
   * An open connection between these two keys that room `tag` could join: made
   * by another room (a connection of the room itself is that room's own, say
   * the old one of a reloaded page), and not carrying the room already.
   */
  find(localKey: string, remoteKey: string, tag: string): PeerConnection | undefined {
    const link = this.#links.get(linkKey(localKey, remoteKey))
    if (!link || link.conn.state !== 'connected' || link.conn.destroyed) return undefined
    if (link.ownerTag === tag || link.rooms.has(tag)) return undefined
    return link.conn
  }

  /**
   * Makes a freshly opened connection shareable: listens for the remote's
   * rooms on it. `localKey` is the key this side proved on it, `ownerTag` the
   * tag of the room that made it.
   */
  add(conn: PeerConnection, localKey: string, ownerTag: string | null): void {
    const remoteKey = conn.publicKey
    if (!remoteKey || conn.state !== 'connected') return
    const key = linkKey(localKey, remoteKey)
    const existing = this.#links.get(key)
    // Two connections between the same keys (two rooms that met at once): the first stays the shared one.
    if (existing && !existing.conn.destroyed) return
    let link: Link
    const channel = conn.channel(ROOMS_PROTOCOL, {
      onmessage: bytes => void this.#receive(link, localKey, bytes),
    })
    link = {conn, ownerTag, channel, rooms: new Set()}
    this.#links.set(key, link)
    conn.once('close', () => {
      if (this.#links.get(key) === link) this.#links.delete(key)
    })
  }

  /** Asks the remote on `conn` to meet `member`'s room there. */
  join(conn: PeerConnection, member: RoomMember, tag: string): void {
    const link = this.#linkOf(conn)
    if (!link) throw P2PError.INVALID_ARGUMENT('that connection is not shared')
    link.rooms.add(tag)
    send(link, {type: RoomMessageType.JOIN, tag, id: member.id})
  }

  /** Tells the remote that `member`'s room leaves `conn`. */
  leave(conn: PeerConnection, member: RoomMember, tag: string): void {
    const link = this.#linkOf(conn)
    if (!link) return
    link.rooms.delete(tag)
    send(link, {type: RoomMessageType.LEAVE, tag, id: member.id})
  }

  #linkOf(conn: PeerConnection): Link | undefined {
    for (const link of this.#links.values()) if (link.conn === conn) return link
    return undefined
  }

  async #receive(link: Link, localKey: string, bytes: Uint8Array): Promise<void> {
    let message: RoomMessage
    try {
      message = decodeRoomMessage(bytes)
    } catch (err) {
      // The rooms protocol is ours on both ends: a malformed message is a broken or hostile peer.
      this.#stats.malformed++
      link.conn.destroy(toP2PError(err, 'ERR_MALFORMED_MESSAGE'))
      return
    }
    const member = this.#memberFor(localKey, message.tag)
    switch (message.type) {
      case RoomMessageType.JOIN: {
        let peer: RoomPeer | null = null
        // The slot is held while the member decides: JOINs sent back to back must not all pass the cap.
        const reserved = member !== undefined && !link.rooms.has(message.tag) && link.rooms.size < MAX_ROOMS_PER_CONNECTION
        if (reserved) link.rooms.add(message.tag)
        if (member && link.rooms.has(message.tag)) {
          try {
            peer = await member.onJoin(link.conn, message.id)
          } catch (err) {
            debug('join refused', shortId(message.tag), (err as Error).message)
          }
        }
        if (link.conn.destroyed) return
        if (peer && member) {
          link.rooms.add(message.tag)
          send(link, {type: RoomMessageType.ACCEPT, tag: message.tag, id: member.id})
          peer.open()
        } else {
          if (reserved) link.rooms.delete(message.tag)
          this.#stats.refused++
          // Our hub id is unknown to a peer we do not take in; it gets the room's tag back only.
          send(link, {type: RoomMessageType.REFUSE, tag: message.tag, id: message.id})
        }
        return
      }
      case RoomMessageType.ACCEPT:
      case RoomMessageType.REFUSE:
        // An answer to no JOIN of ours is ignored by the member (it has no such pending peer).
        member?.onAnswer(link.conn, message.tag, message.id, message.type === RoomMessageType.ACCEPT)
        if (message.type === RoomMessageType.REFUSE) link.rooms.delete(message.tag)
        return
      case RoomMessageType.LEAVE:
        link.rooms.delete(message.tag)
        member?.onLeave(link.conn, message.id)
        return
    }
  }

  #memberFor(localKey: string, tag: string): RoomMember | undefined {
    for (const m of this.#members) if (m.publicKey === localKey && m.tag === tag) return m
    return undefined
  }
}

function linkKey(localKey: string, remoteKey: string): string {
  return `${localKey}>${remoteKey}`
}

function send(link: Link, message: RoomMessage): void {
  if (link.channel.closed) return
  link.channel.send(encodeRoomMessage(message))
}
