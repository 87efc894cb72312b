/**
 * Small signed mutable records (docs/dht.md "Topics and records"), as BEP 44
 * has them: a record is a public key, a salt, a sequence number and a value of
 * at most 1,000 bytes, signed by the key. It is stored at the k nodes closest
 * to its target, SHA-256 of the key and the salt, so one key can keep several
 * records apart by salt. A storing node takes a record only if its signature
 * holds, and keeps the one of the highest sequence number: a lower one is
 * refused, and the same number with another value too (only the key's owner
 * can sign either, so that is its owner's mistake or a replay). Records are
 * forgotten RECORD_TTL after they were last put: a writer puts its record again
 * to keep it.
 */
import {P2PError} from '../errors.js'
import {concat, toHex, utf8} from '../bytes.js'
import {PUBLIC_KEY_BYTES, SIGNATURE_BYTES, sha256, verify, type Identity} from '../crypto/identity.js'

/** Separates record signatures from every other use of the same key. */
export const RECORD_DOMAIN = 'p2p-elements/dht-record/v1\0'
const DOMAIN_BYTES = utf8(RECORD_DOMAIN)
/** Bytes of a record's value, and of its salt, at most. */
export const MAX_RECORD_VALUE = 1000
export const MAX_SALT = 64
/** How long a storing node keeps a record after it was last put (ms). */
export const RECORD_TTL = 60 * 60_000
/** Bytes of a record on the wire besides its salt and value: key, sequence, the two lengths, signature. */
const FIXED_BYTES = PUBLIC_KEY_BYTES + 8 + 1 + 2 + SIGNATURE_BYTES

export interface DhtRecord {
  /** The writer's public key. */
  key: Uint8Array
  salt: Uint8Array
  /** Higher replaces lower: a writer counts up. */
  seq: number
  value: Uint8Array
  signature: Uint8Array
}

/** Where a record of `key` and `salt` is stored: SHA-256 of both, domain-separated. */
export function recordTarget(key: Uint8Array, salt: Uint8Array = new Uint8Array(0)): Promise<Uint8Array> {
  return sha256(concat([utf8('p2p-elements/dht-record-target/v1\0'), key, salt]))
}

function signed(salt: Uint8Array, seq: number, value: Uint8Array): Uint8Array {
  const fixed = new Uint8Array(8 + 1 + 2)
  const view = new DataView(fixed.buffer)
  view.setBigUint64(0, BigInt(seq))
  fixed[8] = salt.length
  view.setUint16(9, value.length)
  return concat([DOMAIN_BYTES, fixed, salt, value])
}

function checkParts(salt: Uint8Array, seq: number, value: Uint8Array): void {
  if (!(salt instanceof Uint8Array) || salt.length > MAX_SALT) throw P2PError.INVALID_ARGUMENT(`a salt is at most ${MAX_SALT} bytes`)
  if (!Number.isSafeInteger(seq) || seq < 0) throw P2PError.INVALID_ARGUMENT('a sequence number is a whole number, 0 or more')
  if (!(value instanceof Uint8Array) || value.length > MAX_RECORD_VALUE) throw P2PError.MESSAGE_TOO_LARGE(`a record's value is at most ${MAX_RECORD_VALUE} bytes`)
}

/** `identity`'s record under `salt`, number `seq`. */
export async function createRecord(identity: Identity, {salt = new Uint8Array(0), seq, value}: {salt?: Uint8Array, seq: number, value: Uint8Array}): Promise<DhtRecord> {
  checkParts(salt, seq, value)
  // The key signs over its own bytes too (verify binds them): a record cannot be moved to another key.
  return {key: identity.publicKey, salt, seq, value, signature: await identity.sign(signed(salt, seq, value))}
}

export function verifyRecord({key, salt, seq, value, signature}: DhtRecord): Promise<boolean> {
  return verify(signed(salt, seq, value), signature, key)
}

export function encodeRecord({key, salt, seq, value, signature}: DhtRecord): Uint8Array {
  checkParts(salt, seq, value)
  const out = new Uint8Array(FIXED_BYTES + salt.length + value.length)
  const view = new DataView(out.buffer)
  out.set(key, 0)
  view.setBigUint64(PUBLIC_KEY_BYTES, BigInt(seq))
  out[PUBLIC_KEY_BYTES + 8] = salt.length
  out.set(salt, PUBLIC_KEY_BYTES + 9)
  view.setUint16(PUBLIC_KEY_BYTES + 9 + salt.length, value.length)
  out.set(value, PUBLIC_KEY_BYTES + 11 + salt.length)
  out.set(signature, PUBLIC_KEY_BYTES + 11 + salt.length + value.length)
  return out
}

/** The largest record on the wire. */
export const MAX_RECORD_BYTES = FIXED_BYTES + MAX_SALT + MAX_RECORD_VALUE

/** Exactly one record's bytes, or ERR_MALFORMED_MESSAGE. The signature is not checked here. */
export function decodeRecord(bytes: Uint8Array): DhtRecord {
  const fail = (what: string): never => {
    throw P2PError.MALFORMED_MESSAGE(`dht: a record ${what}`)
  }
  if (!(bytes instanceof Uint8Array) || bytes.length < FIXED_BYTES) fail(`of ${bytes?.length} bytes`)
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const seq = view.getBigUint64(PUBLIC_KEY_BYTES)
  if (seq > BigInt(Number.MAX_SAFE_INTEGER)) fail('with a sequence number past 2^53')
  const saltLength = bytes[PUBLIC_KEY_BYTES + 8]
  if (saltLength > MAX_SALT || bytes.length < FIXED_BYTES + saltLength) fail(`with a salt of ${saltLength} bytes`)
  const valueLength = view.getUint16(PUBLIC_KEY_BYTES + 9 + saltLength)
  if (valueLength > MAX_RECORD_VALUE) fail(`with a value of ${valueLength} bytes (at most ${MAX_RECORD_VALUE})`)
  if (bytes.length !== FIXED_BYTES + saltLength + valueLength) fail(`of ${bytes.length} bytes for a salt of ${saltLength} and a value of ${valueLength}`)
  const valueAt = PUBLIC_KEY_BYTES + 11 + saltLength
  return {
    key: bytes.slice(0, PUBLIC_KEY_BYTES),
    seq: Number(seq),
    salt: bytes.slice(PUBLIC_KEY_BYTES + 9, PUBLIC_KEY_BYTES + 9 + saltLength),
    value: bytes.slice(valueAt, valueAt + valueLength),
    signature: bytes.slice(valueAt + valueLength),
  }
}

/** Why `put` refused a record. */
export type RecordRefusal = 'bad signature' | 'lower sequence' | 'same sequence, another value' | 'full'

const sameBytes = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && a.every((x, i) => x === b[i])

/** What a node keeps of the records it is among the closest to, by target. */
export class RecordStore {
  readonly #now: () => number
  readonly #max: number
  /** By target (hex): the record and when it was last put (the storing node's clock). */
  readonly #records = new Map<string, {record: DhtRecord, at: number}>()

  constructor({now, max = 1024}: {now: () => number, max?: number}) {
    this.#now = now
    this.#max = max
  }

  get size(): number {
    this.#expire()
    return this.#records.size
  }

  /** Keeps `record` if its signature holds and its sequence is the highest; else says why not. */
  async put(record: DhtRecord): Promise<true | RecordRefusal> {
    if (!await verifyRecord(record)) return 'bad signature'
    this.#expire()
    const target = toHex(await recordTarget(record.key, record.salt))
    const held = this.#records.get(target)?.record
    if (held) {
      if (record.seq < held.seq) return 'lower sequence'
      if (record.seq === held.seq && !sameBytes(record.value, held.value)) return 'same sequence, another value'
    } else if (this.#records.size >= this.#max) {
      return 'full'
    }
    this.#records.delete(target)
    this.#records.set(target, {record, at: this.#now()})
    return true
  }

  get(target: Uint8Array): DhtRecord | undefined {
    this.#expire()
    return this.#records.get(toHex(target))?.record
  }

  #expire(): void {
    const before = this.#now() - RECORD_TTL
    // Kept in the order they were last put: the oldest come first.
    for (const [target, {at}] of this.#records) {
      if (at > before) break
      this.#records.delete(target)
    }
  }
}
