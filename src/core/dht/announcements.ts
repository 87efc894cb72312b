/**
 * Topic announcements (docs/dht.md "Topics and records"): a node says "I am in
 * this topic" by a signed statement of its key, the topic's hash and the time;
 * the k nodes closest to the topic's hash keep such statements for a while and
 * hand them to whoever looks the topic up, who checks each signature again. A
 * storing node takes only statements whose signature holds and whose time is
 * neither in the future nor older than their lifetime, keeps one per key (the
 * newest), and bounds what one topic and all topics may hold.
 */
import {P2PError} from '../errors.js'
import {concat, toHex, utf8} from '../bytes.js'
import {PUBLIC_KEY_BYTES, SIGNATURE_BYTES, sha256, verify, type Identity} from '../crypto/identity.js'
import {ID_BYTES} from './node-id.js'

/** Separates announcement signatures from every other use of the same key. */
export const ANNOUNCE_DOMAIN = 'p2p-elements/dht-announce/v1\0'
const DOMAIN_BYTES = utf8(ANNOUNCE_DOMAIN)
/** Bytes of an announcement on the wire: topic hash, key, time, signature. */
export const ANNOUNCEMENT_BYTES = ID_BYTES + PUBLIC_KEY_BYTES + 8 + SIGNATURE_BYTES
/** How long an announcement is kept (ms): an announcer renews it before then. */
export const ANNOUNCE_TTL = 10 * 60_000
/** How far ahead of a storing node's clock an announcement's time may be (ms). */
export const CLOCK_SKEW = 2 * 60_000

export interface Announcement {
  /** SHA-256 of the topic's name. */
  topic: Uint8Array
  /** The announcer's public key. */
  key: Uint8Array
  /** Milliseconds since the epoch, the announcer's clock. */
  time: number
  signature: Uint8Array
}

/** The hash a topic is stored under: SHA-256 of its name, domain-separated. */
export function topicHash(name: string): Promise<Uint8Array> {
  return sha256(utf8(`p2p-elements/dht-topic/v1\0${name}`))
}

function signed(topic: Uint8Array, key: Uint8Array, time: number): Uint8Array {
  const at = new Uint8Array(8)
  new DataView(at.buffer).setBigUint64(0, BigInt(time))
  return concat([DOMAIN_BYTES, topic, key, at])
}

/** `identity`'s announcement that it is in `topic` (a topic hash) at `time`. */
export async function createAnnouncement(identity: Identity, topic: Uint8Array, time: number): Promise<Announcement> {
  if (!(topic instanceof Uint8Array) || topic.length !== ID_BYTES) throw P2PError.INVALID_ARGUMENT(`a topic hash is ${ID_BYTES} bytes`)
  if (!Number.isSafeInteger(time) || time < 0) throw P2PError.INVALID_ARGUMENT('an announcement\'s time is milliseconds since the epoch')
  const key = identity.publicKey
  return {topic, key, time, signature: await identity.sign(signed(topic, key, time))}
}

export function verifyAnnouncement({topic, key, time, signature}: Announcement): Promise<boolean> {
  return verify(signed(topic, key, time), signature, key)
}

export function encodeAnnouncement({topic, key, time, signature}: Announcement): Uint8Array {
  const out = new Uint8Array(ANNOUNCEMENT_BYTES)
  out.set(topic, 0)
  out.set(key, ID_BYTES)
  new DataView(out.buffer).setBigUint64(ID_BYTES + PUBLIC_KEY_BYTES, BigInt(time))
  out.set(signature, ID_BYTES + PUBLIC_KEY_BYTES + 8)
  return out
}

/** Exactly one announcement's bytes, or ERR_MALFORMED_MESSAGE. The signature is not checked here. */
export function decodeAnnouncement(bytes: Uint8Array): Announcement {
  if (!(bytes instanceof Uint8Array) || bytes.length !== ANNOUNCEMENT_BYTES) throw P2PError.MALFORMED_MESSAGE(`dht: an announcement of ${bytes?.length} bytes (${ANNOUNCEMENT_BYTES})`)
  const time = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getBigUint64(ID_BYTES + PUBLIC_KEY_BYTES)
  if (time > BigInt(Number.MAX_SAFE_INTEGER)) throw P2PError.MALFORMED_MESSAGE('dht: an announcement with a time past 2^53')
  return {
    topic: bytes.slice(0, ID_BYTES),
    key: bytes.slice(ID_BYTES, ID_BYTES + PUBLIC_KEY_BYTES),
    time: Number(time),
    signature: bytes.slice(ID_BYTES + PUBLIC_KEY_BYTES + 8),
  }
}

export interface AnnouncementStoreOptions {
  /** Milliseconds since the epoch (the storing node's clock). */
  now: () => number
  /** Announcers kept per topic: the newest. */
  perTopic?: number
  /** Announcements kept in all. */
  max?: number
}

/** Why `put` refused an announcement. */
export type Refusal = 'bad signature' | 'expired' | 'from the future' | 'older than the one held' | 'full'

/** What a node keeps of the topics it is among the closest to. */
export class AnnouncementStore {
  readonly #now: () => number
  readonly #perTopic: number
  readonly #max: number
  /** By topic (hex), then by announcer key (hex). */
  readonly #topics = new Map<string, Map<string, Announcement>>()
  #size = 0

  constructor({now, perTopic = 32, max = 4096}: AnnouncementStoreOptions) {
    this.#now = now
    this.#perTopic = perTopic
    this.#max = max
  }

  get size(): number {
    this.#expire()
    return this.#size
  }

  /** Keeps `announcement` if its signature holds and it is current; else says why not. */
  async put(announcement: Announcement): Promise<true | Refusal> {
    const now = this.#now()
    if (announcement.time > now + CLOCK_SKEW) return 'from the future'
    if (announcement.time <= now - ANNOUNCE_TTL) return 'expired'
    if (!await verifyAnnouncement(announcement)) return 'bad signature'
    this.#expire()
    const topic = toHex(announcement.topic)
    const key = toHex(announcement.key)
    let held = this.#topics.get(topic)
    const previous = held?.get(key)
    if (previous && previous.time >= announcement.time) return previous.time === announcement.time ? true : 'older than the one held'
    if (!previous) {
      if (this.#size >= this.#max) return 'full'
      if (!held) this.#topics.set(topic, held = new Map())
      if (held.size >= this.#perTopic) {
        // The oldest announcer of the topic makes room for a newer one; a newer one only.
        const [oldestKey, oldest] = [...held].reduce((a, b) => b[1].time < a[1].time ? b : a)
        if (oldest.time >= announcement.time) return 'full'
        held.delete(oldestKey)
        this.#size--
      }
      this.#size++
    }
    held!.delete(key)
    held!.set(key, announcement)
    return true
  }

  /** The current announcements of `topic`, newest first, at most `limit`. */
  get(topic: Uint8Array, limit = this.#perTopic): Announcement[] {
    this.#expire()
    const held = this.#topics.get(toHex(topic))
    return held ? [...held.values()].sort((a, b) => b.time - a.time).slice(0, limit) : []
  }

  #expire(): void {
    const before = this.#now() - ANNOUNCE_TTL
    for (const [topic, held] of this.#topics) {
      for (const [key, announcement] of held) {
        if (announcement.time > before) continue
        held.delete(key)
        this.#size--
      }
      if (held.size === 0) this.#topics.delete(topic)
    }
  }
}
