/**
 * Writes test/vectors/log-entries.json: the log entry format's test vectors
 * (docs/log-format.md). Everything in it is deterministic (fixed seeds, times
 * and values; Ed25519 signatures are deterministic), so running this again
 * writes the same bytes, which test/node/log-entry.test.ts checks.
 *
 *   node --import tsx scripts/log-vectors.ts           # writes the file
 *   node --import tsx scripts/log-vectors.ts --check   # fails if the file differs
 */
import {readFile, writeFile} from 'node:fs/promises'
import {fileURLToPath} from 'node:url'
import {concat, toHex, utf8} from '../src/core/bytes.js'
import {KeyPairIdentity} from '../src/core/crypto/seed-identity.js'
import {
  EntryKind, MAX_SEQ, createEntry, encodeEntry, signedMessage, sortLinks, type EntryFields,
} from '../src/core/log/entry.js'
import {writeVarint, varintLength} from '../src/core/log/varint.js'

export const VECTORS_FILE = fileURLToPath(new URL('../test/vectors/log-entries.json', import.meta.url))

export interface ValidVector {
  name: string
  /** The author's 32-byte Ed25519 seed. */
  seed: string
  log: string
  fields: {author: string, seq: number, prev: string | null, links: string[], time: number, kind: number, value: string}
  bytes: string
  hash: string
  signature: string | null
}

export interface InvalidVector {
  name: string
  log: string
  /** One entry, or a run of one author's entries (decoded, then authenticated as one run). */
  entries: string[]
  /** The decoder's limit for this vector, when not the default. */
  maxValueBytes?: number
  code: string
}

const OWNER_SEED = '01'.repeat(32)
const WRITER_SEED = '02'.repeat(32)
const OTHER_SEED = '03'.repeat(32)
const TIME = 1_764_806_400_000

function varint(n: number): Uint8Array {
  const out = new Uint8Array(varintLength(n))
  writeVarint(n, out, 0)
  return out
}

/** Distinct, fixed 32-byte stand-ins for hashes of entries the vectors do not hold. */
function fakeHash(i: number): Uint8Array {
  return new Uint8Array(32).fill(0x40 + i)
}

/**
 * An entry's bytes laid out by hand, so an invalid vector can break exactly one
 * rule: each part is given as the bytes that go on the wire.
 */
function layout({version = 1, flags = 0, author, seq, prev, time = varint(TIME), kind = EntryKind.Json, count, links = [],
  valueLength, value = utf8('{}'), signature, trailing}: {
  version?: number, flags?: number, author: Uint8Array, seq: Uint8Array, prev?: Uint8Array, time?: Uint8Array,
  kind?: number, count?: Uint8Array, links?: Uint8Array[], valueLength?: Uint8Array, value?: Uint8Array,
  signature?: Uint8Array, trailing?: Uint8Array,
}): Uint8Array {
  return concat([
    Uint8Array.of(version, flags | (prev ? 1 : 0) | (signature ? 2 : 0)), author, seq, prev ?? new Uint8Array(0), time,
    Uint8Array.of(kind), count ?? varint(links.length), ...links, valueLength ?? varint(value.length), value,
    signature ?? new Uint8Array(0), trailing ?? new Uint8Array(0),
  ])
}

function fieldsOf(entry: EntryFields): ValidVector['fields'] {
  return {
    author: toHex(entry.author), seq: entry.seq, prev: entry.prev && toHex(entry.prev), links: entry.links.map(toHex),
    time: entry.time, kind: entry.kind, value: toHex(entry.value),
  }
}

export async function buildVectors(): Promise<{valid: ValidVector[], invalid: InvalidVector[]}> {
  const owner = KeyPairIdentity.fromSeedHex(OWNER_SEED)
  const writer = KeyPairIdentity.fromSeedHex(WRITER_SEED)
  const other = KeyPairIdentity.fromSeedHex(OTHER_SEED)
  const log = owner.publicKey
  const valid: ValidVector[] = []
  const add = async (name: string, seed: string, identity: KeyPairIdentity, fields: EntryFields, sign = true) => {
    const entry = await createEntry(log, fields, identity, {sign})
    valid.push({
      name, seed, log: toHex(log), fields: fieldsOf(entry), bytes: toHex(entry.bytes), hash: toHex(entry.hash),
      signature: entry.signature && toHex(entry.signature),
    })
    return entry
  }
  const base = {links: [], time: TIME}
  const init = await add('owner creates the log (Init, closed)', OWNER_SEED, owner,
    {...base, author: log, seq: 0, prev: null, kind: EntryKind.Init, value: Uint8Array.of(0)})
  const hello = await add('owner writes JSON', OWNER_SEED, owner,
    {...base, author: log, seq: 1, prev: init.hash, kind: EntryKind.Json, value: utf8('{"text":"hello, log"}')})
  const admit = await add('owner admits a writer, unsigned (a later signed entry vouches for it)', OWNER_SEED, owner,
    {...base, author: log, seq: 2, prev: hello.hash, kind: EntryKind.Admit, value: writer.publicKey}, false)
  const first = await add('a writer\'s first entry links two heads', WRITER_SEED, writer,
    {...base, author: writer.publicKey, seq: 0, prev: null, links: sortLinks([admit.hash, hello.hash]),
      kind: EntryKind.Json, value: utf8('["é", 1, null, {"nested": true}]')})
  await add('bytes with the most links (16)', WRITER_SEED, writer,
    {...base, author: writer.publicKey, seq: 1, prev: first.hash, links: Array.from({length: 16}, (_, i) => fakeHash(i)),
      kind: EntryKind.Bytes, value: Uint8Array.from({length: 200}, (_, i) => i)})
  await add('an empty Bytes value at time 0', WRITER_SEED, writer,
    {author: writer.publicKey, seq: 2, prev: fakeHash(20), links: [], time: 0, kind: EntryKind.Bytes, value: new Uint8Array(0)})
  await add('owner removes a writer', OWNER_SEED, owner,
    {...base, author: log, seq: 3, prev: admit.hash, kind: EntryKind.Remove, value: writer.publicKey})
  await add('the last seq and the latest time', OWNER_SEED, owner,
    {author: log, seq: MAX_SEQ, prev: fakeHash(21), links: [], time: Number.MAX_SAFE_INTEGER, kind: EntryKind.Json,
      value: utf8('"end"')})
  const openLog = other.publicKey
  const openInit = await createEntry(openLog, {...base, author: openLog, seq: 0, prev: null, kind: EntryKind.Init,
    value: Uint8Array.of(1)}, other)
  valid.push({
    name: 'an open log\'s Init', seed: OTHER_SEED, log: toHex(openLog), fields: fieldsOf(openInit),
    bytes: toHex(openInit.bytes), hash: toHex(openInit.hash), signature: toHex(openInit.signature!),
  })

  const a = log
  const prev = hello.hash
  const json = utf8('{}')
  const invalid: InvalidVector[] = []
  const bad = (name: string, entries: Uint8Array[], code: string, maxValueBytes?: number) => {
    invalid.push({name, log: toHex(log), entries: entries.map(toHex), ...(maxValueBytes === undefined ? {} : {maxValueBytes}), code})
  }
  const malformed = (name: string, bytes: Uint8Array) => bad(name, [bytes], 'ERR_MALFORMED_MESSAGE')
  malformed('version 2', layout({version: 2, author: a, seq: varint(0)}))
  malformed('unknown flag bit', layout({flags: 4, author: a, seq: varint(0)}))
  malformed('prev present at seq 0', layout({author: a, seq: varint(0), prev}))
  malformed('prev missing at seq 5', layout({author: a, seq: varint(5)}))
  malformed('non-minimal varint (seq 1 as 0x81 0x00)', layout({author: a, seq: Uint8Array.of(0x81, 0x00), prev}))
  malformed('seq 2^32, past the last', layout({author: a, seq: varint(2 ** 32), prev}))
  malformed('time past 2^53 - 1', layout({author: a, seq: varint(0), time: Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x10)}))
  malformed('varint of 9 bytes', layout({author: a, seq: varint(0), time: Uint8Array.of(0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01)}))
  malformed('unsorted links', layout({author: a, seq: varint(0), links: [fakeHash(2), fakeHash(1)]}))
  malformed('duplicate link', layout({author: a, seq: varint(0), links: [fakeHash(1), fakeHash(1)]}))
  malformed('17 links', layout({author: a, seq: varint(0), links: Array.from({length: 17}, (_, i) => fakeHash(i))}))
  malformed('a link equal to prev', layout({author: a, seq: varint(2), prev, links: [prev]}))
  malformed('unknown kind 5', layout({author: a, seq: varint(0), kind: 5}))
  malformed('Admit value of 31 bytes', layout({author: a, seq: varint(1), prev, kind: EntryKind.Admit, value: new Uint8Array(31).fill(7)}))
  malformed('Remove value of 33 bytes', layout({author: a, seq: varint(1), prev, kind: EntryKind.Remove, value: new Uint8Array(33).fill(7)}))
  malformed('Init value with an unknown flag', layout({author: a, seq: varint(0), kind: EntryKind.Init, value: Uint8Array.of(2)}))
  malformed('Init value of 2 bytes', layout({author: a, seq: varint(0), kind: EntryKind.Init, value: Uint8Array.of(1, 0)}))
  malformed('Json value that is not JSON', layout({author: a, seq: varint(0), value: utf8('{"text":')}))
  malformed('Json value starting with a byte-order mark', layout({author: a, seq: varint(0), value: Uint8Array.of(0xef, 0xbb, 0xbf, 0x31)}))
  malformed('Json value that is not UTF-8', layout({author: a, seq: varint(0), value: Uint8Array.of(0x22, 0xff, 0x22)}))
  malformed('trailing byte', concat([hello.bytes, Uint8Array.of(0)]))
  malformed('truncated entry (signature cut short)', hello.bytes.subarray(0, hello.bytes.length - 1))
  malformed('truncated entry (inside the author)', hello.bytes.subarray(0, 20))
  malformed('a value longer than the bytes left', layout({author: a, seq: varint(0), valueLength: varint(3), value: json}))
  bad('a run of two authors', [hello.bytes, first.bytes], 'ERR_MALFORMED_MESSAGE')
  bad('value over maxValueBytes (100)', [layout({author: a, seq: varint(0), kind: EntryKind.Bytes, value: new Uint8Array(101)})],
    'ERR_MESSAGE_TOO_LARGE', 100)
  bad('a value length claiming 2^40 bytes', [layout({author: a, seq: varint(0), kind: EntryKind.Bytes, valueLength: varint(2 ** 40), value: new Uint8Array(0)})],
    'ERR_MESSAGE_TOO_LARGE')
  const forged = hello.bytes.slice()
  forged[forged.length - 1] ^= 1
  bad('forged signature', [forged], 'ERR_INVALID_SIGNATURE')
  const wrongSigner = encodeEntry(hello, await writer.sign(signedMessage(hello.hash)))
  bad('signature by another key', [wrongSigner], 'ERR_INVALID_SIGNATURE')
  bad('an unsigned entry alone', [admit.bytes], 'ERR_INVALID_SIGNATURE')
  invalid.push({name: 'an entry of another log', log: toHex(openLog), entries: [toHex(hello.bytes)], code: 'ERR_INVALID_SIGNATURE'})
  bad('a run whose chain breaks (prev is not the hash before)', [init.bytes,
    (await createEntry(log, {...base, author: log, seq: 1, prev: fakeHash(9), kind: EntryKind.Json, value: json}, owner)).bytes],
  'ERR_HASH_MISMATCH')
  return {valid, invalid}
}

export async function vectorsText(): Promise<string> {
  return JSON.stringify(await buildVectors(), null, 2) + '\n'
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const text = await vectorsText()
  if (process.argv.includes('--check')) {
    if (await readFile(VECTORS_FILE, 'utf8') !== text) {
      console.error(`${VECTORS_FILE} differs from what scripts/log-vectors.ts makes`)
      process.exit(1)
    }
  } else {
    await writeFile(VECTORS_FILE, text)
  }
}
