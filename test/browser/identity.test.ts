import {expect} from '@open-wc/testing'
import {createIdentity, verify, type Identity} from '../../src/core/crypto/identity.js'
import {KeyPairIdentity} from '../../src/core/crypto/seed-identity.js'
import {ed25519PublicKey} from '../../src/core/crypto/ed25519-key.js'
import {fromHex, randomBytes, toHex, utf8} from '../../src/core/bytes.js'
import {RFC8032_VECTORS, subtleWithoutEd25519} from '../shared/ed25519-vectors.js'

// This file imports no tweetnacl itself: the fallback's signatures below can come
// only from the copy identity.ts imports dynamically, through the dev server.
describe('identity', () => {
  it('createIdentity makes a WebCrypto key pair that signs and verifies, with no seed to export', async () => {
    const identity = await createIdentity()
    expect(identity instanceof KeyPairIdentity).to.equal(false)
    expect('exportSeed' in identity).to.equal(false)
    const message = utf8('hello')
    const signature = await identity.sign(message)
    expect(await verify(message, signature, identity.publicKey)).to.equal(true)
    expect(await verify(utf8('hellO'), signature, identity.publicKey)).to.equal(false)
  })

  it('without WebCrypto Ed25519, createIdentity falls back to a seed identity; each verifies the other\'s signatures', async () => {
    const {subtle} = subtleWithoutEd25519()
    const fallback = await createIdentity({subtle})
    expect(fallback instanceof KeyPairIdentity).to.equal(true)
    const web = await createIdentity()
    const message = randomBytes(300)
    for (const [signer, other] of [[fallback, web], [web, fallback]] as Array<[Identity, Identity]>) {
      const signature = await signer.sign(message)
      expect(await verify(message, signature, signer.publicKey), 'natively').to.equal(true)
      expect(await verify(message, signature, signer.publicKey, {subtle}), 'by tweetnacl').to.equal(true)
      expect(await verify(message, signature, other.publicKey)).to.equal(false)
    }
  })

  it('derives the public key WebCrypto made for its own key pairs', async () => {
    for (let i = 0; i < 50; i++) {
      const pair = await crypto.subtle.generateKey({name: 'Ed25519'}, true, ['sign', 'verify']) as CryptoKeyPair
      // PKCS #8 of an Ed25519 key ends with the 32-byte seed (RFC 8410).
      const seed = new Uint8Array(await crypto.subtle.exportKey('pkcs8', pair.privateKey)).slice(-32)
      const publicKey = new Uint8Array(await crypto.subtle.exportKey('raw', pair.publicKey))
      expect(toHex(ed25519PublicKey(seed))).to.equal(toHex(publicKey))
    }
  })

  it('derives RFC 8032\'s public keys and signs its vectors natively', async () => {
    for (const v of RFC8032_VECTORS) {
      const identity = new KeyPairIdentity(fromHex(v.seed))
      expect(toHex(identity.publicKey), v.name).to.equal(v.publicKey)
      if (v.message === undefined) continue
      expect(toHex(await identity.sign(fromHex(v.message))), v.name).to.equal(v.signature)
    }
  })

  it('without WebCrypto Ed25519, signs and verifies through tweetnacl, fetched on demand', async () => {
    for (const v of RFC8032_VECTORS) {
      if (v.message === undefined) continue
      const {subtle, asked} = subtleWithoutEd25519()
      const identity = new KeyPairIdentity(fromHex(v.seed), {subtle})
      const signature = await identity.sign(fromHex(v.message))
      expect(asked(), 'the injected WebCrypto was asked').to.equal(1)
      expect(toHex(signature), v.name).to.equal(v.signature)
      expect(await verify(fromHex(v.message), signature, identity.publicKey, {subtle}), v.name).to.equal(true)
      expect(await verify(utf8('another'), signature, identity.publicKey, {subtle}), v.name).to.equal(false)
    }
  })

  it('signatures made natively verify through the fallback, and the fallback\'s natively', async () => {
    const {subtle} = subtleWithoutEd25519()
    const seed = randomBytes(32)
    const native = new KeyPairIdentity(seed)
    const fallback = new KeyPairIdentity(seed, {subtle})
    const message = randomBytes(500)
    const natively = await native.sign(message)
    const byFallback = await fallback.sign(message)
    expect(toHex(byFallback)).to.equal(toHex(natively))
    expect(await verify(message, natively, native.publicKey, {subtle})).to.equal(true)
    expect(await verify(message, byFallback, native.publicKey)).to.equal(true)
    const tampered = natively.slice()
    tampered[0] ^= 1
    expect(await verify(message, tampered, native.publicKey, {subtle})).to.equal(false)
  })
})
