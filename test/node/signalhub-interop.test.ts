// The hub and the client speak signalhub's protocol: the original signalhub
// client works against our hub, and our client works against signalhub's server.
import {describe, test, after} from 'node:test'
import assert from 'node:assert/strict'
import {createRequire} from 'node:module'
import type {Server} from 'node:http'
import type {AddressInfo} from 'node:net'
import {HubClient} from '../../src/core/hub-client/hub-client.js'
import {startHub, within} from './helpers.js'
import {until} from '../shared/until.js'

interface SignalhubStream {
  on(event: 'data', listener: (data: unknown) => void): this
  on(event: 'open', listener: () => void): this
}

interface SignalhubClient {
  subscribe(channel: string | string[]): SignalhubStream
  broadcast(channel: string, message: unknown, cb?: (err?: Error) => void): void
  close(cb?: () => void): void
}

const require = createRequire(import.meta.url)
const signalhub = require('signalhub') as (app: string, urls: string[]) => SignalhubClient
const signalhubServer = require('signalhub/server') as () => Server

const cleanups: Array<() => unknown> = []
after(() => Promise.all(cleanups.map(cleanup => cleanup())))

function signalhubClient(app: string, url: string): SignalhubClient {
  const client = signalhub(app, [url])
  cleanups.unshift(() => new Promise<void>(resolve => client.close(() => resolve())))
  return client
}

function ourClient(app: string, hubs: string[]): HubClient {
  const client = new HubClient({hubs, app})
  cleanups.unshift(() => client.destroy())
  return client
}

async function startSignalhubServer(): Promise<string> {
  const server = signalhubServer()
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  cleanups.push(() => new Promise(resolve => {
    server.close(resolve)
    server.closeAllConnections()
  }))
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

function opened(stream: SignalhubStream): Promise<void> {
  return within(new Promise<void>(resolve => stream.on('open', resolve)), 3000, 'signalhub stream open')
}

function nextData(stream: SignalhubStream, count = 1): Promise<unknown[]> {
  const seen: unknown[] = []
  return within(new Promise(resolve => stream.on('data', data => {
    seen.push(data)
    if (seen.length === count) resolve(seen)
  })), 3000, 'signalhub data')
}

function broadcastWith(client: SignalhubClient, channel: string, message: unknown): Promise<void> {
  return new Promise((resolve, reject) => client.broadcast(channel, message, err => err ? reject(err) : resolve()))
}

function collector() {
  const messages: unknown[] = []
  let notify = () => {}
  return {
    messages,
    onMessage: (data: unknown) => {
      messages.push(data)
      notify()
    },
    until: (count: number) => within(new Promise<void>(resolve => {
      notify = () => {
        if (messages.length >= count) resolve()
      }
      notify()
    }), 3000, `${count} messages`),
  }
}

describe('signalhub interop', {timeout: 15_000}, () => {
  test("signalhub's client subscribes and broadcasts through our hub", async () => {
    const {url, hub} = await startHub()
    cleanups.push(() => hub.close())
    const theirs = signalhubClient('interop', url)
    const stream = theirs.subscribe(['all', 'peer-a'])
    await opened(stream)
    const ours = ourClient('interop', [url])
    const box = collector()
    await ours.subscribe(['all'], box.onMessage).ready

    // signalhub → our hub → both clients
    const theirsSees = nextData(stream, 3)
    await broadcastWith(theirs, 'all', {type: 'connect', from: 'signalhub'})
    await box.until(1)
    assert.deepEqual(box.messages, [{type: 'connect', from: 'signalhub'}])

    // our client → our hub → signalhub, on both of its comma-joined channels
    await ours.broadcast('all', {type: 'connect', from: 'p2p-elements'})
    await ours.broadcast('peer-a', {from: 'p2p-elements', signal: {type: 'offer', sdp: 'v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n'}})
    assert.deepEqual(await theirsSees, [
      {type: 'connect', from: 'signalhub'},
      {type: 'connect', from: 'p2p-elements'},
      {from: 'p2p-elements', signal: {type: 'offer', sdp: 'v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n'}},
    ])
    assert.equal(hub.stats.broadcasts, 3)
  })

  test("our client works against signalhub's own server", async () => {
    const url = await startSignalhubServer()
    const ours = ourClient('interop', [url])
    const box = collector()
    const sub = ours.subscribe(['all', 'peer-b'], box.onMessage)
    await sub.ready
    const theirs = signalhubClient('interop', url)
    const stream = theirs.subscribe('all')
    await opened(stream)

    // our client → signalhub server → both clients
    const theirsSees = nextData(stream, 2)
    await ours.broadcast('all', {type: 'connect', from: 'p2p-elements'})
    await box.until(1)

    // signalhub client → signalhub server → our client, on either channel
    await broadcastWith(theirs, 'all', {type: 'connect', from: 'signalhub'})
    await broadcastWith(theirs, 'peer-b', {from: 'signalhub', signal: {candidate: 'a=candidate:1 1 udp 1 127.0.0.1 9 typ host'}})
    await box.until(3)
    assert.deepEqual(box.messages, [
      {type: 'connect', from: 'p2p-elements'},
      {type: 'connect', from: 'signalhub'},
      {from: 'signalhub', signal: {candidate: 'a=candidate:1 1 udp 1 127.0.0.1 9 typ host'}},
    ])
    assert.deepEqual(await theirsSees, [{type: 'connect', from: 'p2p-elements'}, {type: 'connect', from: 'signalhub'}])
    assert.equal(ours.stats.hubs[url].state, 'open')
    assert.equal(ours.stats.hubs[url].broadcastsOut, 1)
  })

  test('a client on our hub and a signalhub server at once gets each message once', async () => {
    const {url, hub} = await startHub()
    cleanups.push(() => hub.close())
    const original = await startSignalhubServer()
    const ours = ourClient('mixed', [url, original])
    const box = collector()
    await ours.subscribe(['all'], box.onMessage).ready
    // Both streams must be open before the broadcast for the dedupe to be exercised.
    const bothOpen = () => Object.values(ours.stats.hubs).every(hubStats => hubStats.state === 'open')
    await until(() => bothOpen() && hub.stats.subscribers === 1, 'both streams open')
    await ours.broadcast('all', {type: 'connect', from: 'both'})
    await box.until(1)
    await until(() => ours.stats.duplicatesDropped === 1, 'the second copy')
    assert.deepEqual(box.messages, [{type: 'connect', from: 'both'}])
    assert.equal(ours.stats.hubs[url].messagesIn, 1)
    assert.equal(ours.stats.hubs[original].messagesIn, 1)
  })
})
