import {describe, test, after} from 'node:test'
import assert from 'node:assert/strict'
import {spawn} from 'node:child_process'
import {createHmac} from 'node:crypto'
import {fileURLToPath} from 'node:url'
import {IceServers, checkIceOptions, turnCredentials} from '../../src/server/ice.js'
import type {IceAnswer} from '../../src/server/ice.js'
import {createHub} from '../../src/server/hub.js'
import type {P2PError} from '../../src/core/errors.js'
import {startHubProcess} from '../../scripts/hub-process.js'
import {send, startHub} from './helpers.js'
import type {StartedHub} from './helpers.js'

const started: StartedHub[] = []
async function hubWith(options: Parameters<typeof startHub>[0] = {}): Promise<StartedHub> {
  const hub = await startHub(options)
  started.push(hub)
  return hub
}
after(() => Promise.all(started.map(hub => hub.close())))

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
