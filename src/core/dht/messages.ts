/**
 * Every wire encoding of the DHT (`p2p/dht/1`, docs/dht.md "Wire format"), as
 * encode/decode pairs. Decoding is where a peer's bytes are judged:
 * `decodeDhtMessage` takes exactly a valid message and throws
 * ERR_MALFORMED_MESSAGE (ERR_MESSAGE_TOO_LARGE past the bounds) on anything
 * else, for the caller to score the peer. Integers are big-endian.
 *
 * A relay forwards RELAY's inner message without decoding it (only its length
 * is bounded); the node at the end of the route decodes it as any message.
 */
import {P2PError} from '../errors.js'
import {concat, utf8} from '../bytes.js'
import {PUBLIC_KEY_BYTES, SIGNATURE_BYTES, verify, type Identity} from '../crypto/identity.js'
import {ID_BYTES} from './node-id.js'
import {ANNOUNCEMENT_BYTES, decodeAnnouncement, encodeAnnouncement, type Announcement} from './announcements.js'
import {decodeRecord, encodeRecord, type DhtRecord} from './records.js'

export const DHT_PROTOCOL = 'p2p/dht/1'

export const DhtMessageType = {
  /** Which of your peers are closest to this target? */
  FIND: 0,
  /** The answer to FIND: public keys of connected peers, closest first. */
  NODES: 1,
  PING: 2,
  PONG: 3,
  /** Forward `inner` along `route` (the keys still to go, the next first). */
  RELAY: 4,
  /** An answer to a RELAY, going back the way it came. */
  RELAY_REPLY: 5,
  /** A signed WebRTC signal for a connection to `to`. */
  SIGNAL: 6,
  /** Keep this signed announcement; answered with PEERS, the topic's announcers held (this one too, if taken). */
  ANNOUNCE: 7,
  /** Who announced this topic? Answered with PEERS. */
  FIND_PEERS: 8,
  /** Announcements of one topic, the newest first. */
  PEERS: 9,
  /** The answer to a relayed SIGNAL: whether the node took it (a connection to its sender is opening or open). */
  SIGNALLED: 10,
  /** Keep this signed record; answered with VALUE, the record now held under its target. */
  PUT: 11,
  /** The record under this target? Answered with VALUE. */
  GET: 12,
  /** A record, or none. */
  VALUE: 13,
} as const
export type DhtMessageType = typeof DhtMessageType[keyof typeof DhtMessageType]

/** Keys in one NODES answer. */
export const MAX_NODES = 16
/** Keys in a RELAY's route: relays a query or signal may cross. */
export const MAX_ROUTE = 6
/** Bytes of a RELAY's inner message (a signal is the largest). */
export const MAX_INNER_BYTES = 12 * 1024
/** Bytes of a signal's JSON (an offer's SDP with its candidates). */
export const MAX_SIGNAL_BYTES = 8 * 1024
/** Announcements in one PEERS answer. */
export const MAX_PEERS = 16
/** A signal's nonce. */
export const NONCE_BYTES = 16

/** Separates signal signatures from every other use of the same key. */
export const SIGNAL_DOMAIN = 'p2p-elements/dht-signal/v1\0'
const SIGNAL_DOMAIN_BYTES = utf8(SIGNAL_DOMAIN)
// ignoreBOM keeps bytes and strings one to one: the signature is checked over the string encoded again.
const signalDecoder = new TextDecoder('utf-8', {fatal: true, ignoreBOM: true})

export interface FindMessage {type: typeof DhtMessageType.FIND, id: number, target: Uint8Array}
export interface NodesMessage {type: typeof DhtMessageType.NODES, id: number, keys: Uint8Array[]}
export interface PingMessage {type: typeof DhtMessageType.PING | typeof DhtMessageType.PONG, id: number}
export interface RelayMessage {type: typeof DhtMessageType.RELAY, id: number, route: Uint8Array[], inner: Uint8Array}
export interface RelayReplyMessage {type: typeof DhtMessageType.RELAY_REPLY, id: number, inner: Uint8Array}
export interface SignalMessage {
  type: typeof DhtMessageType.SIGNAL
  from: Uint8Array
  to: Uint8Array
  /** Milliseconds since the epoch, as the signer's clock said. */
  time: number
  nonce: Uint8Array
  /** The simple-peer signal, JSON. */
  signal: string
  signature: Uint8Array
}
export interface AnnounceMessage {type: typeof DhtMessageType.ANNOUNCE, id: number, announcement: Announcement}
export interface FindPeersMessage {type: typeof DhtMessageType.FIND_PEERS, id: number, topic: Uint8Array}
export interface PeersMessage {type: typeof DhtMessageType.PEERS, id: number, announcements: Announcement[]}
export interface SignalledMessage {type: typeof DhtMessageType.SIGNALLED, id: number, taken: boolean}
export interface PutMessage {type: typeof DhtMessageType.PUT, id: number, record: DhtRecord}
export interface GetMessage {type: typeof DhtMessageType.GET, id: number, target: Uint8Array}
export interface ValueMessage {type: typeof DhtMessageType.VALUE, id: number, record: DhtRecord | null}
export type DhtMessage = FindMessage | NodesMessage | PingMessage | RelayMessage | RelayReplyMessage | SignalMessage
  | AnnounceMessage | FindPeersMessage | PeersMessage | SignalledMessage | PutMessage | GetMessage | ValueMessage

const MAX_ID = 0xffffffff

function fail(what: string): never {
  throw P2PError.MALFORMED_MESSAGE(`dht: ${what}`)
}

function checkId(id: number): void {
  if (!Number.isInteger(id) || id < 0 || id > MAX_ID) throw P2PError.INVALID_ARGUMENT('a request id is a u32')
}

function checkKey(key: Uint8Array, what: string): void {
  if (!(key instanceof Uint8Array) || key.length !== PUBLIC_KEY_BYTES) throw P2PError.INVALID_ARGUMENT(`${what} is a ${PUBLIC_KEY_BYTES}-byte public key`)
}

/** Type byte and request id. */
function head(type: DhtMessageType, id: number, rest: number): {bytes: Uint8Array, view: DataView} {
  checkId(id)
  const bytes = new Uint8Array(5 + rest)
  const view = new DataView(bytes.buffer)
  bytes[0] = type
  view.setUint32(1, id)
  return {bytes, view}
}

export function encodeFind(id: number, target: Uint8Array): Uint8Array {
  if (!(target instanceof Uint8Array) || target.length !== ID_BYTES) throw P2PError.INVALID_ARGUMENT(`a target is ${ID_BYTES} bytes`)
  const {bytes} = head(DhtMessageType.FIND, id, ID_BYTES)
  bytes.set(target, 5)
  return bytes
}

export function encodeNodes(id: number, keys: readonly Uint8Array[]): Uint8Array {
  if (keys.length > MAX_NODES) throw P2PError.INVALID_ARGUMENT(`at most ${MAX_NODES} keys in an answer`)
  const {bytes} = head(DhtMessageType.NODES, id, 1 + keys.length * PUBLIC_KEY_BYTES)
  bytes[5] = keys.length
  for (const [i, key] of keys.entries()) {
    checkKey(key, 'a node')
    bytes.set(key, 6 + i * PUBLIC_KEY_BYTES)
  }
  return bytes
}

export function encodeAnnounce(id: number, announcement: Announcement): Uint8Array {
  const {bytes} = head(DhtMessageType.ANNOUNCE, id, ANNOUNCEMENT_BYTES)
  bytes.set(encodeAnnouncement(announcement), 5)
  return bytes
}

export function encodeFindPeers(id: number, topic: Uint8Array): Uint8Array {
  const bytes = encodeFind(id, topic)
  bytes[0] = DhtMessageType.FIND_PEERS
  return bytes
}

export function encodePeers(id: number, announcements: readonly Announcement[]): Uint8Array {
  if (announcements.length > MAX_PEERS) throw P2PError.INVALID_ARGUMENT(`at most ${MAX_PEERS} announcements in an answer`)
  const {bytes} = head(DhtMessageType.PEERS, id, 1 + announcements.length * ANNOUNCEMENT_BYTES)
  bytes[5] = announcements.length
  for (const [i, announcement] of announcements.entries()) bytes.set(encodeAnnouncement(announcement), 6 + i * ANNOUNCEMENT_BYTES)
  return bytes
}

export function encodePing(id: number, pong = false): Uint8Array {
  return head(pong ? DhtMessageType.PONG : DhtMessageType.PING, id, 0).bytes
}

export function encodeRelay(id: number, route: readonly Uint8Array[], inner: Uint8Array): Uint8Array {
  if (route.length < 1 || route.length > MAX_ROUTE) throw P2PError.INVALID_ARGUMENT(`a route has 1 to ${MAX_ROUTE} keys`)
  if (inner.length < 1 || inner.length > MAX_INNER_BYTES) throw P2PError.INVALID_ARGUMENT(`a relayed message is 1 to ${MAX_INNER_BYTES} bytes`)
  const {bytes} = head(DhtMessageType.RELAY, id, 1 + route.length * PUBLIC_KEY_BYTES + inner.length)
  bytes[5] = route.length
  for (const [i, key] of route.entries()) {
    checkKey(key, 'a route\'s key')
    bytes.set(key, 6 + i * PUBLIC_KEY_BYTES)
  }
  bytes.set(inner, 6 + route.length * PUBLIC_KEY_BYTES)
  return bytes
}

export function encodeRelayReply(id: number, inner: Uint8Array): Uint8Array {
  if (inner.length < 1 || inner.length > MAX_INNER_BYTES) throw P2PError.INVALID_ARGUMENT(`a relayed message is 1 to ${MAX_INNER_BYTES} bytes`)
  const {bytes} = head(DhtMessageType.RELAY_REPLY, id, inner.length)
  bytes.set(inner, 5)
  return bytes
}

export function encodePut(id: number, record: DhtRecord): Uint8Array {
  const body = encodeRecord(record)
  const {bytes} = head(DhtMessageType.PUT, id, body.length)
  bytes.set(body, 5)
  return bytes
}

export function encodeGet(id: number, target: Uint8Array): Uint8Array {
  const bytes = encodeFind(id, target)
  bytes[0] = DhtMessageType.GET
  return bytes
}

export function encodeValue(id: number, record: DhtRecord | null): Uint8Array {
  const body = record ? encodeRecord(record) : new Uint8Array(0)
  const {bytes} = head(DhtMessageType.VALUE, id, 1 + body.length)
  bytes[5] = record ? 1 : 0
  bytes.set(body, 6)
  return bytes
}

export function encodeSignalled(id: number, taken: boolean): Uint8Array {
  const {bytes} = head(DhtMessageType.SIGNALLED, id, 1)
  bytes[5] = taken ? 1 : 0
  return bytes
}

/** What a signal's signature covers: the domain, both keys, the time, the nonce and the signal. */
function signalSigned(from: Uint8Array, to: Uint8Array, time: number, nonce: Uint8Array, signal: Uint8Array): Uint8Array {
  const fixed = new Uint8Array(8)
  new DataView(fixed.buffer).setBigUint64(0, BigInt(time))
  return concat([SIGNAL_DOMAIN_BYTES, from, to, fixed, nonce, signal])
}

/** Signs and encodes a signal from `identity` to the node whose key is `to`. */
export async function encodeSignal(identity: Identity, to: Uint8Array, signal: string, time: number, nonce: Uint8Array): Promise<Uint8Array> {
  checkKey(to, 'to')
  if (!Number.isSafeInteger(time) || time < 0) throw P2PError.INVALID_ARGUMENT('a signal\'s time is milliseconds since the epoch')
  if (!(nonce instanceof Uint8Array) || nonce.length !== NONCE_BYTES) throw P2PError.INVALID_ARGUMENT(`a nonce is ${NONCE_BYTES} bytes`)
  const json = utf8(signal)
  if (json.length > MAX_SIGNAL_BYTES) throw P2PError.MESSAGE_TOO_LARGE(`a signal of ${json.length} bytes (at most ${MAX_SIGNAL_BYTES})`)
  const from = identity.publicKey
  const signature = await identity.sign(signalSigned(from, to, time, nonce, json))
  const fixed = new Uint8Array(1 + 2 * PUBLIC_KEY_BYTES + 8 + NONCE_BYTES + 2)
  const view = new DataView(fixed.buffer)
  fixed[0] = DhtMessageType.SIGNAL
  fixed.set(from, 1)
  fixed.set(to, 1 + PUBLIC_KEY_BYTES)
  view.setBigUint64(1 + 2 * PUBLIC_KEY_BYTES, BigInt(time))
  fixed.set(nonce, 9 + 2 * PUBLIC_KEY_BYTES)
  view.setUint16(9 + 2 * PUBLIC_KEY_BYTES + NONCE_BYTES, json.length)
  return concat([fixed, json, signature])
}

/** True when the signal's signature is its sender's over exactly what it says. */
export function verifySignal({from, to, time, nonce, signal, signature}: SignalMessage): Promise<boolean> {
  return verify(signalSigned(from, to, time, nonce, utf8(signal)), signature, from)
}

/** Keys laid end to end, `count` of them from `offset`, as copies. */
function readKeys(bytes: Uint8Array, offset: number, count: number): Uint8Array[] {
  return Array.from({length: count}, (_, i) => bytes.slice(offset + i * PUBLIC_KEY_BYTES, offset + (i + 1) * PUBLIC_KEY_BYTES))
}

/** A list's count (the byte after the request id), checked against `max` and against the message's length for items of `size` bytes. */
function counted(bytes: Uint8Array, name: string, max: number, size: number): number {
  const count = bytes[5]
  if (bytes.length < 6 || count > max) fail(`${name} with ${count ?? 'no'} count (at most ${max})`)
  if (bytes.length !== 6 + count * size) fail(`${name} of ${bytes.length} bytes for ${count} items`)
  return count
}

/** Decodes one message of the DHT channel; ERR_MALFORMED_MESSAGE unless it is exactly a valid one. */
export function decodeDhtMessage(bytes: Uint8Array): DhtMessage {
  if (!(bytes instanceof Uint8Array) || bytes.length < 1) fail('an empty message')
  if (bytes.length > 5 + 1 + MAX_ROUTE * PUBLIC_KEY_BYTES + MAX_INNER_BYTES) {
    throw P2PError.MESSAGE_TOO_LARGE(`dht: a message of ${bytes.length} bytes`)
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const type = bytes[0]
  if (type === DhtMessageType.SIGNAL) return decodeSignal(bytes, view)
  if (bytes.length < 5) fail(`a message of type ${type} shorter than its request id`)
  const id = view.getUint32(1)
  switch (type) {
    case DhtMessageType.FIND:
      if (bytes.length !== 5 + ID_BYTES) fail(`FIND of ${bytes.length} bytes (${5 + ID_BYTES})`)
      return {type, id, target: bytes.slice(5)}
    case DhtMessageType.NODES:
      return {type, id, keys: readKeys(bytes, 6, counted(bytes, 'NODES', MAX_NODES, PUBLIC_KEY_BYTES))}
    case DhtMessageType.PING:
    case DhtMessageType.PONG:
      if (bytes.length !== 5) fail(`${type === DhtMessageType.PING ? 'PING' : 'PONG'} of ${bytes.length} bytes (5)`)
      return {type, id}
    case DhtMessageType.RELAY: {
      const length = bytes[5]
      if (bytes.length < 6 || length < 1 || length > MAX_ROUTE) fail(`RELAY with a route of ${length ?? 'no'} keys (1 to ${MAX_ROUTE})`)
      const innerAt = 6 + length * PUBLIC_KEY_BYTES
      const inner = bytes.length - innerAt
      if (inner < 1 || inner > MAX_INNER_BYTES) fail(`RELAY with ${inner} bytes to carry (1 to ${MAX_INNER_BYTES})`)
      return {type, id, route: readKeys(bytes, 6, length), inner: bytes.slice(innerAt)}
    }
    case DhtMessageType.RELAY_REPLY: {
      const inner = bytes.length - 5
      if (inner < 1 || inner > MAX_INNER_BYTES) fail(`RELAY_REPLY with ${inner} bytes to carry (1 to ${MAX_INNER_BYTES})`)
      return {type, id, inner: bytes.slice(5)}
    }
    case DhtMessageType.ANNOUNCE:
      if (bytes.length !== 5 + ANNOUNCEMENT_BYTES) fail(`ANNOUNCE of ${bytes.length} bytes (${5 + ANNOUNCEMENT_BYTES})`)
      return {type, id, announcement: decodeAnnouncement(bytes.subarray(5))}
    case DhtMessageType.FIND_PEERS:
      if (bytes.length !== 5 + ID_BYTES) fail(`FIND_PEERS of ${bytes.length} bytes (${5 + ID_BYTES})`)
      return {type, id, topic: bytes.slice(5)}
    case DhtMessageType.PEERS: {
      const count = counted(bytes, 'PEERS', MAX_PEERS, ANNOUNCEMENT_BYTES)
      return {type, id, announcements: Array.from({length: count}, (_, i) => decodeAnnouncement(bytes.subarray(6 + i * ANNOUNCEMENT_BYTES, 6 + (i + 1) * ANNOUNCEMENT_BYTES)))}
    }
    case DhtMessageType.PUT:
      return {type, id, record: decodeRecord(bytes.subarray(5))}
    case DhtMessageType.GET:
      if (bytes.length !== 5 + ID_BYTES) fail(`GET of ${bytes.length} bytes (${5 + ID_BYTES})`)
      return {type, id, target: bytes.slice(5)}
    case DhtMessageType.VALUE:
      if (bytes.length < 6 || bytes[5] > 1 || (bytes[5] === 0 && bytes.length !== 6)) fail(`VALUE of ${bytes.length} bytes, flag ${bytes[5]}`)
      return {type, id, record: bytes[5] === 1 ? decodeRecord(bytes.subarray(6)) : null}
    case DhtMessageType.SIGNALLED:
      if (bytes.length !== 6 || bytes[5] > 1) fail(`SIGNALLED of ${bytes.length} bytes, or not 0 or 1`)
      return {type, id, taken: bytes[5] === 1}
    default:
      fail(`unknown message type ${type}`)
  }
}

function decodeSignal(bytes: Uint8Array, view: DataView): SignalMessage {
  const fixed = 1 + 2 * PUBLIC_KEY_BYTES + 8 + NONCE_BYTES + 2
  if (bytes.length < fixed + SIGNATURE_BYTES) fail(`SIGNAL of ${bytes.length} bytes`)
  const time = view.getBigUint64(1 + 2 * PUBLIC_KEY_BYTES)
  if (time > BigInt(Number.MAX_SAFE_INTEGER)) fail('SIGNAL with a time past 2^53')
  const length = view.getUint16(fixed - 2)
  if (length > MAX_SIGNAL_BYTES) fail(`SIGNAL of ${length} bytes of signal (at most ${MAX_SIGNAL_BYTES})`)
  if (bytes.length !== fixed + length + SIGNATURE_BYTES) fail(`SIGNAL of ${bytes.length} bytes for a signal of ${length}`)
  let signal: string
  try {
    signal = signalDecoder.decode(bytes.subarray(fixed, fixed + length))
  } catch {
    fail('SIGNAL whose signal is not UTF-8')
  }
  return {
    type: DhtMessageType.SIGNAL,
    from: bytes.slice(1, 1 + PUBLIC_KEY_BYTES),
    to: bytes.slice(1 + PUBLIC_KEY_BYTES, 1 + 2 * PUBLIC_KEY_BYTES),
    time: Number(time),
    nonce: bytes.slice(9 + 2 * PUBLIC_KEY_BYTES, 9 + 2 * PUBLIC_KEY_BYTES + NONCE_BYTES),
    signal,
    signature: bytes.slice(fixed + length),
  }
}
