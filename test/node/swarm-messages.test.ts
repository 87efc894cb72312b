import {test} from 'node:test'
import assert from 'node:assert/strict'
import {decodeHubMessage, encodeSignal, sdpFingerprint} from '../../src/core/swarm/messages.js'
import {swarmMessages} from '../../src/protocol.js'
import {RoomCipher} from '../../src/core/crypto/room-cipher.js'
import {P2PError} from '../../src/core/errors.js'

test('webrtc-swarm announcements and signals decode', () => {
  assert.deepEqual(decodeHubMessage({type: 'connect', from: 'abc123'}), {kind: 'announce', from: 'abc123'})
  assert.deepEqual(decodeHubMessage({type: 'connect', from: 'abc123', peers: 2}), {kind: 'announce', from: 'abc123', peers: 2})
  const key = 'ab'.repeat(32)
  assert.deepEqual(decodeHubMessage({type: 'connect', from: 'abc123', peers: 0, key}), {kind: 'announce', from: 'abc123', peers: 0, key})
  assert.deepEqual(decodeHubMessage({type: 'busy', from: 'abc123', to: 'def'}), {kind: 'busy', from: 'abc123', to: 'def'})
  assert.deepEqual(decodeHubMessage({type: 'busy', from: 'abc123', to: 'def', attempt: '0123456789abcdef'}), {kind: 'busy', from: 'abc123', to: 'def', attempt: '0123456789abcdef'})
  assert.throws(() => decodeHubMessage({type: 'busy', from: 'abc123', to: 'def', attempt: 'nope'}), {code: 'ERR_MALFORMED_MESSAGE'})
  const signal = {type: 'offer', sdp: 'v=0\r\n'}
  assert.deepEqual(decodeHubMessage({from: 'abc123', signal}), {kind: 'signal', from: 'abc123', signal})
  assert.deepEqual(decodeHubMessage({from: 'abc123', to: 'def', signal}), {kind: 'signal', from: 'abc123', to: 'def', signal})
  const attempt = '0123456789abcdef'
  assert.deepEqual(decodeHubMessage({from: 'abc123', to: 'def', signal, attempt}), {kind: 'signal', from: 'abc123', to: 'def', signal, attempt})
  // An answer names the attempt whose offer it answers.
  const answer = {type: 'answer' as const, sdp: 'v=0\r\n'}
  const answers = 'fedcba9876543210'
  assert.deepEqual(decodeHubMessage(encodeSignal('abc123', 'def', answer, attempt, answers)), {kind: 'signal', from: 'abc123', to: 'def', signal: answer, attempt, answers})
  const candidate = {candidate: {candidate: 'candidate:1 1 udp 1 127.0.0.1 5000 typ host', sdpMid: '0'}}
  assert.equal(decodeHubMessage({from: 'x', signal: candidate}).kind, 'signal')
})

test('hostile hub messages are typed errors', () => {
  const bad: unknown[] = [
    null, 42, 'connect', [], {}, {type: 'connect'}, {type: 'connect', from: ''},
    {type: 'connect', from: 'a'.repeat(65)}, {type: 'connect', from: 'a', peers: -1}, {type: 'connect', from: 'a', peers: 1.5},
    {type: 'connect', from: 'a', peers: '3'}, {type: 'connect', from: 'a', key: 'AB'.repeat(32)}, {type: 'connect', from: 'a', key: 'ab'},
    {type: 'busy', from: 'a'}, {type: 'busy', from: 'a', to: '../x'}, {type: 'connect', from: '../etc'}, {type: 'connect', from: 7},
    {from: 'a'}, {from: 'a', signal: 'x'}, {from: 'a', signal: []}, {from: 'a', signal: {type: 'evil'}},
    {from: 'a', signal: {type: 'offer'}}, {from: 'a', signal: {type: 'offer', sdp: 5}},
    {from: 'a', signal: {type: 'answer', sdp: 'x'.repeat(40_000)}}, {from: 'a', signal: {}},
    {from: 'a', to: '', signal: {type: 'answer', sdp: 'x'}}, {from: 'a', to: {}, signal: {type: 'answer', sdp: 'x'}},
    {from: 'a', signal: {type: 'answer', sdp: 'x'}, attempt: 'short'}, {from: 'a', signal: {type: 'answer', sdp: 'x'}, attempt: 12},
    {from: 'a', signal: {type: 'answer', sdp: 'x'}, attempt: '0123456789ABCDEF'},
    {from: 'a', signal: {type: 'answer', sdp: 'x'}, answers: 'short'}, {from: 'a', signal: {type: 'answer', sdp: 'x'}, answers: 12},
  ]
  for (const m of bad) {
    assert.throws(() => decodeHubMessage(m), (err: unknown) => err instanceof P2PError && err.code === 'ERR_MALFORMED_MESSAGE', JSON.stringify(m)?.slice(0, 60))
  }
})

test('the DTLS fingerprint is read from an SDP', () => {
  const sdp = 'v=0\r\na=ice-ufrag:x\r\na=fingerprint:sha-256 ab:cd:EF\r\na=setup:actpass\r\n'
  assert.equal(sdpFingerprint(sdp), 'sha-256 AB:CD:EF')
  assert.equal(sdpFingerprint('v=0\r\n'), '')
})

test('room messages open only with the same secret and room, and name their channel', async () => {
  const a = new RoomCipher('s3cret', 'team')
  const sealed = await a.seal('all', {type: 'connect', from: 'abc'})
  assert.equal(JSON.stringify(sealed).includes('abc'), false, 'the sender id is not visible to the hub')
  assert.deepEqual(await new RoomCipher('s3cret', 'team').open(sealed), {fresh: true, channel: 'all', message: {type: 'connect', from: 'abc'}})
  for (const other of [new RoomCipher('wrong', 'team'), new RoomCipher('s3cret', 'other-room')]) {
    await assert.rejects(other.open(sealed), (err: unknown) => err instanceof P2PError && err.code === 'ERR_DECRYPT')
  }
  const tampered = {...sealed, ct: sealed.ct.slice(0, -4) + 'AAAA'}
  await assert.rejects(a.open(tampered), (err: unknown) => err instanceof P2PError && err.code === 'ERR_DECRYPT')
  for (const junk of [null, {}, {p2p: 'enc1', iv: 1, ct: 'x'}, {p2p: 'enc1', iv: '!!', ct: '??'}, {type: 'connect', from: 'x'}]) {
    await assert.rejects(a.open(junk), (err: unknown) => err instanceof P2PError && err.code === 'ERR_DECRYPT')
  }
})

test('the protocol entry\'s swarmMessages holds every encoding the swarm speaks, the rooms\' included', () => {
  for (const name of ['decodeHubMessage', 'decodeAuth', 'proofTranscript', 'roomTag', 'encodeRoomMessage', 'decodeRoomMessage']) {
    assert.equal(typeof (swarmMessages as Record<string, unknown>)[name], 'function', name)
  }
  assert.equal(swarmMessages.ROOMS_PROTOCOL, 'p2p/rooms/1')
  assert.equal(swarmMessages.RoomMessageType.JOIN, 1)
})
