/**
 * The encoding of rooms sharing a connection (mux channel ROOMS_PROTOCOL, see
 * rooms.ts): apart from messages.ts, so a page that never shares a connection
 * between rooms does not load it. The decoder throws P2PError MALFORMED_MESSAGE
 * on anything malformed; the caller counts and carries on.
 */
import {P2PError} from '../errors.js'
import {concat, fromHex, toHex} from '../bytes.js'

/**
 * One connection between two pages carries every room they have in common: the
 * room that made it uses channel names as they are, and each further room joins
 * over this channel and then prefixes its channel names (see rooms.ts).
 */
export const ROOMS_PROTOCOL = 'p2p/rooms/1'
/** A room's tag: SHA-256 of its name, so a connection never carries room names. */
export const ROOM_TAG_BYTES = 32
/** Hub ids are 20 hex characters (10 random bytes). */
const HUB_ID_BYTES = 10

export enum RoomMessageType {
  /** "My swarm `id` of this room would like to meet yours on this connection." */
  JOIN = 1,
  /** "Mine (`id`) has let yours in." */
  ACCEPT = 2,
  /** "No swarm of mine takes yours in this room": unknown room, full, banned, refused. */
  REFUSE = 3,
  /** "Mine leaves this room on this connection"; the connection stays for the others. */
  LEAVE = 4,
}

export interface RoomMessage {
  type: RoomMessageType
  /** Hex room tag. */
  tag: string
  /** The sender's hub id in that room. */
  id: string
}

const ROOM_MESSAGE_BYTES = 1 + ROOM_TAG_BYTES + HUB_ID_BYTES

export function encodeRoomMessage({type, tag, id}: RoomMessage): Uint8Array {
  const tagBytes = fromHex(tag)
  const idBytes = fromHex(id)
  if (tagBytes.length !== ROOM_TAG_BYTES || idBytes.length !== HUB_ID_BYTES) throw P2PError.INVALID_ARGUMENT('a room message needs a 32-byte tag and a 10-byte hub id')
  return concat([Uint8Array.of(type), tagBytes, idBytes])
}

/** Throws MALFORMED_MESSAGE for a wrong size or an unknown type. */
export function decodeRoomMessage(bytes: Uint8Array): RoomMessage {
  if (bytes.length !== ROOM_MESSAGE_BYTES) throw P2PError.MALFORMED_MESSAGE(`a room message is ${ROOM_MESSAGE_BYTES} bytes, got ${bytes.length}`)
  const type = bytes[0]
  if (!(type >= RoomMessageType.JOIN && type <= RoomMessageType.LEAVE)) throw P2PError.MALFORMED_MESSAGE(`unknown room message type ${type}`)
  return {type, tag: toHex(bytes.subarray(1, 1 + ROOM_TAG_BYTES)), id: toHex(bytes.subarray(1 + ROOM_TAG_BYTES))}
}
