import {describe, test} from 'node:test'
import assert from 'node:assert/strict'
import {readFile} from 'node:fs/promises'
import {fromHex, toHex, utf8} from '../../src/core/bytes.js'
import {KeyPairIdentity} from '../../src/core/crypto/seed-identity.js'
import {
  EntryKind, MAX_LINKS, MAX_SEQ, authenticateRun, createEntry, decodeEntry, encodeEntry, hashEntry, jsonValue,
  readValue, signedMessage, sortLinks, type DecodedEntry, type Entry, type EntryFields, type EntryKind as Kind,
} from '../../src/core/log/entry.js'
import {readVarint, varintLength, writeVarint} from '../../src/core/log/varint.js'
import {VECTORS_FILE, vectorsText, type InvalidVector, type ValidVector} from '../../scripts/log-vectors.js'
import {isCode} from './helpers.js'

const vectors = JSON.parse(await readFile(VECTORS_FILE, 'utf8')) as {valid: ValidVector[], invalid: InvalidVector[]}

const owner = new KeyPairIdentity(new Uint8Array(32).fill(0x11))
const stranger = new KeyPairIdentity(new Uint8Array(32).fill(0x12))
const LOG = owner.publicKey

function fieldsOf(entry: EntryFields) {
  return {
    author: toHex(entry.author), seq: entry.seq, prev: entry.prev && toHex(entry.prev), links: entry.links.map(toHex),
    time: entry.time, kind: entry.kind, value: toHex(entry.value),
  }
}

/** A run of `length` entries by `identity` from seq 0, signed where `signed(seq)` says. */
async function makeRun(length: number, signed: (seq: number) => boolean, identity = owner): Promise<Entry[]> {
  const run: Entry[] = []
  for (let seq = 0; seq < length; seq++) {
    run.push(await createEntry(LOG, {
      author: identity.publicKey, seq, prev: seq === 0 ? null : run[seq - 1].hash, links: [], time: 1000 + seq,
      kind: EntryKind.Json, value: jsonValue({seq, text: 'x'.repeat(60)}),
    }, identity, {sign: signed(seq)}))
  }
  return run
}

/** What a receiver does: decode the bytes, then authenticate them as one run. */
async function receive(run: Array<Uint8Array>, log = LOG): Promise<Entry[]> {
  return authenticateRun(log, run.map(bytes => decodeEntry(bytes)))
}

describe('log entry vectors (test/vectors/log-entries.json)', () => {
  test('scripts/log-vectors.ts makes the vectors file byte for byte', async () => {
    assert.equal(await vectorsText(), await readFile(VECTORS_FILE, 'utf8'))
  })

  test('every valid vector decodes to its fields, re-encodes to its bytes, hashes to its hash and verifies', async () => {
    assert.ok(vectors.valid.length >= 9)
    for (const vector of vectors.valid) {
      const bytes = fromHex(vector.bytes)
      const decoded = decodeEntry(bytes)
      assert.deepEqual(fieldsOf(decoded), vector.fields, vector.name)
      assert.equal(decoded.signature && toHex(decoded.signature), vector.signature, vector.name)
      assert.equal(toHex(encodeEntry(decoded, decoded.signature)), vector.bytes, vector.name)
      const log = fromHex(vector.log)
      assert.equal(toHex(await hashEntry(log, decoded)), vector.hash, vector.name)
      assert.equal(toHex(await hashEntry(log, bare(decoded))), vector.hash, `${vector.name}: from fields`)
      assert.equal(toHex(KeyPairIdentity.fromSeedHex(vector.seed).publicKey), vector.fields.author, vector.name)
      if (vector.signature) {
        const [entry] = await authenticateRun(log, [decoded])
        assert.equal(toHex(entry.hash), vector.hash)
        assert.equal(toHex(entry.signature!), vector.signature)
        // Ed25519 is deterministic: the author's seed signs the same bytes again.
        const again = await KeyPairIdentity.fromSeedHex(vector.seed).sign(signedMessage(entry.hash))
        assert.equal(toHex(again), vector.signature, vector.name)
      }
    }
  })

  test('every invalid vector fails with its code', async () => {
    assert.ok(vectors.invalid.length >= 30)
    for (const vector of vectors.invalid) {
      const options = vector.maxValueBytes === undefined ? {} : {maxValueBytes: vector.maxValueBytes}
      await assert.rejects(
        async () => authenticateRun(fromHex(vector.log), vector.entries.map(hex => decodeEntry(fromHex(hex), options))),
        isCode(vector.code), vector.name,
      )
    }
  })
})

/** The fields alone (no bytes), so hashEntry has to encode them. */
function bare({author, seq, prev, links, time, kind, value}: EntryFields): EntryFields {
  return {author, seq, prev, links, time, kind, value}
}

describe('authenticateRun', () => {
  test('accepts a 300-entry run signed only at the end, with one hash per entry', async () => {
    const run = await makeRun(300, seq => seq === 299)
    const entries = await receive(run.map(entry => entry.bytes))
    assert.equal(entries.length, 300)
    for (let i = 0; i < 300; i++) {
      assert.equal(toHex(entries[i].hash), toHex(run[i].hash))
      assert.equal(toHex(entries[i].bytes), toHex(run[i].bytes))
    }
    assert.equal(toHex(entries[299].signature!), toHex(run[299].signature!))
  })

  test('drops inner signatures it did not check: the entry comes back unsigned, its bytes without one', async () => {
    const run = await makeRun(5, seq => seq === 2 || seq === 4)
    const entries = await receive(run.map(entry => entry.bytes))
    assert.equal(entries[2].signature, null)
    assert.equal(toHex(entries[2].bytes), toHex(encodeEntry(run[2])))
    assert.equal(toHex(entries[2].hash), toHex(run[2].hash))
    assert.deepEqual(decodeEntry(entries[2].bytes).signature, null)
    assert.equal(toHex(entries[4].signature!), toHex(run[4].signature!))
  })

  test('rejects a run with any byte flipped in any entry', async () => {
    const run = await makeRun(4, seq => seq === 3)
    const bytes = run.map(entry => entry.bytes)
    let flips = 0
    for (let i = 0; i < bytes.length; i++) {
      for (let at = 0; at < bytes[i].length; at++) {
        for (const bit of [0x01, 0x80]) {
          const changed = bytes.map(b => b.slice())
          changed[i][at] ^= bit
          await assert.rejects(receive(changed), (err: unknown) => {
            assert.ok(['ERR_MALFORMED_MESSAGE', 'ERR_HASH_MISMATCH', 'ERR_INVALID_SIGNATURE', 'ERR_MESSAGE_TOO_LARGE']
              .includes((err as {code?: string}).code!), `entry ${i} byte ${at}: ${String(err)}`)
            return true
          })
          flips++
        }
      }
    }
    assert.ok(flips > 1000)
    // In a long run too: a change at the start is caught by the chain, not by a signature on it.
    const long = await makeRun(300, seq => seq === 299)
    for (const i of [0, 1, 150, 298]) {
      const changed = long.map(entry => entry.bytes.slice())
      changed[i][changed[i].length - 3] ^= 1
      await assert.rejects(receive(changed), isCode('ERR_HASH_MISMATCH', new RegExp(`entry ${i + 1} does not follow`)))
    }
  })

  test('rejects a forged last signature', async () => {
    const run = await makeRun(300, seq => seq === 299)
    const forged = encodeEntry(run[299], await stranger.sign(signedMessage(run[299].hash)))
    await assert.rejects(receive([...run.slice(0, 299).map(e => e.bytes), forged]), isCode('ERR_INVALID_SIGNATURE'))
  })

  test('rejects a run with a gap', async () => {
    const run = await makeRun(6, seq => seq === 2 || seq === 5)
    await assert.rejects(receive([run[0], run[1], run[2], run[4], run[5]].map(e => e.bytes)),
      isCode('ERR_MALFORMED_MESSAGE', /consecutive: 4 after 2/))
  })

  test('rejects a run of two authors', async () => {
    const mine = await makeRun(2, () => true)
    const theirs = await makeRun(3, () => true, stranger)
    await assert.rejects(receive([mine[0].bytes, mine[1].bytes, theirs[2].bytes]), isCode('ERR_MALFORMED_MESSAGE', /one author/))
  })

  test('rejects a run whose last entry is unsigned', async () => {
    const run = await makeRun(3, seq => seq === 1)
    await assert.rejects(receive(run.map(e => e.bytes)), isCode('ERR_INVALID_SIGNATURE', /ends in a signed entry/))
  })

  test('rejects an entry of one log replayed into another', async () => {
    const run = await makeRun(1, () => true)
    await assert.rejects(receive([run[0].bytes], stranger.publicKey), isCode('ERR_INVALID_SIGNATURE'))
  })

  test('an empty run is nothing to authenticate', async () => {
    assert.deepEqual(await authenticateRun(LOG, []), [])
  })
})

/** A small seeded generator (mulberry32), so a failure names a case that can be run again. */
function seeded(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32
  }
}

describe('entry encoding', () => {
  test('random fields round-trip through encode and decode, signed or not', () => {
    const random = seeded(17)
    const int = (max: number) => Math.floor(random() * (max + 1))
    const bytes = (n: number) => Uint8Array.from({length: n}, () => int(255))
    const numbers = [0, 1, 127, 128, 16383, 16384, 2 ** 31, MAX_SEQ]
    for (let i = 0; i < 2000; i++) {
      const seq = random() < 0.3 ? numbers[int(numbers.length - 1)] : int(MAX_SEQ)
      const prev = seq === 0 ? null : bytes(32)
      const kind = int(4) as Kind
      const value = kind === EntryKind.Json ? jsonValue({n: random(), s: String.fromCharCode(...bytes(int(20)))})
        : kind === EntryKind.Bytes ? bytes(int(300))
        : kind === EntryKind.Init ? Uint8Array.of(int(1))
        : bytes(32)
      const fields: EntryFields = {
        author: bytes(32), seq, prev, links: sortLinks(Array.from({length: int(MAX_LINKS)}, () => bytes(32))),
        time: random() < 0.2 ? Number.MAX_SAFE_INTEGER : Math.floor(random() * 2 ** 53), kind, value,
      }
      const signature = random() < 0.5 ? bytes(64) : null
      const encoded = encodeEntry(fields, signature)
      const decoded: DecodedEntry = decodeEntry(encoded)
      assert.deepEqual(fieldsOf(decoded), fieldsOf(fields), `case ${i}`)
      assert.equal(decoded.signature && toHex(decoded.signature), signature && toHex(signature))
      assert.equal(toHex(encodeEntry(decoded, decoded.signature)), toHex(encoded))
    }
  })

  test('varints: every length from 1 to 8 bytes round-trips, minimal; past 2^53 - 1 is refused', () => {
    for (let bits = 0; bits <= 53; bits++) {
      for (const n of [2 ** bits - 1, Math.min(2 ** bits, Number.MAX_SAFE_INTEGER)]) {
        const buf = new Uint8Array(varintLength(n))
        assert.equal(writeVarint(n, buf, 0), buf.length)
        const cursor = {value: -1, offset: 0}
        readVarint(buf, cursor)
        assert.deepEqual(cursor, {value: n, offset: buf.length}, `2^${bits}`)
        assert.ok(buf.length === 1 || buf[buf.length - 1] !== 0)
      }
    }
    assert.equal(varintLength(Number.MAX_SAFE_INTEGER), 8)
    assert.throws(() => readVarint(Uint8Array.of(0x80, 0x80), {value: 0, offset: 0}), isCode('ERR_MALFORMED_MESSAGE', /truncated/))
  })

  test('fields that break a rule are refused at encode time, so this page never makes an entry peers refuse', () => {
    const fields: EntryFields = {author: LOG, seq: 1, prev: new Uint8Array(32), links: [], time: 5, kind: EntryKind.Json, value: utf8('1')}
    const refused: Array<[string, Partial<EntryFields>]> = [
      ['author of 31 bytes', {author: new Uint8Array(31)}],
      ['seq past the last', {seq: MAX_SEQ + 1}],
      ['seq 0 with a prev', {seq: 0}],
      ['no prev after seq 0', {prev: null}],
      ['negative time', {time: -1}],
      ['fractional time', {time: 1.5}],
      ['unsorted links', {links: [new Uint8Array(32).fill(2), new Uint8Array(32).fill(1)]}],
      ['a link equal to prev', {links: [new Uint8Array(32)]}],
      ['17 links', {links: sortLinks(Array.from({length: 17}, (_, i) => new Uint8Array(32).fill(i + 1)))}],
      ['unknown kind', {kind: 9 as Kind}],
      ['a Json value that is not JSON', {value: utf8('{')}],
      ['an Admit value of 31 bytes', {kind: EntryKind.Admit, value: new Uint8Array(31)}],
    ]
    for (const [name, change] of refused) {
      assert.throws(() => encodeEntry({...fields, ...change}), isCode('ERR_INVALID_ARGUMENT'), name)
    }
    assert.throws(() => encodeEntry(fields, new Uint8Array(63)), isCode('ERR_INVALID_ARGUMENT', /signature/))
    assert.equal(decodeEntry(encodeEntry(fields)).seq, 1)
  })

  test('the value bound is the decoder\'s option', () => {
    const fields: EntryFields = {author: LOG, seq: 0, prev: null, links: [], time: 0, kind: EntryKind.Bytes, value: new Uint8Array(65536)}
    assert.equal(decodeEntry(encodeEntry(fields)).value.length, 65536)
    const over = encodeEntry({...fields, value: new Uint8Array(65537)})
    assert.throws(() => decodeEntry(over), isCode('ERR_MESSAGE_TOO_LARGE'))
    assert.equal(decodeEntry(over, {maxValueBytes: 65537}).value.length, 65537)
  })

  test('decoding copies nothing: the byte fields are views into the bytes given', () => {
    const fields: EntryFields = {author: LOG, seq: 1, prev: new Uint8Array(32).fill(3), links: [new Uint8Array(32).fill(4)],
      time: 9, kind: EntryKind.Bytes, value: utf8('value')}
    const bytes = encodeEntry(fields, new Uint8Array(64).fill(5))
    const decoded = decodeEntry(bytes)
    for (const part of [decoded.author, decoded.prev!, decoded.links[0], decoded.value, decoded.signature!]) {
      assert.equal(part.buffer, bytes.buffer)
    }
  })
})

describe('createEntry and values', () => {
  test('an entry is made by its author only', async () => {
    const fields: EntryFields = {author: LOG, seq: 0, prev: null, links: [], time: 0, kind: EntryKind.Json, value: jsonValue(1)}
    await assert.rejects(createEntry(LOG, fields, stranger), isCode('ERR_INVALID_ARGUMENT', /its author/))
    const unsigned = await createEntry(LOG, fields, owner, {sign: false})
    assert.equal(unsigned.signature, null)
    assert.equal(toHex(unsigned.bytes), toHex(encodeEntry(fields)))
  })

  test('a log address is 32 bytes', async () => {
    const fields: EntryFields = {author: LOG, seq: 0, prev: null, links: [], time: 0, kind: EntryKind.Json, value: jsonValue(1)}
    await assert.rejects(hashEntry(new Uint8Array(31), fields), isCode('ERR_INVALID_ARGUMENT', /log address/))
  })

  test('JSON in, JSON or bytes out', () => {
    const value = {text: 'héllo', n: [1, 2.5, null], ok: true}
    assert.deepEqual(readValue({author: LOG, seq: 0, prev: null, links: [], time: 0, kind: EntryKind.Json, value: jsonValue(value)}), value)
    const bytes = Uint8Array.of(1, 2, 3)
    assert.equal(readValue({author: LOG, seq: 0, prev: null, links: [], time: 0, kind: EntryKind.Bytes, value: bytes}), bytes)
    assert.throws(() => jsonValue(undefined), isCode('ERR_INVALID_ARGUMENT'))
    const cyclic: Record<string, unknown> = {}
    cyclic.self = cyclic
    assert.throws(() => jsonValue(cyclic), isCode('ERR_INVALID_ARGUMENT'))
    assert.throws(() => jsonValue(10n), isCode('ERR_INVALID_ARGUMENT'))
  })
})
