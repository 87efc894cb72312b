import {expect} from '@open-wc/testing'
import {fromHex, toHex} from '../../src/core/bytes.js'
import {P2PError} from '../../src/core/errors.js'
import {KeyPairIdentity} from '../../src/core/crypto/seed-identity.js'
import {
  EntryKind, authenticateRun, createEntry, decodeEntry, encodeEntry, hashEntry, jsonValue, signedMessage,
  type Entry, type EntryFields,
} from '../../src/core/log/entry.js'

// The same vectors the Node test runs, fetched from the dev server: the browser's
// WebCrypto (SHA-256, Ed25519) must agree with Node's byte for byte.
interface Vectors {
  valid: Array<{name: string, seed: string, log: string, fields: Record<string, unknown>, bytes: string, hash: string, signature: string | null}>
  invalid: Array<{name: string, log: string, entries: string[], maxValueBytes?: number, code: string}>
}

async function loadVectors(): Promise<Vectors> {
  const response = await fetch(new URL('../vectors/log-entries.json', import.meta.url))
  expect(response.ok, 'the vectors file is served').to.equal(true)
  return response.json() as Promise<Vectors>
}

function fieldsOf(entry: EntryFields) {
  return {
    author: toHex(entry.author), seq: entry.seq, prev: entry.prev && toHex(entry.prev), links: entry.links.map(toHex),
    time: entry.time, kind: entry.kind, value: toHex(entry.value),
  }
}

/** The code `promise` rejects with (it must reject with a P2PError). */
async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise
  } catch (err) {
    expect(err).to.be.instanceOf(P2PError)
    return (err as P2PError).code
  }
  throw new Error('expected a rejection')
}

const owner = new KeyPairIdentity(new Uint8Array(32).fill(0x11))
const stranger = new KeyPairIdentity(new Uint8Array(32).fill(0x12))
const LOG = owner.publicKey

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

async function receive(run: Uint8Array[], log = LOG): Promise<Entry[]> {
  return authenticateRun(log, run.map(bytes => decodeEntry(bytes)))
}

describe('log entry', () => {
  it('every valid vector decodes, re-encodes byte for byte, hashes and verifies', async () => {
    const {valid} = await loadVectors()
    expect(valid.length).to.be.greaterThan(8)
    for (const vector of valid) {
      const decoded = decodeEntry(fromHex(vector.bytes))
      expect(fieldsOf(decoded), vector.name).to.deep.equal(vector.fields)
      expect(toHex(encodeEntry(decoded, decoded.signature)), vector.name).to.equal(vector.bytes)
      const log = fromHex(vector.log)
      expect(toHex(await hashEntry(log, decoded)), vector.name).to.equal(vector.hash)
      if (vector.signature) {
        const [entry] = await authenticateRun(log, [decoded])
        expect(toHex(entry.signature!)).to.equal(vector.signature)
        const again = await KeyPairIdentity.fromSeedHex(vector.seed).sign(signedMessage(entry.hash))
        expect(toHex(again), vector.name).to.equal(vector.signature)
      }
    }
  })

  it('every invalid vector fails with its code', async () => {
    const {invalid} = await loadVectors()
    expect(invalid.length).to.be.greaterThan(29)
    for (const vector of invalid) {
      const options = vector.maxValueBytes === undefined ? {} : {maxValueBytes: vector.maxValueBytes}
      const code = await codeOf((async () =>
        authenticateRun(fromHex(vector.log), vector.entries.map(hex => decodeEntry(fromHex(hex), options))))())
      expect(code, vector.name).to.equal(vector.code)
    }
  })

  it('authenticates a 300-entry run signed only at the end, and drops nothing but inner signatures', async () => {
    const run = await makeRun(300, seq => seq === 299 || seq === 100)
    const entries = await receive(run.map(entry => entry.bytes))
    expect(entries.map(e => toHex(e.hash))).to.deep.equal(run.map(e => toHex(e.hash)))
    expect(entries[100].signature).to.equal(null)
    expect(toHex(entries[100].bytes)).to.equal(toHex(encodeEntry(run[100])))
    expect(toHex(entries[299].signature!)).to.equal(toHex(run[299].signature!))
  })

  it('refuses a run with a flipped byte, a forged last signature, a gap, two authors or an unsigned end', async () => {
    const run = await makeRun(300, seq => seq === 299)
    const bytes = run.map(entry => entry.bytes)
    for (const i of [0, 150, 298]) {
      const changed = bytes.map(b => b.slice())
      changed[i][changed[i].length - 3] ^= 1
      expect(await codeOf(receive(changed)), `entry ${i} changed`).to.equal('ERR_HASH_MISMATCH')
    }
    const lastChanged = bytes.map(b => b.slice())
    lastChanged[299][lastChanged[299].length - 64 - 3] ^= 1
    expect(await codeOf(receive(lastChanged))).to.equal('ERR_INVALID_SIGNATURE')
    const forged = encodeEntry(run[299], await stranger.sign(signedMessage(run[299].hash)))
    expect(await codeOf(receive([...bytes.slice(0, 299), forged]))).to.equal('ERR_INVALID_SIGNATURE')
    expect(await codeOf(receive([...bytes.slice(0, 10), ...bytes.slice(11)]))).to.equal('ERR_MALFORMED_MESSAGE')
    const theirs = await makeRun(2, () => true, stranger)
    expect(await codeOf(receive([bytes[0], theirs[1].bytes]))).to.equal('ERR_MALFORMED_MESSAGE')
    expect(await codeOf(receive(bytes.slice(0, 299)))).to.equal('ERR_INVALID_SIGNATURE')
    // Replayed into another log, the run's chain breaks first: each hash covers the log.
    expect(await codeOf(receive(bytes, stranger.publicKey))).to.equal('ERR_HASH_MISMATCH')
  })
})
