import {describe, test} from 'node:test'
import assert from 'node:assert/strict'
import {
  encodeDontHave,
  Bitfield, FileMessageType, MANIFEST_INDEX, MAX_BATCH_REQUESTS, RejectReason, decodeFileMessage, encodeCancel,
  encodeChunk, encodeHave, encodeHaveChunk, encodeManifestMessage, encodeManifestRequest, encodeReject, encodeRequest,
  encodeRequestBatch, type FileMessage,
} from '../../src/core/files/messages.js'
import {MAX_CHUNKS, MAX_CHUNK_SIZE, MAX_MANIFEST_BYTES} from '../../src/core/files/manifest.js'
import {concat, fromHex} from '../../src/core/bytes.js'
import {isCode} from './helpers.js'

const ID = 'ab'.repeat(32)

function malformed(bytes: Uint8Array, what?: RegExp): void {
  assert.throws(() => decodeFileMessage(bytes), isCode('ERR_MALFORMED_MESSAGE', what))
}

/** A message as a hostile peer could write it: type, id, then any body. */
function handmade(type: number, ...body: number[][]): Uint8Array {
  return concat([new Uint8Array([type]), fromHex(ID), ...body.map((b) => new Uint8Array(b))])
}

function u32(n: number): number[] {
  return [(n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff]
}

function roundTrip(bytes: Uint8Array): FileMessage {
  const message = decodeFileMessage(bytes)
  assert.equal(message.id, ID)
  assert.equal(bytes[0], message.type)
  assert.deepEqual(bytes.subarray(1, 33), fromHex(ID))
  return message
}

describe('file messages: round trips', () => {
  test('MANIFEST_REQUEST is a type byte and the raw id', () => {
    const bytes = encodeManifestRequest(ID)
    assert.equal(bytes.length, 33)
    assert.deepEqual(roundTrip(bytes), {type: FileMessageType.MANIFEST_REQUEST, id: ID})
  })

  test('MANIFEST carries the manifest bytes untouched', () => {
    const manifest = new Uint8Array([1, 2, 3, 4])
    assert.deepEqual(roundTrip(encodeManifestMessage(ID, manifest)), {type: FileMessageType.MANIFEST, id: ID, manifest})
  })

  test('HAVE carries a bitfield with its length', () => {
    const field = new Bitfield(11)
    field.set(0)
    field.set(10)
    const message = roundTrip(encodeHave(ID, field))
    assert.equal(message.type, FileMessageType.HAVE)
    if (message.type !== FileMessageType.HAVE) return
    assert.equal(message.bitfield.length, 11)
    assert.deepEqual(message.bitfield.toBytes(), field.toBytes())
    assert.equal(message.bitfield.count(), 2)
  })

  test('an empty HAVE (a 0-byte file) round trips', () => {
    const message = roundTrip(encodeHave(ID, new Bitfield(0)))
    assert.ok(message.type === FileMessageType.HAVE && message.bitfield.isComplete())
  })

  test('DONT_HAVE round trips and is exactly a header', () => {
    const bytes = encodeDontHave(ID)
    assert.deepEqual(roundTrip(bytes), {type: FileMessageType.DONT_HAVE, id: ID})
    assert.throws(() => decodeFileMessage(Uint8Array.from([...bytes, 0])), isCode('ERR_MALFORMED_MESSAGE', /DONT_HAVE/))
  })

  test('indexed messages keep their index, up to the last possible chunk', () => {
    for (const index of [0, 1, 300, MAX_CHUNKS - 1]) {
      assert.deepEqual(roundTrip(encodeHaveChunk(ID, index)), {type: FileMessageType.HAVE_CHUNK, id: ID, index})
      assert.deepEqual(roundTrip(encodeRequest(ID, index)), {type: FileMessageType.REQUEST, id: ID, index})
      assert.deepEqual(roundTrip(encodeCancel(ID, index)), {type: FileMessageType.CANCEL, id: ID, index})
    }
  })

  test('REQUEST_BATCH keeps its indexes in order', () => {
    const indexes = [5, 1, 9, MAX_CHUNKS - 1]
    assert.deepEqual(roundTrip(encodeRequestBatch(ID, indexes)), {type: FileMessageType.REQUEST_BATCH, id: ID, indexes})
  })

  test('CHUNK carries index and bytes, up to the largest chunk', () => {
    const bytes = new Uint8Array(MAX_CHUNK_SIZE).fill(7)
    const message = roundTrip(encodeChunk(ID, 3, bytes))
    assert.ok(message.type === FileMessageType.CHUNK)
    assert.equal(message.index, 3)
    assert.deepEqual(message.bytes, bytes)
  })

  test('REJECT carries every reason, for chunks and for the manifest', () => {
    for (const reason of Object.values(RejectReason)) {
      assert.deepEqual(roundTrip(encodeReject(ID, 4, reason)), {type: FileMessageType.REJECT, id: ID, index: 4, reason})
    }
    assert.deepEqual(
      roundTrip(encodeReject(ID, MANIFEST_INDEX, RejectReason.UNKNOWN_ID)),
      {type: FileMessageType.REJECT, id: ID, index: MANIFEST_INDEX, reason: RejectReason.UNKNOWN_ID},
    )
  })
})

describe('file messages: encoders refuse misuse', () => {
  test('ids must be 64 lowercase hex characters', () => {
    for (const id of ['', 'AB'.repeat(32), 'ab'.repeat(31), 'zz'.repeat(32)]) {
      assert.throws(() => encodeManifestRequest(id), isCode('ERR_INVALID_ARGUMENT'))
    }
  })

  test('indexes, batches, chunks and reasons out of range', () => {
    assert.throws(() => encodeRequest(ID, -1), isCode('ERR_INVALID_ARGUMENT'))
    assert.throws(() => encodeRequest(ID, MAX_CHUNKS), isCode('ERR_INVALID_ARGUMENT'))
    assert.throws(() => encodeRequest(ID, 1.5), isCode('ERR_INVALID_ARGUMENT'))
    assert.throws(() => encodeRequestBatch(ID, []), isCode('ERR_INVALID_ARGUMENT'))
    assert.throws(() => encodeRequestBatch(ID, [1, 1]), isCode('ERR_INVALID_ARGUMENT'))
    const tooMany = Array.from({length: MAX_BATCH_REQUESTS + 1}, (_, i) => i)
    assert.throws(() => encodeRequestBatch(ID, tooMany), isCode('ERR_INVALID_ARGUMENT'))
    assert.throws(() => encodeChunk(ID, 0, new Uint8Array(0)), isCode('ERR_INVALID_ARGUMENT'))
    assert.throws(() => encodeChunk(ID, 0, new Uint8Array(MAX_CHUNK_SIZE + 1)), isCode('ERR_MESSAGE_TOO_LARGE'))
    assert.throws(() => encodeReject(ID, 0, 9 as RejectReason), isCode('ERR_INVALID_ARGUMENT'))
    assert.throws(() => encodeManifestMessage(ID, new Uint8Array(0)), isCode('ERR_INVALID_ARGUMENT'))
  })
})

describe('file messages: hostile input', () => {
  test('anything shorter than a header, and unknown types', () => {
    malformed(new Uint8Array(0))
    malformed(new Uint8Array(32))
    malformed(handmade(10), /unknown type/)
    malformed(handmade(255), /unknown type/)
    malformed('x' as unknown as Uint8Array, /not bytes/)
  })

  test('fixed-size messages with missing or extra bytes', () => {
    malformed(handmade(FileMessageType.MANIFEST_REQUEST, [0]))
    for (const type of [FileMessageType.HAVE_CHUNK, FileMessageType.REQUEST, FileMessageType.CANCEL]) {
      malformed(handmade(type, [0, 0, 1]))
      malformed(handmade(type, u32(1), [0]))
    }
    malformed(handmade(FileMessageType.REJECT, u32(1)))
    malformed(handmade(FileMessageType.REJECT, u32(1), [1, 0]))
  })

  test('indexes past the last possible chunk', () => {
    for (const type of [FileMessageType.HAVE_CHUNK, FileMessageType.REQUEST, FileMessageType.CANCEL]) {
      malformed(handmade(type, u32(MAX_CHUNKS)), /past the last/)
    }
    malformed(handmade(FileMessageType.CHUNK, u32(MAX_CHUNKS), [1]), /past the last/)
    malformed(handmade(FileMessageType.REJECT, u32(MAX_CHUNKS), [1]), /past the last/)
    malformed(handmade(FileMessageType.REQUEST_BATCH, [1], u32(MAX_CHUNKS)), /past the last/)
  })

  test('unknown reject reasons', () => {
    malformed(handmade(FileMessageType.REJECT, u32(0), [0]), /reason/)
    malformed(handmade(FileMessageType.REJECT, u32(0), [6]), /reason/)
  })

  test('request batches with a bad count, a wrong length or a repeat', () => {
    malformed(handmade(FileMessageType.REQUEST_BATCH))
    malformed(handmade(FileMessageType.REQUEST_BATCH, [0]))
    malformed(handmade(FileMessageType.REQUEST_BATCH, [MAX_BATCH_REQUESTS + 1]))
    malformed(handmade(FileMessageType.REQUEST_BATCH, [2], u32(1)))
    malformed(handmade(FileMessageType.REQUEST_BATCH, [1], u32(1), [0]))
    malformed(handmade(FileMessageType.REQUEST_BATCH, [2], u32(1), u32(1)), /repeats/)
  })

  test('HAVE with a wrong byte count, spare bits set, or too many bits', () => {
    malformed(handmade(FileMessageType.HAVE, [0, 0]))
    malformed(handmade(FileMessageType.HAVE, u32(9), [0]))
    malformed(handmade(FileMessageType.HAVE, u32(9), [0, 0, 0]))
    malformed(handmade(FileMessageType.HAVE, u32(9), [0, 0x40]), /past its length/)
    malformed(handmade(FileMessageType.HAVE, u32(MAX_CHUNKS + 1)), /more than/)
  })

  test('empty chunks and manifests', () => {
    malformed(handmade(FileMessageType.CHUNK, u32(0)))
    malformed(handmade(FileMessageType.CHUNK, [0, 0]))
    malformed(handmade(FileMessageType.MANIFEST))
  })

  test('an oversized chunk or manifest is MESSAGE_TOO_LARGE', () => {
    const chunk = concat([handmade(FileMessageType.CHUNK, u32(0)), new Uint8Array(MAX_CHUNK_SIZE + 1)])
    assert.throws(() => decodeFileMessage(chunk), isCode('ERR_MESSAGE_TOO_LARGE'))
    const small = encodeChunk(ID, 0, new Uint8Array(1000))
    assert.throws(() => decodeFileMessage(small, 999), isCode('ERR_MESSAGE_TOO_LARGE'))
    assert.equal(decodeFileMessage(small, 1000).type, FileMessageType.CHUNK)
    const manifest = concat([handmade(FileMessageType.MANIFEST), new Uint8Array(MAX_MANIFEST_BYTES + 1)])
    assert.throws(() => decodeFileMessage(manifest), isCode('ERR_MESSAGE_TOO_LARGE'))
  })

  test('decoding a view into a larger buffer reads only the view', () => {
    const inner = encodeRequest(ID, 42)
    const outer = new Uint8Array(inner.length + 10)
    outer.set(inner, 5)
    assert.deepEqual(decodeFileMessage(outer.subarray(5, 5 + inner.length)), {type: FileMessageType.REQUEST, id: ID, index: 42})
  })
})

describe('Bitfield', () => {
  test('set, get, count and completion', () => {
    const field = new Bitfield(10)
    assert.equal(field.count(), 0)
    assert.equal(field.set(3), true)
    assert.equal(field.set(3), false)
    assert.equal(field.get(3), true)
    assert.equal(field.get(4), false)
    for (let i = 0; i < 10; i++) field.set(i)
    assert.equal(field.count(), 10)
    assert.ok(field.isComplete())
    assert.equal(field.set(0, false), true)
    assert.equal(field.count(), 9)
    assert.ok(!field.isComplete())
  })

  test('bits are most significant first, and bytes round trip', () => {
    const field = new Bitfield(9)
    field.set(0)
    field.set(8)
    assert.deepEqual(field.toBytes(), new Uint8Array([0x80, 0x80]))
    const copy = Bitfield.fromBytes(field.toBytes(), 9)
    assert.ok(copy.get(0) && copy.get(8) && !copy.get(1))
    assert.equal(copy.count(), 2)
  })

  test('toBytes and clone are copies', () => {
    const field = new Bitfield(8)
    field.toBytes()[0] = 0xff
    assert.equal(field.count(), 0)
    const clone = field.clone()
    clone.set(1)
    assert.equal(field.get(1), false)
  })

  test('length checks', () => {
    assert.throws(() => new Bitfield(-1), isCode('ERR_INVALID_ARGUMENT'))
    assert.throws(() => new Bitfield(MAX_CHUNKS + 1), isCode('ERR_INVALID_ARGUMENT'))
    const field = new Bitfield(4)
    assert.throws(() => field.get(4), isCode('ERR_INVALID_ARGUMENT'))
    assert.throws(() => field.set(-1), isCode('ERR_INVALID_ARGUMENT'))
    assert.throws(() => Bitfield.fromBytes(new Uint8Array(2), 4), isCode('ERR_MALFORMED_MESSAGE'))
    assert.throws(() => Bitfield.fromBytes(new Uint8Array([0x08]), 4), isCode('ERR_MALFORMED_MESSAGE'))
    assert.ok(new Bitfield(0).isComplete())
  })
})
