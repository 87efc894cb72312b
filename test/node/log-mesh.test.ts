// Log replication in a mesh (docs/log.md, "The live phase"): one upstream per
// author per peer, NOTEs from the other neighbours, a new upstream when one is
// lost or lags, and the new messages' hostile cases.
import {describe, test} from 'node:test'
import assert from 'node:assert/strict'
import {MemoryLevel} from 'memory-level'
import {mkdtemp, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {openNodeDatabase} from '../../src/node/level.js'
import {KeyPairIdentity} from '../../src/core/crypto/seed-identity.js'
import type {Identity} from '../../src/core/crypto/identity.js'
import type {Clock} from '../../src/core/clock.js'
import {toHex} from '../../src/core/bytes.js'
import {Mux, createMemoryTransportPair, type Channel} from '../../src/core/mux/index.js'
import {Log} from '../../src/core/log/log.js'
import {
  LogPeer, type ReplicaLog, MAX_SESSIONS_PER_KEY, MAX_WITHHELD, NOTE_INTERVAL, UPSTREAM_LAG, UPSTREAM_MARGIN, USELESS_NOTES, USELESS_PRUNES,
  USELESS_REQUESTS,
} from '../../src/core/log/replicate.js'
import {logProtocol} from '../../src/core/log/swarm.js'
import {
  LogMessageType, decodeLogMessage, encodeEntries, encodeHave, encodeNote, encodePrune, encodeRequest, type LogMessage,
} from '../../src/core/log/messages.js'
import {all, replicaOf, same} from '../shared/log-helpers.js'
import {isCode} from './helpers.js'

const owner = new KeyPairIdentity(new Uint8Array(32).fill(1))
const writer = new KeyPairIdentity(new Uint8Array(32).fill(2))
const OWNER = toHex(owner.publicKey)
const CHANNEL = logProtocol(OWNER)
const quiet = {pingInterval: 0, timeout: 0}

async function openLog(identity?: Identity): Promise<Log> {
  const log = new Log({db: new MemoryLevel(), key: owner.publicKey, identity})
  await log.ready()
  return log
}

/** Virtual time: timers run when the test moves the clock on. */
class ManualClock implements Clock {
  #now = 0
  #timers: Array<{at: number, callback: () => void}> = []
  now(): number { return this.#now }
  setTimeout(callback: () => void, ms: number): unknown {
    const timer = {at: this.#now + ms, callback}
    this.#timers.push(timer)
    return timer
  }
  clearTimeout(handle: unknown): void {
    this.#timers = this.#timers.filter(t => t !== handle)
  }
  random(): number { return 0.5 }
  /** Runs every timer due within `ms`, in order. */
  advance(ms: number): void {
    const until = this.#now + ms
    for (;;) {
      const due = this.#timers.filter(t => t.at <= until).sort((a, b) => a.at - b.at)[0]
      if (!due) break
      this.#timers = this.#timers.filter(t => t !== due)
      this.#now = due.at
      due.callback()
    }
    this.#now = until
  }
}

/** Every entry once, nothing missing. */
async function intact(log: Log): Promise<void> {
  const entries = await all(log)
  assert.equal(entries.length, log.length)
  for (const [author, n] of log.lengths()) {
    assert.deepEqual(entries.filter(e => toHex(e.author) === author).map(e => e.seq), Array.from({length: n}, (_, i) => i))
  }
}

/** A message-holding gate on one direction of a link: what a paused side sends waits until resumed. */
interface Gate {
  paused: boolean
  resume(): void
}

interface Link {
  /** x's session (with y) and y's (with x). */
  x: LogPeer
  y: LogPeer
  /** Holds what x's session sends. */
  gate: Gate
  cut(): void
}

function connect(x: {log: Log, name: string}, y: {log: Log, name: string}, clock?: Clock): Link {
  const [tx, ty] = createMemoryTransportPair()
  const [mx, my] = [new Mux(tx, quiet), new Mux(ty, quiet)]
  const held: Uint8Array[] = []
  let channel: Channel | undefined
  const gate: Gate = {
    paused: false,
    resume() {
      gate.paused = false
      for (const bytes of held.splice(0)) channel!.send(bytes)
    },
  }
  const sx = new LogPeer({log: x.log, source: y.name, clock, open: handlers => {
    channel = mx.channel(CHANNEL, handlers)
    const send = channel.send.bind(channel)
    return Object.assign(channel, {send: (bytes: Uint8Array) => (gate.paused ? held.push(bytes) : send(bytes))}) as Channel
  }})
  const sy = new LogPeer({log: y.log, source: x.name, clock, open: handlers => my.channel(CHANNEL, handlers)})
  return {x: sx, y: sy, gate, cut: () => mx.destroy()}
}

/** Resolves once `check` holds, checked on every update of every log and every progress of every session. */
function when(logs: Log[], sessions: LogPeer[], check: () => boolean): Promise<void> {
  return new Promise(resolve => {
    const test = (): void => {
      if (!check()) return
      for (const log of logs) log.off('update', test)
      for (const session of sessions) session.off('progress', test)
      resolve()
    }
    for (const log of logs) log.on('update', test)
    for (const session of sessions) session.on('progress', test)
    test()
  })
}

/** Every ENTRIES message sent over the links has been handled at its receiver. */
function settled(links: Link[]): boolean {
  return links.every(l => l.x.stats.entriesOut === l.y.stats.entriesIn && l.y.stats.entriesOut === l.x.stats.entriesIn)
}

/**
 * Peers all linked to each other; the first writes `count` entries live, one
 * append each, then a last one as a sentinel: once every peer holds it and
 * every ENTRIES sent is handled, the duplicates are counted.
 */
async function fullMesh(peers: number, count: number): Promise<{duplicates: number, links: Link[], logs: Log[]}> {
  const logs = [await openLog(owner)]
  for (let i = 1; i < peers; i++) logs.push(await openLog())
  const links: Link[] = []
  for (let i = 0; i < peers; i++) {
    for (let j = i + 1; j < peers; j++) links.push(connect({log: logs[i], name: `p${i}`}, {log: logs[j], name: `p${j}`}))
  }
  const sessions = links.flatMap(l => [l.x, l.y])
  for (let i = 0; i < count; i++) await logs[0].append({i})
  await logs[0].append('sentinel')
  await when(logs, sessions, () => logs.every(log => same(log, logs[0])) && settled(links))
  for (const log of logs) await intact(log)
  for (const session of sessions) assert.ok(!session.destroyed)
  return {duplicates: sessions.reduce((sum, s) => sum + s.stats.duplicates, 0), links, logs}
}

describe('log replication in a mesh', {timeout: 180_000}, () => {
  // Before a receiver's PRUNE reaches a neighbour, that neighbour relays what it
  // gets: a few entries per (receiver, neighbour) pair, not one per entry.
  const PER_PAIR = 16

  test('a triangle, one writer, 1,000 entries live: each entry arrives about once', async t => {
    const {duplicates, links} = await fullMesh(3, 1000)
    // Two receivers, one non-upstream neighbour each.
    assert.ok(duplicates <= 2 * PER_PAIR, `${duplicates} duplicate receives`)
    t.diagnostic(`triangle: ${duplicates} duplicate receives for 1,001 entries`)
    for (const link of links) link.cut()
  })

  test('a full mesh of 5, one writer, 1,000 entries live: each entry arrives about once', async t => {
    const {duplicates, links} = await fullMesh(5, 1000)
    // Four receivers, three non-upstream neighbours each.
    assert.ok(duplicates <= 12 * PER_PAIR, `${duplicates} duplicate receives`)
    t.diagnostic(`5-mesh: ${duplicates} duplicate receives for 1,001 entries`)
    for (const link of links) link.cut()
  })

  test('a catch-up that overlaps another: a second peer connected mid-stream sends none of what the first delivers', async t => {
    const a = await openLog(owner)
    for (let i = 0; i < 4; i++) await a.append(Array.from({length: 500}, (_, j) => ({i, j})))
    const b = await openLog()
    const ab = connect({log: a, name: 'a'}, {log: b, name: 'b'})
    await when([b], [], () => same(a, b))
    const v = await openLog()
    const av = connect({log: a, name: 'a'}, {log: v, name: 'v'})
    await when([v], [], () => v.length > 0)
    const bv = connect({log: b, name: 'b'}, {log: v, name: 'v'})
    const links = [ab, av, bv]
    await when([v], links.flatMap(l => [l.x, l.y]), () => same(a, v) && settled(links))
    await intact(v)
    const duplicates = av.y.stats.duplicates + bv.y.stats.duplicates
    t.diagnostic(`overlapping catch-up: ${duplicates} duplicate receives for ${a.length} entries`)
    assert.ok(duplicates <= PER_PAIR, `${duplicates} duplicate receives`)
    for (const link of links) link.cut()
  })

  test('upstream loss: the upstream\'s session closes mid-stream, another takes over, no gap (c on LevelDB)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'p2p-log-mesh-'))
    const db = await openNodeDatabase(dir)
    const [a, b, c] = [await openLog(owner), await openLog(), new Log({db, key: owner.publicKey})]
    await c.ready()
    const ab = connect({log: a, name: 'a'}, {log: b, name: 'b'})
    const bc = connect({log: b, name: 'b'}, {log: c, name: 'c'})
    const ac = connect({log: a, name: 'a'}, {log: c, name: 'c'})
    const sessions = [ab, bc, ac].flatMap(l => [l.x, l.y])
    let cut = false
    for (let i = 0; i < 600; i++) {
      await a.append({i})
      // c's upstream for the owner is a (the first to deliver): its session goes at 300, b's NOTEs show b ahead.
      if (i === 300) {
        assert.ok(bc.y.stats.entriesIn < ac.y.stats.entriesIn, 'a was c\'s upstream')
        ac.cut()
        cut = true
      }
    }
    assert.ok(cut)
    await when([a, b, c], sessions, () => same(a, c) && same(a, b))
    await intact(c)
    assert.ok(bc.y.stats.entriesIn > 0, 'b sent c what a did not')
    ab.cut()
    bc.cut()
    await c.close()
    await db.close()
    await rm(dir, {recursive: true, force: true})
  })

  test('a lagging upstream is replaced once a NOTE shows another ahead, and an entry waiting for it completes (fake clock)', async () => {
    const clock = new ManualClock()
    const v = await openLog()
    const a = await openLog(owner)
    await a.admit(writer.publicKey)
    const b = await openLog(writer)
    const av = connect({log: a, name: 'a'}, {log: v, name: 'v'}, clock)
    const ab = connect({log: a, name: 'a'}, {log: b, name: 'b'}, clock)
    const bv = connect({log: b, name: 'b'}, {log: v, name: 'v'}, clock)
    const links = [av, ab, bv]
    const sessions = links.flatMap(l => [l.x, l.y])
    // v takes the owner's entries from a first, then b's copies: b is pruned for the owner at v.
    bv.gate.paused = true
    await a.append(['first', 'second'])
    await when([a, b, v], sessions, () => same(a, v) && same(a, b))
    bv.gate.resume()
    await when([a, b, v], sessions, () => bv.y.stats.duplicates > 0 && settled(links))
    av.gate.paused = true
    // Fewer than UPSTREAM_MARGIN: only time replaces a.
    for (let i = 0; i < UPSTREAM_MARGIN / 2; i++) await a.append({i})
    await when([b], sessions, () => same(a, b))
    // b writes an entry that links a's latest: b is v's upstream for itself, so it comes before what it links.
    await b.append('linked')
    await when([v], sessions, () => v.stats.pending > 0)
    clock.advance(NOTE_INTERVAL)
    await when([v], sessions, () => bv.y.remoteLengths().get(OWNER) === a.lengths().get(OWNER))
    assert.ok(v.stats.pending > 0, 'the linked entry waits for the owner\'s entries')
    assert.ok(v.lengths().get(OWNER)! < a.lengths().get(OWNER)!, 'b, pruned, sent a NOTE and no entries of the owner')
    clock.advance(UPSTREAM_LAG)
    await when([v], sessions, () => same(a, v) && same(b, v))
    assert.equal(v.stats.pending, 0)
    assert.equal(av.y.stats.withheld, 0, 'a never claimed more: lagging is not withholding')
    await intact(v)
    av.gate.resume()
    for (const link of links) link.cut()
  })
})

/** A hand-driven remote of `log`'s session named `name`: what it sends is raw, what it gets is decoded. */
interface Raw {
  session: LogPeer
  send(bytes: Uint8Array): void
  closed: Promise<unknown>
  /** Resolves once `count` messages of `type` have come. */
  got(type: LogMessageType, count?: number): Promise<void>
  count(type: LogMessageType): number
  received: LogMessage[]
}

function raw(log: Log | ReplicaLog, name: string, clock?: Clock): Raw {
  const [tx, ty] = createMemoryTransportPair()
  const [mx, my] = [new Mux(tx, quiet), new Mux(ty, quiet)]
  const session = new LogPeer({log, source: name, clock, open: handlers => my.channel(CHANNEL, handlers)})
  const closed = new Promise(resolve => session.on('close', resolve))
  session.on('error', () => {})
  const received: LogMessage[] = []
  const waiting = new Set<() => void>()
  const channel = mx.channel(CHANNEL, {onmessage: bytes => {
    received.push(decodeLogMessage(bytes))
    for (const check of [...waiting]) check()
  }})
  const count = (type: LogMessageType): number => received.filter(m => m.type === type).length
  const got = (type: LogMessageType, n = 1): Promise<void> => new Promise(resolve => {
    const check = (): void => {
      if (count(type) < n) return
      waiting.delete(check)
      resolve()
    }
    waiting.add(check)
    check()
  })
  return {session, send: bytes => channel.send(bytes), closed, got, count, received}
}

const X = 'ab'.repeat(32)
const emptyHave = encodeHave([], true)

describe('log replication in a mesh: NOTEs', () => {
  test('a pruned sender NOTEs an author\'s growth once per NOTE_INTERVAL, however many appends (fake clock)', async () => {
    const clock = new ManualClock()
    const a = await openLog(owner)
    const remote = raw(a, 'r', clock)
    remote.send(emptyHave)
    remote.send(encodePrune([OWNER]))
    for (let i = 0; i < 50; i++) await a.append({i})
    clock.advance(NOTE_INTERVAL)
    await remote.got(LogMessageType.NOTE)
    const last = await a.append('last')
    clock.advance(NOTE_INTERVAL)
    await remote.got(LogMessageType.NOTE, 2)
    // Messages keep their order on a channel: a NOTE per append would have come before the second.
    const notes = remote.received.filter(m => m.type === LogMessageType.NOTE)
    assert.deepEqual(notes.map(m => m.lengths), [[[OWNER, last.seq]], [[OWNER, last.seq + 1]]])
    assert.equal(remote.count(LogMessageType.ENTRIES), 0, 'no entries of a pruned author')
    remote.session.destroy()
  })
})

describe('log replication in a mesh: REQUESTs', () => {
  test('a REQUEST of a pruned author reads on from that author\'s first entry the remote lacks, not from the start of the log', async () => {
    const clock = new ManualClock()
    const a = await openLog(owner)
    for (let i = 0; i < 3; i++) await a.append(Array.from({length: 1000}, (_, j) => ({i, j})))
    const cursors: number[] = []
    const remote = raw(replicaOf(a, {missing: (lengths, limit, cursor) => {
      cursors.push(cursor ?? 0)
      return a.missing(lengths, limit, cursor)
    }}), 'r', clock)
    // The remote holds all but the last 10 entries; they stream, then it prunes the author.
    remote.send(encodeHave([[OWNER, a.length - 10]], true))
    await remote.got(LogMessageType.ENTRIES)
    remote.send(encodePrune([OWNER]))
    for (let i = 0; i < 20; i++) await a.append({late: i})
    clock.advance(NOTE_INTERVAL)
    await remote.got(LogMessageType.NOTE)
    const held = a.length - 20
    const before = cursors.length
    remote.send(encodeRequest([[OWNER, held]]))
    await remote.got(LogMessageType.ENTRIES, 2)
    // Read from where the 20 late entries are (one author: local index = seq), never from 0.
    assert.ok(cursors.length > before)
    assert.deepEqual(cursors.slice(before).filter(c => c < held), [])
    assert.equal(await a.indexOf(OWNER, held), held)
    const sent = remote.received.filter(m => m.type === LogMessageType.ENTRIES).at(-1)!
    assert.equal(sent.entries.length, 20)
    remote.session.destroy()
  })
})

describe('log replication in a mesh: a hostile peer', {timeout: 60_000}, () => {
  for (const [what, message, kind, bound] of [
    ['a NOTE that raises no claim', encodeNote([[X, 5]]), 'uselessNotes', USELESS_NOTES],
    ['a PRUNE of an author pruned already', encodePrune([OWNER]), 'uselessPrunes', USELESS_PRUNES],
    ['a REQUEST for an author we do not hold', encodeRequest([[X, 0]]), 'uselessRequests', USELESS_REQUESTS],
  ] as const) {
    test(`${what}, again and again: ERR_PEER_MISBEHAVING past its bound, and an honest peer is still served`, async () => {
      const a = await openLog(owner)
      const v = await openLog()
      const honest = connect({log: a, name: 'a'}, {log: v, name: 'v'})
      const hostile = raw(v, 'h')
      hostile.send(emptyHave)
      for (let i = 0; i <= bound + 1; i++) hostile.send(message)
      const err = await hostile.closed
      assert.ok(isCode('ERR_PEER_MISBEHAVING')(err))
      assert.equal(hostile.session.stats[kind], bound + 1)
      const entry = await a.append('after')
      await when([v], [], () => v.lengths().get(OWNER) === entry.seq + 1)
      assert.ok(!honest.y.destroyed)
      honest.cut()
    })
  }

  test('a NOTE claiming 2**53 entries: ERR_MALFORMED_MESSAGE, dropped', async () => {
    const v = await openLog()
    const hostile = raw(v, 'h')
    hostile.send(new Uint8Array([LogMessageType.NOTE, 1, ...new Uint8Array(32).fill(0xab), 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x10]))
    assert.ok(isCode('ERR_MALFORMED_MESSAGE', /longer than 5 bytes/)(await hostile.closed))
  })

  test('a peer that claims more, is asked to be upstream and withholds: another takes over, and it is dropped after MAX_WITHHELD (fake clock)', async () => {
    const clock = new ManualClock()
    const a = await openLog(owner)
    await a.append(['o1', 'o2'])
    const v = await openLog()
    const honest = connect({log: a, name: 'a'}, {log: v, name: 'v'}, clock)
    await when([v], [], () => same(a, v))
    const hostile = raw(v, 'h', clock)
    hostile.send(emptyHave)
    // Far ahead of a: v asks h at once, and prunes a.
    hostile.send(encodeNote([[OWNER, a.length + 100]]))
    await hostile.got(LogMessageType.REQUEST)
    const entry = await a.append('o3')
    clock.advance(NOTE_INTERVAL)
    await when([v], [honest.y], () => honest.y.remoteLengths().get(OWNER) === entry.seq + 1)
    assert.ok(v.lengths().get(OWNER)! <= entry.seq, 'a, pruned, sent a NOTE, not the entry')
    clock.advance(UPSTREAM_LAG)
    await when([v], [], () => same(a, v))
    assert.equal(hostile.session.stats.withheld, 1)
    // Each round: a claim of an author only h has, a REQUEST, nothing delivered.
    for (let round = 2; round <= MAX_WITHHELD; round++) {
      const asked = hostile.count(LogMessageType.REQUEST)
      hostile.send(encodeNote([[String(round).repeat(64), 3]]))
      await hostile.got(LogMessageType.REQUEST, asked + 1)
      clock.advance(UPSTREAM_LAG)
    }
    assert.ok(isCode('ERR_PEER_MISBEHAVING', /delivered nothing/)(await hostile.closed))
    assert.equal(hostile.session.stats.withheld, MAX_WITHHELD)
    const last = await a.append('o4')
    clock.advance(NOTE_INTERVAL)
    await when([v], [], () => v.lengths().get(OWNER) === last.seq + 1)
    await intact(v)
    honest.cut()
  })

  test('two sessions with one key have their own pending entries, and a third at once is refused', async () => {
    const one = await openLog(owner)
    // One append each: every entry signed, so each waits in the log, not for a signature.
    for (const value of ['o1', 'o2', 'o3', 'o4', 'o5', 'o6']) await one.append(value)
    const entries = await all(one)
    const v = await openLog()
    const first = raw(v, 'x')
    const second = raw(v, 'x')
    // Each sends entries whose prevs v lacks: they wait, under each session's own source.
    first.send(encodeEntries(entries.slice(3, 5).map(e => e.bytes)))
    await first.got(LogMessageType.ACK)
    second.send(encodeEntries(entries.slice(5).map(e => e.bytes)))
    await second.got(LogMessageType.ACK)
    assert.equal(v.stats.pending, 4)
    first.session.destroy()
    // An empty add takes its turn after the drop.
    await v.add([], 'sentinel')
    assert.equal(v.stats.pending, 2, 'the second session\'s entries still wait')
    const third = raw(v, 'x')
    const fourth = raw(v, 'x')
    assert.ok(isCode('ERR_RATE_LIMITED', new RegExp(`more than ${MAX_SESSIONS_PER_KEY} sessions`))(await fourth.closed))
    assert.ok(!third.session.destroyed)
    second.session.destroy()
    third.session.destroy()
  })
})

