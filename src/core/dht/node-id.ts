/**
 * Kademlia's identifiers and distances: a node's id is the SHA-256 of its proven
 * public key (so no one picks where it sits in the id space), and the distance
 * between two ids is their XOR, compared as a big-endian number.
 */
import {sha256} from '../crypto/identity.js'

/** Bytes of a node id (and of any target: a topic's or a record's hash). */
export const ID_BYTES = 32
/** Bits of an id: the number of buckets a routing table may have. */
export const ID_BITS = ID_BYTES * 8

/** The id of the node whose proven public key is `publicKey`. */
export function nodeIdOf(publicKey: Uint8Array): Promise<Uint8Array> {
  return sha256(publicKey)
}

/**
 * Which of `a` and `b` is closer to `target`: negative if `a`, positive if `b`,
 * 0 if they are the same id. No allocation: lookups sort with it.
 */
export function compareDistance(target: Uint8Array, a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < ID_BYTES; i++) {
    const da = a[i] ^ target[i]
    const db = b[i] ^ target[i]
    if (da !== db) return da - db
  }
  return 0
}

/**
 * The number of leading bits `a` and `b` share, 0 … ID_BITS (ID_BITS for equal ids):
 * a routing table keeps `b` in the bucket of that index.
 */
export function commonPrefix(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < ID_BYTES; i++) {
    const x = a[i] ^ b[i]
    if (x !== 0) return i * 8 + Math.clz32(x) - 24
  }
  return ID_BITS
}

/**
 * A random id that shares exactly `prefix` leading bits with `id` (its bit at
 * `prefix` flipped, the rest drawn from `random`): a target that refreshes the
 * bucket of that index.
 */
export function randomIdInBucket(id: Uint8Array, prefix: number, random: () => number): Uint8Array {
  if (!Number.isInteger(prefix) || prefix < 0 || prefix >= ID_BITS) throw new RangeError(`a bucket index is 0 … ${ID_BITS - 1}`)
  const out = new Uint8Array(ID_BYTES)
  for (let i = 0; i < ID_BYTES; i++) out[i] = Math.floor(random() * 256)
  const byte = prefix >> 3
  const bit = 0x80 >> (prefix & 7)
  // Bits before `prefix` are id's, the bit at `prefix` is its opposite, the rest random.
  const keep = (0xff00 >> (prefix & 7)) & 0xff
  for (let i = 0; i < byte; i++) out[i] = id[i]
  out[byte] = (id[byte] & keep) | (~id[byte] & bit) | (out[byte] & ~keep & ~bit & 0xff)
  return out
}

/** True when `a` and `b` are the same id. */
export function sameId(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}
