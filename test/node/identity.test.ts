import {test} from 'node:test'
import assert from 'node:assert/strict'
import nacl from 'tweetnacl'
import {KeyPairIdentity, verify} from '../../src/core/crypto/identity.js'
import {fromHex, randomBytes, toHex, utf8} from '../../src/core/bytes.js'

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
