import {test} from 'node:test'
import assert from 'node:assert/strict'
import {P2PError, toP2PError, type P2PErrorCode} from '../../src/core/errors.js'

// Written out rather than read from errors.ts, so a factory that goes missing or
// makes the wrong code fails here.
const plain = [
  'INVALID_ARGUMENT', 'HUB_REJECTED', 'BODY_TOO_LARGE', 'MALFORMED_JSON', 'RATE_LIMITED', 'TOO_MANY_CHANNELS',
  'TOO_MANY_SUBSCRIBERS', 'BAD_CHANNEL', 'NOT_FOUND', 'METHOD_NOT_ALLOWED', 'ORIGIN_NOT_ALLOWED',
  'MALFORMED_MESSAGE', 'MESSAGE_TOO_LARGE', 'UNKNOWN_PROTOCOL', 'DECRYPT', 'HANDSHAKE', 'INVALID_SIGNATURE',
  'ADMISSION_REFUSED', 'PEER_TIMEOUT', 'CONNECTION_CLOSED', 'SELF_CONNECTION', 'PEER_MISBEHAVING',
  'HASH_MISMATCH', 'ABORTED', 'NOT_A_WRITER', 'AUTHOR_FROZEN',
] as const
const withCause = ['HUB_UNREACHABLE', 'CONNECTION_FAILED', 'CONNECTION_BUDGET', 'WEBRTC_UNSUPPORTED', 'STORAGE_FULL', 'VIEW_FAILED'] as const

function assertMade(err: P2PError, code: P2PErrorCode, message: string) {
  assert.ok(err instanceof P2PError && err instanceof Error)
  assert.equal(err.name, 'P2PError')
  assert.equal(err.code, code)
  assert.equal(err.message, `${code}: ${message}`)
}

test('each factory makes its code, with the code leading the message', () => {
  for (const name of plain) {
    const err = P2PError[name]('what went wrong')
    assertMade(err, `ERR_${name}`, 'what went wrong')
    assert.equal('cause' in err, false, `${name} claims no cause`)
  }
})

test('factories of failures with one underneath keep it as cause', () => {
  const underneath = new Error('socket hang up')
  for (const name of withCause) {
    const err = P2PError[name]('could not go on', underneath)
    assertMade(err, `ERR_${name}`, 'could not go on')
    assert.equal(err.cause, underneath)
    assert.equal('cause' in P2PError[name]('alone'), false, `${name} without a cause claims none`)
  }
})

test('DESTROYED has a default message', () => {
  assertMade(P2PError.DESTROYED(), 'ERR_DESTROYED', 'object was destroyed')
  assertMade(P2PError.DESTROYED('the hub was closed'), 'ERR_DESTROYED', 'the hub was closed')
})

test('toP2PError keeps a P2PError and wraps anything else with its cause', () => {
  const own = P2PError.ABORTED('stopped')
  assert.equal(toP2PError(own), own)
  const thrown = new TypeError('bad')
  const wrapped = toP2PError(thrown, 'ERR_DECRYPT')
  assertMade(wrapped, 'ERR_DECRYPT', 'bad')
  assert.equal(wrapped.cause, thrown)
  assertMade(toP2PError('text'), 'ERR_CONNECTION_FAILED', 'text')
})
