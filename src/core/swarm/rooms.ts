/**
 * Rooms sharing connections. A page whose swarms use one identity (the
 * `<p2p-swarm>` default: see page-identity.ts) meets a remote page in several
 * rooms over ONE RTCPeerConnection: Chromium caps how many a tab may ever
 * create, and every connection costs a handshake, ICE and keep-alive traffic.
 *
 * The room whose swarm made the connection owns it and names its channels as
 * they are. Each further room joins over the connection's ROOMS_PROTOCOL
 * channel (JOIN, answered ACCEPT or REFUSE; LEAVE to go) and becomes a
 * `RoomPeer` in that room's swarm (room-links.ts, which a page loads only once
 * it meets another room's connection or a JOIN): the same remote key, the same
 * transport, channel names prefixed with the room's tag. A room's swarm admits such a peer
 * exactly as it admits one on its own connection: bans, the `admit` hook and
 * `maxPeers` apply. Rooms with a secret never share: the secret is what lets a
 * peer in, and a connection made for another room has not proven it.
 */
import {P2PError, toP2PError} from '../errors.js'
import {createDebug, shortId} from '../debug.js'
import type {Channel} from '../mux/mux.js'
import type {PeerConnection} from './peer-connection.js'
import type {RoomPeer} from './room-links.js'
import {ROOMS_PROTOCOL, RoomMessageType, decodeRoomMessage, encodeRoomMessage, type RoomMessage} from './messages.js'

const debug = createDebug('p2p:rooms')

/** Rooms one connection may carry besides its own; JOINs past this are refused. */
export const MAX_ROOMS_PER_CONNECTION = 64

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

/** The page's pool, shared by every swarm of the page. */
export const pagePool = new ConnectionPool()
