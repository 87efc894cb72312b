import {describe, test} from 'node:test'
import assert from 'node:assert/strict'
import {
  DEFAULT_MAX_MESSAGE_BYTES, FLAG_OFFER, FLAG_SIGNED, GossipFrameType, HOPS_OFFSET, MAX_BATCH_IDS, SIGNATURE_DOMAIN,
  decodeGossipFrame, encodeData, encodeGraft, encodeIHave, encodePrune, signedBytes, topicBytes, withHops,
  type DataFrame, type GossipFrame,
} from '../../src/core/gossip/messages.js'
import {P2PError} from '../../src/core/errors.js'
import {concat, toHex, utf8} from '../../src/core/bytes.js'

const ID = '0123456789abcdef'
const KEY = new Uint8Array(32).fill(7)
const SIG = new Uint8Array(64).fill(9)

function expectCode(fn: () => unknown, code: string, what?: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof P2PError, `expected a P2PError, got ${String(err)}`)
    assert.equal(err.code, code)
    if (what) assert.match(err.message, what)
    return true
  })
}

function malformed(bytes: Uint8Array, what?: RegExp, max?: number): void {
  expectCode(() => decodeGossipFrame(bytes, max), 'ERR_MALFORMED_MESSAGE', what)
}

function asData(frame: GossipFrame): DataFrame {
  assert.equal(frame.type, GossipFrameType.DATA)
  return frame as DataFrame
}

describe('gossip messages: round trips', () => {
  test('an unsigned DATA frame keeps id, hops, topic and payload', () => {
    const payload = utf8('hello')
    const bytes = encodeData({id: ID, hops: 3, topic: 'chat', payload})
    assert.equal(bytes[0], GossipFrameType.DATA)
    assert.equal(bytes.length, 1 + 8 + 1 + 1 + 4 + 5)
    const frame = asData(decodeGossipFrame(bytes))
    assert.equal(frame.id, ID)
    assert.equal(frame.hops, 3)
    assert.equal(frame.topic, 'chat')
    assert.equal(frame.author, null)
    assert.equal(frame.signature, null)
    assert.deepEqual([...frame.payload], [...payload])
  })

  test('a signed DATA frame carries the author key and signature', () => {
    const bytes = encodeData({id: ID, hops: 0, topic: 'τόπος', payload: new Uint8Array([1, 2]), author: KEY, signature: SIG})
    assert.equal(bytes[0], GossipFrameType.DATA | FLAG_SIGNED)
    const frame = asData(decodeGossipFrame(bytes))
    assert.equal(frame.topic, 'τόπος')
    assert.deepEqual([...frame.author!], [...KEY])
    assert.deepEqual([...frame.signature!], [...SIG])
    assert.deepEqual([...frame.payload], [1, 2])
  })

  test('an empty payload, the longest topic and the largest payload round-trip', () => {
    const topic = 'é'.repeat(127) + 'x'
    assert.equal(topicBytes(topic).length, 255)
    const empty = asData(decodeGossipFrame(encodeData({id: ID, hops: 255, topic, payload: new Uint8Array(0)})))
    assert.equal(empty.payload.length, 0)
    assert.equal(empty.hops, 255)
    assert.equal(empty.topic, topic)
    const big = new Uint8Array(DEFAULT_MAX_MESSAGE_BYTES).fill(5)
    assert.equal(asData(decodeGossipFrame(encodeData({id: ID, hops: 1, topic: 't', payload: big}))).payload.length, big.length)
  })

  test('a topic starting with a byte order mark stays distinct from one without', () => {
    const frame = asData(decodeGossipFrame(encodeData({id: ID, hops: 0, topic: '\uFEFFchat', payload: new Uint8Array(0)})))
    assert.equal(frame.topic, '\uFEFFchat')
  })

  test('withHops rewrites the hop count of a copy only', () => {
    const original = encodeData({id: ID, hops: 1, topic: 't', payload: utf8('x')})
    const relayed = withHops(original, 7)
    assert.equal(original[HOPS_OFFSET], 1)
    assert.equal(asData(decodeGossipFrame(relayed)).hops, 7)
    expectCode(() => withHops(encodePrune(), 1), 'ERR_INVALID_ARGUMENT')
  })

  test('IHAVE, GRAFT and PRUNE round-trip', () => {
    const entries = [{id: ID, hops: 2}, {id: 'ffffffffffffffff', hops: 0}]
    assert.deepEqual(decodeGossipFrame(encodeIHave(entries)), {type: GossipFrameType.IHAVE, entries, offer: false})
    const offered = [{id: ID, hops: 2, age: 0}, {id: 'ffffffffffffffff', hops: 0, age: 4_000_000_000}]
    const offer = encodeIHave(offered, true)
    assert.equal(offer[0], GossipFrameType.IHAVE | FLAG_OFFER)
    assert.equal(offer.length, 2 + 2 * 13)
    assert.deepEqual(decodeGossipFrame(offer), {type: GossipFrameType.IHAVE, entries: offered, offer: true})
    assert.deepEqual(decodeGossipFrame(encodeGraft([ID])), {type: GossipFrameType.GRAFT, ids: [ID]})
    assert.deepEqual(decodeGossipFrame(encodeGraft([])), {type: GossipFrameType.GRAFT, ids: []})
    assert.deepEqual(decodeGossipFrame(encodePrune()), {type: GossipFrameType.PRUNE})
    const full = Array.from({length: MAX_BATCH_IDS}, (_, i) => ({id: i.toString(16).padStart(16, '0'), hops: i}))
    assert.equal((decodeGossipFrame(encodeIHave(full)) as {entries: unknown[]}).entries.length, MAX_BATCH_IDS)
  })

  test('the signed bytes are domain, id, topic length, topic and payload; hops are not in them', () => {
    const signed = signedBytes(ID, 'ab', utf8('c'))
    const expected = concat([utf8(SIGNATURE_DOMAIN), new Uint8Array([1, 35, 69, 103, 137, 171, 205, 239]), new Uint8Array([2]), utf8('abc')])
    assert.equal(toHex(signed), toHex(expected))
    // Moving a byte between topic and payload changes what is signed.
    assert.notEqual(toHex(signedBytes(ID, 'a', utf8('bc'))), toHex(signed))
  })
})

describe('gossip messages: encoders refuse misuse', () => {
  test('bad ids, hops, topics, keys and batches are INVALID_ARGUMENT', () => {
    const base = {id: ID, hops: 0, topic: 't', payload: new Uint8Array(0)}
    expectCode(() => encodeData({...base, id: 'xyz'}), 'ERR_INVALID_ARGUMENT')
    expectCode(() => encodeData({...base, id: ID.toUpperCase()}), 'ERR_INVALID_ARGUMENT')
    expectCode(() => encodeData({...base, hops: 256}), 'ERR_INVALID_ARGUMENT')
    expectCode(() => encodeData({...base, hops: -1}), 'ERR_INVALID_ARGUMENT')
    expectCode(() => encodeData({...base, topic: ''}), 'ERR_INVALID_ARGUMENT')
    expectCode(() => encodeData({...base, topic: 'x'.repeat(256)}), 'ERR_INVALID_ARGUMENT')
    expectCode(() => encodeData({...base, topic: 'lone \uD800 surrogate'}), 'ERR_INVALID_ARGUMENT')
    expectCode(() => encodeData({...base, author: KEY}), 'ERR_INVALID_ARGUMENT')
    expectCode(() => encodeData({...base, author: KEY, signature: SIG.subarray(1)}), 'ERR_INVALID_ARGUMENT')
    expectCode(() => encodeIHave([]), 'ERR_INVALID_ARGUMENT')
    expectCode(() => encodeIHave([{id: ID, hops: 0}], true), 'ERR_INVALID_ARGUMENT')
    expectCode(() => encodeGraft(Array(MAX_BATCH_IDS + 1).fill(ID)), 'ERR_INVALID_ARGUMENT')
  })
})

describe('gossip messages: every malformed frame is a typed error', () => {
  const data = encodeData({id: ID, hops: 1, topic: 'chat', payload: utf8('hi')})
  const signed = encodeData({id: ID, hops: 1, topic: 'chat', payload: utf8('hi'), author: KEY, signature: SIG})

  test('empty frames and unknown types', () => {
    malformed(new Uint8Array(0), /empty/)
    malformed(new Uint8Array([4]), /unknown frame type/)
    malformed(new Uint8Array([15]), /unknown frame type/)
  })

  test('unknown flags on any type', () => {
    malformed(Uint8Array.from([0x40, ...data.subarray(1)]), /flags/)
    malformed(Uint8Array.from([GossipFrameType.PRUNE | 0x80]), /flags/)
    malformed(Uint8Array.from([GossipFrameType.GRAFT | 0x10, 0]), /flags/)
  })

  test('DATA truncated anywhere before its payload', () => {
    // Every cut that ends inside the header or the topic: the id, hops, topic length, topic.
    for (let end = 1; end < 1 + 8 + 1 + 1 + 4; end++) malformed(data.subarray(0, end))
    // Every cut inside the author key and signature of a signed frame.
    for (let end = 15; end < 15 + 96; end++) malformed(signed.subarray(0, end), /truncated/)
  })

  test('DATA with an empty or non-UTF-8 topic', () => {
    const empty = data.slice(0, 11)
    empty[10] = 0
    malformed(empty, /empty topic/)
    const bad = data.slice()
    bad[11] = 0xff
    malformed(bad, /UTF-8/)
    const overlong = data.slice()
    overlong.set([0xc0, 0x80], 11)
    malformed(overlong, /UTF-8/)
  })

  test('DATA whose topic length runs past the frame', () => {
    const bytes = data.slice()
    bytes[10] = 200
    malformed(bytes, /truncated topic/)
  })

  test('an oversized payload is MESSAGE_TOO_LARGE, against the limit given', () => {
    const bytes = encodeData({id: ID, hops: 0, topic: 't', payload: new Uint8Array(101)})
    expectCode(() => decodeGossipFrame(bytes, 100), 'ERR_MESSAGE_TOO_LARGE', /101 bytes exceeds 100/)
    assert.equal(asData(decodeGossipFrame(bytes, 101)).payload.length, 101)
    const huge = encodeData({id: ID, hops: 0, topic: 't', payload: new Uint8Array(DEFAULT_MAX_MESSAGE_BYTES + 1)})
    expectCode(() => decodeGossipFrame(huge), 'ERR_MESSAGE_TOO_LARGE')
  })

  test('IHAVE and GRAFT with counts out of bounds, truncated or with trailing bytes', () => {
    malformed(new Uint8Array([GossipFrameType.IHAVE]), /truncated/)
    malformed(new Uint8Array([GossipFrameType.IHAVE, 0]), /0 ids/)
    malformed(new Uint8Array([GossipFrameType.IHAVE, MAX_BATCH_IDS + 1, ...new Uint8Array(9 * (MAX_BATCH_IDS + 1))]), /ids/)
    const ihave = encodeIHave([{id: ID, hops: 1}])
    malformed(ihave.subarray(0, ihave.length - 1), /truncated/)
    malformed(concat([ihave, new Uint8Array([0])]), /trailing/)
    // The same entries read as an offer are short of their ages.
    malformed(Uint8Array.from([ihave[0] | FLAG_OFFER, ...ihave.subarray(1)]), /truncated/)
    malformed(Uint8Array.from([ihave[0] | 0x40, ...ihave.subarray(1)]), /flags/)
    malformed(new Uint8Array([GossipFrameType.GRAFT]), /truncated/)
    const graft = encodeGraft([ID, ID])
    malformed(graft.subarray(0, graft.length - 3), /truncated/)
    malformed(concat([graft, new Uint8Array([1])]), /trailing/)
    malformed(new Uint8Array([GossipFrameType.GRAFT, 255, ...new Uint8Array(8 * 255)]), /ids/)
  })

  test('PRUNE with trailing bytes', () => {
    malformed(new Uint8Array([GossipFrameType.PRUNE, 0]), /trailing/)
  })

  test('random bytes never escape as anything but a P2PError', () => {
    let x = 12345
    const next = () => (x = (Math.imul(x, 1103515245) + 12345) >>> 0) >>> 24
    // Seeded, so the same frames every run: none of them is a well-formed DATA frame over
    // the limit (MESSAGE_TOO_LARGE has its own tests), so every error is MALFORMED_MESSAGE.
    for (let i = 0; i < 5000; i++) {
      const bytes = Uint8Array.from({length: next() % 40}, next)
      try {
        decodeGossipFrame(bytes, 16)
      } catch (err) {
        assert.ok(err instanceof P2PError, `threw ${String(err)} for ${toHex(bytes)}`)
        assert.equal(err.code, 'ERR_MALFORMED_MESSAGE', toHex(bytes))
      }
    }
  })
})
