// Tabs of one origin sharing one hub stream, simulated in one process: each
// TabStreams is a tab, Node's real BroadcastChannel carries what tabs tell each
// other, and a small in-memory lock manager stands in for navigator.locks
// (Node 20 has none). `destroy()` is a tab dying: lock released, not a word said.
import {after, test} from 'node:test'
import assert from 'node:assert/strict'
import {randomBytes} from 'node:crypto'
import {TAB_STREAM_PREFIX, TabStreams} from '../../src/core/hub-client/tab-streams.js'
import {decodeTabMessage} from '../../src/core/hub-client/tab-relay.js'
import type {BroadcastChannelLike, LockManagerLike, TabStreamsOptions} from '../../src/core/hub-client/tab-streams.js'
import type {EventStreamHandlers, StreamTarget} from '../../src/core/hub-client/sse.js'
import {HubClient} from '../../src/core/hub-client/hub-client.js'
import {SharedStreams} from '../../src/core/hub-client/shared-streams.js'
import type {OpenStream} from '../../src/core/hub-client/sse.js'
import {P2PError} from '../../src/core/errors.js'
import {startHub} from './helpers.js'
import {until} from '../shared/until.js'

const cleanups: Array<() => unknown> = []
after(() => Promise.all(cleanups.map(cleanup => cleanup())))

/** Exclusive locks granted in request order, as the Web Locks API does within an origin; `ifAvailable` answers null when taken. */
class FakeLocks implements LockManagerLike {
  readonly #held = new Set<string>()
  readonly #queues = new Map<string, Array<() => void>>()

  request(name: string, options: {signal?: AbortSignal, ifAvailable?: boolean}, callback: (lock: unknown) => Promise<void>): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const queue = this.#queues.get(name) ?? []
      this.#queues.set(name, queue)
      if (options.ifAvailable && (this.#held.has(name) || queue.length > 0)) {
        queueMicrotask(() => { void callback(null).finally(() => resolve(undefined)) })
        return
      }
      const grant = () => {
        void callback({name}).finally(() => {
          this.#held.delete(name)
          resolve(undefined)
          this.#pump(name)
        })
      }
      options.signal?.addEventListener('abort', () => {
        const i = queue.indexOf(grant)
        if (i === -1) return
        queue.splice(i, 1)
        reject(new DOMException('aborted', 'AbortError'))
      })
      queue.push(grant)
      this.#pump(name)
    })
  }

  #pump(name: string): void {
    if (this.#held.has(name)) return
    const next = this.#queues.get(name)?.shift()
    if (!next) return
    this.#held.add(name)
    queueMicrotask(next)
  }
}

/** Real streams are recorded; each opens on the next turn unless the test says otherwise. */
function fakeHub({autoOpen = true} = {}) {
  const streams: Array<{channels: readonly string[], handlers: EventStreamHandlers, closed: boolean}> = []
  const openStream = (_url: string, handlers: EventStreamHandlers, target: StreamTarget) => {
    const s = {channels: target.channels, handlers, closed: false}
    streams.push(s)
    if (autoOpen) setTimeout(() => { if (!s.closed) handlers.onopen() }, 0)
    return {close: () => { s.closed = true }}
  }
  return {
    streams,
    openStream,
    live: () => streams.filter(s => !s.closed),
    /** What the hub would send: to every live stream. */
    send: (text: string) => { for (const s of streams.filter(s => !s.closed)) s.handlers.onmessage(text) },
    /** Ends every live stream with `err`, as a hub going away does. */
    fail: (err: P2PError) => {
      for (const s of streams.filter(s => !s.closed)) {
        s.closed = true
        s.handlers.onerror(err)
      }
    },
  }
}

/** `n` tabs of one origin; each opens its real streams with `openStream` (default: to the hub for real). */
function tabs(n: number, {openStream, ...options}: TabStreamsOptions & {openStream?: OpenStream}): TabStreams[] {
  const list = Array.from({length: n}, () => new TabStreams(new SharedStreams(openStream), options))
  cleanups.push(() => { for (const tab of list) tab.destroy() })
  return list
}

function recorder(name: string, log: string[]): EventStreamHandlers {
  return {
    onopen: () => log.push(`${name}:open`),
    onmessage: text => log.push(`${name}:${text}`),
    onerror: err => log.push(`${name}:error:${err.code}`),
  }
}

const hubTarget = (app: string, channels: string[]) => ({hub: 'http://h', app, channels})
const uniqueApp = () => `room-${randomBytes(4).toString('hex')}`

/**
 * Three tabs on one fake hub and app: `a` leads, `b` and `c` follow, each
 * subscribed to `all` and its own channel, all open. `log` records what each saw.
 */
async function threeTabs() {
  const hub = fakeHub()
  const locks = new FakeLocks()
  const [a, b, c] = tabs(3, {locks, openStream: hub.openStream})
  const app = uniqueApp()
  const log: string[] = []
  const subs = {a: a.open('', recorder('a', log), hubTarget(app, ['all', 'a']))}
  await until(() => a.stats.leading === 1, 'the first tab to lead')
  b.open('', recorder('b', log), hubTarget(app, ['all', 'b']))
  c.open('', recorder('c', log), hubTarget(app, ['all', 'c']))
  await until(() => ['a:open', 'b:open', 'c:open'].every(e => log.includes(e)), 'every tab to open')
  return {hub, a, b, c, app, log, subs}
}

test('the tabs of an origin share one stream with the union of their channels', async () => {
  const {hub, a, b, c, log} = await threeTabs()

  assert.equal(hub.live().length, 1, 'one real stream for three tabs')
  assert.deepEqual([...hub.live()[0].channels].sort(), ['a', 'all', 'b', 'c'])
  assert.deepEqual([a.stats.leading, b.stats.following, c.stats.following, a.stats.tabs], [1, 1, 1, 2])

  log.length = 0
  hub.send('"hello"')
  await until(() => log.length === 3, 'the message in every tab')
  assert.deepEqual(log.sort(), ['a:"hello"', 'b:"hello"', 'c:"hello"'])
  assert.equal(a.stats.relayed, 1, 'relayed once for all followers, not once per tab')
})

test('through a real hub: one subscriber for five tabs, and the signals go on after the leader tab dies', async () => {
  const started = await startHub()
  cleanups.push(() => started.close())
  const locks = new FakeLocks()
  const list = tabs(5, {locks})
  const app = uniqueApp()
  const received = list.map(() => [] as unknown[])
  const clients = list.map((tab, i) => {
    const client = new HubClient({hubs: [started.url], app, openStream: tab.open, minDelay: 10, maxDelay: 50})
    cleanups.push(() => client.destroy())
    client.subscribe(['all', `tab${i}`], data => received[i].push(data))
    return client
  })
  await until(() => clients.every(c => c.stats.hubs[started.url].state === 'open'), 'every tab to be served')
  // Streams replaced while the union grew take a moment to end at the hub.
  await until(() => started.hub.stats.subscribers === 1, 'one subscriber at the hub')
  assert.equal(list.filter(tab => tab.stats.leading === 1).length, 1)

  await clients[4].broadcast('all', {n: 1})
  await clients[0].broadcast('tab3', {n: 2})
  await until(() => received.every(r => r.length >= 1) && received[3].length === 2, 'every broadcast delivered')
  assert.deepEqual(received[3], [{n: 1}, {n: 2}])

  const leader = list.findIndex(tab => tab.stats.leading === 1)
  assert.notEqual(leader, -1)
  list[leader].destroy()
  clients[leader].destroy()
  const rest = list.map((_, i) => i).filter(i => i !== leader)
  await until(() => list.some(tab => tab.stats.leading === 1), 'another tab to lead')
  // The followers' subscriptions stayed open; the new leader's stream serves them all.
  await until(() => started.hub.stats.subscribers === 1 && list.some(tab => tab.stats.tabs === rest.length - 1), 'every remaining tab served again by one stream')
  assert.ok(rest.every(i => clients[i].stats.hubs[started.url].state === 'open'))
  assert.ok(rest.every(i => clients[i].stats.hubs[started.url].failures === 0), 'no subscription failed over the handover')
  // Signals sent in the handover's gap may be lost (the swarms re-announce); then they flow again.
  for (const r of received) r.length = 0
  let n = 0
  await until(() => {
    clients[rest[0]].broadcast('all', {n: n++}).catch(() => {})
    return rest.every(i => received[i].length > 0)
  }, 'broadcasts to reach every remaining tab')
  await clients[rest[1]].broadcast('all', {n: 'last'})
  await until(() => rest.every(i => received[i].some(m => (m as {n: unknown}).n === 'last')), 'the last broadcast everywhere')
  for (const i of rest) {
    const got = received[i].map(m => (m as {n: unknown}).n)
    assert.equal(new Set(got).size, got.length, 'each message delivered once')
  }
  assert.deepEqual(received[leader], [], 'the dead tab hears nothing')

  for (const i of rest) clients[i].destroy()
  await until(() => started.hub.stats.subscribers === 0, 'the stream to close once no tab needs it')
  assert.ok(list.every(tab => tab.stats.leading === 0 && tab.stats.following === 0))
})

test('a tab that dies without a word is forgotten at once (its lock is freed) and the union shrinks back', async () => {
  const {hub, a, c, log} = await threeTabs()
  c.destroy()
  await until(() => a.stats.tabs === 1, 'the leader to forget the silent tab')
  await until(() => hub.live().length === 1 && !hub.live()[0].channels.includes('c'), 'the union to shrink')
  assert.deepEqual([...hub.live()[0].channels].sort(), ['a', 'all', 'b'])
  // The sentinel: a message on the shrunk stream (sent until that stream is open) reaches the other follower.
  await until(() => {
    hub.send('"after"')
    return log.includes('b:"after"')
  }, 'a message to reach the other follower')
  assert.ok(!log.includes('b:error:ERR_CONNECTION_CLOSED'), 'the other follower kept its subscription')
})

test('a leader whose own subscriptions close hands the stream on; the last close in any tab closes it', async () => {
  const hub = fakeHub()
  const locks = new FakeLocks()
  const [a, b] = tabs(2, {locks, openStream: hub.openStream})
  const app = uniqueApp()
  const log: string[] = []
  const sa = a.open('', recorder('a', log), hubTarget(app, ['all', 'a']))
  await until(() => a.stats.leading === 1, 'the first tab to lead')
  const sb = b.open('', recorder('b', log), hubTarget(app, ['all', 'b']))
  await until(() => log.includes('b:open'), 'the follower to open')
  sa.close()
  await until(() => b.stats.leading === 1 && hub.live().length === 1, 'the lock and the stream to move')
  assert.deepEqual([a.stats.leading, a.stats.following], [0, 0])
  assert.deepEqual([...hub.live()[0].channels], ['all', 'b'])
  log.length = 0
  hub.send('"still here"')
  assert.deepEqual(log, ['b:"still here"'], 'the subscription went on without failing or reopening')
  sb.close()
  assert.equal(hub.live().length, 0, 'no stream left open')
  assert.deepEqual([b.stats.leading, b.stats.following], [0, 0])
})

test("a failed stream fails the tabs' subscriptions, for their hub clients to reopen on their back-off", async () => {
  const {hub, a, b, c, log} = await threeTabs()
  log.length = 0
  hub.fail(P2PError.HUB_UNREACHABLE('gone'))
  // The leader, left without a subscription, hands the lock on. A follower hears
  // of the failure and fails too, unless the lock reached it first: then it leads
  // and opens a stream of its own at once, as a tab alone would.
  const settled = (name: string, tab: TabStreams) => log.includes(`${name}:error:ERR_CONNECTION_CLOSED`) ||
    (tab.stats.leading === 1 && hub.live().some(s => s.channels.includes(name)))
  await until(() => settled('b', b) && settled('c', c), 'every follower to fail or take over')
  assert.ok(log.includes('a:error:ERR_HUB_UNREACHABLE'), `the leader's own subscription failed: ${log}`)
  assert.deepEqual([a.stats.leading, a.stats.following], [0, 0])
  assert.ok(hub.live().length <= 1, `${hub.live().length} streams open`)
  assert.ok(!log.some(e => e.endsWith(':open')), `no subscription reopened behind its hub client: ${log}`)
})

test('hostile tabs: malformed messages are counted and dropped, and only the leader is relayed', async () => {
  const hub = fakeHub({autoOpen: false})
  const locks = new FakeLocks()
  const [a, b] = tabs(2, {locks, openStream: hub.openStream})
  const app = uniqueApp()
  const log: string[] = []
  a.open('', recorder('a', log), hubTarget(app, ['all', 'a']))
  await until(() => a.stats.leading === 1, 'the first tab to lead')
  b.open('', recorder('b', log), hubTarget(app, ['all', 'b']))
  await until(() => hub.streams.some(s => s.channels.includes('b')), 'the leader to ask for both tabs')
  for (const s of hub.live()) s.handlers.onopen()
  await until(() => log.includes('b:open'), 'the follower to open')

  const rogue = new BroadcastChannel(`${TAB_STREAM_PREFIX}http://h\n${app}`)
  cleanups.push(() => rogue.close())
  const junk: unknown[] = [
    null, 'text', 42, {}, {type: 'want', from: 'x'}, {type: 'want', from: '', channels: [], waiting: false},
    {type: 'want', from: 'x', channels: ['ok', 'bad\nname'], waiting: false},
    {type: 'want', from: 'x', channels: Array.from({length: 2000}, (_, i) => `c${i}`), waiting: false},
    {type: 'state', from: 'x', open: 'yes', channels: []}, {type: 'message', from: 'x', data: {}},
    {type: 'message', from: 'x'.repeat(65), data: '"x"'}, {type: 'nope', from: 'x'},
  ]
  for (const message of junk) rogue.postMessage(message)
  await until(() => a.stats.malformed === junk.length && b.stats.malformed === junk.length, 'every tab to drop the junk')

  // Well formed, but not from the leader: a follower must not deliver it.
  rogue.postMessage({type: 'message', from: 'not-the-leader', data: '"forged"'})
  hub.send('"real"')
  await until(() => log.includes('b:"real"'), 'the real message to be relayed')
  assert.ok(!log.some(e => e.includes('forged')))

  // An announcement from an id that holds no tab lock is a tab already gone.
  rogue.postMessage({type: 'want', from: 'ghost', channels: ['ghost-channel'], waiting: true})
  // Messages from one sender arrive in order: once this one is counted, the ghost was heard.
  rogue.postMessage('marker')
  await until(() => a.stats.malformed === junk.length + 1, 'the leader to hear the ghost')
  await until(() => a.stats.tabs === 1 && hub.live().every(s => !s.channels.includes('ghost-channel')), 'the ghost to be forgotten')
})

test('a leader serves at most maxTabs other tabs', async () => {
  const hub = fakeHub()
  const locks = new FakeLocks()
  const [a, b, c] = tabs(3, {locks, openStream: hub.openStream, maxTabs: 1})
  const app = uniqueApp()
  const log: string[] = []
  a.open('', recorder('a', log), hubTarget(app, ['all', 'a']))
  await until(() => a.stats.leading === 1, 'the first tab to lead')
  b.open('', recorder('b', log), hubTarget(app, ['all', 'b']))
  await until(() => log.includes('b:open'), 'the first follower to open')
  c.open('', recorder('c', log), hubTarget(app, ['all', 'c']))
  await until(() => a.stats.refused > 0, 'the second follower to be refused')
  assert.equal(a.stats.tabs, 1)
  assert.ok(!log.includes('c:open'))
  assert.ok(hub.live().every(s => !s.channels.includes('c')))
})

test('without Web Locks or BroadcastChannel the tab keeps its streams to itself, shared within the page', async () => {
  const hub = fakeHub({autoOpen: false})
  for (const options of [{locks: null}, {locks: new FakeLocks(), BroadcastChannel: null}] satisfies TabStreamsOptions[]) {
    const [tab] = tabs(1, {openStream: hub.openStream, ...options})
    assert.equal(tab.crossTab, false)
    const before = hub.streams.length
    const log: string[] = []
    tab.open('', recorder('a', log), hubTarget('room', ['all', 'a']))
    tab.open('', recorder('b', log), hubTarget('room', ['all', 'b']))
    await until(() => hub.streams.length > before, 'a stream')
    // The sentinel: the stream opens and both subscriptions hear it; by then any second stream would exist.
    hub.streams.at(-1)!.handlers.onopen()
    await until(() => log.includes('a:open') && log.includes('b:open'), 'both subscriptions open')
    assert.equal(hub.streams.length, before + 1)
    assert.deepEqual([...hub.streams.at(-1)!.channels], ['a', 'all', 'b'])
    assert.deepEqual(tab.stats, {leading: 0, following: 0, tabs: 0, relayed: 0, malformed: 0, refused: 0})
  }
})

/** A loader of the relay code that counts its calls and, when `held`, waits for `release()`. */
function relayLoader({held = false, fails = false} = {}) {
  let release!: () => void
  const gate = held ? new Promise<void>(resolve => { release = resolve }) : Promise.resolve()
  const loader = {
    calls: 0,
    release: () => release(),
    loaded: undefined as Promise<unknown> | undefined,
    load: () => {
      loader.calls++
      const loaded = gate.then(() => {
        if (fails) throw new Error('chunk not found')
        return import('../../src/core/hub-client/tab-relay.js')
      })
      loader.loaded = loaded.catch(() => {})
      return loaded
    },
  }
  return loader
}

/** Node's BroadcastChannel, recording what it handed to the tab (`seen`), for tests that wait on it. */
function recordingChannel(seen: unknown[]) {
  return class implements BroadcastChannelLike {
    onmessage: ((event: {data: unknown}) => void) | null = null
    readonly #inner: BroadcastChannel
    constructor(name: string) {
      this.#inner = new BroadcastChannel(name)
      this.#inner.onmessage = event => {
        seen.push((event as MessageEvent).data)
        this.onmessage?.({data: (event as MessageEvent).data})
      }
    }
    postMessage(message: unknown) { this.#inner.postMessage(message) }
    close() { this.#inner.close() }
  }
}

test('a tab alone never loads the relay code; a second tab makes each of the two load it once', async () => {
  const hub = fakeHub()
  const locks = new FakeLocks()
  const first = relayLoader()
  const second = relayLoader()
  const [a] = tabs(1, {locks, openStream: hub.openStream, loadRelay: first.load})
  const app = uniqueApp()
  const log: string[] = []
  const sa = a.open('', recorder('a', log), hubTarget(app, ['all', 'a']))
  await until(() => log.includes('a:open'), 'the lone tab to open')
  a.open('', recorder('a2', log), hubTarget(app, ['all', 'a2']))
  await until(() => log.includes('a2:open'), 'a second subscription in the same tab')
  hub.send('"alone"')
  await until(() => log.includes('a:"alone"') && log.includes('a2:"alone"'), 'the message in the lone tab')
  sa.close()
  assert.deepEqual([a.stats.leading, first.calls], [1, 0], 'leading alone, without the relay code')

  const [b] = tabs(1, {locks, openStream: hub.openStream, loadRelay: second.load})
  b.open('', recorder('b', log), hubTarget(app, ['all', 'b']))
  await until(() => log.includes('b:open'), 'the second tab to be served')
  hub.send('"both"')
  await until(() => log.includes('a2:"both"') && log.includes('b:"both"'), 'the message in both tabs')
  assert.deepEqual([first.calls, second.calls], [1, 1])
  assert.deepEqual([a.stats.tabs, b.stats.following], [1, 1])
})

test('what other tabs say while the relay code loads is held and heard once it is there', async () => {
  const hub = fakeHub()
  const locks = new FakeLocks()
  const held = relayLoader({held: true})
  const seen: unknown[] = []
  const [a] = tabs(1, {locks, openStream: hub.openStream})
  let heardBeforeLoad = -1
  const load = () => {
    heardBeforeLoad = seen.length
    return held.load()
  }
  const [b] = tabs(1, {locks, openStream: hub.openStream, loadRelay: load, BroadcastChannel: recordingChannel(seen)})
  const app = uniqueApp()
  const log: string[] = []
  a.open('', recorder('a', log), hubTarget(app, ['all', 'a']))
  await until(() => log.includes('a:open'), 'the first tab to lead')
  b.open('', recorder('b', log), hubTarget(app, ['all', 'b']))
  // b found the lock held, so it loads its follower's code at once; it has announced itself meanwhile.
  await until(() => held.calls === 1, 'the follower to load the relay code')
  assert.equal(heardBeforeLoad, 0, 'the load began before any other tab said a word')
  await until(() => seen.some(m => (m as {type: string}).type === 'state' && (m as {open: boolean}).open), "the leader's open relay, heard by the follower's channel")
  hub.send('"early"')
  await until(() => seen.some(m => (m as {data?: string}).data === '"early"'), 'the relayed message to reach the loading follower')
  assert.ok(!log.includes('b:open'), 'not served before its code is there')

  held.release()
  await until(() => log.includes('b:"early"'), 'the held message delivered')
  assert.deepEqual(log.filter(e => e.startsWith('b:')), ['b:open', 'b:"early"'], 'opened first, then the message, once')
  assert.equal(b.stats.following, 1)
})

test('what arrives while the relay code loads is held within a bound', async () => {
  const seen: unknown[] = []
  const held = relayLoader({held: true})
  const [a] = tabs(1, {locks: new FakeLocks(), openStream: fakeHub().openStream, loadRelay: held.load, BroadcastChannel: recordingChannel(seen)})
  const app = uniqueApp()
  a.open('', recorder('a', []), hubTarget(app, ['all']))
  await until(() => a.stats.leading === 1, 'the tab to lead')
  const rogue = new BroadcastChannel(`${TAB_STREAM_PREFIX}http://h\n${app}`)
  cleanups.push(() => rogue.close())
  const bound = 1024
  for (let i = 0; i < bound + 10; i++) rogue.postMessage(`junk ${i}`)
  await until(() => seen.length === bound + 10, 'the flood to reach the loading tab')
  held.release()
  await until(() => a.stats.malformed === bound, 'the held messages to be heard')
  // The sentinel: one message after the load is heard at once; by then every held one was.
  rogue.postMessage('one more')
  await until(() => seen.length === bound + 11 && a.stats.malformed > bound, 'the message after the load')
  assert.equal(a.stats.malformed, bound + 1, 'what came past the bound was dropped')
})

test('destroy() while the relay code loads: nothing is heard or opened once it arrives', async () => {
  const hub = fakeHub()
  const held = relayLoader({held: true})
  const seen: unknown[] = []
  const [a] = tabs(1, {locks: new FakeLocks(), openStream: hub.openStream, loadRelay: held.load, BroadcastChannel: recordingChannel(seen)})
  const app = uniqueApp()
  const log: string[] = []
  a.open('', recorder('a', log), hubTarget(app, ['all', 'a']))
  await until(() => log.includes('a:open'), 'the tab to lead')
  const rogue = new BroadcastChannel(`${TAB_STREAM_PREFIX}http://h\n${app}`)
  cleanups.push(() => rogue.close())
  rogue.postMessage({type: 'want', from: 'other', channels: ['other'], waiting: true})
  await until(() => held.calls === 1 && seen.length === 1, 'the other tab heard, the relay code loading')
  a.destroy()
  held.release()
  await held.loaded
  await new Promise(resolve => setImmediate(resolve))
  assert.ok(hub.streams.every(s => !s.channels.includes('other')), 'no stream opened for the other tab')
  assert.equal(hub.live().length, 0)
  assert.deepEqual(a.stats, {leading: 0, following: 0, tabs: 0, relayed: 0, malformed: 0, refused: 0})
})

test('a tab that cannot load the relay code fails its subscriptions (ERR_CONNECTION_FAILED) and leaves', async () => {
  const hub = fakeHub()
  const locks = new FakeLocks()
  const [a] = tabs(1, {locks, openStream: hub.openStream})
  const [b] = tabs(1, {locks, openStream: hub.openStream, loadRelay: relayLoader({fails: true}).load})
  const app = uniqueApp()
  const log: string[] = []
  a.open('', recorder('a', log), hubTarget(app, ['all', 'a']))
  await until(() => log.includes('a:open'), 'the first tab to lead')
  b.open('', recorder('b', log), hubTarget(app, ['all', 'b']))
  await until(() => log.includes('b:error:ERR_CONNECTION_FAILED'), "the follower's subscription to fail")
  assert.deepEqual([b.stats.leading, b.stats.following], [0, 0])
  await until(() => a.stats.tabs === 0 && hub.live().every(s => !s.channels.includes('b')), 'the leader to forget it')
  assert.ok(!log.includes('b:open'))
})

test('decodeTabMessage accepts the four shapes, throws ERR_MESSAGE_TOO_LARGE on oversized data and ERR_MALFORMED_MESSAGE on the rest', () => {
  assert.deepEqual(decodeTabMessage({type: 'want', from: 't', channels: ['all'], waiting: true, extra: 1}),
    {type: 'want', from: 't', channels: ['all'], waiting: true})
  assert.deepEqual(decodeTabMessage({type: 'state', from: 't', open: true, channels: []}), {type: 'state', from: 't', open: true, channels: []})
  assert.deepEqual(decodeTabMessage({type: 'message', from: 't', data: '{}'}), {type: 'message', from: 't', data: '{}'})
  assert.deepEqual(decodeTabMessage({type: 'leave', from: 't'}), {type: 'leave', from: 't'})
  for (const bad of [undefined, [], {type: 'leave'}, {type: 'message', from: 't', data: 1}]) {
    assert.throws(() => decodeTabMessage(bad), (err: unknown) => err instanceof P2PError && err.code === 'ERR_MALFORMED_MESSAGE')
  }
  assert.throws(() => decodeTabMessage({type: 'message', from: 't', data: 'x'.repeat(300_000)}), {code: 'ERR_MESSAGE_TOO_LARGE'})
})

test('destroy(err) releases the tab, emits error then close, once; destroyed is read-only; counts are whole numbers', () => {
  const tab = new TabStreams(new SharedStreams(() => ({close() {}})), {locks: null, BroadcastChannel: null})
  const events: string[] = []
  tab.on('error', err => events.push(`error ${(err as P2PError).code}`))
  tab.on('close', err => events.push(`close ${(err as P2PError | undefined)?.code}`))
  tab.destroy(P2PError.ABORTED('test'))
  tab.destroy()
  assert.deepEqual(events, ['error ERR_ABORTED', 'close ERR_ABORTED'])
  assert.throws(() => { (tab as {destroyed: boolean}).destroyed = false }, TypeError)
  assert.equal(tab.destroyed, true)
  for (const options of [{maxTabs: 2.5}, {maxTabs: NaN}, {maxChannels: 0}, {maxChannels: 1.5}]) {
    assert.throws(() => new TabStreams(new SharedStreams(), options), {code: 'ERR_INVALID_ARGUMENT'}, JSON.stringify(options))
  }
})
