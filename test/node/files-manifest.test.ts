import {describe, test} from 'node:test'
import assert from 'node:assert/strict'
import {
  DEFAULT_CHUNK_SIZE, LARGE_FILE_BYTES, MAX_CHUNK_SIZE, defaultChunkSize, MANIFEST_DOMAIN, MAX_CHUNKS, MAX_MANIFEST_BYTES, MIN_CHUNK_SIZE, chunkRange, createManifest,
  decodeManifest, encodeManifest, manifestId, verifyChunk, verifyManifest, type FileManifest,
} from '../../src/core/files/manifest.js'
import {concat, toHex, utf8} from '../../src/core/bytes.js'
import {sha256} from '../../src/core/crypto/identity.js'
import {isCode} from './helpers.js'

const KiB = 1024
const MiB = 1024 * KiB

function bytesOf(n: number, seed = 1): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(n)
  for (let i = 0; i < n; i++) out[i] = (i * 31 + seed * 7 + (i >> 8)) & 0xff
  return out
}

function malformed(bytes: Uint8Array, what?: RegExp): void {
  assert.throws(() => decodeManifest(bytes), isCode('ERR_MALFORMED_MESSAGE', what))
}

interface RawFields {
  domain?: Uint8Array
  name?: Uint8Array
  type?: Uint8Array
  sizeHigh?: number
  sizeLow?: number
  chunkSize?: number
  count?: number
  hashes?: Uint8Array
}

/** Writes manifest fields with no checks at all, to build what a hostile peer could send. */
function raw(f: RawFields): Uint8Array {
  const name = f.name ?? utf8('a.txt')
  const type = f.type ?? utf8('text/plain')
  const tail = new Uint8Array(16)
  const view = new DataView(tail.buffer)
  view.setUint32(0, f.sizeHigh ?? 0)
  view.setUint32(4, f.sizeLow ?? 100)
  view.setUint32(8, f.chunkSize ?? MIN_CHUNK_SIZE)
  view.setUint32(12, f.count ?? 1)
  return concat([
    f.domain ?? utf8(MANIFEST_DOMAIN), new Uint8Array([name.length]), name, new Uint8Array([type.length]), type, tail,
    f.hashes ?? new Uint8Array(32 * (f.count ?? 1)),
  ])
}

/** A Blob that can only be read slice by slice: reading it whole fails the test. */
class SliceOnlyBlob extends Blob {
  readonly slices: number[] = []
  override slice(start?: number, end?: number, type?: string): Blob {
    const part = super.slice(start, end, type)
    this.slices.push(part.size)
    return part
  }
  override arrayBuffer(): Promise<ArrayBuffer> { throw new Error('read whole') }
  override stream(): ReadableStream<Uint8Array<ArrayBuffer>> { throw new Error('read whole') }
  override text(): Promise<string> { throw new Error('read whole') }
}

describe('file manifest: creation', () => {
  test('an empty file has no chunks and a stable id', async () => {
    const a = await createManifest(new Uint8Array(0), {name: 'empty'})
    const b = await createManifest(new Blob([]), {name: 'empty'})
    assert.equal(a.manifest.size, 0)
    assert.equal(a.manifest.hashes.length, 0)
    assert.equal(a.id, b.id)
    assert.equal(a.id, await manifestId(a.bytes))
    assert.throws(() => chunkRange(a.manifest, 0), isCode('ERR_INVALID_ARGUMENT'))
  })

  test('a file smaller than a chunk is one short chunk', async () => {
    const data = bytesOf(100)
    const {manifest} = await createManifest(data, {name: 'one', chunkSize: MIN_CHUNK_SIZE})
    assert.equal(manifest.hashes.length, 1)
    assert.deepEqual(manifest.hashes[0], await sha256(data))
    assert.deepEqual(chunkRange(manifest, 0), {offset: 0, length: 100})
    await verifyChunk(manifest, 0, data)
  })

  test('an exact multiple of the chunk size has only full chunks', async () => {
    const data = bytesOf(2 * MIN_CHUNK_SIZE)
    const {manifest} = await createManifest(data, {name: 'two', chunkSize: MIN_CHUNK_SIZE})
    assert.equal(manifest.hashes.length, 2)
    assert.deepEqual(chunkRange(manifest, 1), {offset: MIN_CHUNK_SIZE, length: MIN_CHUNK_SIZE})
    assert.throws(() => chunkRange(manifest, 2), isCode('ERR_INVALID_ARGUMENT'))
  })

  test('a ragged file ends with a shorter chunk', async () => {
    const data = bytesOf(2 * MIN_CHUNK_SIZE + 5)
    const {manifest} = await createManifest(data, {name: 'ragged', chunkSize: MIN_CHUNK_SIZE})
    assert.equal(manifest.hashes.length, 3)
    assert.deepEqual(chunkRange(manifest, 2), {offset: 2 * MIN_CHUNK_SIZE, length: 5})
    for (let i = 0; i < 3; i++) {
      const {offset, length} = chunkRange(manifest, i)
      await verifyChunk(manifest, i, data.subarray(offset, offset + length))
    }
  })

  test('the default chunk size grows with the file: 256 KiB, then 1 MiB from 64 MiB up', () => {
    assert.equal(defaultChunkSize(0), DEFAULT_CHUNK_SIZE)
    assert.equal(defaultChunkSize(LARGE_FILE_BYTES - 1), DEFAULT_CHUNK_SIZE)
    assert.equal(defaultChunkSize(LARGE_FILE_BYTES), MAX_CHUNK_SIZE)
    assert.equal(defaultChunkSize(64 * 1024 * MiB), MAX_CHUNK_SIZE)
  })

  test('a 20 MiB Blob is hashed slice by slice, never read whole', async () => {
    const data = bytesOf(20 * MiB + 123, 3)
    const blob = new SliceOnlyBlob([data], {type: 'application/octet-stream'})
    const {manifest, id} = await createManifest(blob, {name: 'big.bin'})
    assert.equal(manifest.chunkSize, DEFAULT_CHUNK_SIZE)
    assert.equal(manifest.type, 'application/octet-stream')
    assert.equal(manifest.hashes.length, Math.ceil(data.length / DEFAULT_CHUNK_SIZE))
    assert.equal(blob.slices.length, manifest.hashes.length)
    assert.ok(blob.slices.every((n) => n <= DEFAULT_CHUNK_SIZE))
    for (let i = 0; i < manifest.hashes.length; i++) {
      const {offset, length} = chunkRange(manifest, i)
      assert.deepEqual(manifest.hashes[i], await sha256(data.subarray(offset, offset + length)), `chunk ${i}`)
    }
    const fromBytes = await createManifest(data, {name: 'big.bin', type: 'application/octet-stream'})
    assert.equal(fromBytes.id, id)
  })

  test('bad options fail before any hashing', async () => {
    const data = bytesOf(10)
    const bad = [
      {name: ''},
      {name: 'x'.repeat(256)},
      {name: '\ud800'},
      {name: 'a', chunkSize: 3 * MIN_CHUNK_SIZE},
      {name: 'a', chunkSize: MIN_CHUNK_SIZE / 2},
      {name: 'a', chunkSize: 2 * MiB},
      {name: 'a', type: 'text/é'},
      {name: 'a', type: 'x'.repeat(128)},
    ]
    for (const options of bad) {
      await assert.rejects(createManifest(data, options), isCode('ERR_INVALID_ARGUMENT'), JSON.stringify(options))
    }
    await assert.rejects(createManifest('text' as unknown as Uint8Array, {name: 'a'}), isCode('ERR_INVALID_ARGUMENT'))
  })

  test('a file that needs more than MAX_CHUNKS chunks is refused', async () => {
    class Huge extends SliceOnlyBlob {
      override get size(): number { return (MAX_CHUNKS + 1) * MIN_CHUNK_SIZE }
    }
    await assert.rejects(createManifest(new Huge([]), {name: 'huge', chunkSize: MIN_CHUNK_SIZE}), isCode('ERR_INVALID_ARGUMENT', /larger chunkSize/))
  })
})

describe('file manifest: encoding', () => {
  const base = async (): Promise<FileManifest> =>
    (await createManifest(bytesOf(MIN_CHUNK_SIZE + 7), {name: 'photo.jpg', type: 'image/jpeg', chunkSize: MIN_CHUNK_SIZE})).manifest

  test('encode and decode round trip, deterministically', async () => {
    const m = await base()
    const bytes = encodeManifest(m)
    assert.deepEqual(decodeManifest(bytes), m)
    assert.deepEqual(encodeManifest(decodeManifest(bytes)), bytes)
    assert.deepEqual(encodeManifest({...m}), bytes)
    assert.deepEqual(bytes.subarray(0, MANIFEST_DOMAIN.length), utf8(MANIFEST_DOMAIN))
  })

  test('a name with a leading BOM and non-ASCII text survives', async () => {
    const m = {...(await base()), name: '\ufeffrésumé 📄.pdf'}
    assert.equal(decodeManifest(encodeManifest(m)).name, m.name)
  })

  test('the id changes when any field changes', async () => {
    const m = await base()
    const id = await manifestId(encodeManifest(m))
    const flipped = m.hashes.map((h) => h.slice())
    flipped[1][31] ^= 1
    const variants: FileManifest[] = [
      {...m, name: 'photo.jpeg'},
      {...m, type: 'image/png'},
      {...m, type: ''},
      {...m, size: m.size - 1},
      {...m, chunkSize: 2 * MIN_CHUNK_SIZE, hashes: [m.hashes[0]]},
      {...m, hashes: flipped},
    ]
    const ids = new Set([id])
    for (const v of variants) ids.add(await manifestId(encodeManifest(v)))
    assert.equal(ids.size, variants.length + 1)
  })

  test('encoding refuses fields that could not be decoded back', async () => {
    const m = await base()
    const bad: FileManifest[] = [
      {...m, hashes: [m.hashes[0]]},
      {...m, hashes: [m.hashes[0], new Uint8Array(31)]},
      {...m, size: -1},
      {...m, size: 1.5},
      {...m, size: 2 ** 53},
      {...m, chunkSize: 1000},
      {...m, name: ''},
    ]
    for (const v of bad) assert.throws(() => encodeManifest(v), isCode('ERR_INVALID_ARGUMENT'))
  })

  test('every truncation is malformed', async () => {
    const bytes = encodeManifest(await base())
    for (let n = 0; n < bytes.length; n++) malformed(bytes.subarray(0, n))
  })

  test('trailing bytes are malformed', async () => {
    malformed(concat([encodeManifest(await base()), new Uint8Array([0])]), /hashes/)
  })

  test('the hand-built reference encoding decodes (the helper below is faithful)', () => {
    const m = decodeManifest(raw({}))
    assert.equal(m.name, 'a.txt')
    assert.equal(m.size, 100)
  })

  test('malformed and inconsistent fields are refused', () => {
    malformed(raw({domain: utf8('p2p-elements/file/v2\0')}), /domain/)
    malformed(raw({name: new Uint8Array(0)}), /empty name/)
    malformed(raw({name: new Uint8Array([0xff, 0xfe])}), /UTF-8/)
    malformed(raw({type: utf8('x'.repeat(128))}), /type/)
    malformed(raw({type: new Uint8Array([0x74, 0x0a])}), /printable/)
    malformed(raw({sizeHigh: 0x00200000, sizeLow: 0}), /safe integer/)
    malformed(raw({chunkSize: 3 * MIN_CHUNK_SIZE}), /power of two/)
    malformed(raw({chunkSize: MIN_CHUNK_SIZE / 2}), /power of two/)
    malformed(raw({chunkSize: 2 * MiB}), /power of two/)
    malformed(raw({chunkSize: 0}), /power of two/)
    malformed(raw({count: 2}), /do not cover/)
    malformed(raw({count: 0}), /do not cover/)
    malformed(raw({sizeLow: 0, count: 1}), /do not cover/)
    malformed(raw({count: 1, hashes: new Uint8Array(33)}), /hashes/)
    malformed(raw({sizeLow: 0, count: MAX_CHUNKS + 1, hashes: new Uint8Array(0)}), /more than/)
  })

  test('an oversized manifest is refused before it is read, with MESSAGE_TOO_LARGE', () => {
    assert.throws(() => decodeManifest(new Uint8Array(MAX_MANIFEST_BYTES + 1)), isCode('ERR_MESSAGE_TOO_LARGE', /more than/))
  })

  test('the largest manifest decodes', () => {
    const size = MAX_CHUNKS * MIN_CHUNK_SIZE
    const bytes = raw({sizeHigh: Math.floor(size / 2 ** 32), sizeLow: size % 2 ** 32, count: MAX_CHUNKS})
    assert.ok(bytes.length <= MAX_MANIFEST_BYTES)
    assert.equal(decodeManifest(bytes).hashes.length, MAX_CHUNKS)
  })

  test('non-bytes are malformed', () => {
    assert.throws(() => decodeManifest('x' as unknown as Uint8Array), isCode('ERR_MALFORMED_MESSAGE'))
  })
})

describe('file manifest: verification', () => {
  test('verifyManifest returns the manifest when the bytes hash to the id', async () => {
    const {manifest, id, bytes} = await createManifest(bytesOf(100), {name: 'a'})
    assert.deepEqual(await verifyManifest(bytes, id), manifest)
  })

  test('bytes of another manifest fail with HASH_MISMATCH', async () => {
    const a = await createManifest(bytesOf(100), {name: 'a'})
    const b = await createManifest(bytesOf(100), {name: 'b'})
    await assert.rejects(verifyManifest(b.bytes, a.id), isCode('ERR_HASH_MISMATCH'))
  })

  test('garbage fails with HASH_MISMATCH, not a decoding error', async () => {
    const {id} = await createManifest(bytesOf(100), {name: 'a'})
    await assert.rejects(verifyManifest(new Uint8Array([1, 2, 3]), id), isCode('ERR_HASH_MISMATCH'))
  })

  test('verifyManifest refuses an oversized manifest with MESSAGE_TOO_LARGE, before hashing it', async () => {
    const {id} = await createManifest(bytesOf(100), {name: 'a'})
    await assert.rejects(verifyManifest(new Uint8Array(MAX_MANIFEST_BYTES + 1), id), isCode('ERR_MESSAGE_TOO_LARGE'))
  })

  test('malformed bytes that do hash to the id are MALFORMED_MESSAGE', async () => {
    const junk = utf8('not a manifest')
    await assert.rejects(verifyManifest(junk, toHex(await sha256(junk))), isCode('ERR_MALFORMED_MESSAGE'))
  })

  test('an id that is not 64 lowercase hex characters is misuse', async () => {
    const {bytes, id} = await createManifest(bytesOf(100), {name: 'a'})
    await assert.rejects(verifyManifest(bytes, id.toUpperCase()), isCode('ERR_INVALID_ARGUMENT'))
    await assert.rejects(verifyManifest(bytes, id.slice(2)), isCode('ERR_INVALID_ARGUMENT'))
  })

  test('verifyChunk refuses corrupted, short and long chunks', async () => {
    const data = bytesOf(MIN_CHUNK_SIZE + 10)
    const {manifest} = await createManifest(data, {name: 'a', chunkSize: MIN_CHUNK_SIZE})
    const first = data.slice(0, MIN_CHUNK_SIZE)
    await verifyChunk(manifest, 0, first)
    const corrupt = first.slice()
    corrupt[5] ^= 0x40
    await assert.rejects(verifyChunk(manifest, 0, corrupt), isCode('ERR_HASH_MISMATCH'))
    await assert.rejects(verifyChunk(manifest, 0, first.subarray(1)), isCode('ERR_HASH_MISMATCH'))
    await assert.rejects(verifyChunk(manifest, 1, data.subarray(MIN_CHUNK_SIZE - 1)), isCode('ERR_HASH_MISMATCH'))
    await assert.rejects(verifyChunk(manifest, 0, data.subarray(MIN_CHUNK_SIZE)), isCode('ERR_HASH_MISMATCH'))
    await assert.rejects(verifyChunk(manifest, 2, first), isCode('ERR_INVALID_ARGUMENT'))
  })
})
