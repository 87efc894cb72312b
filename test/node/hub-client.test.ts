import {describe, test, after} from 'node:test'
import assert from 'node:assert/strict'
import {createServer} from 'node:http'
import type {AddressInfo} from 'node:net'
import {HubClient, loaders} from '../../src/core/hub-client/hub-client.js'
import type {HubClientOptions} from '../../src/core/hub-client/hub-client.js'
import {openEventStream} from '../../src/core/hub-client/sse.js'
import type {EventSourceLike, EventStreamHandlers, StreamTarget} from '../../src/core/hub-client/sse.js'
import {SseParser} from '../../src/core/hub-client/sse-parser.js'
import {CrossHubDedupe} from '../../src/core/hub-client/dedupe.js'
import {P2PError} from '../../src/core/errors.js'
import {once} from '../../src/core/emitter.js'
import {systemClock} from '../../src/core/clock.js'
import {VirtualClock} from '../../src/core/gossip/simulation.js'
import {createHub} from '../../src/server/hub.js'
import {post, startHub, within} from './helpers.js'
import {until} from '../shared/until.js'
import type {StartedHub} from './helpers.js'

const cleanups: Array<() => unknown> = []
after(() => Promise.all(cleanups.map(cleanup => cleanup())))

async function hubWith(options: Parameters<typeof startHub>[0] = {}): Promise<StartedHub> {
  const hub = await startHub(options)
  cleanups.push(() => hub.close())
  return hub
}

function clientWith(options: HubClientOptions): HubClient {
  const client = new HubClient({minDelay: 20, maxDelay: 200, ...options})
  cleanups.push(() => client.destroy())
  return client
}

/** A URL where nothing listens. */
async function deadUrl(): Promise<string> {
  const server = createServer()
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const {port} = server.address() as AddressInfo
  await new Promise(resolve => server.close(resolve))
  return `http://127.0.0.1:${port}`
}

/** Collects what a subscription delivers and lets a test wait for it. */
function inbox() {
  const messages: unknown[] = []
  const waiters: Array<() => void> = []
  return {
    messages,
    onMessage: (data: unknown) => {
      messages.push(data)
      for (const waiter of [...waiters]) waiter()
    },
    async count(n: number, timeout = 20_000): Promise<unknown[]> {
      if (messages.length >= n) return messages
      await within(new Promise<void>(resolve => {
        const check = () => {
          if (messages.length < n) return
          waiters.splice(waiters.indexOf(check), 1)
          resolve()
        }
        waiters.push(check)
      }), timeout, `${n} messages (have ${JSON.stringify(messages)})`)
      return messages
    },
  }
}

describe('HubClient', {timeout: 15_000}, () => {
  test('subscribes, broadcasts and counts through one hub', async () => {
    const {url, hub} = await hubWith()
    const client = clientWith({hubs: [`${url}/`], app: 'chat'})
    const box = inbox()
    const updates: string[] = []
    client.on('update', () => updates.push(client.stats.hubs[url].state))
    const opened = once(client, 'open')
    const sub = client.subscribe(['all', 'me'], box.onMessage)
    assert.deepEqual(sub.channels, ['all', 'me'])
    await within(sub.ready, 20_000, 'ready')
    assert.equal(await opened, url, 'hub URLs are normalised (no trailing slash)')
    assert.equal(hub.stats.subscribers, 1)
    assert.equal(hub.stats.channels, 2)

    await client.broadcast('all', {type: 'connect', from: 'abc'})
    await client.broadcast('me', {signal: {sdp: 'v=0\r\n'}})
    assert.deepEqual(await box.count(2), [{type: 'connect', from: 'abc'}, {signal: {sdp: 'v=0\r\n'}}])
    assert.deepEqual(client.stats, {
      hubs: {[url]: {state: 'open', reconnects: 0, messagesIn: 2, broadcastsOut: 2, failures: 0, retries: 0}},
      duplicatesDropped: 0,
      malformedDropped: 0,
    })
    assert.deepEqual(updates, ['connecting', 'open'])
  })

  test('with one hub down, ready, broadcasts and messages still flow', async () => {
    const {url} = await hubWith()
    const dead = await deadUrl()
    const client = clientWith({hubs: [dead, url], app: 'room'})
    const errors: P2PError[] = []
    client.on('error', err => errors.push(err as P2PError))
    const box = inbox()
    const sub = client.subscribe(['all'], box.onMessage)
    await within(sub.ready, 20_000, 'ready')
    await client.broadcast('all', {hello: 1})
    assert.deepEqual(await box.count(1), [{hello: 1}])
    await until(() => client.stats.hubs[dead].reconnects >= 2, 'retries on the dead hub')
    assert.equal(client.stats.hubs[dead].state, 'connecting')
    assert.ok(client.stats.hubs[dead].failures >= 3, 'two failed streams and a failed broadcast')
    assert.equal(client.stats.hubs[url].state, 'open')
    assert.equal(client.stats.hubs[url].broadcastsOut, 1)
    assert.ok(errors.length >= 1 && errors.every(err => err.code === 'ERR_HUB_UNREACHABLE'))
  })

  test('reconnects after the hub restarts', async () => {
    const first = await startHub()
    const client = clientWith({hubs: [first.url], app: 'room'})
    const box = inbox()
    const sub = client.subscribe(['all'], box.onMessage)
    await sub.ready
    await client.broadcast('all', {n: 1})
    await box.count(1)

    const lost = once(client, 'lost')
    await first.close()
    assert.equal(await within(lost, 20_000, 'the lost event'), first.url)
    assert.equal(client.stats.hubs[first.url].state, 'connecting')

    const reopened = once(client, 'open')
    const second = createHub()
    cleanups.push(() => second.close())
    await second.listen(first.port, '127.0.0.1')
    await within(reopened, 20_000, 'the reopen')
    assert.ok(client.stats.hubs[first.url].reconnects >= 1)
    await client.broadcast('all', {n: 2})
    assert.deepEqual(await box.count(2), [{n: 1}, {n: 2}])
  })

  test('backs off exponentially with full jitter, capped, and starts over after an open', t => {
    t.mock.timers.enable({apis: ['setTimeout']})
    const attempts: EventStreamHandlers[] = []
    let succeed = false
    const client = new HubClient({
      hubs: ['http://hub.invalid'],
      app: 'room',
      minDelay: 100,
      maxDelay: 400,
      clock: {...systemClock, random: () => 0.5},
      openStream: (_url, handlers) => {
        attempts.push(handlers)
        if (succeed) handlers.onopen()
        else handlers.onerror(P2PError.HUB_UNREACHABLE('down'))
        return {close() {}}
      },
    })
    const sub = client.subscribe(['all'], () => {})
    const after = (ms: number) => {
      t.mock.timers.tick(ms)
      return attempts.length
    }
    assert.equal(attempts.length, 1)
    // Half of the ceiling each time: ceilings 100, 200, 400, 400…
    assert.equal(after(49), 1)
    assert.equal(after(1), 2)
    assert.equal(after(99), 2)
    assert.equal(after(1), 3)
    assert.equal(after(199), 3)
    assert.equal(after(1), 4)
    assert.equal(after(200), 5, 'capped at maxDelay')
    succeed = true
    assert.equal(after(200), 6)
    assert.equal(client.stats.hubs['http://hub.invalid'].state, 'open')
    succeed = false
    attempts[5].onerror(P2PError.CONNECTION_CLOSED('dropped'))
    assert.equal(after(49), 6)
    assert.equal(after(1), 7, 'back to the smallest delay after a successful open')
    assert.equal(client.stats.hubs['http://hub.invalid'].reconnects, 6)
    sub.close()
    client.destroy()
  })

  test('a message carried by two hubs is delivered once; a repeat is delivered again', async () => {
    const a = await hubWith()
    const b = await hubWith()
    const client = clientWith({hubs: [a.url, b.url], app: 'room'})
    const box = inbox()
    const sub = client.subscribe(['all'], box.onMessage)
    await sub.ready
    await until(() => a.hub.stats.subscribers === 1 && b.hub.stats.subscribers === 1, 'both streams')
    const inFrom = (url: string) => client.stats.hubs[url].messagesIn

    await client.broadcast('all', {type: 'connect', from: 'x'})
    await until(() => inFrom(a.url) === 1 && inFrom(b.url) === 1, 'both copies')
    assert.deepEqual(box.messages, [{type: 'connect', from: 'x'}])
    assert.equal(client.stats.duplicatesDropped, 1)

    // The app re-announces the same body: that is a second message.
    await client.broadcast('all', {type: 'connect', from: 'x'})
    await until(() => inFrom(a.url) === 2 && inFrom(b.url) === 2, 'both copies again')
    assert.equal(box.messages.length, 2)
    assert.equal(client.stats.duplicatesDropped, 2)

    // Sent twice through one hub only: both are delivered.
    await post(`${a.url}/v1/room/all`, {only: 'a'})
    await post(`${a.url}/v1/room/all`, {only: 'a'})
    assert.deepEqual((await box.count(4)).slice(2), [{only: 'a'}, {only: 'a'}])
  })

  test('non-JSON messages are dropped and counted; a throwing callback is reported, not fatal', async () => {
    let handlers!: EventStreamHandlers
    let target: StreamTarget | undefined
    const client = clientWith({hubs: ['http://stub.invalid'], app: 'room', openStream: (url, h, t) => {
      assert.equal(url, 'http://stub.invalid/v1/room/all')
      handlers = h
      target = t
      queueMicrotask(() => h.onopen())
      return {close() {}}
    }})
    const box = inbox()
    const errors: Error[] = []
    client.on('error', err => errors.push(err))
    const sub = client.subscribe(['all'], data => {
      if (data === 'boom') throw new Error('callback failed')
      box.onMessage(data)
    })
    await sub.ready
    assert.deepEqual(target, {hub: 'http://stub.invalid', app: 'room', channels: ['all']}, 'a stream sharer learns what the stream is for')
    handlers.onmessage('not json')
    handlers.onmessage('{"half":')
    handlers.onmessage('"boom"')
    handlers.onmessage('{"fine":true}')
    assert.deepEqual(box.messages, [{fine: true}])
    assert.equal(client.stats.malformedDropped, 2)
    assert.equal(client.stats.hubs['http://stub.invalid'].messagesIn, 4)
    assert.equal(errors.length, 1)
    assert.equal(errors[0].message, 'callback failed')
    assert.equal(client.stats.hubs['http://stub.invalid'].state, 'open', 'the stream survives')
  })

  test('broadcast failures are typed: unreachable, rate limited, rejected', async () => {
    const dead = await deadUrl()
    const down = clientWith({hubs: [dead, await deadUrl()], app: 'room'})
    await assert.rejects(down.broadcast('all', {}), (err: P2PError) => {
      assert.equal(err.code, 'ERR_HUB_UNREACHABLE')
      assert.match(err.message, /no hub reachable/)
      return true
    })
    assert.equal(down.stats.hubs[dead].failures, 1)

    // A hub that asks for a longer pause than a signal can wait is a refusal.
    const strict = await hubWith({rateLimit: 0.1, burst: 1})
    const limited = clientWith({hubs: [strict.url, dead], app: 'room'})
    await limited.broadcast('all', {n: 1})
    await assert.rejects(limited.broadcast('all', {n: 2}), (err: P2PError) => {
      assert.equal(err.code, 'ERR_RATE_LIMITED')
      assert.match(err.message, /429/)
      assert.deepEqual(err.cause, {hub: strict.url, status: 429, code: 'ERR_RATE_LIMITED', retryAfter: '10'})
      return true
    })
    assert.equal(limited.stats.hubs[strict.url].retries, 0)

    const tiny = await hubWith({maxBodySize: 16})
    const rejected = clientWith({hubs: [tiny.url], app: 'room'})
    await assert.rejects(rejected.broadcast('all', {text: 'more than sixteen bytes'}), (err: P2PError) => {
      assert.equal(err.code, 'ERR_HUB_REJECTED')
      assert.match(err.message, /413/)
      assert.match(err.message, /ERR_BODY_TOO_LARGE/)
      assert.equal((err.cause as {status: number}).status, 413)
      assert.equal((err.cause as {code: string}).code, 'ERR_BODY_TOO_LARGE')
      return true
    })
    assert.equal(rejected.stats.hubs[tiny.url].failures, 1)
  })

  test('a rate-limited broadcast waits as the hub asks and is sent again, within its timeout', async () => {
    const {url, hub} = await hubWith({rateLimit: 1, burst: 1})
    const client = clientWith({hubs: [url], app: 'room'})
    const box = inbox()
    const sub = client.subscribe(['all'], box.onMessage)
    await within(sub.ready, 20_000, 'ready')
    // Three signals back to back through a hub that takes one a second: none is lost.
    await Promise.all([1, 2, 3].map(n => client.broadcast('all', {n})))
    assert.deepEqual((await box.count(3)).map(m => (m as {n: number}).n).sort(), [1, 2, 3])
    assert.ok(client.stats.hubs[url].retries >= 2, `retries: ${client.stats.hubs[url].retries}`)
    assert.ok(hub.stats.rejected.rateLimited >= 2, "the hub did refuse them at first")
    assert.equal(client.stats.hubs[url].failures, 0)

    // A broadcast whose timeout ends before the hub lets it through fails, typed.
    const hurried = clientWith({hubs: [url], app: 'room', timeout: 200})
    await hurried.broadcast('all', {n: 4}).catch(() => {})
    await assert.rejects(hurried.broadcast('all', {n: 5}), {code: 'ERR_RATE_LIMITED'})
  })

  test('the wait after a 429 loads on demand: the first broadcasts refused wait for it, then go out in the order they were made', async () => {
    const load = loaders.rateRetry
    let loads = 0
    let release!: () => void
    const held = new Promise<void>(resolve => { release = resolve })
    loaders.rateRetry = () => {
      loads++
      return held.then(load)
    }
    try {
      // A hub that refuses every post while `limited`, asking for a second's pause.
      let limited = true
      let refused = 0
      const sent: number[] = []
      const sentAt: number[] = []
      const fetchStub = (async (_url: string, init: RequestInit) => {
        if (limited) {
          refused++
          return new Response('{"error":"ERR_RATE_LIMITED"}', {status: 429, headers: {'retry-after': '1'}})
        }
        sent.push((JSON.parse(init.body as string) as {n: number}).n)
        sentAt.push(clock.now())
        return new Response('{}')
      }) as typeof fetch
      // The same pause for each: what decides their order is when each starts to wait.
      const clock = new VirtualClock(() => 0.5)
      const client = clientWith({hubs: ['http://stub.invalid'], app: 'room', fetch: fetchStub, clock, timeout: 3_600_000})
      const first = client.broadcast('all', {n: 1})
      await until(() => loads === 1, 'the first 429 to load the wait')
      // Made while it loads, and refused as well.
      const later = [2, 3].map(n => client.broadcast('all', {n}))
      await until(() => refused === 3 && loads === 3, 'the later broadcasts refused, waiting for the load too')
      limited = false
      release()
      // Virtual time moves on in steps until all three are out: each goes once its wait is over.
      await until(() => {
        clock.run(clock.now() + 100)
        return sent.length === 3
      }, 'the three sent again')
      await Promise.all([first, ...later])
      assert.deepEqual(sent, [1, 2, 3])
      assert.ok(sentAt.every(t => t >= 1250), `sent at ${sentAt.join(', ')} ms, before the hub's second (jittered by a quarter)`)
      assert.equal(client.stats.hubs['http://stub.invalid'].retries, 3)
      assert.equal(client.stats.hubs['http://stub.invalid'].failures, 0)
    } finally {
      loaders.rateRetry = load
    }
  })

  test('a broadcast that cannot load the wait after a 429 fails with the hub\'s answer', async () => {
    const load = loaders.rateRetry
    loaders.rateRetry = () => Promise.reject(new Error('the network went away'))
    try {
      const fetchStub = (async () => new Response('{"error":"ERR_RATE_LIMITED"}', {status: 429, headers: {'retry-after': '1'}})) as unknown as typeof fetch
      const client = clientWith({hubs: ['http://stub.invalid'], app: 'room', fetch: fetchStub})
      await assert.rejects(client.broadcast('all', {n: 1}), (err: P2PError) => {
        assert.equal(err.code, 'ERR_RATE_LIMITED')
        assert.deepEqual(err.cause, {hub: 'http://stub.invalid', status: 429, code: 'ERR_RATE_LIMITED', retryAfter: '1'})
        return true
      })
      assert.equal(client.stats.hubs['http://stub.invalid'].retries, 0)
      assert.equal(client.stats.hubs['http://stub.invalid'].failures, 1)
    } finally {
      loaders.rateRetry = load
    }
  })

  test('a broadcast refused while the refusal\'s reader cannot load still fails typed, by the status', async () => {
    const load = loaders.refusal
    const unavailable = new Error('the network went away')
    loaders.refusal = () => Promise.reject(unavailable)
    try {
      const answers = [
        new Response('{"error":"ERR_BODY_TOO_LARGE"}', {status: 413}),
        // No Retry-After: a 429 the client does not wait out.
        new Response('{"error":"ERR_RATE_LIMITED"}', {status: 429}),
      ]
      const fetchStub = (async () => answers.shift()!) as unknown as typeof fetch
      const client = clientWith({hubs: ['http://stub.invalid'], app: 'room', fetch: fetchStub})
      await assert.rejects(client.broadcast('all', {n: 1}), (err: P2PError) => {
        assert.equal(err.code, 'ERR_HUB_REJECTED')
        assert.equal(err.message, 'ERR_HUB_REJECTED: http://stub.invalid answered 413')
        assert.equal(err.cause, unavailable)
        return true
      })
      await assert.rejects(client.broadcast('all', {n: 2}), (err: P2PError) => {
        assert.equal(err.code, 'ERR_RATE_LIMITED')
        assert.equal(err.message, 'ERR_RATE_LIMITED: http://stub.invalid answered 429')
        return true
      })
      assert.equal(client.stats.hubs['http://stub.invalid'].failures, 2)
    } finally {
      loaders.refusal = load
    }
  })

  test('a refused stream reaches the error event with the status and code', async () => {
    const {url} = await hubWith({maxChannels: 1})
    const client = clientWith({hubs: [url], app: 'room'})
    const error = once(client, 'error')
    client.subscribe(['one', 'two'], () => {})
    const err = await within(error, 20_000, 'the error event') as P2PError
    assert.equal(err.code, 'ERR_HUB_REJECTED')
    assert.deepEqual(err.cause, {hub: `${url}/v1/room/one,two`, status: 400, code: 'ERR_TOO_MANY_CHANNELS', retryAfter: null})
  })

  test('misuse throws at once', () => {
    assert.throws(() => new HubClient({hubs: [], app: 'x'}), {code: 'ERR_INVALID_ARGUMENT'})
    assert.throws(() => new HubClient({hubs: ['http://h'], app: ''}), {code: 'ERR_INVALID_ARGUMENT'})
    assert.throws(() => new HubClient({hubs: ['http://h'], app: 'x', minDelay: 10, maxDelay: 5}), {code: 'ERR_INVALID_ARGUMENT'})
    const client = new HubClient({hubs: ['http://h.invalid'], app: 'x', openStream: () => ({close() {}})})
    assert.throws(() => client.subscribe([], () => {}), {code: 'ERR_INVALID_ARGUMENT'})
    assert.throws(() => client.subscribe(['bad\nname'], () => {}), {code: 'ERR_BAD_CHANNEL'})
    assert.throws(() => client.broadcast('', {}), {code: 'ERR_BAD_CHANNEL'})
    assert.throws(() => client.broadcast('ch', {n: 1n}), {code: 'ERR_INVALID_ARGUMENT'})
    assert.throws(() => client.broadcast('ch', undefined), {code: 'ERR_INVALID_ARGUMENT'})
    assert.throws(() => client.broadcast('ch', 'x'.repeat(64 * 1024)), {code: 'ERR_BODY_TOO_LARGE'})
    client.destroy()
    assert.throws(() => client.subscribe(['ch'], () => {}), {code: 'ERR_DESTROYED'})
    assert.throws(() => client.broadcast('ch', {}), {code: 'ERR_DESTROYED'})
  })

  test('destroy(err) emits error then close, once; destroyed is read-only', () => {
    const client = new HubClient({hubs: ['http://h.invalid'], app: 'x', openStream: () => ({close() {}})})
    const events: string[] = []
    client.on('error', err => events.push(`error ${(err as P2PError).code}`))
    client.on('close', err => events.push(`close ${(err as P2PError | undefined)?.code}`))
    client.destroy(P2PError.HUB_REJECTED('test'))
    client.destroy()
    assert.deepEqual(events, ['error ERR_HUB_REJECTED', 'close ERR_HUB_REJECTED'])
    assert.throws(() => { (client as {destroyed: boolean}).destroyed = false }, TypeError)
    assert.equal(client.destroyed, true)
  })

  test('timeouts and back-off must be numbers: NaN, negative or zero where it means nothing throws at once', () => {
    for (const options of [{timeout: NaN}, {timeout: 0}, {minDelay: -1}, {maxDelay: NaN}, {dedupeWindow: NaN}, {dedupeWindow: 0}]) {
      assert.throws(() => new HubClient({hubs: ['http://h'], app: 'x', ...options}), {code: 'ERR_INVALID_ARGUMENT'}, JSON.stringify(options))
    }
  })

  test('destroy closes streams, clears timers, rejects pending work and is idempotent', async t => {
    const {url, hub} = await hubWith()
    const live = clientWith({hubs: [url], app: 'room'})
    const sub = live.subscribe(['all'], () => {})
    await sub.ready
    assert.equal(hub.stats.subscribers, 1)
    const lost = once(live, 'lost')
    const closes: unknown[] = []
    live.on('close', err => closes.push(err))
    live.destroy()
    live.destroy()
    assert.equal(await lost, url)
    assert.deepEqual(closes, [undefined], 'close once, with no error')
    assert.equal(live.stats.hubs[url].state, 'closed')
    await until(() => hub.stats.subscribers === 0, 'the hub to see the stream go')

    t.mock.timers.enable({apis: ['setTimeout']})
    let opens = 0
    const hanging = new HubClient({
      hubs: ['http://hang.invalid'],
      app: 'room',
      openStream: (_url, handlers) => {
        opens++
        handlers.onerror(P2PError.HUB_UNREACHABLE('down'))
        return {close() {}}
      },
      fetch: (_input, init) => new Promise((_resolve, reject) => {
        init?.signal?.addEventListener('abort', () => reject(new Error('aborted')))
      }),
    })
    const pendingSub = hanging.subscribe(['all'], () => {})
    const pending = hanging.broadcast('all', {never: 'answered'})
    hanging.destroy()
    await assert.rejects(pending, {code: 'ERR_DESTROYED'})
    await assert.rejects(pendingSub.ready, {code: 'ERR_DESTROYED'})
    t.mock.timers.tick(60_000)
    assert.equal(opens, 1, 'no reconnection after destroy')
  })

  test('pause drops every stream and retry, keeping subscriptions; resume reopens them at once', async () => {
    const {url, hub} = await hubWith()
    const dead = await deadUrl()
    // Slow retries: a reopen within the test comes from resume(), not from the back-off.
    const client = clientWith({hubs: [url, dead], app: 'room', minDelay: 60_000, maxDelay: 60_000})
    const box = inbox()
    const sub = client.subscribe(['all'], box.onMessage)
    await within(sub.ready, 20_000, 'ready')
    await until(() => client.stats.hubs[dead].failures >= 1, 'the dead hub failing once')
    const failuresBefore = client.stats.hubs[dead].failures

    const lost = once(client, 'lost')
    client.pause()
    client.pause()
    assert.equal(client.paused, true)
    assert.equal(await within(lost, 20_000, 'the lost event'), url)
    await until(() => hub.stats.subscribers === 0, 'the hub losing our stream')
    assert.equal(client.stats.hubs[url].state, 'closed')
    assert.equal(client.stats.hubs[dead].state, 'closed', 'no retry pending on the dead hub either')
    // A subscription made while paused waits too.
    const later = inbox()
    const sub2 = client.subscribe(['other'], later.onMessage)
    await client.broadcast('all', {while: 'paused'})
    assert.equal(box.messages.length, 0, 'nothing arrives while paused')

    const reopened = once(client, 'open')
    client.resume()
    assert.equal(client.paused, false)
    assert.equal(await within(reopened, 20_000, 'the reopen (the back-off would wait a minute)'), url)
    await within(sub2.ready, 20_000, 'the subscription made while paused')
    await until(() => hub.stats.subscribers === 2, 'both streams back')
    await until(() => client.stats.hubs[dead].failures > failuresBefore, 'the dead hub tried again at once')
    await client.broadcast('all', {after: 'resume'})
    await client.broadcast('other', {to: 'other'})
    assert.deepEqual(await box.count(1), [{after: 'resume'}])
    assert.deepEqual(await later.count(1), [{to: 'other'}])
  })

  test('a replaced or closed stream\'s late callbacks are ignored', async () => {
    const streams: EventStreamHandlers[] = []
    const client = clientWith({hubs: ['http://stub.invalid'], app: 'room', openStream: (_url, handlers) => {
      streams.push(handlers)
      return {close() {}}
    }})
    const errors: Error[] = []
    client.on('error', err => errors.push(err))
    const box = inbox()
    const sub = client.subscribe(['all'], box.onMessage)
    streams[0].onopen()
    await sub.ready
    streams[0].onerror(P2PError.HUB_UNREACHABLE('dropped'))
    await until(() => streams.length === 2, 'the reconnection')
    streams[0].onmessage('{"from":"the old stream"}')
    streams[0].onerror(P2PError.HUB_UNREACHABLE('the old stream again'))
    streams[1].onmessage('{"from":"the new stream"}')
    assert.deepEqual(box.messages, [{from: 'the new stream'}])
    assert.equal(errors.length, 1, 'only the first failure is reported')

    sub.close()
    streams[1].onopen()
    streams[1].onmessage('{"after":"close"}')
    streams[1].onerror(P2PError.HUB_UNREACHABLE('after close'))
    assert.deepEqual(box.messages, [{from: 'the new stream'}])
    assert.equal(errors.length, 1)
    assert.equal(client.stats.hubs['http://stub.invalid'].failures, 1)
    assert.equal(client.stats.hubs['http://stub.invalid'].state, 'closed')
    assert.equal(streams.length, 2, 'no reconnection after close')
  })

  test('closing one subscription leaves the others and the hub state alone', async () => {
    const {url, hub} = await hubWith()
    const client = clientWith({hubs: [url], app: 'room'})
    const first = inbox()
    const second = inbox()
    const one = client.subscribe(['a'], first.onMessage)
    const two = client.subscribe(['b'], second.onMessage)
    await Promise.all([one.ready, two.ready])
    await until(() => hub.stats.subscribers === 2, 'two streams')
    one.close()
    one.close()
    await until(() => hub.stats.subscribers === 1, 'one stream')
    assert.equal(client.stats.hubs[url].state, 'open')
    await client.broadcast('a', {to: 'a'})
    await client.broadcast('b', {to: 'b'})
    assert.deepEqual(await second.count(1), [{to: 'b'}])
    assert.deepEqual(first.messages, [])
  })
})

describe('event streams', {timeout: 10_000}, () => {
  test('the parser follows the standard: line endings, multi-line data, comments, fields', () => {
    const events: string[] = []
    const parser = new SseParser(data => events.push(data))
    parser.push(':heartbeat signal\n\ndata: one\n\n')
    parser.push('data: split\r')
    parser.push('\ndata: lines\r\n\r\n')
    parser.push('data:no space\rdata:  two spaces\r\r')
    parser.push('event: other\ndata: named\n\n')
    parser.push('event: message\ndata: default\n\n')
    parser.push('id: 7\nretry: 10\n\n')
    parser.push('data\n\ndata: trailing')
    assert.deepEqual(events, ['one', 'split\nlines', 'no space\n two spaces', 'default', ''])
    parser.push('\n\n')
    assert.equal(events.at(-1), 'trailing')
  })

  test('the parser refuses an endless line', () => {
    const parser = new SseParser(() => {}, {maxLength: 100})
    assert.throws(() => parser.push('data: ' + 'x'.repeat(200)), {code: 'ERR_MESSAGE_TOO_LARGE'})
  })

  test('EventSource is used when present and closed on its first error', () => {
    const sources: Array<EventSourceLike & {url: string, closed: boolean}> = []
    class FakeEventSource implements EventSourceLike {
      onopen: ((event: unknown) => void) | null = null
      onmessage: ((event: {data: string}) => void) | null = null
      onerror: ((event: unknown) => void) | null = null
      closed = false
      constructor(readonly url: string) {
        sources.push(this)
      }
      close() {
        this.closed = true
      }
    }
    const seen: string[] = []
    const stream = openEventStream('http://hub/v1/a/b', {
      onopen: () => seen.push('open'),
      onmessage: data => seen.push(`message ${data}`),
      onerror: err => seen.push(`error ${err.code}`),
    }, {EventSource: FakeEventSource})
    const [source] = sources
    assert.equal(source.url, 'http://hub/v1/a/b')
    source.onopen?.({})
    source.onmessage?.({data: '{"a":1}'})
    source.onerror?.({})
    source.onerror?.({})
    source.onmessage?.({data: 'late'})
    assert.deepEqual(seen, ['open', 'message {"a":1}', 'error ERR_HUB_UNREACHABLE'])
    assert.equal(source.closed, true, 'closed so that it does not reconnect on its own')
    stream.close()
  })

  test('over fetch: refusals, non-streams and ended streams are typed errors', async () => {
    const {url} = await hubWith({maxChannels: 1})
    const open = (path: string) => new Promise<{events: string[], err: P2PError}>(resolve => {
      const events: string[] = []
      openEventStream(`${url}${path}`, {
        onopen: () => events.push('open'),
        onmessage: data => events.push(data),
        onerror: err => resolve({events, err}),
      }, {EventSource: null})
    })
    const refused = await open('/v1/app/a,b')
    assert.deepEqual(refused.events, [])
    assert.equal(refused.err.code, 'ERR_HUB_REJECTED')
    assert.match(refused.err.message, /400 \(ERR_TOO_MANY_CHANNELS/)

    const notStream = await open('/')
    assert.equal(notStream.err.code, 'ERR_HUB_REJECTED')
    assert.match(notStream.err.message, /not an event stream/)

    const server = createHub()
    const {url: other} = await server.listen(0, '127.0.0.1')
    const ending = new Promise<{events: string[], err: P2PError}>(resolve => {
      const events: string[] = []
      openEventStream(`${other}/v1/app/ch`, {
        onopen: () => {
          events.push('open')
          void post(`${other}/v1/app/ch`, {last: true}).then(() => server.close())
        },
        onmessage: data => events.push(data),
        onerror: err => resolve({events, err}),
      }, {EventSource: null})
    })
    const ended = await within(ending, 20_000, 'the end of the stream')
    assert.deepEqual(ended.events, ['open', '{"last":true}'])
    assert.equal(ended.err.code, 'ERR_CONNECTION_CLOSED')
  })

  test('over fetch: a stream closed before its reader has loaded never fetches', async () => {
    let fetches = 0
    const seen: string[] = []
    const stream = openEventStream('http://hub/v1/app/ch', {
      onopen: () => seen.push('open'),
      onmessage: data => seen.push(data),
      onerror: err => seen.push(err.code),
    }, {fetch: async () => {
      fetches++
      return new Response('', {headers: {'content-type': 'text/event-stream'}})
    }})
    stream.close()
    // The reader's module is loaded once this resolves; the stream's own wait for it ends in the same turn.
    await import('../../src/core/hub-client/sse-fetch.js')
    await new Promise(resolve => setImmediate(resolve))
    assert.equal(fetches, 0)
    assert.deepEqual(seen, [])
  })

  test('close() silences a stream for good', async () => {
    const {url} = await hubWith()
    const seen: string[] = []
    const stream = openEventStream(`${url}/v1/app/ch`, {
      onopen: () => seen.push('open'),
      onmessage: data => seen.push(data),
      onerror: err => seen.push(err.code),
    }, {EventSource: null})
    stream.close()
    stream.close()
    // The sentinel: a second stream on the channel. Once it has the message, the first would have too.
    const sentinel = {opened: false, messages: [] as string[]}
    const second = openEventStream(`${url}/v1/app/ch`, {
      onopen: () => { sentinel.opened = true },
      onmessage: data => sentinel.messages.push(data),
      onerror: err => { throw err },
    }, {EventSource: null})
    await until(() => sentinel.opened, 'the sentinel stream to open')
    await post(`${url}/v1/app/ch`, {x: 1})
    await until(() => sentinel.messages.length === 1, 'the message on the sentinel stream')
    second.close()
    assert.deepEqual(seen, [])
  })
})

describe('CrossHubDedupe', () => {
  test('matches copies across sources within the window, never within one source', () => {
    let now = 0
    const dedupe = new CrossHubDedupe({window: 1000, now: () => now})
    assert.equal(dedupe.accept(0, 'm'), true)
    assert.equal(dedupe.accept(1, 'm'), false, 'copy from hub 1')
    assert.equal(dedupe.accept(0, 'm'), true, 're-announce through hub 0')
    assert.equal(dedupe.accept(1, 'm'), false, 'its copy from hub 1')
    // Hub 1 ahead of hub 0 this time.
    assert.equal(dedupe.accept(1, 'm'), true)
    assert.equal(dedupe.accept(0, 'm'), false)
    now = 2000
    assert.equal(dedupe.accept(1, 'm'), true, 'outside the window it is a new message')
    assert.equal(dedupe.size, 1)
  })

  test('a hub that went quiet does not make the other hub lose messages', () => {
    let now = 0
    const dedupe = new CrossHubDedupe({window: 1000, now: () => now})
    for (let i = 0; i < 10; i++) {
      now += 100
      assert.equal(dedupe.accept(0, 'same'), true)
      assert.equal(dedupe.accept(1, 'same'), false)
    }
    // Hub 0 goes down; hub 1 keeps carrying the re-announcements.
    for (let i = 0; i < 10; i++) {
      now += 300
      assert.equal(dedupe.accept(1, 'same'), true, `announcement ${i}`)
    }
  })

  test('memory is bounded by time and by size', () => {
    let now = 0
    const dedupe = new CrossHubDedupe({window: 1000, maxChars: 100, now: () => now})
    for (let i = 0; i < 50; i++) dedupe.accept(0, `message number ${i}`)
    assert.ok(dedupe.size <= 100 / 'message number 0'.length + 1)
    now = 5000
    dedupe.accept(0, 'fresh')
    assert.equal(dedupe.size, 1)
  })
})
