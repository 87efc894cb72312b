// Signed mutable records (src/core/dht/records.ts) and their messages: what a
// record binds, the bytes on the wire refused unless exact, and what a storing
// node keeps (the highest sequence number, for RECORD_TTL after the last put).
import {describe, test} from 'node:test'
import assert from 'node:assert/strict'
import {KeyPairIdentity} from '../../src/core/crypto/seed-identity.js'
import {toHex, utf8} from '../../src/core/bytes.js'
import {
  MAX_RECORD_VALUE, MAX_SALT, RECORD_TTL, RecordStore, createRecord, decodeRecord, encodeRecord, recordTarget, verifyRecord,
} from '../../src/core/dht/records.js'
import {DhtMessageType, decodeDhtMessage, encodeGet, encodePut, encodeValue} from '../../src/core/dht/messages.js'

const writer = new KeyPairIdentity(new Uint8Array(32).fill(41))
const other = new KeyPairIdentity(new Uint8Array(32).fill(42))
const code = (fn: () => unknown) => {
  try {
    fn()
  } catch (err) {
    return (err as {code?: string}).code
  }
  return 'no error'
}

describe('DHT records', () => {
  test('a record binds its key, salt, sequence and value: any change breaks the signature; its target is the key and the salt', async () => {
    const record = await createRecord(writer, {salt: utf8('profile'), seq: 3, value: utf8('{"name":"ada"}')})
    assert.equal(await verifyRecord(record), true)
    assert.equal(await verifyRecord({...record, seq: 4}), false)
    assert.equal(await verifyRecord({...record, value: utf8('{"name":"eve"}')}), false)
    assert.equal(await verifyRecord({...record, salt: utf8('other')}), false)
    assert.equal(await verifyRecord({...record, key: other.publicKey}), false)
    const decoded = decodeRecord(encodeRecord(record))
    assert.deepEqual(decoded, record)
    assert.notEqual(toHex(await recordTarget(writer.publicKey, utf8('a'))), toHex(await recordTarget(writer.publicKey, utf8('b'))))
    assert.notEqual(toHex(await recordTarget(writer.publicKey)), toHex(await recordTarget(other.publicKey)))
    await assert.rejects(createRecord(writer, {seq: 1, value: new Uint8Array(MAX_RECORD_VALUE + 1)}), {code: 'ERR_MESSAGE_TOO_LARGE'})
    await assert.rejects(createRecord(writer, {seq: -1, value: new Uint8Array(1)}), {code: 'ERR_INVALID_ARGUMENT'})
    await assert.rejects(createRecord(writer, {salt: new Uint8Array(MAX_SALT + 1), seq: 1, value: new Uint8Array(1)}), {code: 'ERR_INVALID_ARGUMENT'})
  })

  test('on the wire: PUT, GET and VALUE round-trip; a record of the wrong length, a sequence past 2^53, a salt or value too long are refused', async () => {
    const record = await createRecord(writer, {salt: utf8('s'), seq: 7, value: utf8('v')})
    const target = await recordTarget(writer.publicKey, utf8('s'))
    assert.deepEqual(decodeDhtMessage(encodePut(9, record)), {type: DhtMessageType.PUT, id: 9, record})
    assert.deepEqual(decodeDhtMessage(encodeGet(10, target)), {type: DhtMessageType.GET, id: 10, target})
    assert.deepEqual(decodeDhtMessage(encodeValue(11, record)), {type: DhtMessageType.VALUE, id: 11, record})
    assert.deepEqual(decodeDhtMessage(encodeValue(12, null)), {type: DhtMessageType.VALUE, id: 12, record: null})
    const bytes = encodeRecord(record)
    assert.equal(code(() => decodeRecord(bytes.subarray(0, bytes.length - 1))), 'ERR_MALFORMED_MESSAGE')
    assert.equal(code(() => decodeRecord(new Uint8Array([...bytes, 0]))), 'ERR_MALFORMED_MESSAGE')
    const far = Uint8Array.from(bytes)
    new DataView(far.buffer).setBigUint64(32, 2n ** 60n)
    assert.equal(code(() => decodeRecord(far)), 'ERR_MALFORMED_MESSAGE')
    const salty = Uint8Array.from(bytes)
    salty[40] = MAX_SALT + 1
    assert.equal(code(() => decodeRecord(salty)), 'ERR_MALFORMED_MESSAGE')
    const big = Uint8Array.from(bytes)
    new DataView(big.buffer).setUint16(41 + 1, MAX_RECORD_VALUE + 1)
    assert.equal(code(() => decodeRecord(big)), 'ERR_MALFORMED_MESSAGE')
    assert.equal(code(() => decodeDhtMessage(Uint8Array.of(DhtMessageType.VALUE, 0, 0, 0, 1, 0, 5))), 'ERR_MALFORMED_MESSAGE')
    assert.equal(code(() => decodeDhtMessage(Uint8Array.of(DhtMessageType.VALUE, 0, 0, 0, 1, 2))), 'ERR_MALFORMED_MESSAGE')
    assert.equal(code(() => decodeDhtMessage(encodeGet(1, target).subarray(0, 20))), 'ERR_MALFORMED_MESSAGE')
  })

  test('a store keeps the highest sequence: a lower one, or the same with another value, or a bad signature is refused; records go RECORD_TTL after their last put; a full store refuses a new target', async () => {
    let now = 1_000_000
    const store = new RecordStore({now: () => now, max: 2})
    const v = (seq: number, value: string, salt = '') => createRecord(writer, {salt: utf8(salt), seq, value: utf8(value)})
    const target = await recordTarget(writer.publicKey)
    assert.equal(await store.put(await v(5, 'five')), true)
    assert.equal(await store.put(await v(4, 'four')), 'lower sequence')
    assert.equal(await store.put(await v(5, 'FIVE')), 'same sequence, another value')
    assert.equal(await store.put(await v(5, 'five')), true, 'the same record again: kept, its time renewed')
    assert.equal(await store.put({...await v(6, 'six'), value: utf8('sIx')}), 'bad signature')
    assert.equal(store.get(target)?.seq, 5)
    assert.equal(await store.put(await v(6, 'six')), true)
    assert.equal(store.get(target)?.seq, 6)
    assert.equal(await store.put(await v(1, 'a', 'salted')), true)
    assert.equal(await store.put(await createRecord(other, {seq: 1, value: utf8('x')})), 'full')
    now += RECORD_TTL - 1
    assert.equal(store.size, 2)
    now += 1
    assert.equal(store.size, 0)
    assert.equal(store.get(target), undefined)
  })
})
