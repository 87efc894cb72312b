// The hub and the client speak signalhub's protocol: the original signalhub
// client works against our hub, and our client works against signalhub's server.
// Every case of signalhub 4.9.0's own test.js runs against our hub process.
import {describe, test, before, after} from 'node:test'
import assert from 'node:assert/strict'
import {createRequire} from 'node:module'
import {spawn} from 'node:child_process'
import {fileURLToPath} from 'node:url'
import type {Server} from 'node:http'
import type {AddressInfo} from 'node:net'
import {HubClient} from '../../src/core/hub-client/hub-client.js'
import {startHub, within} from './helpers.js'
import {until} from '../shared/until.js'
import {startHubProcess} from '../../scripts/hub-process.js'
import type {HubProcess} from '../../scripts/hub-process.js'

interface SignalhubStream {
  on(event: 'data', listener: (data: unknown) => void): this
  on(event: 'open', listener: () => void): this
}

interface SignalhubClient {
  readonly subscribers: SignalhubStream[]
  readonly closed: boolean
  subscribe(channel: string | string[]): SignalhubStream
  broadcast(channel: string, message: unknown, cb?: (err?: Error) => void): void
  /** Calls back once every subscriber closed; never when the client was closed already. */
  close(cb?: () => void): void
}

const require = createRequire(import.meta.url)
const signalhub = require('signalhub') as (app: string, urls: string[]) => SignalhubClient
const signalhubVersion = (require('signalhub/package.json') as {version: string}).version
const signalhubServer = require('signalhub/server') as () => Server

const cleanups: Array<() => unknown> = []
after(() => Promise.all(cleanups.map(cleanup => cleanup())))

function signalhubClient(app: string, url: string | string[]): SignalhubClient {
  const client = signalhub(app, Array.isArray(url) ? url : [url])
  cleanups.unshift(() => closeClient(client))
  return client
}

function closeClient(client: SignalhubClient): Promise<void> {
  return new Promise(resolve => client.closed ? resolve() : client.close(resolve))
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
  return within(new Promise<void>(resolve => stream.on('open', resolve)), 10_000, 'signalhub stream open')
}

function nextData(stream: SignalhubStream, count = 1): Promise<unknown[]> {
  const seen: unknown[] = []
  return within(new Promise(resolve => stream.on('data', data => {
    seen.push(data)
    if (seen.length === count) resolve(seen)
  })), 10_000, 'signalhub data')
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
    }), 10_000, `${count} messages`),
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

  test("our client gets ready and its messages from signalhub's server as a process, which sends no byte before the first message", async () => {
    const bin = fileURLToPath(new URL('../../node_modules/.bin/signalhub', import.meta.url))
    const child = spawn(bin, ['listen', '-p', '0', '-h', '127.0.0.1', '--quiet'], {stdio: ['ignore', 'pipe', 'inherit']})
    cleanups.push(() => new Promise<void>(resolve => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve()
      child.once('exit', () => resolve())
      child.kill('SIGTERM')
    }))
    let out = ''
    child.stdout.setEncoding('utf8')
    const port = await within(new Promise<string>(resolve => child.stdout.on('data', (chunk: string) => {
      out += chunk
      const m = out.match(/listening on port (\d+)/)
      if (m) resolve(m[1])
    })), 20_000, 'signalhub listening')
    const url = `http://127.0.0.1:${port}`
    const ours = ourClient('process', [url])
    const box = collector()
    // Ready on the answer's status and type: the body stays empty until a message.
    await within(ours.subscribe(['all', 'peer-c'], box.onMessage).ready, 20_000, 'ready')
    assert.equal(ours.stats.hubs[url].state, 'open')
    await ours.broadcast('all', {type: 'connect', from: 'p2p-elements'})
    await ours.broadcast('peer-c', {from: 'p2p-elements', signal: {type: 'answer'}})
    await box.until(2)
    assert.deepEqual(box.messages, [{type: 'connect', from: 'p2p-elements'}, {from: 'p2p-elements', signal: {type: 'answer'}}])
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

// signalhub 4.9.0's test.js, case by case, with its client against our hub as a
// separate process started by the CLI (default limits). Its URLs carry no scheme
// ('localhost:9000'), as there; its waits ("open, then broadcast") are kept.
describe(`signalhub ${signalhubVersion}'s own test.js against our hub process`, {timeout: 30_000}, () => {
  let hub: HubProcess
  let address: string
  before(async () => {
    hub = await startHubProcess()
    address = hub.url.replace(/^http:\/\//, '')
  })
  after(() => hub?.close())

  async function hubInfo(): Promise<{subscribers: number}> {
    return await (await fetch(`${hub.url}/`)).json() as {subscribers: number}
  }

  test('the suite is 4.9.0\'s', () => {
    assert.equal(signalhubVersion, '4.9.0')
  })

  test('subscribe', async () => {
    const c = signalhubClient('app', address)
    const stream = c.subscribe('hello')
    const data = nextData(stream)
    stream.on('open', () => c.broadcast('hello', {hello: 'world'}))
    assert.deepEqual(await data, [{hello: 'world'}])
    await closeClient(c)
  })

  test('subscribe two apps', async () => {
    const c1 = signalhubClient('app1', address)
    const c2 = signalhubClient('app2', address)
    const s1 = c1.subscribe('hello')
    const s2 = c2.subscribe('hello')
    const box1 = collector()
    const box2 = collector()
    s1.on('data', box1.onMessage)
    s2.on('data', box2.onMessage)
    await Promise.all([opened(s1), opened(s2)])
    await broadcastWith(c1, 'hello', {hello: 'world', app: 1})
    await broadcastWith(c2, 'hello', {hello: 'world', app: 2})
    // signalhub waits 100 ms for a stray message; a second message of each app's own,
    // sent after both, is the wait here: a stray one would have come before it.
    await broadcastWith(c1, 'hello', {last: 1})
    await broadcastWith(c2, 'hello', {last: 2})
    await Promise.all([box1.until(2), box2.until(2)])
    assert.deepEqual(box1.messages, [{hello: 'world', app: 1}, {last: 1}])
    assert.deepEqual(box2.messages, [{hello: 'world', app: 2}, {last: 2}])
    await Promise.all([closeClient(c1), closeClient(c2)])
  })

  test('subscribe with trailing /', async () => {
    const c = signalhubClient('app', `${address}/`)
    const stream = c.subscribe('hello')
    const data = nextData(stream)
    stream.on('open', () => c.broadcast('hello', {hello: 'world'}))
    assert.deepEqual(await data, [{hello: 'world'}])
    await closeClient(c)
  })

  test('subscribe to many', async () => {
    const c = signalhubClient('app', address)
    const stream = c.subscribe(['hello', 'goodbye'])
    const data = nextData(stream, 2)
    stream.on('open', () => c.broadcast('hello', {msg: 'stranger'}, () => c.broadcast('goodbye', {msg: 'friend'})))
    assert.deepEqual(await data, [{msg: 'stranger'}, {msg: 'friend'}])
    await closeClient(c)
    assert.equal(c.subscribers.length, 0, 'all subscribers closed')
  })

  test('close multiple', async () => {
    const c = signalhubClient('app', address)
    c.subscribe(['hello', 'goodbye'])
    c.subscribe(['hi', 'bye'])
    await closeClient(c)
    assert.equal(c.subscribers.length, 0, 'all subscribers closed')
    // And the hub let go of them too (it learns of a closed socket asynchronously).
    await until(async () => (await hubInfo()).subscribers === 0, 'the hub to count no subscriber')
  })

  test('subscribe to channels with slash in the name', async () => {
    const c = signalhubClient('app', address)
    const stream = c.subscribe('hello/people')
    const data = nextData(stream)
    stream.on('open', () => c.broadcast('hello/people', [1, 2, 3]))
    assert.deepEqual(await data, [[1, 2, 3]])
    await closeClient(c)
  })

  test('open emitted with multiple hubs', async () => {
    const c = signalhubClient('app', [address, address])
    await opened(c.subscribe('hello'))
    await closeClient(c)
  })

  test('our limits still hold for its client: a body over 64 KiB is 413, a channel name over 128 characters 400', async () => {
    const c = signalhubClient('app', address)
    await assert.rejects(broadcastWith(c, 'hello', {pad: 'x'.repeat(64 * 1024)}), /Bad status: 413/)
    await assert.rejects(broadcastWith(c, 'x'.repeat(129), {}), /Bad status: 400/)
    await broadcastWith(c, 'hello/people', {fits: true})
    await closeClient(c)
  })

  test('end: the hub process stops cleanly', async () => {
    const exited = new Promise(resolve => hub.child.once('exit', (code, signal) => resolve({code, signal})))
    await hub.close()
    assert.deepEqual(await exited, {code: 0, signal: null})
  })
})
