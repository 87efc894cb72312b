import {describe, test} from 'node:test'
import assert from 'node:assert/strict'
import {
  LogMessageType, MAX_AUTHOR_LENGTH, MAX_ENTRIES, MAX_ENTRIES_BYTES, MAX_FORK_RUN, MAX_HAVE_AUTHORS, decodeLogMessage,
  encodeAck, encodeEntries, encodeFork, encodeHave, encodeHaves, encodeNote, encodePrune, encodeRequest, maxEntryBytes,
} from '../../src/core/log/messages.js'
import {concat, fromHex} from '../../src/core/bytes.js'
import {isCode} from './helpers.js'

const A = 'aa'.repeat(32)
const B = 'bb'.repeat(32)
const C = 'cc'.repeat(32)

function malformed(bytes: Uint8Array, what?: RegExp): void {
  assert.throws(() => decodeLogMessage(bytes), isCode('ERR_MALFORMED_MESSAGE', what))
}

function tooLarge(bytes: Uint8Array, what?: RegExp): void {
  assert.throws(() => decodeLogMessage(bytes), isCode('ERR_MESSAGE_TOO_LARGE', what))
}

/** A message as a hostile peer could write it. */
function handmade(...parts: Array<number[] | Uint8Array>): Uint8Array {
  return concat(parts.map((p) => (p instanceof Uint8Array ? p : new Uint8Array(p))))
}

function varint(n: number): number[] {
  const out: number[] = []
  while (n >= 0x80) {
    out.push((n % 0x80) | 0x80)
    n = Math.floor(n / 0x80)
  }
  out.push(n)
  return out
}

function entry(length: number, fill = 7): Uint8Array {
  return new Uint8Array(length).fill(fill)
}

describe('log messages: round trips', () => {
  test('HAVE lists authors in ascending order with their lengths', () => {
    const bytes = encodeHave([[C, 3], [A, 1], [B, MAX_AUTHOR_LENGTH]], true)
    assert.deepEqual(decodeLogMessage(bytes), {type: LogMessageType.HAVE, last: true, rewind: false, lengths: [[A, 1], [B, MAX_AUTHOR_LENGTH], [C, 3]]})
    assert.deepEqual(bytes, handmade([0, 1, 3], fromHex(A), [1], fromHex(B), varint(2 ** 32), fromHex(C), [3]))
  })

  test('HAVE leaves out authors with no entries, and an empty vector is one HAVE', () => {
    assert.deepEqual(decodeLogMessage(encodeHave([[A, 0]], false)), {type: LogMessageType.HAVE, last: false, rewind: false, lengths: []})
    const haves = encodeHaves(new Map())
    assert.equal(haves.length, 1)
    assert.deepEqual(decodeLogMessage(haves[0]), {type: LogMessageType.HAVE, last: true, rewind: false, lengths: []})
  })

  test('a vector past MAX_HAVE_AUTHORS is cut into HAVEs, only the last flagged', () => {
    const vector = new Map<string, number>()
    for (let i = 0; i < MAX_HAVE_AUTHORS * 2 + 5; i++) vector.set(i.toString(16).padStart(64, '0'), i + 1)
    const haves = encodeHaves(vector).map((bytes) => decodeLogMessage(bytes))
    assert.deepEqual(haves.map((h) => h.type === LogMessageType.HAVE && [h.lengths.length, h.last]), [
      [MAX_HAVE_AUTHORS, false], [MAX_HAVE_AUTHORS, false], [5, true],
    ])
    const back = new Map(haves.flatMap((h) => (h.type === LogMessageType.HAVE ? h.lengths : [])))
    assert.deepEqual(back, vector)
    const rewound = encodeHaves(vector, {rewind: true}).map((bytes) => decodeLogMessage(bytes))
    assert.deepEqual(rewound.map((h) => h.type === LogMessageType.HAVE && h.rewind), [true, false, false])
  })

  test('HAVE with rewind sets flag bit 1', () => {
    const bytes = encodeHave([[A, 2]], true, true)
    assert.equal(bytes[1], 3)
    assert.deepEqual(decodeLogMessage(bytes), {type: LogMessageType.HAVE, last: true, rewind: true, lengths: [[A, 2]]})
  })

  test('ENTRIES frames entries as they are, views into the message', () => {
    const entries = [entry(1, 1), entry(200, 2), entry(3, 3)]
    const bytes = encodeEntries(entries)
    assert.deepEqual(bytes, handmade([1, 3, 1], entries[0], varint(200), entries[1], [3], entries[2]))
    const message = decodeLogMessage(bytes)
    assert.deepEqual(message, {type: LogMessageType.ENTRIES, entries})
    if (message.type === LogMessageType.ENTRIES) assert.equal(message.entries[1].buffer, bytes.buffer)
  })

  test('ENTRIES holds MAX_ENTRIES entries and MAX_ENTRIES_BYTES, and one entry may be larger', () => {
    const many = Array.from({length: MAX_ENTRIES}, () => entry(MAX_ENTRIES_BYTES / MAX_ENTRIES))
    assert.equal(decodeLogMessage(encodeEntries(many)).type, LogMessageType.ENTRIES)
    const huge = entry(MAX_ENTRIES_BYTES + 1)
    const message = decodeLogMessage(encodeEntries([huge], huge.length), {maxEntryBytes: huge.length})
    assert.deepEqual(message, {type: LogMessageType.ENTRIES, entries: [huge]})
  })

  test('FORK carries both sides', () => {
    const a = [entry(5, 1), entry(6, 2)]
    const b = [entry(7, 3)]
    assert.deepEqual(decodeLogMessage(encodeFork(a, b)), {type: LogMessageType.FORK, a, b})
  })
})

test('ACK is a type byte alone', () => {
  assert.deepEqual(encodeAck(), new Uint8Array([3]))
  assert.deepEqual(decodeLogMessage(encodeAck()), {type: LogMessageType.ACK})
  malformed(handmade([3, 0]), /ACK: 1 trailing/)
})

describe('log messages: encoders refuse what no decoder takes', () => {
  test('HAVE', () => {
    assert.throws(() => encodeHave([['AA'.repeat(32), 1]], true), isCode('ERR_INVALID_ARGUMENT'))
    assert.throws(() => encodeHave([[A, 1], [A, 2]], true), isCode('ERR_INVALID_ARGUMENT', /twice/))
    assert.throws(() => encodeHave([[A, MAX_AUTHOR_LENGTH + 1]], true), isCode('ERR_INVALID_ARGUMENT'))
    assert.throws(() => encodeHave([[A, 1.5]], true), isCode('ERR_INVALID_ARGUMENT'))
    const tooMany = Array.from({length: MAX_HAVE_AUTHORS + 1}, (_, i): [string, number] => [i.toString(16).padStart(64, '0'), 1])
    assert.throws(() => encodeHave(tooMany, true), isCode('ERR_INVALID_ARGUMENT'))
  })

  test('ENTRIES and FORK', () => {
    assert.throws(() => encodeEntries([]), isCode('ERR_INVALID_ARGUMENT'))
    assert.throws(() => encodeEntries(Array.from({length: MAX_ENTRIES + 1}, () => entry(1))), isCode('ERR_INVALID_ARGUMENT'))
    assert.throws(() => encodeEntries([new Uint8Array(0)]), isCode('ERR_INVALID_ARGUMENT'))
    assert.throws(() => encodeEntries([entry(maxEntryBytes() + 1)]), isCode('ERR_MESSAGE_TOO_LARGE'))
    const five = Array.from({length: 5}, () => entry(60 * 1024))
    assert.throws(() => encodeEntries(five), isCode('ERR_MESSAGE_TOO_LARGE', /ENTRIES of/))
    assert.throws(() => encodeFork([], [entry(1)]), isCode('ERR_INVALID_ARGUMENT'))
    assert.throws(() => encodeFork([entry(1)], Array.from({length: MAX_FORK_RUN + 1}, () => entry(1))), isCode('ERR_INVALID_ARGUMENT'))
  })
})

describe('log messages: the live phase (NOTE, REQUEST, PRUNE)', () => {
  test('round trips, authors sorted', () => {
    const note = encodeNote([[C, 3], [A, MAX_AUTHOR_LENGTH]])
    assert.deepEqual(decodeLogMessage(note), {type: LogMessageType.NOTE, lengths: [[A, MAX_AUTHOR_LENGTH], [C, 3]]})
    assert.deepEqual(note, handmade([4, 2], fromHex(A), varint(2 ** 32), fromHex(C), [3]))
    const request = encodeRequest([[B, 0], [A, 7]])
    assert.deepEqual(decodeLogMessage(request), {type: LogMessageType.REQUEST, from: [[A, 7], [B, 0]]})
    assert.deepEqual(request, handmade([5, 2], fromHex(A), [7], fromHex(B), [0]))
    const prune = encodePrune([C, B])
    assert.deepEqual(decodeLogMessage(prune), {type: LogMessageType.PRUNE, authors: [B, C]})
    assert.deepEqual(prune, handmade([6, 2], fromHex(B), fromHex(C)))
  })

  test('the encoders refuse what the decoder would', () => {
    const invalid = isCode('ERR_INVALID_ARGUMENT')
    assert.throws(() => encodeNote([]), invalid)
    assert.throws(() => encodeNote([[A, 0]]), invalid)
    assert.throws(() => encodeNote([[A, MAX_AUTHOR_LENGTH + 1]]), invalid)
    assert.throws(() => encodeRequest([[A, 1], [A, 2]]), invalid)
    assert.throws(() => encodePrune(['AA'.repeat(32)]), invalid)
    assert.throws(() => encodePrune(Array.from({length: MAX_HAVE_AUTHORS + 1}, (_, i) => i.toString(16).padStart(64, '0'))), invalid)
  })

  test('hostile: no authors, too many, out of order, twice, 2**53, zero lengths, truncation, trailing bytes', () => {
    for (const type of [4, 5, 6]) {
      malformed(handmade([type]), /truncated/)
      malformed(handmade([type, 0]), /without authors/)
      malformed(handmade([type, ...varint(MAX_HAVE_AUTHORS + 1)]), /more than 4096/)
      malformed(handmade([type, 1], fromHex(A).subarray(0, 31)), /past the end/)
    }
    malformed(handmade([4, 2], fromHex(B), [1], fromHex(A), [1]), /ascending/)
    malformed(handmade([5, 2], fromHex(A), [1], fromHex(A), [1]), /ascending/)
    malformed(handmade([6, 2], fromHex(B), fromHex(A)), /ascending/)
    malformed(handmade([4, 1], fromHex(A), varint(2 ** 53)), /longer than 5 bytes/)
    malformed(handmade([5, 1], fromHex(A), varint(MAX_AUTHOR_LENGTH + 1)), /more than/)
    malformed(handmade([4, 1], fromHex(A), [0]), /no entries/)
    malformed(handmade([4, 1], fromHex(A), [1, 0]), /trailing/)
    malformed(handmade([5, 1], fromHex(A), [0x81, 0x00]), /non-minimal/)
    malformed(handmade([6, 1], fromHex(A), [0]), /trailing/)
  })
})

describe('log messages: hostile input', () => {
  test('empty, unknown type, not bytes', () => {
    malformed(new Uint8Array(0), /empty/)
    malformed(handmade([7]), /unknown type 7/)
    malformed(handmade([255, 0, 0]), /unknown type/)
    assert.throws(() => decodeLogMessage('hello' as unknown as Uint8Array), isCode('ERR_MALFORMED_MESSAGE'))
  })

  test('a HAVE claiming 2**53 entries is malformed, as is any length past 2**32', () => {
    malformed(handmade([0, 1, 1], fromHex(A), varint(2 ** 53)), /longer than 5 bytes/)
    malformed(handmade([0, 1, 1], fromHex(A), varint(2 ** 53 - 1)), /longer than 5 bytes/)
    malformed(handmade([0, 1, 1], fromHex(A), varint(MAX_AUTHOR_LENGTH + 1)), /more than/)
    malformed(handmade([0, 1, 1], fromHex(A), [0xff, 0xff, 0xff, 0xff, 0x7f]), /more than/)
  })

  test('HAVE: flags, order, zero lengths, counts, truncation, trailing bytes', () => {
    malformed(handmade([0]), /flags.*past the end/)
    malformed(handmade([0, 4, 0]), /unknown bits/)
    malformed(handmade([0, 1]), /truncated varint/)
    malformed(handmade([0, 1, 2], fromHex(B), [1], fromHex(A), [1]), /ascending/)
    malformed(handmade([0, 1, 2], fromHex(A), [1], fromHex(A), [1]), /ascending/)
    malformed(handmade([0, 1, 1], fromHex(A), [0]), /no entries/)
    malformed(handmade([0, 1, 1], fromHex(A), [0x81, 0x00]), /non-minimal/)
    malformed(handmade([0, 1, 2], fromHex(A), [1]), /past the end/)
    malformed(handmade([0, 1, 1], fromHex(A).subarray(0, 31)), /past the end/)
    malformed(handmade([0, 1, 1], fromHex(A), [1, 0]), /trailing/)
    malformed(handmade([0, 1, ...varint(MAX_HAVE_AUTHORS + 1)]), /more than 4096/)
  })

  test('ENTRIES: counts, empty entries, lengths past the end, trailing bytes', () => {
    malformed(handmade([1]), /truncated/)
    malformed(handmade([1, 0]), /without entries/)
    malformed(handmade([1, ...varint(MAX_ENTRIES + 1)]), /more than 1024/)
    malformed(handmade([1, 1, 0]), /empty entry/)
    malformed(handmade([1, 1, 5, 1, 2, 3]), /past the end/)
    malformed(handmade([1, 2, 1, 9]), /truncated/)
    malformed(handmade([1, 1, 1, 9, 9]), /trailing/)
    malformed(handmade([1, 1, 0x80, 0x80, 0x80, 0x80, 0x80, 1]), /longer than 5 bytes/)
  })

  test('an oversized entry or ENTRIES message is MESSAGE_TOO_LARGE before its bytes are read', () => {
    tooLarge(handmade([1, 1], varint(maxEntryBytes() + 1)), /more than/)
    tooLarge(handmade([1, 1], varint(0xffffffff)), /more than/)
    assert.throws(() => decodeLogMessage(encodeEntries([entry(200)]), {maxEntryBytes: 199}), isCode('ERR_MESSAGE_TOO_LARGE'))
    const part = entry(60 * 1024)
    tooLarge(handmade([1, 5], ...Array.from({length: 5}, () => handmade(varint(part.length), part))), /ENTRIES of/)
  })

  test('FORK: both sides present, each bounded', () => {
    malformed(handmade([2, 1, 1, 9]), /truncated/)
    malformed(handmade([2, 1, 1, 9, 0]), /without entries/)
    malformed(handmade([2, 0, 1, 1, 9]), /without entries/)
    malformed(handmade([2, ...varint(MAX_FORK_RUN + 1)]), /more than 257/)
    malformed(handmade([2, 1, 1, 9, 1, 1, 9, 0]), /trailing/)
    tooLarge(handmade([2, 1], varint(maxEntryBytes() + 1)))
  })

  test('random bytes never throw anything but a typed error', () => {
    let seed = 17
    const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) & 0xff
    for (let i = 0; i < 5000; i++) {
      const bytes = new Uint8Array(1 + (next() % 64)).map(() => next())
      bytes[0] %= 8
      try {
        decodeLogMessage(bytes)
      } catch (err) {
        assert.match((err as {code: string}).code, /^ERR_(MALFORMED_MESSAGE|MESSAGE_TOO_LARGE)$/)
      }
    }
  })
})
