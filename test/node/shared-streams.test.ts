import {test} from 'node:test'
import assert from 'node:assert/strict'
import {SharedStreams} from '../../src/core/hub-client/shared-streams.js'
import type {EventStreamHandlers, StreamTarget} from '../../src/core/hub-client/sse.js'
import {P2PError} from '../../src/core/errors.js'

/** An OpenStream that records every underlying stream, to be opened, fed and failed by hand. */
function fakeStreams() {
  const opened: Array<{url: string, channels: readonly string[], handlers: EventStreamHandlers, closed: boolean}> = []
  const open = (url: string, handlers: EventStreamHandlers, target: StreamTarget) => {
    const s = {url, channels: target.channels, handlers, closed: false}
    opened.push(s)
    return {close: () => { s.closed = true }}
  }
  return {opened, open}
}

function member(log: string[], name: string): EventStreamHandlers {
  return {
    onopen: () => log.push(`${name}:open`),
    onmessage: text => log.push(`${name}:${text}`),
    onerror: err => log.push(`${name}:error:${err.code}`),
  }
}

const tick = () => new Promise(resolve => setTimeout(resolve, 0))
const target = (channels: string[]) => ({hub: 'http://h', app: 'room', channels})

test('subscriptions of one turn share a single stream with the union of their channels', async () => {
  const {opened, open} = fakeStreams()
  const shared = new SharedStreams(open)
  const log: string[] = []
  shared.open('', member(log, 'a'), target(['all', 'a']))
  shared.open('', member(log, 'b'), target(['all', 'b']))
  await tick()
  assert.equal(opened.length, 1)
  assert.deepEqual([...opened[0].channels], ['a', 'all', 'b'])
  opened[0].handlers.onopen()
  opened[0].handlers.onmessage('"hi"')
  assert.deepEqual(log, ['a:open', 'b:open', 'a:"hi"', 'b:"hi"'])
  assert.equal(shared.size, 1)
})

test('a new channel reopens the stream; the old one serves until the new opens, and overlap is delivered once', async () => {
  const {opened, open} = fakeStreams()
  const shared = new SharedStreams(open)
  const log: string[] = []
  shared.open('', member(log, 'a'), target(['all', 'a']))
  await tick()
  opened[0].handlers.onopen()
  shared.open('', member(log, 'b'), target(['all', 'b']))
  await tick()
  assert.equal(opened.length, 2)
  assert.equal(opened[0].closed, false, 'the old stream keeps serving while the new one opens')
  opened[0].handlers.onmessage('"x"')
  opened[1].handlers.onopen()
  assert.equal(opened[0].closed, true)
  opened[1].handlers.onmessage('"x"') // the same message, carried by both streams
  opened[1].handlers.onmessage('"y"')
  assert.deepEqual(log, ['a:open', 'a:"x"', 'b:open', 'a:"y"', 'b:"y"'])
})

test('a member already covered by the open stream opens without a reopen', async () => {
  const {opened, open} = fakeStreams()
  const shared = new SharedStreams(open)
  const log: string[] = []
  shared.open('', member(log, 'a'), target(['all', 'a']))
  await tick()
  opened[0].handlers.onopen()
  shared.open('', member(log, 'b'), target(['all']))
  await tick()
  assert.equal(opened.length, 1)
  assert.deepEqual(log, ['a:open', 'b:open'])
})

test('closing members shrinks the union, and the last one closes the stream', async () => {
  const {opened, open} = fakeStreams()
  const shared = new SharedStreams(open)
  const log: string[] = []
  const a = shared.open('', member(log, 'a'), target(['all', 'a']))
  const b = shared.open('', member(log, 'b'), target(['all', 'b']))
  await tick()
  opened[0].handlers.onopen()
  b.close()
  await tick()
  assert.deepEqual([...opened[1].channels], ['a', 'all'])
  opened[1].handlers.onopen()
  a.close()
  assert.equal(opened[1].closed, true)
  assert.equal(shared.size, 0)
})

test('a failed stream fails every member once (each reconnects on its own back-off)', async () => {
  const {opened, open} = fakeStreams()
  const shared = new SharedStreams(open)
  const log: string[] = []
  shared.open('', member(log, 'a'), target(['all', 'a']))
  shared.open('', member(log, 'b'), target(['all', 'b']))
  await tick()
  opened[0].handlers.onopen()
  opened[0].handlers.onerror(P2PError.HUB_UNREACHABLE('gone'))
  assert.deepEqual(log, ['a:open', 'b:open', 'a:error:ERR_HUB_UNREACHABLE', 'b:error:ERR_HUB_UNREACHABLE'])
  assert.equal(shared.size, 0)
  // A member rejoining starts a fresh stream.
  shared.open('', member(log, 'a'), target(['all', 'a']))
  await tick()
  assert.equal(opened.length, 2)
})

test('different apps or hubs get separate streams', async () => {
  const {opened, open} = fakeStreams()
  const shared = new SharedStreams(open)
  shared.open('', member([], 'a'), {hub: 'http://h', app: 'one', channels: ['all']})
  shared.open('', member([], 'b'), {hub: 'http://h', app: 'two', channels: ['all']})
  shared.open('', member([], 'c'), {hub: 'http://other', app: 'one', channels: ['all']})
  await tick()
  assert.equal(opened.length, 3)
  assert.equal(shared.size, 3)
})
