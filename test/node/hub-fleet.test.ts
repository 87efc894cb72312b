// A hub fleet (src/server/backplane.ts, docs/hub-fleet.md): two real hub
// processes (`p2p-elements hub --redis`) on a real redis-server, loopback only.
// A broadcast reaches every subscriber once, whichever hub it entered through;
// Redis going down leaves each hub serving its own subscribers, and its return
// brings cross-hub delivery back with no restart.
import {after, before, describe, test} from 'node:test'
import assert from 'node:assert/strict'
import {createClient} from '@redis/client'
import {startHubProcess} from '../../scripts/hub-process.js'
import {RedisProcess} from '../shared/redis-process.js'
import {openSse, post, send, type SseReader} from './helpers.js'
import {until} from '../shared/until.js'
import {CHANNEL_PREFIX} from '../../src/server/backplane.js'
import {createRequire} from 'node:module'
import {Swarm} from '../../src/core/swarm/swarm.js'
import {createIdentity} from '../../src/core/crypto/identity.js'
import {webrtc} from '../shared/node-webrtc.js'

interface SignalhubClient {
  subscribe(channel: string): {on(event: 'data', listener: (data: unknown) => void): unknown, on(event: 'open', listener: () => void): unknown}
  broadcast(channel: string, message: unknown, cb?: (err?: Error) => void): void
  close(cb?: () => void): void
}
const signalhub = createRequire(import.meta.url)('signalhub') as (app: string, urls: string[]) => SignalhubClient

type HubProcess = {url: string, close(): Promise<void>}
type Info = {subscribers: number, backplane: {state: string, channels: number, published: number, received: number, dropped: number, malformed: number, outages: number}}

const info = async (hub: HubProcess): Promise<Info> => JSON.parse((await send(`${hub.url}/`)).text) as Info

describe('a hub fleet on Redis', () => {
  let redis: RedisProcess
  let hubs: HubProcess[]
  const readers: SseReader[] = []

  before(async () => {
    redis = await RedisProcess.start()
    hubs = await Promise.all([0, 1].map(() => startHubProcess({args: ['--redis', redis.url]}))) as HubProcess[]
    await until(async () => (await Promise.all(hubs.map(info))).every(i => i.backplane.state === 'up'), 'both hubs with the backplane up')
  })

  after(async () => {
    for (const reader of readers) reader.close()
    await Promise.all((hubs ?? []).map(hub => hub.close()))
    await redis?.stop()
  })

  /** A subscriber to `channel` of `app` on `hub`, once its hub has subscribed to that channel on Redis. */
  async function subscribe(hub: HubProcess, app: string, channel: string): Promise<SseReader> {
    const reader = await openSse(`${hub.url}/v1/${app}/${channel}`)
    readers.push(reader)
    await until(async () => (await info(hub)).backplane.channels >= 1, 'the hub subscribed on Redis')
    return reader
  }

  const texts = (reader: SseReader) => reader.messages.map(m => (m as {text: string}).text)

  test('a broadcast posted to one hub reaches the subscribers of both, each once; no echo', async () => {
    const [a, b] = hubs
    const atA = await subscribe(a, 'fleet', 'once')
    const atB = await subscribe(b, 'fleet', 'once')
    assert.equal((await post(`${b.url}/v1/fleet/once`, {text: 'from b'})).status, 200)
    assert.equal((await post(`${a.url}/v1/fleet/once`, {text: 'from a'})).status, 200)
    await atA.messagesAtLeast(2)
    await atB.messagesAtLeast(2)
    // A sentinel after both: anything doubled would have come before it.
    await post(`${a.url}/v1/fleet/once`, {text: 'sentinel'})
    await atA.messagesAtLeast(3)
    await atB.messagesAtLeast(3)
    for (const reader of [atA, atB]) assert.deepEqual(texts(reader).sort(), ['from a', 'from b', 'sentinel'])
    const [ia, ib] = await Promise.all([a, b].map(info))
    assert.equal(ia.backplane.published, 2)
    assert.equal(ib.backplane.published, 1)
    assert.equal(ia.backplane.received, 1, 'a took b\'s broadcast from Redis, not its own back')
    assert.equal(ib.backplane.received, 2)
    for (const reader of [atA, atB]) reader.close()
  })

  test('a channel nobody on a hub listens to is not subscribed there: the hub takes nothing for it', async () => {
    const [a, b] = hubs
    await until(async () => (await info(a)).backplane.channels === 0 && (await info(b)).backplane.channels === 0, 'the last test\'s channels let go')
    const atB = await subscribe(b, 'fleet', 'only-b')
    const before = (await info(a)).backplane.received
    await post(`${a.url}/v1/fleet/only-b`, {text: 'for b'})
    await atB.messagesAtLeast(1)
    assert.equal((await info(a)).backplane.channels, 0)
    assert.equal((await info(a)).backplane.received, before)
    atB.close()
  })

  test('what is not a fleet message on a fleet channel is skipped and counted; the subscribers are served after', async () => {
    const [a, b] = hubs
    const atA = await subscribe(a, 'fleet', 'hostile')
    const raw = createClient({url: redis.url})
    raw.on('error', () => {})
    await raw.connect()
    try {
      const channel = `${CHANNEL_PREFIX}fleet\nhostile`
      const before = (await info(a)).backplane.malformed
      // No origin; a second line that would be a second SSE event; a carriage return.
      for (const message of ['garbage', 'x\n{"text":"one"}\n\ndata: {"text":"injected"}', 'x\n{"text":"cr"}\r']) await raw.publish(channel, message)
      await until(async () => (await info(a)).backplane.malformed === before + 3, 'the three skipped')
      await post(`${b.url}/v1/fleet/hostile`, {text: 'honest'})
      await atA.messagesAtLeast(1)
      assert.deepEqual(texts(atA), ['honest'])
    } finally {
      await raw.close()
      atA.close()
    }
  })

  test('a single hub\'s limits hold per process: an oversized or malformed POST is refused and reaches no other process', async () => {
    const [a, b] = hubs
    const atB = await subscribe(b, 'fleet', 'limits')
    const published = (await info(a)).backplane.published
    assert.equal((await post(`${a.url}/v1/fleet/limits`, {text: 'x'.repeat(70_000)})).status, 413)
    assert.equal((await post(`${a.url}/v1/fleet/limits`, '{not json')).status, 400)
    assert.equal((await post(`${a.url}/v1/fleet/limits`, {text: 'sentinel'})).status, 200)
    await atB.messagesAtLeast(1)
    assert.deepEqual(texts(atB), ['sentinel'])
    assert.equal((await info(a)).backplane.published, published + 1)
    atB.close()
  })

  test('the original signalhub client works against any hub of the fleet: subscribed on one, broadcast through the other', async () => {
    const [a, b] = hubs
    const listener = signalhub('fleet-signalhub', [a.url])
    const sender = signalhub('fleet-signalhub', [b.url])
    try {
      const heard: unknown[] = []
      const stream = listener.subscribe('hello')
      await new Promise<void>(resolve => stream.on('open', resolve))
      stream.on('data', data => heard.push(data))
      await until(async () => (await info(a)).backplane.channels >= 1, 'hub a subscribed on Redis')
      await new Promise<void>((resolve, reject) => sender.broadcast('hello', {hello: 'world'}, err => err ? reject(err) : resolve()))
      await until(() => heard.length >= 1, 'the broadcast heard on the other hub')
      assert.deepEqual(heard, [{hello: 'world'}])
    } finally {
      await Promise.all([listener, sender].map(client => new Promise<void>(resolve => client.close(() => resolve()))))
    }
  })

  test('two swarms in one room on different hubs of the fleet find each other and connect (real WebRTC)', async () => {
    const room = `fleet-${Date.now()}`
    const swarms = await Promise.all(hubs.map(async hub => new Swarm({
      hubs: [hub.url], room, identity: await createIdentity(), iceServers: [], webrtc, pool: null, announceInterval: {min: 100, max: 1000},
    })))
    try {
      const [x, y] = swarms
      await until(() => x.peers.some(p => p.publicKey === y.publicKey) && y.peers.some(p => p.publicKey === x.publicKey), 'each a peer of the other')
    } finally {
      for (const swarm of swarms) swarm.destroy()
    }
  })

  test('Redis stopped: each hub serves its own subscribers and says it is degraded; started again, cross-hub delivery resumes with no restart', async () => {
    const [a, b] = hubs
    const atA = await subscribe(a, 'fleet', 'outage')
    const atB = await subscribe(b, 'fleet', 'outage')
    await redis.stop()
    await until(async () => (await Promise.all(hubs.map(info))).every(i => i.backplane.state === 'degraded'), 'both hubs degraded')
    const metrics = (await send(`${a.url}/metrics`)).text
    assert.match(metrics, /^p2p_hub_backplane_up 0$/m)
    // Each hub still serves its own: a broadcast to a reaches a's subscriber (and is counted dropped for the fleet).
    assert.equal((await post(`${a.url}/v1/fleet/outage`, {text: 'a alone'})).status, 200)
    assert.equal((await post(`${b.url}/v1/fleet/outage`, {text: 'b alone'})).status, 200)
    await atA.messagesAtLeast(1)
    await atB.messagesAtLeast(1)
    assert.ok((await info(a)).backplane.dropped >= 1)

    await redis.restart()
    await until(async () => (await Promise.all(hubs.map(info))).every(i => i.backplane.state === 'up'), 'both hubs up again')
    // Each hub subscribes again on its own once back: probe until b hears a.
    let probes = 0
    await until(async () => {
      await post(`${a.url}/v1/fleet/outage`, {text: `probe ${++probes}`})
      return texts(atB).some(text => text.startsWith('probe'))
    }, 'b hearing a\'s broadcasts again')
    await until(async () => {
      await post(`${b.url}/v1/fleet/outage`, {text: 'back'})
      return texts(atA).includes('back')
    }, 'a hearing b\'s broadcasts again')
    assert.equal(texts(atA).filter(t => t === 'b alone').length, 0, 'what b took while Redis was down stayed at b')
    assert.equal(texts(atB).filter(t => t === 'a alone').length, 0)
    const [ia] = await Promise.all([a].map(info))
    assert.equal(ia.backplane.outages, 1)
    assert.match((await send(`${a.url}/metrics`)).text, /^p2p_hub_backplane_up 1$/m)
    atA.close()
    atB.close()
  })
})
