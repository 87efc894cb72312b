// The hub fleet as a user runs it (docs/hub-fleet.md): the kit packed and installed
// into a fresh app, its `p2p-elements` bin started with `--redis`. Without the optional
// @redis/client the bin stops at once naming it; once installed, two processes of the
// fleet share a channel through a real redis-server. Loopback only.
import {after, before, test} from 'node:test'
import assert from 'node:assert/strict'
import {execFile} from 'node:child_process'
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {promisify} from 'node:util'
import {INSTALL_TIMEOUT, REPO, createApp, install, type App} from './helpers.js'
import {startHubProcess, type HubProcess} from '../../scripts/hub-process.js'
import {RedisProcess} from '../shared/redis-process.js'
import {openSse, post} from '../node/helpers.js'
import {backplanesUp} from '../shared/fleet.js'
import {until} from '../shared/until.js'

/** The @redis/client range the kit's package.json names, so the install takes what the cache holds. */
const REDIS_CLIENT = `@redis/client@${(JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as {peerDependencies: Record<string, string>}).peerDependencies['@redis/client']}`

let app: App
let redis: RedisProcess
const hubs: HubProcess[] = []

before(async () => {
  ;[app, redis] = await Promise.all([createApp('fleet'), RedisProcess.start()])
}, {timeout: INSTALL_TIMEOUT})

after(async () => {
  await Promise.all(hubs.map(hub => hub.close()))
  await redis?.stop()
  await app?.remove()
})

const bin = () => join(app.dir, 'node_modules', '.bin', 'p2p-elements')

test('the installed bin, with --redis but without @redis/client, stops at once and names the package to install', async () => {
  const failed = await promisify(execFile)(bin(), ['hub', '--port', '0', '--redis', redis.url], {timeout: 60_000}).then(() => null, (err: {code?: number, stderr?: string}) => err)
  assert.ok(failed, 'the hub did not stop')
  assert.notEqual(failed.code, 0)
  assert.match(failed.stderr ?? '', /npm install @redis\/client/)
})

test('with @redis/client installed beside the kit, two processes of the installed bin share a channel through Redis', {timeout: INSTALL_TIMEOUT}, async () => {
  await install(app, [REDIS_CLIENT])
  hubs.push(...await Promise.all([0, 1].map(() => startHubProcess({bin: bin(), args: ['--redis', redis.url]}))))
  await backplanesUp(hubs)
  const [a, b] = hubs
  const reader = await openSse(`${a.url}/v1/installed/room`)
  try {
    // Probed until a has subscribed on Redis: what b takes before that reaches only b's subscribers (none).
    await until(async () => {
      await post(`${b.url}/v1/installed/room`, {text: 'hello'})
      return reader.messages.length > 0
    }, 'a broadcast through b heard on a')
    assert.deepEqual(reader.messages[0], {text: 'hello'})
  } finally {
    reader.close()
  }
})
