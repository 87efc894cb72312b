import {describe, test} from 'node:test'
import assert from 'node:assert/strict'
import {request, Agent} from 'node:http'
import {spawn} from 'node:child_process'
import {fileURLToPath} from 'node:url'
import {readFileSync} from 'node:fs'
import {HUB_NAME, HUB_VERSION, createHub} from '../../src/server/hub.js'
import type {HubOptions} from '../../src/server/hub.js'
import type {P2PError} from '../../src/core/errors.js'
import {startHubProcess} from '../../scripts/hub-process.js'
import {hubsClosedAfter, openSse, post, send, startHub} from './helpers.js'
import {until} from '../shared/until.js'

const hubWith = hubsClosedAfter()

describe('protocol', {timeout: 10_000}, () => {
  test('GET / answers name, version and live counts', async () => {
    const {url} = await hubWith()
    let answer = await send(`${url}/`)
    assert.equal(answer.status, 200)
    assert.match(String(answer.headers['content-type']), /^application\/json/)
    assert.deepEqual(answer.json(), {name: HUB_NAME, version: HUB_VERSION, subscribers: 0, channels: 0, broadcastsPerSecond: 0})
    assert.equal(HUB_NAME, 'p2p-elements-hub')

    const stream = await openSse(`${url}/v1/app/a,b`)
    answer = await send(`${url}/`)
    assert.deepEqual(answer.json(), {name: HUB_NAME, version: HUB_VERSION, subscribers: 1, channels: 2, broadcastsPerSecond: 0})
    stream.close()
  })

  test('GET /metrics answers the counts in Prometheus\'s text format; no backplane, no backplane metrics', async () => {
    const {url} = await hubWith()
    const stream = await openSse(`${url}/v1/app/a`)
    for (let i = 0; i < 3; i++) await post(`${url}/v1/app/a`, {i})
    await stream.messagesAtLeast(3)
    await post(`${url}/v1/app/nobody`, {})
    const answer = await send(`${url}/metrics`)
    assert.equal(answer.status, 200)
    assert.match(String(answer.headers['content-type']), /^text\/plain; version=0\.0\.4/)
    const text = answer.text
    assert.match(text, /^# TYPE p2p_hub_subscribers gauge$/m)
    assert.match(text, /^p2p_hub_subscribers 1$/m)
    assert.match(text, /^p2p_hub_broadcasts_total 4$/m)
    assert.match(text, /^p2p_hub_messages_delivered_total 3$/m)
    assert.match(text, /^p2p_hub_rejected_total\{reason="rateLimited"\} 0$/m)
    assert.equal(text.match(/^# TYPE p2p_hub_rejected_total /gm)?.length, 1, 'one TYPE line for a metric with labels')
    assert.doesNotMatch(text, /^p2p_hub_backplane_/m)
    // Every line a comment or `name{labels} value`.
    for (const line of text.trimEnd().split('\n')) assert.match(line, /^(# (HELP|TYPE) \w+ .+|\w+(\{\w+="\w+"\})? \d+(\.\d+)?)$/)
    assert.equal((await send(`${url}/metrics`, {method: 'POST'})).status, 405)
    stream.close()
  })

  test('broadcastsPerSecond is over the last ten whole seconds (the current one still counting), on GET / and /metrics', async t => {
    // Only the wall clock is mocked: sockets and timers run as ever.
    t.mock.timers.enable({apis: ['Date'], now: 1_000_000_000})
    const {url} = await hubWith()
    const rate = async () => ((await send(`${url}/`)).json() as {broadcastsPerSecond: number}).broadcastsPerSecond
    const postMany = async (n: number) => {
      for (let i = 0; i < n; i++) assert.equal((await post(`${url}/v1/app/rate`, {i})).status, 200)
    }
    await postMany(20)
    assert.equal(await rate(), 0, 'the current second is not in the window yet')
    t.mock.timers.tick(1000)
    assert.equal(await rate(), 2)
    await postMany(5)
    t.mock.timers.tick(1000)
    assert.equal(await rate(), 2.5)
    assert.match((await send(`${url}/metrics`)).text, /^p2p_hub_broadcasts_per_second 2\.5$/m)
    // Ten seconds on, the first second has left the window and the second is its oldest.
    t.mock.timers.tick(9000)
    assert.equal(await rate(), 0.5)
    t.mock.timers.tick(1000)
    assert.equal(await rate(), 0)
  })

  test('an event stream has SSE headers, opens with an :ok comment and no event', async () => {
    const {url} = await hubWith()
    const stream = await openSse(`${url}/v1/app/ch`)
    assert.equal(stream.status, 200)
    assert.equal(stream.headers['content-type'], 'text/event-stream; charset=utf-8')
    assert.match(String(stream.headers['cache-control']), /no-cache/)
    assert.equal(stream.headers['access-control-allow-origin'], '*')
    // Before any message: Firefox's EventSource opens only once body bytes arrive.
    await stream.until(() => stream.raw !== '', 20_000, 'the first bytes')
    assert.equal(stream.raw, ':ok\n\n')
    await post(`${url}/v1/app/ch`, {first: true})
    await stream.messagesAtLeast(1)
    assert.equal(stream.raw, ':ok\n\ndata: {"first":true}\n\n', 'the first event is the first message')
    stream.close()
  })

  test('heartbeat comments arrive at the configured interval', async () => {
    const {url} = await hubWith({heartbeatInterval: 30})
    const stream = await openSse(`${url}/v1/app/ch`)
    await stream.until(() => stream.frames.length >= 3, 2000, 'two heartbeats')
    assert.deepEqual(stream.frames.slice(0, 3), [
      {type: 'comment', text: 'ok'},
      {type: 'comment', text: 'heartbeat signal'},
      {type: 'comment', text: 'heartbeat signal'},
    ])
    assert.ok(stream.raw.startsWith(':ok\n\n:heartbeat signal\n\n'))
    stream.close()
  })

  test('a broadcast reaches every subscriber of its channel, comma-joined subscriptions included', async () => {
    const {url, hub} = await hubWith()
    const one = await openSse(`${url}/v1/app/ch`)
    const two = await openSse(`${url}/v1/app/other,ch`)
    const three = await openSse(`${url}/v1/app/ch,ch`)
    const bystander = await openSse(`${url}/v1/app/other`)
    const answer = await post(`${url}/v1/app/ch`, {n: 1})
    assert.equal(answer.status, 200)
    assert.equal(answer.text, '')
    for (const stream of [one, two, three]) assert.deepEqual(await stream.messagesAtLeast(1), [{n: 1}])
    await post(`${url}/v1/app/other`, {n: 2})
    assert.deepEqual(await two.messagesAtLeast(2), [{n: 1}, {n: 2}])
    assert.deepEqual(await bystander.messagesAtLeast(1), [{n: 2}])
    assert.equal(three.dataFrames.length, 1, 'a channel named twice in one stream is delivered once')
    assert.equal(hub.stats.broadcasts, 2)
    assert.equal(hub.stats.messagesDelivered, 5)
    for (const stream of [one, two, three, bystander]) stream.close()
  })

  test('a broadcast with no subscribers answers 200', async () => {
    const {url, hub} = await hubWith()
    const answer = await post(`${url}/v1/nobody/here`, {hello: 'void'})
    assert.equal(answer.status, 200)
    assert.equal(hub.stats.broadcasts, 1)
    assert.equal(hub.stats.messagesDelivered, 0)
    assert.equal(hub.internals().apps, 0, 'a broadcast creates no state')
  })

  test('messages do not leak across apps', async () => {
    const {url} = await hubWith()
    const appA = await openSse(`${url}/v1/a/ch`)
    const appB = await openSse(`${url}/v1/b/ch`)
    await post(`${url}/v1/a/ch`, {for: 'a'})
    await post(`${url}/v1/b/ch`, {for: 'b'})
    assert.deepEqual(await appA.messagesAtLeast(1), [{for: 'a'}])
    assert.deepEqual(await appB.messagesAtLeast(1), [{for: 'b'}])
    await post(`${url}/v1/b/ch`, {for: 'b', again: true})
    await appB.messagesAtLeast(2)
    assert.equal(appA.dataFrames.length, 1)
    appA.close()
    appB.close()
  })

  test('names are percent-decoded, each on its own: %2C is a comma inside one channel', async () => {
    const {url} = await hubWith()
    const stream = await openSse(`${url}/v1/my%20app/a%2Cb,caf%C3%A9`)
    await post(`${url}/v1/my%20app/a%2Cb`, {to: 'a,b'})
    await post(`${url}/v1/my%20app/caf%C3%A9`, {to: 'café'})
    await post(`${url}/v1/my%20app/a`, {to: 'a'})
    await post(`${url}/v1/my%20app/b`, {to: 'b'})
    await post(`${url}/v1/my%20app/done`, {})
    assert.deepEqual(await stream.messagesAtLeast(2), [{to: 'a,b'}, {to: 'café'}])
    stream.close()
  })

  test('a channel name may contain "/", as in signalhub: the app is the first segment, the rest the channel list', async () => {
    const {url, hub} = await hubWith()
    const stream = await openSse(`${url}/v1/app/hello/people,other/x/y`)
    const encoded = await openSse(`${url}/v1/app/hello%2Fpeople`)
    assert.equal(stream.status, 200)
    assert.deepEqual([hub.stats.apps, hub.stats.channels], [1, 2])
    // Neither a segment of the name nor the same path under another app reaches it.
    for (const path of ['/v1/app/hello', '/v1/app/people', '/v1/hello/people', '/v1/app/other']) {
      assert.equal((await post(`${url}${path}`, {to: path})).status, 200, path)
    }
    await post(`${url}/v1/app/hello/people`, [1, 2, 3])
    await post(`${url}/v1/app/other%2Fx/y`, {to: 'other/x/y'})
    assert.deepEqual(await stream.messagesAtLeast(2), [[1, 2, 3], {to: 'other/x/y'}])
    assert.deepEqual(await encoded.messagesAtLeast(1), [[1, 2, 3]])
    stream.close()
    encoded.close()
  })

  test('a query string is ignored, as signalhub does', async () => {
    const {url} = await hubWith()
    const stream = await openSse(`${url}/v1/app/ch?since=0`)
    await post(`${url}/v1/app/ch?x=1`, {q: 1})
    assert.deepEqual(await stream.messagesAtLeast(1), [{q: 1}])
    stream.close()
  })
})

describe('bad input', {timeout: 15_000}, () => {
  test('a body of 64 KiB is accepted, one byte more is 413', async () => {
    const {url, hub} = await hubWith()
    const stream = await openSse(`${url}/v1/app/big`)
    const fits = JSON.stringify({pad: 'x'.repeat(64 * 1024 - 10)})
    assert.equal(Buffer.byteLength(fits), 64 * 1024)
    assert.equal((await post(`${url}/v1/app/big`, fits)).status, 200)
    const over = JSON.stringify({pad: 'x'.repeat(64 * 1024 - 9)})
    const answer = await post(`${url}/v1/app/big`, over)
    assert.equal(answer.status, 413)
    assert.equal(answer.headers.connection, 'close')
    assert.deepEqual(answer.json(), {error: 'ERR_BODY_TOO_LARGE', message: 'ERR_BODY_TOO_LARGE: bodies are at most 65536 bytes'})
    assert.equal(hub.stats.rejected.tooLarge, 1)
    await stream.messagesAtLeast(1)
    assert.equal(stream.dataFrames.length, 1)
    stream.close()
  })

  test('a chunked body is cut off at the limit, not buffered', async () => {
    const {url, hub} = await hubWith()
    const answer = await new Promise<number>((resolve, reject) => {
      const req = request(`${url}/v1/app/ch`, {method: 'POST', agent: false}, res => {
        res.resume()
        resolve(res.statusCode ?? 0)
      })
      req.on('error', reject)
      // 40 KiB twice: the second chunk crosses the limit; the request is never ended.
      req.write('"' + 'y'.repeat(40 * 1024))
      req.write('y'.repeat(40 * 1024))
    })
    assert.equal(answer, 413)
    assert.equal(hub.stats.rejected.tooLarge, 1)
  })

  test('a declared Content-Length over the limit is refused before the body is sent', async () => {
    const {url} = await hubWith()
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(`${url}/v1/app/ch`, {method: 'POST', agent: false, headers: {'content-length': 10 * 1024 * 1024}}, res => {
        res.resume()
        resolve(res.statusCode ?? 0)
        req.destroy()
      })
      req.on('error', reject)
      req.flushHeaders()
    })
    assert.equal(status, 413)
  })

  test('malformed JSON is 400 and reaches nobody', async () => {
    const {url, hub} = await hubWith()
    const stream = await openSse(`${url}/v1/app/ch`)
    for (const body of ['{"a":', 'not json', '', '{"a":1}{"b":2}']) {
      const answer = await post(`${url}/v1/app/ch`, body)
      assert.equal(answer.status, 400, JSON.stringify(body))
      assert.equal((answer.json() as {error: string}).error, 'ERR_MALFORMED_JSON')
    }
    assert.equal(hub.stats.rejected.malformed, 4)
    await post(`${url}/v1/app/ch`, {ok: true})
    assert.deepEqual(await stream.messagesAtLeast(1), [{ok: true}])
    stream.close()
  })

  test('an SSE injection attempt arrives as exactly one event', async () => {
    const {url} = await hubWith()
    const stream = await openSse(`${url}/v1/app/ch`)
    const evil = {a: 'x\n\ndata: evil\r\nevent: spoof\rid: 1'}
    await post(`${url}/v1/app/ch`, evil)
    // Raw line breaks between JSON tokens, which signalhub would copy into the stream.
    await post(`${url}/v1/app/ch`, '{"a":\n1,\r\n"b":\r2}\n\ndata: {"evil":true}')
    await post(`${url}/v1/app/ch`, '{"a":\n1,\r\n"b":\r2}')
    await post(`${url}/v1/app/ch`, {sep: 'line\u2028para\u2029end'})
    await stream.messagesAtLeast(3)
    assert.deepEqual(stream.messages, [evil, {a: 1, b: 2}, {sep: 'line\u2028para\u2029end'}])
    assert.equal(stream.raw.split('\n').filter(line => line !== '' && line !== ':ok').length, 3, 'each message is one line')
    assert.ok(!/[\r]/.test(stream.raw))
    stream.close()
  })

  test('429 after the burst, with Retry-After; the client is still served afterwards', async () => {
    const {url, hub} = await hubWith({rateLimit: 20, burst: 5})
    const stream = await openSse(`${url}/v1/app/ch`)
    const agent = new Agent({keepAlive: true, maxSockets: 1})
    const statuses: number[] = []
    let limited
    for (let i = 0; i < 8; i++) {
      const answer = await post(`${url}/v1/app/ch`, {i}, {agent})
      statuses.push(answer.status)
      if (answer.status === 429) limited ??= answer
    }
    assert.deepEqual(statuses.slice(0, 5), [200, 200, 200, 200, 200])
    assert.ok(statuses.slice(5).includes(429), `statuses: ${statuses}`)
    assert.ok(limited)
    assert.equal(limited.headers['retry-after'], '1')
    assert.equal(limited.headers['access-control-expose-headers'], 'Retry-After')
    assert.equal((limited.json() as {error: string}).error, 'ERR_RATE_LIMITED')
    assert.ok(hub.stats.rejected.rateLimited >= 1)

    // Tokens come back at 20 per second: the same client gets through again.
    let next = await post(`${url}/v1/app/ch`, {after: true}, {agent})
    await until(async () => next.status !== 429 || (next = await post(`${url}/v1/app/ch`, {after: true}, {agent})).status !== 429,
      'a token to come back', {every: 25})
    assert.equal(next.status, 200)
    const messages = await stream.messagesAtLeast(statuses.filter(s => s === 200).length + 1)
    assert.deepEqual(messages.at(-1), {after: true})
    agent.destroy()
    stream.close()
  })

  test('subscriptions are not rate limited and rate limiting can be turned off', async () => {
    const {url, hub} = await hubWith({rateLimit: 0})
    const answers = await Promise.all(Array.from({length: 300}, (_, i) => post(`${url}/v1/app/ch`, {i})))
    assert.ok(answers.every(answer => answer.status === 200))
    assert.equal(hub.internals().buckets, 0)
  })

  test('a stream may name at most maxChannels channels', async () => {
    const {url, hub} = await hubWith()
    const names = (n: number) => Array.from({length: n}, (_, i) => `c${i}`).join(',')
    const ok = await openSse(`${url}/v1/app/${names(64)}`)
    assert.equal(ok.status, 200)
    ok.close()
    const answer = await send(`${url}/v1/app/${names(65)}`)
    assert.equal(answer.status, 400)
    assert.equal((answer.json() as {error: string}).error, 'ERR_TOO_MANY_CHANNELS')
    assert.equal(hub.stats.rejected.tooManyChannels, 1)
  })

  test('the total subscriber cap answers 503, the per-client cap 429', async () => {
    const {url, hub} = await hubWith({maxSubscribers: 3})
    const streams = await Promise.all([1, 2, 3].map(i => openSse(`${url}/v1/app/c${i}`)))
    const full = await send(`${url}/v1/app/c4`)
    assert.equal(full.status, 503)
    assert.equal(full.headers['retry-after'], '30')
    assert.equal((full.json() as {error: string}).error, 'ERR_TOO_MANY_SUBSCRIBERS')
    streams[0].close()
    await until(() => hub.stats.subscribers === 2, 'the hub to notice a closed stream')
    const room = await openSse(`${url}/v1/app/c4`)
    assert.equal(room.status, 200)
    for (const stream of [...streams, room]) stream.close()

    const perClient = await hubWith({maxStreamsPerClient: 2})
    const mine = await Promise.all([1, 2].map(i => openSse(`${perClient.url}/v1/app/c${i}`)))
    const third = await send(`${perClient.url}/v1/app/c3`)
    assert.equal(third.status, 429)
    assert.equal((third.json() as {error: string}).error, 'ERR_TOO_MANY_SUBSCRIBERS')
    assert.equal(perClient.hub.stats.rejected.tooManySubscribers, 1)
    for (const stream of mine) stream.close()
  })

  test('bad app and channel names are 400 for streams and broadcasts', async () => {
    const {url, hub} = await hubWith()
    const bad = [
      '/v1/app/',
      '/v1//ch',
      '/v1/app/a,,b',
      `/v1/app/${'x'.repeat(129)}`,
      `/v1/${'x'.repeat(129)}/ch`,
      `/v1/app/${'x/'.repeat(64)}y`,
      '/v1//ch/more',
      '/v1/app/line%0Abreak',
      '/v1/app/nul%00',
      '/v1/app/del%7F',
      '/v1/app/bad%E0%A4%A',
      '/v1/app/%',
    ]
    for (const path of bad) {
      const get = await send(`${url}${path}`)
      assert.equal(get.status, 400, `GET ${path}`)
      assert.equal((get.json() as {error: string}).error, 'ERR_BAD_CHANNEL')
      if (path.includes(',')) continue
      const answer = await post(`${url}${path}`, {x: 1})
      assert.equal(answer.status, 400, `POST ${path}`)
    }
    assert.ok(hub.stats.rejected.badChannel >= bad.length)
    assert.equal(hub.internals().apps, 0)
    const longest = await openSse(`${url}/v1/${'a'.repeat(128)}/${'x'.repeat(128)}`)
    assert.equal(longest.status, 200)
    longest.close()
  })

  test('unknown paths are 404 and other methods 405, as JSON', async () => {
    const {url, hub} = await hubWith()
    for (const path of ['/nope', '/v1', '/v1/', '/v1/app', '/v2/app/ch', '/v1app/ch']) {
      const answer = await send(`${url}${path}`)
      assert.equal(answer.status, 404, path)
      assert.equal((answer.json() as {error: string}).error, 'ERR_NOT_FOUND')
    }
    for (const method of ['PUT', 'DELETE', 'PATCH']) {
      const answer = await send(`${url}/v1/app/ch`, {method})
      assert.equal(answer.status, 405, method)
      assert.equal(answer.headers.allow, 'GET, POST, OPTIONS')
      assert.equal((answer.json() as {error: string}).error, 'ERR_METHOD_NOT_ALLOWED')
    }
    assert.equal((await send(`${url}/`, {method: 'POST', body: '{}'})).status, 405)
    assert.equal(hub.stats.rejected.notFound, 6)
    assert.equal(hub.stats.rejected.methodNotAllowed, 4)
  })

  test('a subscriber that stops reading is dropped, the others keep getting messages', async () => {
    const {url, hub} = await hubWith({rateLimit: 0, maxBufferedBytes: 64 * 1024})
    const reader = await openSse(`${url}/v1/app/ch`)
    const stalled = await openSse(`${url}/v1/app/ch`)
    stalled.res.pause()
    const payload = {pad: 'z'.repeat(60 * 1024)}
    for (let i = 0; i < 400 && hub.stats.slowSubscribersDropped === 0; i++) {
      await post(`${url}/v1/app/ch`, payload)
    }
    assert.equal(hub.stats.slowSubscribersDropped, 1)
    assert.equal(hub.stats.subscribers, 1)
    await post(`${url}/v1/app/ch`, {still: 'here'})
    await reader.until(() => reader.dataFrames.at(-1) === '{"still":"here"}', 10_000, 'the last message')
    reader.close()
    stalled.close()
  })
})

describe('CORS', {timeout: 10_000}, () => {
  test('by default any origin may subscribe and broadcast', async () => {
    const {url} = await hubWith()
    const answer = await post(`${url}/v1/app/ch`, {}, {headers: {origin: 'https://anywhere.example'}})
    assert.equal(answer.status, 200)
    assert.equal(answer.headers['access-control-allow-origin'], '*')
  })

  test('with a list, an allowed origin is echoed with Vary and others get 403', async () => {
    const {url, hub} = await hubWith({cors: ['https://app.example', 'http://localhost:8000']})
    const allowed = await post(`${url}/v1/app/ch`, {}, {headers: {origin: 'https://app.example'}})
    assert.equal(allowed.status, 200)
    assert.equal(allowed.headers['access-control-allow-origin'], 'https://app.example')
    assert.equal(allowed.headers.vary, 'Origin')

    const stream = await openSse(`${url}/v1/app/ch`, {origin: 'http://localhost:8000'})
    assert.equal(stream.status, 200)
    assert.equal(stream.headers['access-control-allow-origin'], 'http://localhost:8000')
    stream.close()

    for (const method of ['GET', 'POST', 'OPTIONS']) {
      const denied = await send(`${url}/v1/app/ch`, {method, headers: {origin: 'https://evil.example'}, body: method === 'POST' ? '{}' : undefined})
      assert.equal(denied.status, 403, method)
      assert.equal(denied.headers['access-control-allow-origin'], undefined)
      assert.equal((denied.json() as {error: string}).error, 'ERR_ORIGIN_NOT_ALLOWED')
    }
    assert.equal(hub.stats.rejected.forbidden, 3)

    const noOrigin = await post(`${url}/v1/app/ch`, {from: 'node'})
    assert.equal(noOrigin.status, 200, 'requests without an Origin are not from a page')
    assert.equal(noOrigin.headers['access-control-allow-origin'], undefined)
  })

  test('preflight requests are answered', async () => {
    const {url} = await hubWith({cors: ['https://app.example']})
    const answer = await send(`${url}/v1/app/ch`, {
      method: 'OPTIONS',
      headers: {
        origin: 'https://app.example',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type',
        'access-control-request-private-network': 'true',
      },
    })
    assert.equal(answer.status, 204)
    assert.equal(answer.headers['access-control-allow-origin'], 'https://app.example')
    assert.match(String(answer.headers['access-control-allow-methods']), /POST/)
    assert.match(String(answer.headers['access-control-allow-headers']), /Content-Type/)
    assert.equal(answer.headers['access-control-allow-private-network'], 'true')
    assert.equal((await send(`${url}/`, {method: 'OPTIONS', headers: {origin: 'https://app.example'}})).status, 204)
  })
})

describe('options', {timeout: 10_000}, () => {
  const invalid = (option: string) => (err: P2PError) => err.code === 'ERR_INVALID_ARGUMENT' && err.message.includes(option)

  test('every numeric option out of its range throws ERR_INVALID_ARGUMENT at once, naming it', () => {
    const bad: Array<[keyof HubOptions, unknown]> = [
      ['rateLimit', Number.NaN], ['rateLimit', -1], ['rateLimit', '50'],
      ['burst', 0], ['burst', Number.NaN],
      ['maxBodySize', 0], ['maxBodySize', 1.5], ['maxBodySize', Infinity], ['maxBodySize', Number.NaN],
      ['maxChannels', 0], ['maxChannels', 2.5],
      ['maxSubscribers', -1], ['maxSubscribers', Number.NaN], ['maxSubscribers', '10'],
      ['maxStreamsPerClient', 0], ['maxStreamsPerClient', 2.5],
      // Node would run a timer past 2³¹−1 ms after 1 ms: a heartbeat flood.
      ['heartbeatInterval', 0], ['heartbeatInterval', 2 ** 31], ['heartbeatInterval', Number.NaN],
      ['maxBufferedBytes', 0], ['maxBufferedBytes', Number.NaN],
      ['closeTimeout', -1], ['closeTimeout', Number.NaN],
      // A string other than '*' would be read as a list of one-letter origins.
      ['cors', 'https://one.example'], ['cors', [1]],
    ]
    for (const [option, value] of bad) {
      assert.throws(() => createHub({[option]: value} as HubOptions), invalid(option), `${option}: ${String(value)}`)
    }
  })

  test('the edges of each range are accepted; rateLimit 0 and Infinity turn the limit off', async () => {
    for (const options of [{rateLimit: 0}, {rateLimit: Infinity}, {rateLimit: 0.25}, {burst: 1}, {maxBodySize: 1}, {maxChannels: 1},
      {maxSubscribers: 1}, {maxStreamsPerClient: 1}, {heartbeatInterval: 2 ** 31 - 1}, {maxBufferedBytes: 1}, {closeTimeout: 0}, {cors: []}]) {
      await createHub(options).close()
    }
    const {url, hub} = await hubWith({rateLimit: Infinity})
    const answers = await Promise.all(Array.from({length: 150}, (_, i) => post(`${url}/v1/app/ch`, {i})))
    assert.ok(answers.every(answer => answer.status === 200))
    assert.equal(hub.internals().buckets, 0)
  })

  test('listen() refuses a port out of range at once', async () => {
    const hub = createHub()
    for (const port of [-1, 65536, 1.5, Number.NaN]) assert.throws(() => hub.listen(port), invalid('port'), String(port))
    await hub.close()
  })
})

describe('memory and lifecycle', {timeout: 120_000}, () => {
  test('500 subscribers across many channels leave nothing behind', async () => {
    const {url, hub} = await hubWith({maxStreamsPerClient: 1000, rateLimit: 0})
    const streams = await Promise.all(Array.from({length: 500}, (_, i) =>
      openSse(`${url}/v1/app${i % 5}/c${i % 50},shared,own${i}`)))
    assert.equal(hub.stats.subscribers, 500)
    assert.equal(hub.stats.apps, 5)
    assert.equal(hub.stats.channels, 5 * 10 + 5 + 500)
    await post(`${url}/v1/app0/shared`, {to: 'all of app0'})
    await Promise.all(streams.filter((_, i) => i % 5 === 0).map(stream => stream.messagesAtLeast(1)))
    assert.equal(hub.stats.messagesDelivered, 100)

    for (const stream of streams) stream.close()
    await until(() => hub.stats.subscribers === 0, 'every stream to be gone')
    assert.equal(hub.stats.channels, 0)
    assert.equal(hub.stats.apps, 0)
    assert.deepEqual(hub.internals(), {apps: 0, channels: 0, streams: 0, clients: 0, buckets: 0, heartbeat: false, sweeping: false})
  })

  test('rate-limit buckets are swept once refilled', async () => {
    const {url, hub} = await hubWith({rateLimit: 1000, burst: 5})
    await post(`${url}/v1/app/ch`, {})
    assert.equal(hub.internals().buckets, 1)
    assert.equal(hub.internals().sweeping, true)
    await until(() => hub.internals().buckets === 0, 'the bucket sweep')
    assert.equal(hub.internals().sweeping, false)
  })

  test('heap returns to its baseline after a crowd comes and goes', {timeout: 60_000}, async () => {
    const fixture = fileURLToPath(new URL('./fixtures/hub-heap.ts', import.meta.url))
    const child = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', fixture], {stdio: ['ignore', 'pipe', 'inherit']})
    let out = ''
    child.stdout.setEncoding('utf8')
    child.stdout.on('data', (chunk: string) => { out += chunk })
    const code = await new Promise<number | null>(resolve => child.on('exit', resolve))
    assert.equal(code, 0, out)
    const result = JSON.parse(out.trim().split('\n').at(-1) ?? '{}') as {baseline: number, after: number, peak: number, internals: object}
    assert.deepEqual(result.internals, {apps: 0, channels: 0, streams: 0, clients: 0, buckets: 0, heartbeat: false, sweeping: false})
    const grown = result.after - result.baseline
    assert.ok(result.peak - result.baseline > 4 * grown, `the crowd used memory (${result.peak - result.baseline} bytes) and left it (${grown} bytes)`)
    assert.ok(grown < 1024 * 1024, `heap grew by ${grown} bytes`)
  })

  test('close() ends open streams, finishes in-flight requests and is idempotent', {timeout: 20_000}, async t => {
    const {url, hub} = await startHub()
    // The hub's own timers are the test's and never run: close() must finish without its
    // force timer (the closeTimeout that cuts connections still busy), however slow the machine.
    t.mock.timers.enable({apis: ['setTimeout']})
    const streams = await Promise.all([1, 2, 3].map(i => openSse(`${url}/v1/app/c${i}`)))
    const agent = new Agent({keepAlive: true})
    assert.equal((await post(`${url}/v1/app/c1`, {before: true}, {agent})).status, 200)

    // A POST whose body is still on its way when close() starts.
    let closing!: Promise<void>
    const inFlight = new Promise<number>((resolve, reject) => {
      const req = request(`${url}/v1/app/c2`, {method: 'POST', agent}, res => {
        res.resume()
        resolve(res.statusCode ?? 0)
      })
      req.on('error', reject)
      // Once the hub has the request, it is in flight: close() must let it finish.
      hub.server.once('request', () => setImmediate(() => {
        closing = hub.close()
        req.end('true}')
      }))
      req.write('{"late":')
    })
    assert.equal(await inFlight, 200)
    await closing
    assert.equal(hub.close(), closing)
    await Promise.all(streams.map(stream => stream.end()))
    assert.deepEqual(streams[0].messages, [{before: true}])
    assert.ok(streams.every(stream => stream.raw.endsWith('\n\n') || stream.raw === ''), 'streams end between messages')
    assert.equal(hub.stats.subscribers, 0)
    assert.equal(hub.server.listening, false)
    await assert.rejects(send(`${url}/`), /ECONNREFUSED/)
    agent.destroy()
  })

  test('destroy(err) ends every stream, then emits error and close, once; a destroyed hub does not listen again', async () => {
    const {url, hub} = await hubWith()
    const stream = await openSse(`${url}/v1/app/ch`)
    const events: string[] = []
    hub.on('error', err => events.push(`error: ${err.message}`))
    hub.on('close', () => events.push('close'))
    const closed = new Promise<void>(resolve => hub.once('close', () => resolve()))
    assert.equal(hub.destroyed, false)
    hub.destroy(new Error('shutting down'))
    assert.equal(hub.destroyed, true)
    hub.destroy(new Error('again'))
    await closed
    await stream.end()
    await hub.close()
    assert.deepEqual(events, ['error: shutting down', 'close'])
    assert.equal(hub.stats.subscribers, 0)
    await assert.rejects(hub.listen(0), (err: P2PError) => err.code === 'ERR_DESTROYED')
  })

  test('close() before listen() resolves, with no timer to wait for', {timeout: 20_000}, async t => {
    t.mock.timers.enable({apis: ['setTimeout', 'setInterval']})
    const {createHub} = await import('../../src/server/hub.js')
    const hub = createHub()
    await hub.close()
  })
})

describe('cli', {timeout: 90_000}, () => {
  test('prints one line with the real port and exits cleanly on SIGTERM', async () => {
    const hub = await startHubProcess({args: ['--rate-limit', '5', '--max-subscribers', '7', '--cors', 'https://a.example,https://b.example']})
    let extra = ''
    hub.child.stdout?.on('data', (chunk: Buffer) => { extra += chunk })
    assert.match(hub.url, /^http:\/\/127\.0\.0\.1:\d+$/)
    assert.notEqual(hub.url, 'http://127.0.0.1:0')
    const info = await send(`${hub.url}/`)
    assert.equal((info.json() as {name: string}).name, 'p2p-elements-hub')
    const denied = await send(`${hub.url}/`, {headers: {origin: 'https://c.example'}})
    assert.equal(denied.status, 403)
    const stream = await openSse(`${hub.url}/v1/app/ch`)
    const exit = new Promise(resolve => hub.child.once('exit', (code, signal) => resolve({code, signal})))
    await hub.close()
    assert.deepEqual(await exit, {code: 0, signal: null})
    await stream.end()
    assert.equal(extra, '', 'nothing printed after the listening line')
  })

  test('the numeric flags reach the hub', async () => {
    const hub = await startHubProcess({args: ['--max-channels', '2', '--max-body-size', '100', '--burst', '3', '--rate-limit', '0.001']})
    try {
      const two = await openSse(`${hub.url}/v1/app/a,b`)
      assert.equal(two.status, 200)
      two.close()
      const three = await send(`${hub.url}/v1/app/a,b,c`)
      assert.equal((three.json() as {error: string}).error, 'ERR_TOO_MANY_CHANNELS')
      // A burst of 3 at a rate that refills nothing during the test: the fourth POST is one too many.
      const statuses = []
      for (const body of [{pad: 'x'.repeat(100)}, {}, {}, {}]) statuses.push((await post(`${hub.url}/v1/app/ch`, body)).status)
      assert.deepEqual(statuses, [413, 200, 200, 429])
    } finally {
      await hub.close()
    }
  })

  test('--help prints usage; bad flags exit with 2', {timeout: 60_000}, async () => {
    const cli = fileURLToPath(new URL('../../src/server/cli.ts', import.meta.url))
    const run = (args: string[]) => new Promise<{code: number | null, stdout: string, stderr: string}>(resolve => {
      const child = spawn(process.execPath, ['--import', 'tsx', cli, ...args], {stdio: ['ignore', 'pipe', 'pipe']})
      let stdout = ''
      let stderr = ''
      child.stdout.on('data', chunk => {
        stdout += chunk
        if (stdout.includes('listening on')) child.kill('SIGTERM')
      })
      child.stderr.on('data', chunk => { stderr += chunk })
      child.on('exit', code => resolve({code, stdout, stderr}))
    })
    const help = await run(['hub', '--help'])
    assert.equal(help.code, 0)
    assert.match(help.stdout, /--rate-limit/)
    const top = await run(['--help'])
    assert.equal(top.code, 0)
    assert.match(top.stdout, /hub\s+run the signalling hub/)
    // --version and -v print package.json's version, and nothing else.
    const version = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {version: string}).version
    for (const flag of ['--version', '-v']) {
      const answer = await run([flag])
      assert.deepEqual({code: answer.code, stdout: answer.stdout, stderr: answer.stderr}, {code: 0, stdout: `${version}\n`, stderr: ''}, flag)
    }
    // Each bad value exits with 2 and names its flag; a hub that started anyway is stopped and fails the check.
    // The ranges are checkHubOptions' (tested above): these are the ways a flag's text can go wrong.
    const cases = [['--port', 'x'], ['--rate-limit', 'abc'], ['--rate-limit', ''], ['--rate-limit=-1'], ['--max-subscribers', '2.5']]
    const answers = await Promise.all(cases.map(args => run(['hub', '--port', '0', ...args])))
    for (const [i, bad] of answers.entries()) {
      const args = cases[i]
      assert.equal(bad.code, 2, `${args.join(' ')}: ${bad.stdout}`)
      assert.match(bad.stderr, new RegExp(`ERR_INVALID_ARGUMENT: ${args[0].split('=')[0]} must be`), args.join(' '))
    }
    const unknown = await run(['nope'])
    assert.equal(unknown.code, 2)
    assert.match(unknown.stderr, /unknown command/)
  })
})
