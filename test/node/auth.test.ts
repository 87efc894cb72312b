import {test} from 'node:test'
import assert from 'node:assert/strict'
import {Authenticator} from '../../src/core/swarm/auth.js'
import type {Identity} from '../../src/core/crypto/identity.js'
import {KeyPairIdentity} from '../../src/core/crypto/seed-identity.js'
import {encodeHello, encodeProof} from '../../src/core/swarm/messages.js'
import {randomBytes, toHex} from '../../src/core/bytes.js'
import {P2PError} from '../../src/core/errors.js'

const FP_A = 'sha-256 AA:BB'
const FP_B = 'sha-256 CC:DD'

/** Wires two authenticators back to back, as two ends of one connection. */
function createPair(a: Identity, b: Identity, fingerprints = {aSeesB: FP_B, bSeesA: FP_A}) {
  const sideA: Authenticator = new Authenticator({
    identity: a, send: bytes => queueMicrotask(() => void sideB.receive(bytes)),
    localFingerprint: FP_A, remoteFingerprint: fingerprints.aSeesB,
  })
  const sideB: Authenticator = new Authenticator({
    identity: b, send: bytes => queueMicrotask(() => void sideA.receive(bytes)),
    localFingerprint: FP_B, remoteFingerprint: fingerprints.bSeesA,
  })
  return {sideA, sideB}
}

async function rejection(p: Promise<unknown>): Promise<P2PError> {
  try {
    await p
  } catch (err) {
    assert.ok(err instanceof P2PError, `expected a P2PError, got ${err}`)
    return err
  }
  assert.fail('expected the handshake to fail')
}

test('both ends learn each other\'s proven key', async () => {
  const a = new KeyPairIdentity()
  const b = new KeyPairIdentity()
  const {sideA, sideB} = createPair(a, b)
  sideA.start()
  sideB.start()
  const [keyOfB, keyOfA] = await Promise.all([sideA.result, sideB.result])
  assert.equal(toHex(keyOfB), toHex(b.publicKey))
  assert.equal(toHex(keyOfA), toHex(a.publicKey))
})

test('a peer claiming a key it does not hold is refused (forged proof)', async () => {
  const victim = new KeyPairIdentity()
  const attackerKey = new KeyPairIdentity()
  const forger: Identity = {publicKey: victim.publicKey, sign: m => attackerKey.sign(m)}
  const honest = new KeyPairIdentity()
  const {sideA, sideB} = createPair(honest, forger)
  sideA.start()
  sideB.start()
  const err = await rejection(sideA.result)
  assert.equal(err.code, 'ERR_INVALID_SIGNATURE')
})

test('a proof relayed from another connection fails (DTLS fingerprints are bound)', async () => {
  // B sees a different remote fingerprint than the one A signed: a man in the middle.
  const {sideA, sideB} = createPair(new KeyPairIdentity(), new KeyPairIdentity(), {aSeesB: FP_B, bSeesA: 'sha-256 EE:FF'})
  sideA.start()
  sideB.start()
  assert.equal((await rejection(sideB.result)).code, 'ERR_INVALID_SIGNATURE')
})

test('a replayed proof from an earlier handshake fails (fresh nonces)', async () => {
  const a = new KeyPairIdentity()
  const b = new KeyPairIdentity()
  let recorded: Uint8Array | null = null
  const first = new Authenticator({identity: a, send: bytes => { if (bytes[0] === 2) recorded = bytes }, localFingerprint: FP_A, remoteFingerprint: FP_B})
  await first.receive(encodeHello(b.publicKey, randomBytes(32)))
  assert.ok(recorded, 'the first handshake produced a proof')
  // Later, an attacker replays A's old hello and proof to B.
  const victim = new Authenticator({identity: b, send: () => {}, localFingerprint: FP_B, remoteFingerprint: FP_A})
  victim.start()
  await victim.receive(encodeHello(a.publicKey, randomBytes(32)))
  await victim.receive(recorded)
  assert.equal((await rejection(victim.result)).code, 'ERR_INVALID_SIGNATURE')
})

test('connecting to our own key is refused', async () => {
  const me = new KeyPairIdentity()
  const {sideA, sideB} = createPair(me, me)
  sideA.start()
  sideB.start()
  assert.equal((await rejection(sideA.result)).code, 'ERR_SELF_CONNECTION')
})

test('malformed, out-of-order and repeated handshake messages are typed errors', async () => {
  const cases: Array<[string, Uint8Array[], string]> = [
    ['empty', [new Uint8Array(0)], 'ERR_MALFORMED_MESSAGE'],
    ['unknown type', [Uint8Array.of(9, 1, 2)], 'ERR_MALFORMED_MESSAGE'],
    ['short hello', [encodeHello(new KeyPairIdentity().publicKey, randomBytes(32)).slice(0, 40)], 'ERR_MALFORMED_MESSAGE'],
    ['oversized proof', [encodeProof(randomBytes(65))], 'ERR_MALFORMED_MESSAGE'],
    ['proof before hello', [encodeProof(randomBytes(64))], 'ERR_HANDSHAKE'],
    ['second hello', [encodeHello(new KeyPairIdentity().publicKey, randomBytes(32)), encodeHello(new KeyPairIdentity().publicKey, randomBytes(32))], 'ERR_HANDSHAKE'],
    ['future version', [Uint8Array.of(1, 2, ...randomBytes(64))], 'ERR_HANDSHAKE'],
  ]
  for (const [name, messages, code] of cases) {
    const auth = new Authenticator({identity: new KeyPairIdentity(), send: () => {}, localFingerprint: FP_A, remoteFingerprint: FP_B})
    auth.start()
    for (const m of messages) await auth.receive(m)
    assert.equal((await rejection(auth.result)).code, code, name)
  }
})
