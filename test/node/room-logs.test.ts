// The room's logs of one name (src/core/log/room-logs.ts): peers list the logs
// they hold, each learns and replicates the others', history reaches a newcomer
// from whoever holds it, and a hostile peer's lists are bounded and judged.
import {describe, test} from 'node:test'
import assert from 'node:assert/strict'
import {MemoryLevel} from 'memory-level'
import {mkdtemp, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {openNodeDatabase} from '../../src/node/level.js'
import {KeyPairIdentity} from '../../src/core/crypto/seed-identity.js'
import {randomBytes, toHex} from '../../src/core/bytes.js'
import type {P2PError} from '../../src/core/errors.js'
import {EntryKind, encodeEntry, type Entry} from '../../src/core/log/entry.js'
import {Log} from '../../src/core/log/log.js'
import type {LogDatabase} from '../../src/core/log/store.js'
import {LogSource} from '../../src/core/log/log-source.js'
import {
  MAX_KEYS_PER_MESSAGE, MAX_ROOM_LOGS, RoomLogs, decodeLogsMessage, encodeLogsMessage, roomLogsProtocol, type RoomLogsOptions,
} from '../../src/core/log/room-logs.js'
import {FakeSwarm, connect, type FakePeer} from './fake-swarm.js'

interface Page {
  name: string
  db: LogDatabase
  own: Log
  swarm: FakeSwarm
  room: RoomLogs
}

let pages = 0

/** A page of the room: its own log of `name` (with `values` in it) and its RoomLogs on a fake swarm. */
async function openPage(values: unknown[] = [], options: Partial<RoomLogsOptions> & {db?: LogDatabase} = {}): Promise<Page> {
  const db = options.db ?? new MemoryLevel()
  const identity = new KeyPairIdentity()
  const own = new Log({db, key: identity.publicKey, identity})
  await own.ready()
  if (values.length > 0) await own.append(values)
  const swarm = new FakeSwarm()
  const room = new RoomLogs({swarm, db, logs: [own], name: 'chat', ...options})
  await room.ready()
  return {name: `page${++pages}`, db, own, swarm, room}
}

function link(a: Page, b: Page): {atA: FakePeer, atB: FakePeer} {
  return connect(a.swarm, a.name, b.swarm, b.name)
}

/** Resolves once `check` holds, checking again on each of the room's events (a log ignored included) and each of its logs' updates. */
function when(room: RoomLogs, check: () => boolean): Promise<void> {
  return new Promise(resolve => {
    const watched = new Set<Log>()
    const test = (): void => {
      if (!check()) return
      room.off('log', onLog)
      room.off('progress', test)
      room.off('drop', test)
      room.off('ignore', test)
      for (const log of watched) log.off('update', test)
      resolve()
    }
    const watch = (log: Log): void => {
      if (watched.has(log)) return
      watched.add(log)
      log.on('update', test)
    }
    const onLog = (log: Log): void => {
      watch(log)
      test()
    }
    room.on('log', onLog)
    room.on('progress', test)
    room.on('drop', test)
    room.on('ignore', test)
    for (const log of room.logs()) watch(log)
    test()
  })
}

/** The room holds a copy of `log` as long as it. */
function holds(room: RoomLogs, log: Log): boolean {
  return room.logs().some(l => l.address === log.address && l.length === log.length)
}

/** Whether `room` has found no room for the log of `address` since this call (its `ignore` event). */
function ignoredAt(room: RoomLogs, address: string): () => boolean {
  let ignored = false
  room.on('ignore', a => {
    if (a === address) ignored = true
  })
  return () => ignored
}

/** Resolves with the error of the next drop of a peer by `room`. */
function nextDrop(room: RoomLogs): Promise<{key: string, err: P2PError}> {
  return new Promise(resolve => room.once('drop', (key, err) => resolve({key, err})))
}

/** A hostile peer connected to `victim`: the raw directory channel, under the victim's rules. */
function hostile(victim: Page): {peer: FakePeer, atVictim: FakePeer, send: (bytes: Uint8Array) => void, swarm: FakeSwarm} {
  const swarm = new FakeSwarm()
  const {atA, atB} = connect(victim.swarm, victim.name, swarm, 'mallory')
  const channel = atB.channel(roomLogsProtocol('chat'), {onmessage() {}})
  return {peer: atB, atVictim: atA, send: bytes => channel.send(bytes), swarm}
}

/** A log's first entry: its owner's Init, signed. */
async function firstEntry(log: Log): Promise<Entry> {
  for await (const {entry} of log.entries({limit: 1})) return entry
  throw new Error('an empty log')
}

/** The signed Inits of `n` new logs, each of a key of its own (real logs, as a stranger can make them at will). */
async function realInits(n: number): Promise<Entry[]> {
  return Promise.all(Array.from({length: n}, async () => {
    const identity = new KeyPairIdentity()
    const log = new Log({db: new MemoryLevel(), key: identity.publicKey, identity})
    await log.ready()
    return firstEntry(log)
  }))
}

/** Junk: Inits of random keys with random signatures, well formed. */
const junkInits = (n: number): Array<{bytes: Uint8Array}> => Array.from({length: n}, () => ({
  bytes: encodeEntry({author: randomBytes(32), seq: 0, prev: null, links: [], time: Date.now(), kind: EntryKind.Init, value: Uint8Array.of(0)}, randomBytes(64)),
}))

describe('room logs: the directory message', () => {
  test('LOGS carries each log by its signed Init, round-trips, and the first list may be empty', async () => {
    const two = await realInits(2)
    const decoded = decodeLogsMessage(encodeLogsMessage({listed: false, inits: two}))
    assert.equal(decoded.listed, false)
    assert.deepEqual(decoded.inits.map(i => i.bytes), two.map(i => i.bytes))
    assert.deepEqual(decoded.inits.map(i => toHex(i.author)), two.map(i => toHex(i.author)))
    assert.deepEqual(decodeLogsMessage(encodeLogsMessage({listed: true, inits: []})), {listed: true, inits: []})
  })

  test('malformed, duplicate, unsigned, non-Init and oversized lists are refused with their codes', async () => {
    const code = (bytes: Uint8Array) => {
      try {
        decodeLogsMessage(bytes)
      } catch (err) {
        return (err as P2PError).code
      }
      return 'decoded'
    }
    const [init] = await realInits(1)
    const record = Uint8Array.of(init.bytes.length, ...init.bytes)
    assert.equal(code(Uint8Array.of(0, ...record)), 'decoded')
    assert.equal(code(new Uint8Array(0)), 'ERR_MALFORMED_MESSAGE')
    assert.equal(code(Uint8Array.of(0)), 'ERR_MALFORMED_MESSAGE', 'empty, and no list ends')
    assert.equal(code(Uint8Array.of(0, ...record.slice(0, -1))), 'ERR_MALFORMED_MESSAGE', 'a record cut short')
    assert.equal(code(Uint8Array.of(0, 0)), 'ERR_MALFORMED_MESSAGE', 'a record of no bytes')
    assert.equal(code(Uint8Array.of(2, ...record)), 'ERR_MALFORMED_MESSAGE', 'an unknown flag')
    assert.equal(code(Uint8Array.of(0, ...record, ...record)), 'ERR_MALFORMED_MESSAGE', 'one log twice')
    const unsigned = encodeEntry(init)
    assert.equal(code(Uint8Array.of(0, unsigned.length, ...unsigned)), 'ERR_MALFORMED_MESSAGE', 'an Init without its signature')
    const json = encodeEntry({...init, kind: EntryKind.Json, value: Uint8Array.of(0x31)}, init.signature)
    assert.equal(code(Uint8Array.of(0, json.length, ...json)), 'ERR_MALFORMED_MESSAGE', 'an entry that is not an Init')
    const oversized = Uint8Array.of(0, ...junkInits(MAX_KEYS_PER_MESSAGE + 1).flatMap(({bytes}) => [bytes.length, ...bytes]))
    assert.equal(code(oversized), 'ERR_MESSAGE_TOO_LARGE')
  })
})

describe('room logs', {timeout: 120_000}, () => {
  test('two pages learn each other\'s log of the name, replicate it both ways, and say they are synced', async () => {
    const a = await openPage([{text: 'from a'}, {text: 'a again'}])
    const b = await openPage([{text: 'from b'}])
    link(a, b)
    await Promise.all([
      when(a.room, () => holds(a.room, b.own) && a.room.progress.synced),
      when(b.room, () => holds(b.room, a.own) && b.room.progress.synced),
    ])
    assert.deepEqual(a.room.logs().map(l => l.address).sort(), [a.own.address, b.own.address].sort())
    assert.deepEqual(a.room.progress, {behind: 0, synced: true})
    assert.equal(b.room.stats.learned, 1)
    // Live: a later append reaches the other page's replica.
    await a.own.append({text: 'live'})
    await when(b.room, () => holds(b.room, a.own))
  })

  test('another name is another directory: a page learns only the logs of its name', async () => {
    const a = await openPage([{text: 'chat'}])
    const b = await openPage([{text: 'other'}], {name: 'notes'})
    const c = await openPage([{text: 'chat too'}])
    link(a, b)
    link(a, c)
    await when(a.room, () => holds(a.room, c.own))
    assert.equal(a.room.logs().some(l => l.address === b.own.address), false)
  })

  test('history of a page now gone reaches a newcomer from a peer that holds it, through that peer\'s list', async () => {
    const a = await openPage(Array.from({length: 300}, (_, i) => ({i})))
    const b = await openPage()
    const {atA} = link(a, b)
    await when(b.room, () => holds(b.room, a.own))
    atA.destroy()
    a.room.destroy()
    const c = await openPage()
    link(b, c)
    await when(c.room, () => holds(c.room, a.own) && holds(c.room, b.own) && c.room.progress.synced)
    assert.equal(c.room.logs().length, 3)
  })

  test('the directory survives a reopen on LevelDB: the replicas come back and are served with no peer that wrote them', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'room-logs-'))
    try {
      const a = await openPage([{text: 'kept'}])
      let db = await openNodeDatabase(join(dir, 'b'))
      let b = await openPage([], {db, room: 'team'})
      link(a, b)
      await when(b.room, () => holds(b.room, a.own))
      b.room.destroy()
      await b.own.close()
      await db.close()

      db = await openNodeDatabase(join(dir, 'b'))
      b = await openPage([], {db, room: 'team'})
      assert.ok(holds(b.room, a.own), 'the replica is opened from the directory at ready()')
      // Another room's directory of the same name is its own.
      const other = new RoomLogs({swarm: new FakeSwarm(), db, name: 'chat', room: 'elsewhere'})
      await other.ready()
      assert.deepEqual(other.logs(), [])
      other.destroy()
      const c = await openPage()
      link(b, c)
      await when(c.room, () => holds(c.room, a.own))
      b.room.destroy()
      await db.close()
    } finally {
      await rm(dir, {recursive: true, force: true})
    }
  })

  test('past maxLogs, new addresses are not opened and are counted, and the peer that listed them is not blamed', async () => {
    const others = await Promise.all([1, 2, 3].map(i => openPage([{i}])))
    const b = await openPage([], {maxLogs: 2})
    for (const o of others) link(o, b)
    await when(b.room, () => b.room.stats.ignored >= 2 && b.room.logs().every(l => l.length > 0))
    assert.equal(b.room.logs().length, 2)
    assert.equal(b.room.stats.dropped, 0)
  })
})

describe('room logs: a hostile peer', {timeout: 120_000}, () => {
  /** A victim page with an honest peer connected, which still gets the victim's log after the hostile peer is dropped. */
  async function scene() {
    const victim = await openPage([{text: 'mine'}])
    const honest = await openPage([{text: 'honest'}])
    link(victim, honest)
    await when(honest.room, () => holds(honest.room, victim.own))
    return {victim, honest}
  }

  async function stillServed({victim, honest}: Awaited<ReturnType<typeof scene>>): Promise<void> {
    await victim.own.append({text: 'after'})
    await when(honest.room, () => holds(honest.room, victim.own))
    assert.equal(victim.own.length, 3, 'the victim\'s store is intact')
  }

  const cases: Array<[string, (h: ReturnType<typeof hostile>) => Promise<void>, string, string?]> = [
    ['an oversized list', async h => {
      h.send(Uint8Array.of(0, ...junkInits(MAX_KEYS_PER_MESSAGE + 1).flatMap(({bytes}) => [bytes.length, ...bytes])))
    }, 'ERR_MESSAGE_TOO_LARGE'],
    ['a list that is not whole records', async h => h.send(Uint8Array.of(0, 1, 2, 3)), 'ERR_MALFORMED_MESSAGE'],
    ['one log announced twice', async h => {
      const inits = await realInits(1)
      h.send(encodeLogsMessage({listed: true, inits}))
      h.send(encodeLogsMessage({listed: false, inits}))
    }, 'ERR_PEER_MISBEHAVING'],
    ['a second first list', async h => {
      h.send(encodeLogsMessage({listed: true, inits: []}))
      h.send(encodeLogsMessage({listed: true, inits: []}))
    }, 'ERR_PEER_MISBEHAVING'],
    ['a junk address (a random key, its Init\'s signature random)', async h => {
      h.send(encodeLogsMessage({listed: true, inits: [...await realInits(1), ...junkInits(1)]}))
    }, 'ERR_PEER_MISBEHAVING', 'ERR_INVALID_SIGNATURE'],
  ]
  for (const [what, attack, code, cause] of cases) {
    test(`${what}: ${code}, the peer dropped, nothing of it opened, the store intact, the honest peer still served`, async () => {
      const s = await scene()
      const h = hostile(s.victim)
      const dropped = nextDrop(s.victim.room)
      await attack(h)
      const {key, err} = await dropped
      assert.equal(key, 'mallory')
      assert.equal(err.code, code)
      assert.equal((err.cause as P2PError | undefined)?.code, cause)
      assert.equal(h.atVictim.destroyed?.code, code, 'the victim destroyed the connection with the error')
      assert.equal(s.victim.room.stats.learned, 1, 'only the honest peer\'s log was ever opened')
      await stillServed(s)
    })
  }

  test('a peer announcing more than MAX_ROOM_LOGS logs is dropped, and the bare replicas it brought are forgotten', async () => {
    const s = await scene()
    const h = hostile(s.victim)
    const dropped = nextDrop(s.victim.room)
    const inits = await realInits(MAX_ROOM_LOGS + 1)
    h.send(encodeLogsMessage({listed: true, inits: inits.slice(0, 8)}))
    await when(s.victim.room, () => s.victim.room.logs().length === 10)
    for (let i = 8; i < inits.length; i += MAX_KEYS_PER_MESSAGE) {
      h.send(encodeLogsMessage({listed: false, inits: inits.slice(i, i + MAX_KEYS_PER_MESSAGE)}))
    }
    const {err} = await dropped
    assert.equal(err.code, 'ERR_PEER_MISBEHAVING')
    // Nobody vouches for its logs any more: back to the victim's log and the honest peer's.
    await when(s.victim.room, () => s.victim.room.logs().length === 2)
    assert.deepEqual(s.victim.room.logs().map(l => l.address).sort(), [s.victim.own.address, s.honest.own.address].sort())
    await stillServed(s)
  })

  test('a peer set to hold more logs than this page stays connected: past maxLogs its logs wait unopened', async () => {
    const big = await openPage(['big'], {maxLogs: 16})
    const others = await Promise.all(Array.from({length: 5}, (_, i) => openPage([`other ${i}`])))
    for (const other of others) link(big, other)
    await when(big.room, () => others.every(other => holds(big.room, other.own)))
    // big announces 6 logs this page did not tell it of; this page holds 2.
    const small = await openPage(['small'], {maxLogs: 2})
    link(small, big)
    await when(small.room, () => small.room.stats.dropped > 0 || (small.room.stats.ignored === 5 && small.room.logs().length === 2))
    assert.equal(small.room.stats.dropped, 0)
    assert.equal(big.room.stats.dropped, 0)
    // The one it opened replicates whole, and big holds this page's log.
    await when(small.room, () => small.room.logs().every(log => log.length === 2))
    await when(big.room, () => holds(big.room, small.own))
  })

  test('a stranger\'s bare logs are never listed on: a third peer does not learn them, and they go with the peer that sent them', async () => {
    const s = await scene()
    const h = hostile(s.victim)
    const learned = s.victim.room.stats.learned
    h.send(encodeLogsMessage({listed: true, inits: await realInits(3)}))
    await when(s.victim.room, () => s.victim.room.stats.learned === learned + 3 && s.victim.room.logs().length === 5)
    // A newcomer gets the victim's list: its own log and the honest one, not the stranger's.
    const c = await openPage()
    link(s.victim, c)
    await when(c.room, () => holds(c.room, s.victim.own) && holds(c.room, s.honest.own) && c.room.progress.synced)
    assert.deepEqual(c.room.logs().map(l => l.address).sort(), [c.own.address, s.victim.own.address, s.honest.own.address].sort())
    // The connection goes down.
    h.atVictim.destroy()
    // Back to the victim's log and those of the honest peer and the newcomer.
    await when(s.victim.room, () => s.victim.room.logs().length === 3)
    assert.equal(s.victim.room.stats.dropped, 0)
  })

  test('a stranger first on the scene takes the free slots, then no more than its share: an honest peer\'s log displaces one of its logs', async () => {
    const victim = await openPage([{text: 'mine'}], {maxLogs: 8})
    const h = hostile(victim)
    h.send(encodeLogsMessage({listed: true, inits: await realInits(8)}))
    // Alone, the stranger's share is every free slot: 7 opened, 1 waits.
    await when(victim.room, () => victim.room.logs().length === 8 && victim.room.stats.ignored === 1)
    const honest = await openPage([{text: 'real'}])
    const waits = ignoredAt(victim.room, honest.own.address)
    link(victim, honest)
    // Two peers now: a share is 3, the stranger holds 7, so its logs make room (or, without the shares, the honest log waits too).
    await when(victim.room, () => holds(victim.room, honest.own) || waits())
    assert.ok(holds(victim.room, honest.own), 'the honest peer\'s log is opened')
    assert.equal(victim.room.stats.evicted, 1)
    assert.equal(victim.room.logs().length, 8)
    await when(honest.room, () => holds(honest.room, victim.own))
  })

  test('past maxLogs, a replica no connected peer holds goes first, the one with fewest entries', async () => {
    const victim = await openPage([], {maxLogs: 3})
    const [small, large] = [await openPage([{n: 1}]), await openPage([{n: 1}, {n: 2}, {n: 3}])]
    const links = [link(victim, small), link(victim, large)]
    await when(victim.room, () => holds(victim.room, small.own) && holds(victim.room, large.own))
    for (const {atA} of links) atA.destroy()
    await when(victim.room, () => victim.room.progress.synced)
    // A newcomer that announces its log and nothing else (an honest one may say it holds the two first, which keeps them).
    const newcomer = hostile(victim)
    const [init] = await realInits(1)
    const address = toHex(init.author)
    const waits = ignoredAt(victim.room, address)
    newcomer.send(encodeLogsMessage({listed: true, inits: [init]}))
    const opened = () => victim.room.logs().some(l => l.address === address)
    await when(victim.room, () => opened() || waits())
    assert.ok(opened(), 'the newcomer\'s log is opened')
    assert.deepEqual(victim.room.logs().map(l => l.address).sort(), [victim.own.address, large.own.address, address].sort())
    assert.equal(victim.room.stats.evicted, 1)
  })
})

test('a room of 100 logs between two peers: every log replicates, and no log message waits at a mux', async () => {
  const db = new MemoryLevel()
  const identities = Array.from({length: 100}, () => new KeyPairIdentity())
  const logs = identities.map(identity => new Log({db, key: identity.publicKey, identity}))
  await Promise.all(logs.map(async (log, i) => {
    await log.ready()
    await log.append({i})
  }))
  // A page that has been in the room a while: 99 of these are replicas it keeps in its directory.
  const earlier = new RoomLogs({swarm: new FakeSwarm(), db, logs, name: 'chat', maxLogs: 128})
  await earlier.ready()
  earlier.destroy()
  await Promise.all(logs.slice(1).map(log => log.close()))
  const swarm = new FakeSwarm()
  const a: Page = {name: 'a', db, own: logs[0], swarm, room: new RoomLogs({swarm, db, logs: [logs[0]], name: 'chat', maxLogs: 128})}
  await a.room.ready()
  assert.equal(a.room.logs().length, 100)
  const b = await openPage([{text: 'b'}], {maxLogs: 128})
  const {atA, atB} = link(a, b)
  const dropped = () => atA.mux.stats.dropped + atB.mux.stats.dropped
  const all = () => a.room.logs().every(log => holds(b.room, log)) && holds(a.room, b.own) && b.room.progress.synced
  // Each mux's update is a sentinel too: a held message dropped ends the wait as well.
  await new Promise<void>(resolve => {
    const check = (): void => {
      if (all() || dropped() > 0) resolve()
    }
    atA.mux.on('update', check)
    atB.mux.on('update', check)
    when(b.room, () => all() || dropped() > 0).then(resolve)
  })
  assert.equal(dropped(), 0, 'no message was dropped at a mux for want of its channel')
  assert.ok(all())
  assert.equal(b.room.logs().length, 101)
})

test('an unnamed RoomLogs only replicates the logs it is given', async () => {
  const a = await openPage([{text: 'x'}], {name: undefined})
  const replica = new Log({db: new MemoryLevel(), key: a.own.key})
  const swarm = new FakeSwarm()
  const b = new RoomLogs({swarm, db: new MemoryLevel(), logs: [replica]})
  await b.ready()
  connect(a.swarm, 'a', swarm, 'b')
  await when(b, () => replica.length === a.own.length && b.progress.synced)
  assert.equal(b.stats.learned, 0)
  assert.equal(toHex(replica.key), a.own.address)
})

describe('the logs as one message source', () => {
  /** A log of its own key on memory-level whose entries claim the times `clock` gives. */
  async function timedLog(clock: {t: number}): Promise<Log> {
    const identity = new KeyPairIdentity()
    const log = new Log({db: new MemoryLevel(), key: identity.publicKey, identity, now: () => clock.t})
    await log.ready()
    return log
  }
  const texts = (source: LogSource) => source.items.map(i => (i.value as {text: string}).text)

  test('history of several logs merges by entry time, then author; control and bytes entries are not items', async () => {
    const clock = {t: 1000}
    const [a, b] = [await timedLog(clock), await timedLog(clock)]
    for (const [log, text, t] of [[a, 'a@3', 3000], [b, 'b@2', 2000], [a, 'a@5', 5000], [b, 'b@4', 4000]] as const) {
      clock.t = t
      await log.append({text})
    }
    await a.append(Uint8Array.of(1, 2))
    const source = new LogSource({target: a, author: a.address})
    await source.add(a)
    await source.add(b)
    assert.deepEqual(texts(source), ['b@2', 'a@3', 'b@4', 'a@5'])
    assert.deepEqual(source.items.map(i => i.local), [false, true, false, true])
    assert.equal(source.items[0].receivedAt, 2000, 'the time shown is the entry\'s')
  })

  test('a live entry that sorts last goes to listeners; one that sorts earlier asks for a new rendering, in order', async () => {
    const clock = {t: 1000}
    const [a, b] = [await timedLog(clock), await timedLog(clock)]
    let reorders = 0
    const source = new LogSource({target: a, onreorder: () => reorders++})
    await source.add(a)
    await source.add(b)
    const heard: string[] = []
    source.subscribe(item => heard.push((item.value as {text: string}).text))
    clock.t = 5000
    await source.publish({text: 'now'})
    assert.deepEqual(heard, ['now'])
    // A peer's entry written earlier, arriving later (it was offline).
    clock.t = 2000
    await b.append({text: 'earlier'})
    assert.equal(reorders, 1)
    assert.deepEqual(heard, ['now'], 'listeners are not told of an item out of order')
    assert.deepEqual(texts(source), ['earlier', 'now'])
  })

  test('keeps the latest `limit` items; publishing needs a log this page writes', async () => {
    const clock = {t: 1}
    const a = await timedLog(clock)
    for (let i = 0; i < 5; i++) {
      clock.t++
      await a.append({text: `m${i}`})
    }
    // Reading the history stops at the limit: a long log costs what is shown.
    let read = 0
    const entries = a.entries.bind(a)
    a.entries = async function* (options) {
      for await (const item of entries(options)) {
        read++
        yield item
      }
    }
    const source = new LogSource({limit: 3})
    await source.add(a)
    assert.deepEqual(texts(source), ['m2', 'm3', 'm4'])
    assert.equal(read, 3)
    await assert.rejects(source.publish({text: 'x'}), {code: 'ERR_NOT_A_WRITER'})
  })
})

test('p2p-elements/protocol exports the room\'s logs, their encoding and the merged source', async () => {
  const protocol = await import('../../src/protocol.js')
  assert.equal(protocol.RoomLogs, RoomLogs)
  assert.equal(protocol.LogSource, LogSource)
  assert.equal(protocol.decodeLogsMessage, decodeLogsMessage)
})
