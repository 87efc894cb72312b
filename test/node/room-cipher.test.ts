// Sealed signalling (room secret): a captured envelope opens once, and only
// within the time window of the clock that sealed it.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {RoomCipher} from '../../src/core/crypto/room-cipher.js'
import {P2PError} from '../../src/core/errors.js'

/** Two pages of one secret room, on one virtual wall clock. */
function room(window?: number) {
  const clock = {t: 1_700_000_000_000}
  const now = () => clock.t
  return {clock, sender: new RoomCipher('s3cret', 'team', {epochNow: now, window}), receiver: new RoomCipher('s3cret', 'team', {epochNow: now, window})}
}

test('a captured envelope posted again is refused as a replay; a fresh one still opens', async () => {
  const {sender, receiver} = room()
  const offer = await sender.seal('peer-b', {from: 'a', signal: {type: 'offer', sdp: 'v=0'}})
  assert.deepEqual(await receiver.open(offer), {fresh: true, channel: 'peer-b', message: {from: 'a', signal: {type: 'offer', sdp: 'v=0'}}})
  assert.deepEqual(await receiver.open(offer), {fresh: false, reason: 'replay'})
  assert.deepEqual(await receiver.open(structuredClone(offer)), {fresh: false, reason: 'replay'}, 'a copy is the same envelope')
  const next = await sender.seal('peer-b', {from: 'a', n: 2})
  assert.deepEqual(await receiver.open(next), {fresh: true, channel: 'peer-b', message: {from: 'a', n: 2}})
})

test('an envelope sealed outside the window either side of the receiver\'s clock is refused', async () => {
  const {clock, sender, receiver} = room(120_000)
  const captured = await sender.seal('all', {type: 'connect', from: 'a'})
  clock.t += 120_001
  assert.deepEqual(await receiver.open(captured), {fresh: false, reason: 'expired'})
  // A sender whose clock runs ahead by more than the window is refused too.
  const ahead = new RoomCipher('s3cret', 'team', {epochNow: () => clock.t + 120_001})
  assert.deepEqual(await receiver.open(await ahead.seal('all', {n: 1})), {fresh: false, reason: 'expired'})
  // Within the window, both ways, it opens.
  const near = new RoomCipher('s3cret', 'team', {epochNow: () => clock.t - 119_000})
  assert.equal((await receiver.open(await near.seal('all', {n: 2}))).fresh, true)
  assert.equal((await receiver.open(await sender.seal('all', {n: 3}))).fresh, true)
})

test('an envelope stays refused as long as it could open, and the seen-set forgets it only after', async () => {
  const {clock, sender, receiver} = room(1000)
  const env = await sender.seal('all', {n: 1})
  assert.equal((await receiver.open(env)).fresh, true)
  clock.t += 1000
  assert.deepEqual(await receiver.open(env), {fresh: false, reason: 'replay'}, 'at the edge of the window it is still a replay')
  clock.t += 1
  assert.deepEqual(await receiver.open(env), {fresh: false, reason: 'expired'})
})

test('an envelope without a time inside (an older version) does not open', async () => {
  // Sealed as before freshness: {c, m} only. Built with WebCrypto the way the cipher derives its key.
  const subtle = globalThis.crypto.subtle
  const base = await subtle.importKey('raw', new TextEncoder().encode('s3cret'), 'PBKDF2', false, ['deriveKey'])
  const key = await subtle.deriveKey(
    {name: 'PBKDF2', hash: 'SHA-256', iterations: 210_000, salt: new TextEncoder().encode('p2p-elements/room/team')},
    base, {name: 'AES-GCM', length: 256}, false, ['encrypt'],
  )
  const iv = crypto.getRandomValues(new Uint8Array(12))
  const ct = new Uint8Array(await subtle.encrypt({name: 'AES-GCM', iv}, key, new TextEncoder().encode(JSON.stringify({c: 'all', m: {n: 1}}))))
  const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64')
  await assert.rejects(room().receiver.open({p2p: 'enc1', iv: b64(iv), ct: b64(ct)}), (err: unknown) => err instanceof P2PError && err.code === 'ERR_DECRYPT' && /no time/.test(err.message))
})

test('the window is checked', () => {
  for (const window of [0, -1, NaN]) assert.throws(() => new RoomCipher('s', 'r', {window}), {code: 'ERR_INVALID_ARGUMENT'})
})
