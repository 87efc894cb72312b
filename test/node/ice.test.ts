import {describe, test} from 'node:test'
import assert from 'node:assert/strict'
import {spawn} from 'node:child_process'
import {createHmac} from 'node:crypto'
import {fileURLToPath} from 'node:url'
import {IceServers, checkIceOptions, turnCredentials} from '../../src/server/ice.js'
import type {IceAnswer} from '../../src/server/ice.js'
import {createHub} from '../../src/server/hub.js'
import type {P2PError} from '../../src/core/errors.js'
import {startHubProcess} from '../../scripts/hub-process.js'
import {HubIceConfig} from '../../src/core/hub-client/ice-config.js'
import type {OpenStream} from '../../src/core/hub-client/sse.js'
import {VirtualClock} from '../../src/core/gossip/simulation.js'
import {hubsClosedAfter, send} from './helpers.js'
import {until} from '../shared/until.js'

const hubWith = hubsClosedAfter()

const SECRET = 'a-long-random-secret-for-the-test'
const TURN = 'turn:127.0.0.1:3478?transport=udp'

describe('TURN credentials', () => {
  test('match a known vector (HMAC-SHA1 of "expiry:label", base64; computed with openssl dgst -sha1 -hmac)', () => {
    assert.deepEqual(turnCredentials('north', 'alice', 1_700_000_000), {
      username: '1700000000:alice',
      credential: 'Cd/49soE35ICqcJF/bCTn8Z4OyE=',
    })
  })

  test('each answer mints a fresh credential that expires turnTtl seconds from now', () => {
    const now = 1_800_000_000_000
    const ice = new IceServers({stun: ['stun:127.0.0.1:3478'], turn: [TURN, 'turns:turn.example.org:443?transport=tcp'], turnSecret: SECRET, turnTtl: 600}, () => now)
    const one = ice.answer()
    const two = ice.answer()
    assert.equal(one.expires, 1_800_000_600)
    assert.deepEqual(one.iceServers[0], {urls: ['stun:127.0.0.1:3478']})
    const turn = one.iceServers[1]
    assert.deepEqual(turn.urls, [TURN, 'turns:turn.example.org:443?transport=tcp'])
    const [expiry, label] = turn.username!.split(':')
    assert.equal(Number(expiry), one.expires)
    assert.match(label, /^[\w-]{12}$/)
    assert.equal(turn.credential, createHmac('sha1', SECRET).update(turn.username!).digest('base64'))
    assert.notEqual(two.iceServers[1].username, turn.username, 'a label per answer')
  })

  test('bad options are ERR_INVALID_ARGUMENT', () => {
    const bad = [
      {stun: ['http://example.org']},
      {stun: ['turn:127.0.0.1']},
      {turn: ['stun:127.0.0.1'], turnSecret: SECRET},
      {turn: [TURN]},
      {turnSecret: SECRET},
      {turn: [TURN], turnSecret: ''},
      {turn: [TURN], turnSecret: SECRET, turnTtl: 59},
      {turn: [TURN], turnSecret: SECRET, turnTtl: 90.5},
      {turn: [TURN], turnSecret: SECRET, turnTtl: 8 * 24 * 3600},
      {turn: [TURN], turnSecret: SECRET, turnTtl: Number.NaN},
    ]
    for (const options of bad) {
      assert.throws(() => checkIceOptions(options), (err: P2PError) => err.code === 'ERR_INVALID_ARGUMENT', JSON.stringify(options))
      assert.throws(() => createHub({ice: options}), (err: P2PError) => err.code === 'ERR_INVALID_ARGUMENT', JSON.stringify(options))
    }
    assert.throws(() => checkIceOptions({turn: [TURN]}, option => `--${option}`), /--turn needs --turnSecret/)
  })
})

describe('GET /v1/ice', {timeout: 20_000}, () => {
  test('a hub without STUN or TURN answers no servers, with CORS like its other routes', async () => {
    const {url} = await hubWith()
    const answer = await send(`${url}/v1/ice`, {headers: {origin: 'https://app.example'}})
    assert.equal(answer.status, 200)
    assert.match(String(answer.headers['content-type']), /^application\/json/)
    assert.equal(answer.headers['access-control-allow-origin'], '*')
    assert.deepEqual(answer.json(), {iceServers: []})
  })

  test('answers the STUN urls as given and a TURN entry with a credential coturn accepts; never the secret', async () => {
    const {url} = await hubWith({ice: {stun: ['stun:127.0.0.1:3478'], turn: [TURN], turnSecret: SECRET, turnTtl: 300}})
    const before = Math.floor(Date.now() / 1000)
    const answer = await send(`${url}/v1/ice`)
    assert.equal(answer.status, 200)
    assert.equal(answer.headers['cache-control'], 'no-store')
    assert.ok(!answer.text.includes(SECRET), 'the secret is not in the answer')
    const {iceServers, expires} = answer.json() as IceAnswer
    assert.deepEqual(iceServers[0], {urls: ['stun:127.0.0.1:3478']})
    const {urls, username, credential} = iceServers[1]
    assert.deepEqual(urls, [TURN])
    assert.ok(expires! >= before + 300 && expires! <= Math.floor(Date.now() / 1000) + 300, `expires ${expires}`)
    assert.ok(username!.startsWith(`${expires}:`))
    assert.equal(credential, createHmac('sha1', SECRET).update(username!).digest('base64'))
    assert.deepEqual(Object.keys(answer.json() as object).sort(), ['expires', 'iceServers'])
  })

  test('is rate-limited as POSTs are (429 with Retry-After), and refuses other methods', async () => {
    const {url, hub} = await hubWith({rateLimit: 0.001, burst: 2})
    const statuses = []
    for (let i = 0; i < 3; i++) statuses.push((await send(`${url}/v1/ice`)).status)
    assert.deepEqual(statuses, [200, 200, 429])
    assert.equal(hub.stats.rejected.rateLimited, 1)
    const post = await send(`${url}/v1/ice`, {method: 'POST', body: '{}'})
    assert.equal(post.status, 405)
    assert.equal((post.json() as {error: string}).error, 'ERR_METHOD_NOT_ALLOWED')
  })
})

describe('cli', {timeout: 90_000}, () => {
  const cli = fileURLToPath(new URL('../../src/server/cli.ts', import.meta.url))
  // Stopped once it printed `until`: a process that prints it has started with its flags.
  const run = (args: string[], env: NodeJS.ProcessEnv = {}, until = 'listening on') => new Promise<{code: number | null, stdout: string, stderr: string}>(resolve => {
    const child = spawn(process.execPath, ['--import', 'tsx', cli, 'hub', '--port', '0', ...args], {stdio: ['ignore', 'pipe', 'pipe'], env: {...process.env, ...env}})
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', chunk => {
      stdout += chunk
      if (stdout.includes(until)) child.kill('SIGTERM')
    })
    child.stderr.on('data', chunk => { stderr += chunk })
    child.on('exit', code => resolve({code, stdout, stderr}))
  })

  test('--stun, --turn, --turn-secret and --turn-ttl reach GET /v1/ice; the secret is never printed', async () => {
    const hub = await startHubProcess({args: ['--stun', 'stun:127.0.0.1:3478', '--turn', `${TURN},turns:127.0.0.1:5349`, '--turn-secret', SECRET, '--turn-ttl', '120']})
    let printed = ''
    hub.child.stdout?.on('data', (chunk: Buffer) => { printed += chunk })
    try {
      const answer = await send(`${hub.url}/v1/ice`)
      const {iceServers, expires} = answer.json() as IceAnswer
      assert.deepEqual(iceServers.map(server => server.urls), [['stun:127.0.0.1:3478'], [TURN, 'turns:127.0.0.1:5349']])
      assert.ok(expires! <= Math.floor(Date.now() / 1000) + 120)
      assert.equal(iceServers[1].credential, createHmac('sha1', SECRET).update(iceServers[1].username!).digest('base64'))
    } finally {
      await hub.close()
    }
    assert.ok(!printed.includes(SECRET))
  })

  test('the secret may come from P2P_TURN_SECRET; bad ICE flags exit with 2 and name the flag, never printing the secret', async () => {
    const fromEnv = await run(['--turn', TURN], {P2P_TURN_SECRET: SECRET}, '86400 s)')
    assert.match(fromEnv.stdout, /GET \/v1\/ice hands out turn:127\.0\.0\.1:3478\?transport=udp \(TURN credentials for 86400 s\)/)
    assert.ok(!fromEnv.stdout.includes(SECRET) && !fromEnv.stderr.includes(SECRET))
    const cases = [
      [['--stun', 'https://stun.example'], '--stun'],
      [['--turn', 'stun:127.0.0.1:3478', '--turn-secret', SECRET], '--turn'],
      [['--turn', TURN], '--turn'],
      [['--turn-secret', SECRET], '--turn-secret'],
      [['--turn', TURN, '--turn-secret', SECRET, '--turn-ttl', '10'], '--turn-ttl'],
      [['--turn', TURN, '--turn-secret', SECRET, '--turn-ttl', 'soon'], '--turn-ttl'],
    ] as const
    const answers = await Promise.all(cases.map(([args]) => run([...args], {P2P_TURN_SECRET: ''})))
    for (const [i, bad] of answers.entries()) {
      const [args, flag] = cases[i]
      assert.equal(bad.code, 2, `${args.join(' ')}: ${bad.stdout}`)
      assert.match(bad.stderr, new RegExp(`ERR_INVALID_ARGUMENT: ${flag} `), args.join(' '))
      assert.ok(!bad.stderr.includes(SECRET) && !bad.stdout.includes(SECRET), `${args.join(' ')}: the secret printed`)
    }
  })
})

describe('HubIceConfig (the client)', {timeout: 20_000}, () => {
  const EPOCH = 1_800_000_000_000
  /** A fetch that answers each hub's /v1/ice from `answers` (a function per call), counting calls per URL. */
  function fakeFetch(answers: Record<string, () => Response | Promise<Response>>) {
    const calls: string[] = []
    const impl = (async (url: string) => {
      calls.push(url)
      const answer = answers[url]
      if (!answer) throw new TypeError('fetch failed')
      return answer()
    }) as unknown as typeof fetch
    return {impl, calls}
  }
  const json = (value: unknown, status = 200) => () => new Response(JSON.stringify(value), {status, headers: {'content-type': 'application/json'}})

  test('uses the first hub that answers: a dead hub and a hub without the route (404) are skipped; none at all is no servers', async () => {
    const servers = [{urls: ['turn:127.0.0.1:3478'], username: '1:x', credential: 'c'}]
    const {impl, calls} = fakeFetch({
      'http://old.example/v1/ice': json({error: 'ERR_NOT_FOUND'}, 404),
      'http://good.example/v1/ice': json({iceServers: servers}),
    })
    const ice = new HubIceConfig({hubs: ['http://dead.example', 'http://old.example/', 'http://good.example'], fetch: impl})
    assert.deepEqual(await ice.ready(), servers)
    assert.deepEqual(calls, ['http://dead.example/v1/ice', 'http://old.example/v1/ice', 'http://good.example/v1/ice'])
    assert.deepEqual(ice.servers, servers)
    assert.equal(calls.length, 3, 'nothing expires: no fetch again')
    ice.destroy()

    const none = new HubIceConfig({hubs: ['http://dead.example'], fetch: fakeFetch({'http://x/v1/ice': json({iceServers: 'no'})}).impl})
    assert.deepEqual(await none.ready(), [])
    none.destroy()
  })

  test('fetches again ahead of expiry, so connections made later get fresh credentials; a failed refresh is retried when read', async () => {
    const clock = new VirtualClock()
    const epochNow = () => EPOCH + clock.now()
    let round = 0
    let down = false
    const {impl, calls} = fakeFetch({
      'http://hub.example/v1/ice': () => {
        if (down) throw new TypeError('fetch failed')
        round++
        const expires = Math.floor(epochNow() / 1000) + 3600
        return json({iceServers: [{urls: ['turn:127.0.0.1:3478'], username: `${expires}:r${round}`, credential: 'c'}], expires})()
      },
    })
    const ice = new HubIceConfig({hubs: ['http://hub.example'], fetch: impl, clock, epochNow})
    const first = await ice.ready()
    assert.match(String(first[0].username), /:r1$/)
    // Up to five minutes before expiry the credential is current: reading it fetches nothing.
    clock.run(3600_000 - 5 * 60_000 - 1)
    assert.equal(ice.servers, first)
    assert.equal(calls.length, 1)
    // Then the refresh timer fetches new ones, which the next connection gets.
    clock.run(3600_000 - 5 * 60_000)
    await until(() => ice.servers[0].username!.endsWith(':r2'), 'the refreshed credential')
    assert.equal(calls.length, 2)
    // A refresh that fails leaves the current list (still valid for the margin); a read a minute later
    // fetches again, and reads before that do not (a hub that cannot answer is not asked per connection).
    down = true
    clock.run(2 * 3600_000)
    assert.equal(calls.length, 3, 'the timer fetched again')
    down = false
    // The fake fetch does no I/O: by the next macrotask the failed refresh's promise chain has run.
    await new Promise(resolve => setImmediate(resolve))
    clock.run(2 * 3600_000 + 59_999)
    assert.match(String(ice.servers[0].username), /:r2$/)
    assert.equal(calls.length, 3, 'no fetch within a minute of the failure')
    clock.run(2 * 3600_000 + 60_000)
    await until(() => ice.servers[0].username!.endsWith(':r3'), 'a read fetching again a minute after the failed refresh')
    assert.equal(calls.length, 4)
    ice.destroy()
    assert.equal(clock.pending, 0, 'destroy clears the refresh timer')
  })

  test('gate() holds streams back until the first answer is in, so no connection is dialled without it; a stream closed meanwhile never opens', async () => {
    let answer!: () => void
    const pending = new Promise<void>(resolve => { answer = resolve })
    const {impl} = fakeFetch({'http://hub.example/v1/ice': async () => {
      await pending
      return json({iceServers: [{urls: 'stun:127.0.0.1:3478'}]})()
    }})
    const ice = new HubIceConfig({hubs: ['http://hub.example'], fetch: impl})
    const opened: string[] = []
    const closed: string[] = []
    const open = ((url: string) => {
      opened.push(url)
      return {close: () => closed.push(url)}
    }) as OpenStream
    const gated = ice.gate(open)
    const target = {hub: 'http://hub.example', app: 'room', channels: ['all']}
    const kept = gated('http://hub.example/v1/room/all', {onopen() {}, onmessage() {}, onerror() {}} as never, target)
    const dropped = gated('http://hub.example/v1/room/x', {onopen() {}, onmessage() {}, onerror() {}} as never, target)
    dropped.close()
    // The answer is held by the test: nothing can open before it, however long this takes.
    assert.deepEqual(opened, [], 'nothing opens before the ICE servers are in')
    answer()
    await ice.ready()
    await until(() => opened.length === 1, 'the held stream opening')
    assert.deepEqual(opened, ['http://hub.example/v1/room/all'])
    kept.close()
    assert.deepEqual(closed, ['http://hub.example/v1/room/all'])
    ice.destroy()
  })

  test('against a real hub, the credential it reads is the hub\'s HMAC', async () => {
    const {url} = await hubWith({ice: {turn: [TURN], turnSecret: SECRET}})
    const ice = new HubIceConfig({hubs: [url]})
    const [server] = await ice.ready()
    assert.deepEqual(server.urls, [TURN])
    assert.equal(server.credential, createHmac('sha1', SECRET).update(String(server.username)).digest('base64'))
    ice.destroy()
  })
})
