// A hub fleet (src/server/backplane.ts, docs/hub-fleet.md): two real hub
// processes (`p2p-elements hub --redis`) on a real redis-server, loopback only.
// A broadcast reaches every subscriber once, whichever hub it entered through;
// Redis going down leaves each hub serving its own subscribers, and its return
// brings cross-hub delivery back with no restart.
import {after, before, describe, test} from 'node:test'
import assert from 'node:assert/strict'
import {createClient} from '@redis/client'
import {startHubProcess} from '../../scripts/hub-process.js'
import {RedisProcess, freePort} from '../shared/redis-process.js'
import {RoundRobinProxy} from '../shared/round-robin-proxy.js'
import {openSse, post, send, type SseReader} from './helpers.js'
import {until} from '../shared/until.js'
import {backplanesUp, hubInfo} from '../shared/fleet.js'
import {CHANNEL_PREFIX, redisBackplane} from '../../src/server/backplane.js'
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

/** The hub's log lines from --json that are about the backplane. */
const backplaneLines = (lines: string[]) => lines.filter(line => line.startsWith('{')).map(line => JSON.parse(line) as Record<string, string>).filter(line => line.event === 'backplane')

describe('a hub fleet on Redis', () => {
  let redis: RedisProcess
  let hubs: HubProcess[]
  const readers: SseReader[] = []
  /** Each hub's log: a's as --json lines, b's as text. */
  const logs: string[][] = [[], []]
  /** A plain client of the test's own, asking Redis which hubs subscribed to what. */
  let watcher: ReturnType<typeof createClient>

  before(async () => {
    redis = await RedisProcess.start()
    watcher = createClient({url: redis.url})
    // Redis is stopped and frozen on purpose below: the watcher reconnects on its own.
    watcher.on('error', () => {})
    await watcher.connect()
    hubs = await Promise.all([['--json'], []].map((more, i) => startHubProcess({args: ['--redis', redis.url, ...more], onLine: line => logs[i].push(line)}))) as HubProcess[]
    await backplanesUp(hubs)
  })

  after(async () => {
    for (const reader of readers) reader.close()
    await watcher?.close().catch(() => {})
    await Promise.all((hubs ?? []).map(hub => hub.close()))
    await redis?.stop()
  })

  /** How many hubs Redis has subscribed to `channel` of `app` (PUBSUB NUMSUB: each test has channels of its own). */
  async function hubsOn(app: string, channel: string): Promise<number> {
    const name = `${CHANNEL_PREFIX}${app}\n${channel}`
    return Number((await watcher.pubSubNumSub(name))[name] ?? 0)
  }
  /** The hubs given a subscriber to each app/channel so far. */
  const listening = new Map<string, Set<HubProcess>>()

  /** A subscriber to `channel` of `app` on `hub`, once its hub has subscribed to that channel on Redis. */
  async function subscribe(hub: HubProcess, app: string, channel: string): Promise<SseReader> {
    const reader = await openSse(`${hub.url}/v1/${app}/${channel}`)
    readers.push(reader)
    const hubsThere = listening.get(`${app}/${channel}`) ?? new Set()
    listening.set(`${app}/${channel}`, hubsThere.add(hub))
    await until(async () => await hubsOn(app, channel) === hubsThere.size, 'the hub subscribed on Redis')
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
    const [ia, ib] = await Promise.all([a, b].map(hubInfo))
    assert.equal(ia.backplane.published, 2)
    assert.equal(ib.backplane.published, 1)
    assert.equal(ia.backplane.received, 1, 'a took b\'s broadcast from Redis, not its own back')
    assert.equal(ib.backplane.received, 2)
    for (const reader of [atA, atB]) reader.close()
  })

  test('a channel nobody on a hub listens to is not subscribed there: the hub takes nothing for it', async () => {
    const [a, b] = hubs
    await until(async () => (await hubInfo(a)).backplane.channels === 0 && (await hubInfo(b)).backplane.channels === 0, 'the last test\'s channels let go')
    const atB = await subscribe(b, 'fleet', 'only-b')
    const before = (await hubInfo(a)).backplane.received
    await post(`${a.url}/v1/fleet/only-b`, {text: 'for b'})
    await atB.messagesAtLeast(1)
    assert.equal((await hubInfo(a)).backplane.channels, 0)
    assert.equal((await hubInfo(a)).backplane.received, before)
    atB.close()
  })

  test('what is not a fleet message on a fleet channel is skipped and counted; the subscribers are served after', async () => {
    const [a, b] = hubs
    const atA = await subscribe(a, 'fleet', 'hostile')
    try {
      const channel = `${CHANNEL_PREFIX}fleet\nhostile`
      const before = (await hubInfo(a)).backplane.malformed
      // No origin; a second line that would be a second SSE event; a carriage return.
      for (const message of ['garbage', 'x\n{"text":"one"}\n\ndata: {"text":"injected"}', 'x\n{"text":"cr"}\r']) await watcher.publish(channel, message)
      await until(async () => (await hubInfo(a)).backplane.malformed === before + 3, 'the three skipped')
      await post(`${b.url}/v1/fleet/hostile`, {text: 'honest'})
      await atA.messagesAtLeast(1)
      assert.deepEqual(texts(atA), ['honest'])
    } finally {
      atA.close()
    }
  })

  test('a single hub\'s limits hold per process: an oversized or malformed POST is refused and reaches no other process', async () => {
    const [a, b] = hubs
    const atB = await subscribe(b, 'fleet', 'limits')
    const published = (await hubInfo(a)).backplane.published
    assert.equal((await post(`${a.url}/v1/fleet/limits`, {text: 'x'.repeat(70_000)})).status, 413)
    assert.equal((await post(`${a.url}/v1/fleet/limits`, '{not json')).status, 400)
    assert.equal((await post(`${a.url}/v1/fleet/limits`, {text: 'sentinel'})).status, 200)
    await atB.messagesAtLeast(1)
    assert.deepEqual(texts(atB), ['sentinel'])
    assert.equal((await hubInfo(a)).backplane.published, published + 1)
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
      await until(async () => await hubsOn('fleet-signalhub', 'hello') === 1, 'hub a subscribed on Redis')
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

  test('behind one address (a round-robin balancer, no sticky sessions): streams and POSTs spread over both hubs, each broadcast reaches every subscriber once, and swarms connect', async () => {
    const proxy = await RoundRobinProxy.start(hubs.map(hub => hub.url))
    const swarms: Swarm[] = []
    try {
      // Each new connection goes to the next hub: four streams opened one by one are two on each.
      const through: SseReader[] = []
      for (let i = 0; i < 4; i++) {
        through.push(await openSse(`${proxy.url}/v1/fleet/balanced`))
        readers.push(through[i])
      }
      assert.deepEqual(proxy.connections, [2, 2])
      await until(async () => await hubsOn('fleet', 'balanced') === 2, 'both hubs subscribed on Redis')
      // Each POST is a new connection (no keep-alive), so they too alternate between the hubs.
      for (let i = 0; i < 4; i++) assert.equal((await post(`${proxy.url}/v1/fleet/balanced`, {text: `m${i}`})).status, 200)
      assert.deepEqual(proxy.connections, [4, 4])
      for (const reader of through) await reader.messagesAtLeast(4)
      await post(`${proxy.url}/v1/fleet/balanced`, {text: 'sentinel'})
      for (const reader of through) {
        await reader.messagesAtLeast(5)
        assert.deepEqual(texts(reader).sort(), ['m0', 'm1', 'm2', 'm3', 'sentinel'])
      }
      for (const reader of through) reader.close()

      // Two swarms given the balancer's one address (their fetches keep connections alive and open new ones as they like).
      const room = `balanced-${Date.now()}`
      for (let i = 0; i < 2; i++) {
        swarms.push(new Swarm({hubs: [proxy.url], room, identity: await createIdentity(), iceServers: [], webrtc, pool: null, announceInterval: {min: 100, max: 1000}}))
      }
      const [x, y] = swarms
      await until(() => x.peers.some(p => p.publicKey === y.publicKey) && y.peers.some(p => p.publicKey === x.publicKey), 'each a peer of the other')
    } finally {
      for (const swarm of swarms) swarm.destroy()
      await proxy.close()
    }
  })

  test('a backplane\'s publishes waiting on a Redis that stopped answering are bounded (maxInFlight); past it they are dropped and counted, and what waited is delivered once Redis answers', async () => {
    const backplane = await redisBackplane({url: redis.url, maxInFlight: 20, stallTimeout: 600_000})
    const raw = createClient({url: redis.url})
    raw.on('error', () => {})
    const heard: string[] = []
    try {
      await until(() => backplane.stats.state === 'up', 'the backplane up')
      await raw.connect()
      await raw.subscribe(`${CHANNEL_PREFIX}fleet\nbounded`, message => heard.push(message.slice(message.indexOf('\n') + 1)))
      redis.freeze()
      for (let i = 0; i < 50; i++) backplane.publish('fleet', 'bounded', JSON.stringify({i}))
      assert.equal(backplane.stats.published, 20)
      assert.equal(backplane.stats.dropped, 30)
      redis.thaw()
      await until(() => heard.length >= 20, 'the 20 that waited delivered')
      // Once Redis's replies are back the bound is free again: a sentinel goes out and comes after them.
      await until(() => {
        if (backplane.stats.published === 20) backplane.publish('fleet', 'bounded', JSON.stringify({i: 'sentinel'}))
        return heard.length >= 21
      }, 'a publish after Redis answered')
      assert.deepEqual(heard, [...Array.from({length: 20}, (_, i) => JSON.stringify({i})), JSON.stringify({i: 'sentinel'})])
    } finally {
      redis.thaw()
      await raw.close().catch(() => {})
      await backplane.close()
    }
  })

  test('Redis frozen (connections open, nothing answered): requests never wait on it, each hub serves its own, both say degraded (GET /, log) once a PING goes unanswered past 5 s; thawed, cross-hub delivery resumes with no restart', async () => {
    const [a, b] = hubs
    const atA = await subscribe(a, 'fleet', 'frozen')
    const atB = await subscribe(b, 'fleet', 'frozen')
    const outages = (await hubInfo(a)).backplane.outages
    redis.freeze()
    try {
      // Published, and waiting on Redis's reply: the POST is answered and a's own subscriber served without it.
      assert.equal((await post(`${a.url}/v1/fleet/frozen`, {text: 'sent frozen'})).status, 200)
      await atA.messagesAtLeast(1)
      await until(async () => (await Promise.all(hubs.map(hubInfo))).every(i => i.backplane.state === 'degraded'), 'both hubs degraded')
      assert.match(backplaneLines(logs[0]).at(-1)?.error ?? '', /Redis has not answered for \d+ s/)
      assert.match(logs[1].at(-1) ?? '', /^backplane redis:\/\/127\.0\.0\.1:\d+: degraded \(Redis has not answered for \d+ s\)$/)
      // Degraded: a broadcast is served locally and dropped for the fleet, not added to what waits.
      const dropped = (await hubInfo(b)).backplane.dropped
      assert.equal((await post(`${b.url}/v1/fleet/frozen`, {text: 'b degraded'})).status, 200)
      await atB.messagesAtLeast(1)
      assert.equal((await hubInfo(b)).backplane.dropped, dropped + 1)
    } finally {
      redis.thaw()
    }
    await until(async () => (await Promise.all(hubs.map(hubInfo))).every(i => i.backplane.state === 'up'), 'both hubs up again')
    assert.equal(backplaneLines(logs[0]).at(-1)?.state, 'up')
    // What a published while Redis was frozen waited in its connection, and comes to b once.
    await until(() => texts(atB).includes('sent frozen'), 'b hearing what a sent while Redis was frozen')
    await post(`${b.url}/v1/fleet/frozen`, {text: 'after'})
    await until(() => texts(atA).includes('after'), 'a hearing b again')
    assert.deepEqual(texts(atA), ['sent frozen', 'after'])
    assert.deepEqual(texts(atB), ['b degraded', 'sent frozen', 'after'])
    assert.equal((await hubInfo(a)).backplane.outages, outages + 1)
    atA.close()
    atB.close()
  })

  test('Redis stopped: each hub serves its own subscribers and says it is degraded; started again, cross-hub delivery resumes with no restart', async () => {
    const [a, b] = hubs
    const atA = await subscribe(a, 'fleet', 'outage')
    const atB = await subscribe(b, 'fleet', 'outage')
    const outages = (await hubInfo(a)).backplane.outages
    await redis.stop()
    await until(async () => (await Promise.all(hubs.map(hubInfo))).every(i => i.backplane.state === 'degraded'), 'both hubs degraded')
    const metrics = (await send(`${a.url}/metrics`)).text
    assert.match(metrics, /^p2p_hub_backplane_up 0$/m)
    // Each hub still serves its own: a broadcast to a reaches a's subscriber (and is counted dropped for the fleet).
    assert.equal((await post(`${a.url}/v1/fleet/outage`, {text: 'a alone'})).status, 200)
    assert.equal((await post(`${b.url}/v1/fleet/outage`, {text: 'b alone'})).status, 200)
    await atA.messagesAtLeast(1)
    await atB.messagesAtLeast(1)
    assert.ok((await hubInfo(a)).backplane.dropped >= 1)

    await redis.restart()
    await until(async () => (await Promise.all(hubs.map(hubInfo))).every(i => i.backplane.state === 'up'), 'both hubs up again')
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
    assert.equal((await hubInfo(a)).backplane.outages, outages + 1)
    assert.deepEqual(backplaneLines(logs[0]).slice(-2).map(line => line.state), ['degraded', 'up'])
    assert.match((await send(`${a.url}/metrics`)).text, /^p2p_hub_backplane_up 1$/m)
    atA.close()
    atB.close()
  })
})

describe('a hub started with P2P_HUB_REDIS and --json, Redis not there', () => {
  test('serves its own subscribers, logs the backplane degraded as a JSON line without the URL\'s password, and says so on GET / and /metrics', async () => {
    const port = await freePort()
    const lines: string[] = []
    const hub = await startHubProcess({args: ['--json'], env: {P2P_HUB_REDIS: `redis://fleet:s3cret@127.0.0.1:${port}`}, onLine: line => lines.push(line)}) as HubProcess
    try {
      const listening = lines.map(line => JSON.parse(line) as Record<string, string>).find(line => line.event === 'listening')
      assert.equal(listening?.url, hub.url)
      await until(() => backplaneLines(lines).some(line => line.state === 'degraded'), 'a degraded line in the log')
      const degraded = backplaneLines(lines).find(line => line.state === 'degraded')!
      assert.equal(degraded.redis, `redis://127.0.0.1:${port}`)
      assert.match(degraded.error, /ECONNREFUSED/)
      assert.ok(!lines.some(line => line.includes('s3cret')), 'the password is never logged')
      assert.equal((await hubInfo(hub)).backplane.state, 'degraded')
      assert.match((await send(`${hub.url}/metrics`)).text, /^p2p_hub_backplane_up 0$/m)
      const reader = await openSse(`${hub.url}/v1/alone/room`)
      try {
        assert.equal((await post(`${hub.url}/v1/alone/room`, {text: 'local'})).status, 200)
        await reader.messagesAtLeast(1)
        assert.deepEqual(reader.messages, [{text: 'local'}])
      } finally {
        reader.close()
      }
    } finally {
      await hub.close()
    }
  })
})
