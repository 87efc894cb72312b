import {test} from 'node:test'
import assert from 'node:assert/strict'
import {createHash, createHmac} from 'node:crypto'
import {fileURLToPath} from 'node:url'
import {build} from 'esbuild'
import nacl from 'tweetnacl'
import {createIdentity, verify, type Identity} from '../../src/core/crypto/identity.js'
import {KeyPairIdentity, exportIdentity, importIdentity, type Ed25519PrivateJwk} from '../../src/core/crypto/seed-identity.js'
import {claimPageIdentity, pageIdentity, pageLogIdentity, setPageIdentity} from '../../src/core/swarm/page-identity.js'
import {P2PError} from '../../src/core/errors.js'
import {ed25519PublicKey} from '../../src/core/crypto/ed25519-key.js'
import {sha512} from '../../src/core/crypto/sha512.js'
import {fromHex, randomBytes, toHex, utf8} from '../../src/core/bytes.js'
import {RFC8032_VECTORS, subtleWithoutEd25519} from '../shared/ed25519-vectors.js'

test('createIdentity makes a WebCrypto key pair that signs, verifies, and holds no seed to export', async () => {
  const identity = await createIdentity()
  assert.equal(identity instanceof KeyPairIdentity, false)
  assert.equal('exportSeed' in identity, false)
  assert.equal(identity.publicKey.length, 32)
  const message = utf8('hello')
  const signature = await identity.sign(message)
  assert.equal(await verify(message, signature, identity.publicKey), true)
  assert.equal(nacl.sign.detached.verify(message, signature, identity.publicKey), true)
  assert.equal(await verify(utf8('hellO'), signature, identity.publicKey), false)
  const other = await createIdentity()
  assert.notEqual(toHex(other.publicKey), toHex(identity.publicKey))
})

test('without WebCrypto Ed25519, createIdentity falls back to a seed identity, and each verifies the other\'s signatures', async () => {
  const {subtle, asked} = subtleWithoutEd25519()
  const fallback = await createIdentity({subtle})
  assert.ok(asked() >= 1, 'the injected WebCrypto was asked')
  assert.ok(fallback instanceof KeyPairIdentity)
  const bare = await createIdentity({subtle: null})
  assert.ok(bare instanceof KeyPairIdentity)
  const web = await createIdentity()
  const message = randomBytes(300)
  for (const [signer, verifier] of [[fallback, web], [web, fallback], [bare, web]] as Array<[Identity, Identity]>) {
    const signature = await signer.sign(message)
    // Checked both by WebCrypto and by tweetnacl, whichever made the key.
    assert.equal(await verify(message, signature, signer.publicKey), true)
    assert.equal(await verify(message, signature, signer.publicKey, {subtle}), true)
    assert.equal(await verify(message, signature, verifier.publicKey), false)
  }
})

test('native and tweetnacl ed25519 agree: same signatures, both verify', async () => {
  const seed = randomBytes(32)
  const identity = new KeyPairIdentity(seed)
  const pair = nacl.sign.keyPair.fromSeed(seed)
  assert.equal(toHex(identity.publicKey), toHex(pair.publicKey))
  for (const message of [new Uint8Array(0), utf8('hello'), randomBytes(10_000)]) {
    const signature = await identity.sign(message)
    // Ed25519 is deterministic: whichever implementation signed, the bytes are the same.
    assert.equal(toHex(signature), toHex(nacl.sign.detached(message, pair.secretKey)))
    assert.equal(nacl.sign.detached.verify(message, signature, pair.publicKey), true)
    assert.equal(await verify(message, signature, identity.publicKey), true)
  }
})

test('verify refuses a wrong message, key or signature, and malformed sizes, without throwing', async () => {
  const identity = new KeyPairIdentity()
  const other = new KeyPairIdentity()
  const message = utf8('payload')
  const signature = await identity.sign(message)
  assert.equal(await verify(utf8('payloaD'), signature, identity.publicKey), false)
  assert.equal(await verify(message, signature, other.publicKey), false)
  const flipped = signature.slice()
  flipped[10] ^= 1
  assert.equal(await verify(message, flipped, identity.publicKey), false)
  assert.equal(await verify(message, signature.slice(0, 63), identity.publicKey), false)
  assert.equal(await verify(message, signature, identity.publicKey.slice(0, 31)), false)
  // A small-order public key (all zeros but the first byte) is not a valid signer.
  assert.equal(await verify(message, new Uint8Array(64), fromHex('01' + '00'.repeat(31))), false)
})

test('an identity survives a round trip through its seed', async () => {
  const identity = new KeyPairIdentity()
  const again = KeyPairIdentity.fromSeedHex(identity.exportSeed())
  assert.equal(toHex(again.publicKey), toHex(identity.publicKey))
  assert.equal(toHex(await again.sign(utf8('x'))), toHex(await identity.sign(utf8('x'))))
})

test('SHA-512 matches node:crypto for every length from 0 to 300 bytes and across block boundaries', () => {
  // 111/112 and 239/240 are where the padding's length field stops fitting in the
  // last block; 127/128 and 255/256 are whole blocks.
  const lengths = [...Array.from({length: 301}, (_, n) => n), 1000, 4096]
  for (const n of [111, 112, 127, 128, 239, 240]) assert.ok(lengths.includes(n))
  for (const n of lengths) {
    const data = randomBytes(n)
    assert.equal(toHex(sha512(data)), createHash('sha512').update(data).digest('hex'), `length ${n}`)
  }
})

test('the public key of a seed is RFC 8032\'s for its test vectors', () => {
  for (const v of RFC8032_VECTORS) {
    assert.equal(toHex(ed25519PublicKey(fromHex(v.seed))), v.publicKey, v.name)
    assert.equal(toHex(new KeyPairIdentity(fromHex(v.seed)).publicKey), v.publicKey, v.name)
  }
})

test('the public key of a seed is tweetnacl\'s for 300 random seeds', () => {
  for (let i = 0; i < 300; i++) {
    const seed = randomBytes(32)
    assert.equal(toHex(ed25519PublicKey(seed)), toHex(nacl.sign.keyPair.fromSeed(seed).publicKey), toHex(seed))
  }
})

test('without WebCrypto Ed25519, identities sign and verify through tweetnacl, fetched on demand', async () => {
  for (const v of RFC8032_VECTORS.filter(v => v.signature !== undefined)) {
    // It has no sign or verify: had the identity used it for more than the import, it would have thrown.
    const {subtle, asked} = subtleWithoutEd25519()
    const identity = new KeyPairIdentity(fromHex(v.seed), {subtle})
    assert.equal(toHex(identity.publicKey), v.publicKey)
    const signature = await identity.sign(fromHex(v.message!))
    assert.equal(asked(), 1, 'the injected WebCrypto was asked')
    assert.equal(toHex(signature), v.signature, v.name)
    assert.equal(await verify(fromHex(v.message!), signature, identity.publicKey, {subtle}), true, v.name)
    assert.equal(await verify(utf8('another'), signature, identity.publicKey, {subtle}), false, v.name)
  }
  // No WebCrypto at all takes the same path.
  const bare = new KeyPairIdentity(undefined, {subtle: null})
  assert.equal(await verify(utf8('x'), await bare.sign(utf8('x')), bare.publicKey, {subtle: null}), true)
})

test('signatures made natively verify through the fallback, and the fallback\'s natively', async () => {
  const {subtle} = subtleWithoutEd25519()
  const seed = randomBytes(32)
  const native = new KeyPairIdentity(seed)
  const fallback = new KeyPairIdentity(seed, {subtle})
  const message = randomBytes(500)
  const natively = await native.sign(message)
  const byFallback = await fallback.sign(message)
  assert.equal(toHex(byFallback), toHex(natively))
  assert.equal(await verify(message, natively, seedKey(seed), {subtle}), true)
  assert.equal(await verify(message, byFallback, seedKey(seed)), true)
  const other = randomBytes(32)
  assert.equal(await verify(message, natively, seedKey(other), {subtle}), false)
})

function seedKey(seed: Uint8Array): Uint8Array {
  return nacl.sign.keyPair.fromSeed(seed).publicKey
}

test('the browser bundle of the kit leaves tweetnacl to a chunk loaded on demand', async () => {
  const root = fileURLToPath(new URL('../../', import.meta.url))
  const result = await build({
    entryPoints: [`${root}src/index.ts`], bundle: true, splitting: true, format: 'esm', platform: 'browser',
    write: false, metafile: true, outdir: `${root}dist-identity-test`, logLevel: 'silent',
    tsconfig: `${root}tsconfig.json`,
  })
  const outputs = result.metafile.outputs
  const hasTweetnacl = (file: string) => Object.keys(outputs[file].inputs).some(input => input.includes('node_modules/tweetnacl/'))
  const entry = Object.keys(outputs).find(file => outputs[file].entryPoint?.endsWith('src/index.ts'))!
  // Everything a page loads up front: the entry and the chunks it imports statically.
  const eager = new Set([entry])
  for (const file of eager) {
    for (const i of outputs[file].imports) if (i.kind === 'import-statement') eager.add(i.path)
  }
  assert.deepEqual([...eager].filter(hasTweetnacl), [])
  const lazy = Object.keys(outputs).filter(hasTweetnacl)
  assert.equal(lazy.length, 1)
  assert.ok([...eager].some(file => outputs[file].imports.some(i => i.kind === 'dynamic-import' && i.path === lazy[0])))
})

test('a chat page loads no seed identity, its JavaScript key derivation nor the identity store, only on demand', async () => {
  const root = fileURLToPath(new URL('../../', import.meta.url))
  const result = await build({
    entryPoints: [`${root}src/p2p-swarm.ts`], bundle: true, splitting: true, format: 'esm', platform: 'browser',
    write: false, metafile: true, outdir: `${root}dist-identity-test`, logLevel: 'silent',
    tsconfig: `${root}tsconfig.json`,
  })
  const outputs = result.metafile.outputs
  const entry = Object.keys(outputs).find(file => outputs[file].entryPoint?.endsWith('src/p2p-swarm.ts'))!
  const eager = new Set([entry])
  for (const file of eager) {
    for (const i of outputs[file].imports) if (i.kind === 'import-statement') eager.add(i.path)
  }
  const seedCode = ['src/core/crypto/stored-identity.ts', 'src/core/storage/slot.ts', 'src/core/crypto/seed-identity.ts', 'src/core/crypto/ed25519-key.ts', 'src/core/crypto/sha512.ts']
  const holds = (file: string, module: string) => Object.keys(outputs[file].inputs).some(input => input.endsWith(module))
  for (const module of seedCode) {
    assert.deepEqual([...eager].filter(file => holds(file, module)), [], module)
    assert.ok(Object.keys(outputs).some(file => holds(file, module)), `${module} is in a chunk of its own`)
  }
})

/** The log key docs/identity.md specifies: Ed25519 of HMAC-SHA-256(page seed, domain | name), computed apart from the kit. */
function expectedLogKey(pageSeed: Uint8Array, name: string): string {
  const seed = createHmac('sha256', pageSeed).update('p2p-elements/log-identity/1\0').update(name, 'utf8').digest()
  return toHex(nacl.sign.keyPair.fromSeed(new Uint8Array(seed)).publicKey)
}

const isInvalid = (err: unknown) => err instanceof P2PError && err.code === 'ERR_INVALID_ARGUMENT'

test('pageLogIdentity: a key per log name, the same for one name, derived from the page seed as documented, and it signs', async () => {
  const page = await pageIdentity()
  const pageSeed = exportIdentity(page, 'seed')
  const chat = await pageLogIdentity('chat')
  assert.equal(await pageLogIdentity('chat'), chat)
  const notes = await pageLogIdentity('notes')
  assert.notEqual(toHex(notes.publicKey), toHex(chat.publicKey))
  assert.notEqual(toHex(chat.publicKey), toHex(page.publicKey))
  assert.equal(toHex(chat.publicKey), expectedLogKey(pageSeed, 'chat'))
  assert.equal(toHex(notes.publicKey), expectedLogKey(pageSeed, 'notes'))
  assert.equal(toHex((await pageLogIdentity('día 1')).publicKey), expectedLogKey(pageSeed, 'día 1'))
  const message = utf8('entry')
  assert.equal(await verify(message, await chat.sign(message), chat.publicKey), true)
  // The first swarm of a room takes the page key.
  const claim = claimPageIdentity('identity-test-room')
  assert.equal(await claim.identity, page)
  claim.release()
})

test('pageLogIdentity refuses a name that is not a non-empty string, and keeps serving good ones', async () => {
  for (const name of ['', 7, null] as unknown as string[]) {
    await assert.rejects(pageLogIdentity(name), isInvalid)
  }
  await assert.rejects(pageLogIdentity(''), isInvalid)
  assert.equal((await pageLogIdentity('chat')).publicKey.length, 32)
})

test('an imported identity put in place as the page identity carries the page\'s log keys with it', async () => {
  const before = await pageLogIdentity('chat')
  const seed = randomBytes(32)
  await setPageIdentity(importIdentity(seed))
  assert.equal(toHex((await pageIdentity()).publicKey), toHex(nacl.sign.keyPair.fromSeed(seed).publicKey))
  const after = await pageLogIdentity('chat')
  assert.notEqual(toHex(after.publicKey), toHex(before.publicKey))
  assert.equal(toHex(after.publicKey), expectedLogKey(seed, 'chat'))
  // What cannot be read out cannot be the page identity: the page keeps its key.
  await assert.rejects(setPageIdentity(await createIdentity()), isInvalid)
  assert.equal(toHex(exportIdentity(await pageIdentity(), 'seed')), toHex(seed))
})

test('setPageIdentity moves each swarm on the page key (its claim\'s restart, once), none on another key, and none for the key it has', async () => {
  const restarted: string[] = []
  // A swarm restarting lets its claim go and claims its room again, as <p2p-swarm> does.
  let a = claimPageIdentity('restart-a', function again() {
    restarted.push('a')
    a.release()
    a = claimPageIdentity('restart-a', again)
  })
  const fresh = claimPageIdentity('restart-a', () => restarted.push('fresh key'))
  const b = claimPageIdentity('restart-b', () => restarted.push('b'))
  claimPageIdentity('restart-c', () => restarted.push('released')).release()
  const next = importIdentity(randomBytes(32))
  await setPageIdentity(next)
  assert.deepEqual(restarted.sort(), ['a', 'b'])
  assert.equal(await a.identity, next)
  // The same key again (a backup imported twice) moves nothing: its peers would only lose it for a while.
  restarted.length = 0
  await setPageIdentity(importIdentity(exportIdentity(next, 'seed')))
  assert.deepEqual(restarted, [])
  for (const claim of [a, b, fresh]) claim.release()
})

test('exportIdentity and importIdentity round-trip a seed and a JWK, and the JWK is WebCrypto\'s own', async () => {
  const identity = new KeyPairIdentity()
  const seed = exportIdentity(identity, 'seed')
  assert.equal(toHex(importIdentity(seed).publicKey), toHex(identity.publicKey))
  const jwk = exportIdentity(identity, 'jwk')
  assert.equal(toHex(importIdentity(jwk).publicKey), toHex(identity.publicKey))
  // WebCrypto reads our JWK as the same key: its signature verifies under our public key.
  const {subtle} = globalThis.crypto
  const imported = await subtle.importKey('jwk', jwk, {name: 'Ed25519'}, true, ['sign'])
  const message = utf8('from webcrypto')
  assert.equal(await verify(message, new Uint8Array(await subtle.sign({name: 'Ed25519'}, imported, message as Uint8Array<ArrayBuffer>)), identity.publicKey), true)
  // And WebCrypto's export of its own keys is ours, field for field, and imports.
  for (let i = 0; i < 20; i++) {
    const pair = await subtle.generateKey({name: 'Ed25519'}, true, ['sign', 'verify']) as CryptoKeyPair
    const theirs = await subtle.exportKey('jwk', pair.privateKey) as Ed25519PrivateJwk
    const ours = importIdentity(theirs)
    assert.equal(toHex(ours.publicKey), toHex(new Uint8Array(await subtle.exportKey('raw', pair.publicKey))))
    const {kty, crv, x, d} = theirs
    assert.deepEqual(exportIdentity(ours, 'jwk'), {kty, crv, x, d})
  }
})

test('importIdentity and exportIdentity refuse what is not an Ed25519 private key or format, with ERR_INVALID_ARGUMENT', async () => {
  const jwk = exportIdentity(new KeyPairIdentity(), 'jwk')
  const other = exportIdentity(new KeyPairIdentity(), 'jwk')
  const padded = jwk.d + '='
  const bad: unknown[] = [
    new Uint8Array(31), new Uint8Array(33), null, undefined, 'abc', 42, {},
    {...jwk, kty: 'EC'}, {...jwk, crv: 'X25519'}, {kty: 'OKP', crv: 'Ed25519', x: jwk.x},
    {...jwk, d: padded}, {...jwk, d: jwk.d.replace(/^./, '+')}, {...jwk, d: jwk.d.slice(0, -1)},
    {...jwk, d: jwk.d + 'AAAA'}, {...jwk, d: 7},
    // The seed decodes, but the public key it claims is another's.
    {...jwk, x: other.x},
  ]
  for (const input of bad) assert.throws(() => importIdentity(input as Ed25519PrivateJwk), isInvalid, JSON.stringify(input))
  // A last character with bits past the 32 bytes is not the canonical encoding of d.
  const last = jwk.d.at(-1)!
  const sibling = 'AEIMQUYcgkosw048'.includes(last) ? String.fromCharCode(last.charCodeAt(0) + 1) : last
  if (sibling !== last) assert.throws(() => importIdentity({...jwk, d: jwk.d.slice(0, -1) + sibling}), isInvalid)
  const unreadable = await createIdentity()
  assert.throws(() => exportIdentity(unreadable, 'jwk'), isInvalid)
  assert.throws(() => exportIdentity(new KeyPairIdentity(), 'pem' as 'jwk'), isInvalid)
})
