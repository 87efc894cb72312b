import {describe, test} from 'node:test'
import assert from 'node:assert/strict'
import {MemoryLevel} from 'memory-level'
import {mkdtemp, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {openNodeDatabase} from '../../src/node/level.js'
import {KeyPairIdentity} from '../../src/core/crypto/seed-identity.js'
import {EntryKind, createEntry, jsonValue} from '../../src/core/log/entry.js'
import type {Identity} from '../../src/core/crypto/identity.js'
import {toHex} from '../../src/core/bytes.js'
import {Mux, createMemoryTransportPair, type Channel, type MemoryTransport, type MemoryTransportOptions} from '../../src/core/mux/index.js'
import {readValue} from '../../src/core/log/entry.js'
import {Log} from '../../src/core/log/log.js'
import {LogPeer, type LogProgress} from '../../src/core/log/replicate.js'
import {attachLog, logProtocol} from '../../src/core/log/swarm.js'
import {LogMessageType, decodeLogMessage, encodeEntries} from '../../src/core/log/messages.js'
import {FakeSwarm, connect as connectSwarms} from './fake-swarm.js'
import {all, same, whenLog} from '../shared/log-helpers.js'
import {until} from '../shared/until.js'

const owner = new KeyPairIdentity(new Uint8Array(32).fill(1))
const writer = new KeyPairIdentity(new Uint8Array(32).fill(2))
const CHANNEL = `p2p/log/1/${toHex(owner.publicKey)}`

async function openLog(identity?: Identity): Promise<Log> {
  const log = new Log({db: new MemoryLevel(), key: owner.publicKey, identity})
  await log.ready()
  return log
}

/** A memory-level database that runs out of space while `full` is set, as IndexedDB does with a QuotaExceededError. */
class FullLevel extends MemoryLevel<string, Uint8Array> {
  full = false
}
// abstract-level's _batch hook is not in its typings: wrapped here.
const memory = MemoryLevel.prototype as unknown as Record<'_batch' | '_put', (...args: unknown[]) => Promise<void>>
const quotaExceeded = () => Object.assign(new Error('quota exceeded'), {name: 'QuotaExceededError'})
Object.assign(FullLevel.prototype, {
  async _batch(this: FullLevel, ...args: unknown[]) {
    if (this.full) throw quotaExceeded()
    return memory._batch.apply(this, args)
  },
  async _put(this: FullLevel, ...args: unknown[]) {
    if (this.full) throw quotaExceeded()
    return memory._put.apply(this, args)
  },
})

/** A writer's replica on a store that can run out of space, replicating live with the owner's log and caught up; its errors by code. */
async function beforeFull(options: {fullRetryMs?: number} = {}) {
  const one = await openLog(owner)
  await one.admit(writer.publicKey)
  const db = new FullLevel()
  const two = new Log({db, key: owner.publicKey, identity: writer, ...options})
  await two.ready()
  const errors: string[] = []
  two.on('error', err => errors.push(err.code))
  const link = connect(one, two)
  await whenLog(two, () => same(one, two))
  return {one, two, db, errors, link}
}

/** Every entry once, nothing missing: the iteration holds `length` distinct hashes. */
async function intact(log: Log): Promise<void> {
  const entries = await all(log)
  assert.equal(entries.length, log.length)
  assert.equal(new Set(entries.map(e => toHex(e.hash))).size, log.length)
  for (const [author, n] of log.lengths()) {
    const seqs = entries.filter(e => toHex(e.author) === author).map(e => e.seq)
    assert.deepEqual(seqs, Array.from({length: n}, (_, i) => i))
  }
}

interface Link {
  a: LogPeer
  b: LogPeer
  ta: MemoryTransport
  ma: Mux
  /** The largest count of bytes a's mux held queued right after a send of a. */
  peakQueued: () => number
  cut(): void
}

/** `onsend` hears every message a's session sends. */
function connect(logA: Log, logB: Log, options: MemoryTransportOptions = {}, onsend: (bytes: Uint8Array) => void = () => {}): Link {
  const [ta, tb] = createMemoryTransportPair(options)
  const quiet = {pingInterval: 0, timeout: 0}
  const ma = new Mux(ta, quiet)
  const mb = new Mux(tb, quiet)
  let peak = 0
  const a = new LogPeer({log: logA, source: 'b', open: handlers => {
    const channel = ma.channel(CHANNEL, handlers)
    const send = channel.send.bind(channel)
    return Object.assign(channel, {
      send: (bytes: Uint8Array) => {
        onsend(bytes)
        send(bytes)
        peak = Math.max(peak, ma.bufferedAmount)
      },
    }) as Channel
  }})
  const b = new LogPeer({log: logB, source: 'a', open: handlers => mb.channel(CHANNEL, handlers)})
  return {a, b, ta, ma, peakQueued: () => peak, cut: () => ma.destroy()}
}

describe('log replication', {timeout: 120_000}, () => {
  test('disjoint histories replicate both ways', async () => {
    const one = await openLog(owner)
    await one.admit(writer.publicKey)
    const two = await openLog(writer)
    const first = connect(one, two)
    await whenLog(two, () => same(one, two))
    first.cut()
    await one.append(['o1', 'o2', 'o3'])
    await two.append(['w1', 'w2'])
    await two.append('w3')
    assert.equal(one.length, 5)
    assert.equal(two.length, 5)
    const second = connect(one, two)
    await Promise.all([whenLog(one, () => one.length === 8), whenLog(two, () => two.length === 8)])
    assert.ok(same(one, two))
    const values = (await all(two)).map(e => readValue(e))
    for (const v of ['o1', 'o2', 'o3', 'w1', 'w2', 'w3']) assert.ok(values.includes(v), `${v} reached both`)
    await intact(one)
    await intact(two)
    second.cut()
  })

  test('live appends reach the other side', async () => {
    const one = await openLog(owner)
    const two = await openLog()
    const link = connect(one, two)
    await whenLog(two, () => same(one, two))
    for (let i = 0; i < 5; i++) {
      const entry = await one.append({n: i})
      await whenLog(two, () => two.lengths().get(toHex(owner.publicKey)) === entry.seq + 1)
      assert.deepEqual(readValue((await two.get(entry.hash))!), {n: i})
    }
    link.cut()
  })

  test('three peers in a line converge (A and C never connected)', async () => {
    const a = await openLog(owner)
    await a.admit(writer.publicKey)
    await a.append(['a1', 'a2'])
    const b = await openLog()
    const c = await openLog(writer)
    const ab = connect(a, b)
    const bc = connect(b, c)
    await whenLog(c, () => same(a, c))
    await c.append('c1')
    await a.append('a3')
    await Promise.all([whenLog(a, () => a.length === 6), whenLog(c, () => c.length === 6), whenLog(b, () => b.length === 6)])
    assert.ok(same(a, b) && same(b, c))
    for (const log of [a, b, c]) await intact(log)
    ab.cut()
    bc.cut()
  })

  test('an interrupted replication resumes with no duplicates and no gaps', async () => {
    const one = await openLog(owner)
    await one.append(Array.from({length: 3000}, (_, i) => ({i})))
    const two = await openLog()
    const first = connect(one, two, {bytesPerTick: 16 * 1024})
    await whenLog(two, () => two.length > 500)
    first.cut()
    assert.ok(two.length < one.length, `cut mid-stream (${two.length} of ${one.length})`)
    await intact(two)
    const second = connect(one, two)
    await whenLog(two, () => same(one, two))
    await intact(two)
    assert.deepEqual((await all(two)).map(e => toHex(e.hash)).sort(), (await all(one)).map(e => toHex(e.hash)).sort())
    second.cut()
  })

  test('on LevelDB (classic-level), a replica closed mid-stream reopens from disk and resumes with nothing lost', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'p2p-log-replicate-'))
    try {
      const one = await openLog(owner)
      await one.append(Array.from({length: 3000}, (_, i) => ({i})))
      let db = await openNodeDatabase(dir)
      let two = new Log({db, key: owner.publicKey})
      await two.ready()
      const first = connect(one, two, {bytesPerTick: 16 * 1024})
      await whenLog(two, () => two.length > 500)
      first.cut()
      await two.close()
      await db.close()

      db = await openNodeDatabase(dir)
      two = new Log({db, key: owner.publicKey})
      await two.ready()
      assert.ok(two.length > 500 && two.length < one.length, `reopened with ${two.length} of ${one.length}`)
      await intact(two)
      const second = connect(one, two)
      await whenLog(two, () => same(one, two))
      await intact(two)
      second.cut()
      await two.close()
      await db.close()
    } finally {
      await rm(dir, {recursive: true, force: true})
    }
  })

  test('a full disk stops storing without ending the session; the first write after space returns asks again', async () => {
    const {one, two, db, errors, link} = await beforeFull()
    db.full = true
    const failed = new Promise<void>(resolve => two.on('error', () => resolve()))
    const lost = await one.append(['while full 1', 'while full 2'])
    await failed
    assert.deepEqual(errors, ['ERR_STORAGE_FULL'])
    assert.equal(two.stats.paused, true)
    assert.equal(await two.get(lost[1].hash), undefined)
    assert.ok(!link.b.destroyed && !link.a.destroyed, 'the session lives on')
    db.full = false
    const total = one.length + 1
    const mine = await two.append('space again')
    await Promise.all([whenLog(two, () => two.length === total), whenLog(one, () => one.length === total)])
    assert.ok(await two.get(lost[1].hash))
    assert.ok(await one.get(mine.hash))
    await intact(two)
    assert.ok(!link.a.destroyed && !link.b.destroyed)
    assert.equal(link.a.stats.uselessVectors, 0, 'the rewind was called for')
    link.cut()
  })

  test('space freed while nothing writes: the log\'s probe write finds it, resume fires, and the session asks for what it could not store', async () => {
    const {one, two, db, errors, link} = await beforeFull({fullRetryMs: 5})
    db.full = true
    let writes = 0
    const counted = db.batch.bind(db)
    db.batch = ((...args: Parameters<typeof db.batch>) => {
      writes++
      return counted(...args)
    }) as typeof db.batch
    const failed = new Promise<void>(resolve => two.on('error', () => resolve()))
    const lost = await one.append(['while full 1', 'while full 2'])
    await failed
    // Probes fail while the disk stays full, quietly: the error was said once.
    await until(() => writes >= 4, 'probe writes while full')
    assert.equal(two.stats.paused, true)
    assert.deepEqual(errors, ['ERR_STORAGE_FULL'])
    const resumed = new Promise<void>(resolve => two.on('resume', resolve))
    db.full = false
    await resumed
    assert.equal(two.stats.paused, false)
    await whenLog(two, () => same(one, two))
    assert.ok(await two.get(lost[1].hash))
    await intact(two)
    assert.deepEqual(errors, ['ERR_STORAGE_FULL'])
    assert.ok(!link.a.destroyed && !link.b.destroyed)
    link.cut()
    await two.close()
  })

  test('a log over its quota (maxBytes) stops growing, says so once, keeps its session, and takes the rest once recheckQuota() finds room', async () => {
    const one = await openLog(owner)
    // About 390 KB: more than one message (256 KiB at most), so a batch comes after the log reached its quota.
    for (let run = 0; run < 4; run++) await one.append(Array.from({length: 500}, (_, i) => ({i: run * 500 + i, text: 'y'.repeat(100)})))
    let limit = 20_000
    const two = new Log({db: new MemoryLevel(), key: owner.publicKey, maxBytes: () => limit})
    await two.ready()
    const errors: string[] = []
    two.on('error', err => errors.push(err.code))
    const over = new Promise<void>(resolve => two.on('error', () => resolve()))
    const link = connect(one, two)
    await over
    assert.equal(two.stats.overQuota, true)
    assert.deepEqual(errors, ['ERR_STORAGE_FULL'])
    assert.ok(two.length > 1 && two.length < one.length, `${two.length} of ${one.length} stored`)
    // Let in while under the quota, a batch whole: at most one message past it.
    assert.ok(two.stats.bytes >= limit && two.stats.bytes <= limit + 256 * 1024, `${two.stats.bytes} bytes`)
    await intact(two)
    // What it holds ends at signed entries, so it serves all of it: a third log gets every entry from it.
    const three = await openLog()
    const fromTwo = connect(two, three)
    await whenLog(three, () => three.length === two.length)
    fromTwo.cut()
    // Nothing grows while over quota, whatever the remote sends meanwhile.
    const stored = two.length
    await one.append('one more')
    await whenLog(one, () => one.length === 2002)
    assert.equal(two.length, stored)
    two.recheckQuota()
    assert.equal(two.stats.overQuota, true, 'still no room: nothing changes')
    limit = Infinity
    two.recheckQuota()
    assert.equal(two.stats.overQuota, false)
    await whenLog(two, () => same(one, two))
    await intact(two)
    assert.ok(!link.a.destroyed && !link.b.destroyed, 'the session lived through it')
    assert.deepEqual(errors, ['ERR_STORAGE_FULL'])
    link.cut()
  })

  test('10k entries replicate with backpressure, and progress reaches behind = 0', async () => {
    const one = await openLog(owner)
    const value = 'x'.repeat(1000)
    for (let i = 0; i < 10; i++) await one.append(Array.from({length: 1000}, (_, j) => ({n: i * 1000 + j, value})))
    const two = await openLog()
    const link = connect(one, two, {bytesPerTick: 64 * 1024})
    const progress: LogProgress[] = []
    link.b.on('progress', p => progress.push(p))
    await whenLog(two, () => same(one, two))
    await intact(two)
    // 10 MB went through; at most the window (8 messages of 256 KiB) and the channel's mark wait in the mux.
    assert.ok(link.peakQueued() <= 3 * 1024 * 1024, `the mux held ${link.peakQueued()} bytes`)
    assert.ok(link.ta.peakBufferedAmount <= 2 * 1024 * 1024, `the transport held ${link.ta.peakBufferedAmount} bytes`)
    await new Promise<void>(resolve => {
      const check = (): void => {
        const last = progress[progress.length - 1]
        if (last && last.behind === 0 && last.local === one.length) resolve()
      }
      link.b.on('progress', check)
      check()
    })
    const last = progress[progress.length - 1]
    assert.deepEqual(last, {local: 10_001, remote: 10_001, behind: 0})
    assert.ok(progress.some(p => p.behind > 0), 'progress was seen on the way')
    link.cut()
  })

  test('attachLog replicates with every peer of a swarm, and a peer that breaks the protocol loses its connection', async () => {
    const [sa, sb, sc] = [new FakeSwarm(), new FakeSwarm(), new FakeSwarm()]
    const a = await openLog(owner)
    await a.append(['a1', 'a2'])
    const b = await openLog()
    const attached = attachLog(a, sa)
    attachLog(b, sb)
    const progress: number[] = []
    attached.on('progress', (key, p) => {
      if (key === 'B') progress.push(p.local)
    })
    connectSwarms(sa, 'A', sb, 'B')
    await whenLog(b, () => same(a, b))
    assert.ok(progress.length > 0, 'progress reaches the attached log\'s listeners')
    const drops: Array<[string, string | undefined]> = []
    const dropped = new Promise<void>(resolve => attached.on('drop', (key, _peer, err) => {
      drops.push([key, err?.code])
      resolve()
    }))
    const {atA: hostileAtA, atB: hostileEnd} = connectSwarms(sa, 'A', sc, 'MALLORY')
    assert.deepEqual([...attached.peers().keys()].sort(), ['B', 'MALLORY'])
    assert.equal(a.stats.peers, 2)
    hostileEnd.channel(logProtocol(a.address), {onmessage: () => {}}).send(encodeEntries([new Uint8Array([1, 2, 3])]))
    await dropped
    assert.deepEqual(drops, [['MALLORY', 'ERR_MALFORMED_MESSAGE']])
    assert.equal(hostileAtA.destroyed?.code, 'ERR_MALFORMED_MESSAGE')
    const entry = await a.append('still served')
    await whenLog(b, () => b.length === a.length)
    assert.ok(await b.get(entry.hash))
    assert.deepEqual([...attached.peers().keys()], ['B'])
    assert.equal(a.stats.peers, 1, 'the dropped session is not counted')
    attached.detach()
    assert.equal(attached.peers().size, 0)
    assert.equal(a.stats.peers, 0)
  })

  test('log.replicate(swarm) and log.replicate(peer): live both ways; append fires for this page\'s appends only, update for both', async () => {
    const [sa, sb, sc] = [new FakeSwarm(), new FakeSwarm(), new FakeSwarm()]
    const a = await openLog(owner)
    const b = await openLog(writer)
    const c = await openLog()
    await a.admit(writer.publicKey)
    const appended: string[] = []
    const updated: string[] = []
    a.on('append', entries => appended.push(...entries.map(e => readValue(e) as string)))
    a.on('update', entries => updated.push(...entries.map(e => readValue(e) as string).filter(v => typeof v === 'string')))
    const attached = a.replicate(sa)
    b.replicate(sb)
    await a.append('before')
    connectSwarms(sa, 'A', sb, 'B')
    await whenLog(b, () => same(a, b))
    await b.append('from b')
    await whenLog(a, () => same(a, b))
    // One peer, not a swarm: the session alone, ended by destroy().
    const {atB: cAtA} = connectSwarms(sa, 'A', sc, 'C')
    const session = c.replicate(cAtA)
    await whenLog(c, () => same(a, c))
    await a.append('live')
    await whenLog(c, () => same(a, c))
    await whenLog(b, () => same(a, b))
    assert.deepEqual([...attached.peers().keys()].sort(), ['B', 'C'])
    session.destroy()
    await a.append('after')
    await whenLog(b, () => same(a, b))
    assert.equal(c.length, a.length - 1, 'the destroyed session brings nothing more')
    assert.deepEqual(appended, ['before', 'live', 'after'])
    assert.deepEqual(updated, ['before', 'from b', 'live', 'after'])
    // A peer whose key is not proven yet cannot replicate; a closed log cannot either.
    assert.throws(() => c.replicate({...cAtA, publicKey: null, channel: cAtA.channel.bind(cAtA), destroy: cAtA.destroy.bind(cAtA)}), {code: 'ERR_INVALID_ARGUMENT'})
    await c.close()
    assert.throws(() => c.replicate(sc), {code: 'ERR_DESTROYED'})
    attached.detach()
  })

  test('attachLog drops a peer that sends entries no honest peer holds as misbehaving, the finding as cause, so the swarm bans it', async () => {
    const [sa, sc] = [new FakeSwarm(), new FakeSwarm()]
    const a = await openLog(owner)
    await a.append('a1')
    const attached = attachLog(a, sa)
    const dropped = new Promise<void>(resolve => attached.on('drop', () => resolve()))
    const {atA, atB} = connectSwarms(sa, 'A', sc, 'MALLORY')
    // Mallory's own entry in a log that never admitted it: validly signed, and no honest peer would hold it.
    const mallory = new KeyPairIdentity(new Uint8Array(32).fill(9))
    const forged = await createEntry(a.key, {author: mallory.publicKey, seq: 0, prev: null, links: a.heads(), time: 1, kind: EntryKind.Json, value: jsonValue('hi')}, mallory)
    atB.channel(logProtocol(a.address), {onmessage: () => {}}).send(encodeEntries([forged.bytes]))
    await dropped
    assert.equal(atA.destroyed?.code, 'ERR_PEER_MISBEHAVING', 'the swarm bans a key dropped with this code')
    assert.equal((atA.destroyed?.cause as {code?: string} | undefined)?.code, 'ERR_NOT_A_WRITER')
    assert.equal(a.length, 2, 'nothing of it stored')
  })

  test('what a peer left waiting goes when its session ends, and arrives complete later from another', async () => {
    const one = await openLog(owner)
    await one.append(['o1', 'o2', 'o3', 'o4', 'o5'])
    const two = await openLog()
    // X sends the owner's entries 3 to 5 without 1 and 2: they wait for their prevs.
    const [tx, tt] = createMemoryTransportPair()
    const quiet = {pingInterval: 0, timeout: 0}
    const [mx, mt] = [new Mux(tx, quiet), new Mux(tt, quiet)]
    const session = new LogPeer({log: two, source: 'x', open: handlers => mt.channel(CHANNEL, handlers)})
    const closed = new Promise(resolve => session.on('close', resolve))
    const acked = new Promise<void>(resolve => {
      const x = mx.channel(CHANNEL, {onmessage: bytes => {
        if (decodeLogMessage(bytes).type === LogMessageType.ACK) resolve()
      }})
      void all(one).then(entries => x.send(encodeEntries(entries.slice(3).map(e => e.bytes))))
    })
    await acked
    assert.equal(two.stats.pending, 3)
    mx.destroy()
    await closed
    // An empty add takes its turn after the drop.
    await two.add([], 'sentinel')
    assert.equal(two.stats.pending, 0)
    const link = connect(one, two)
    await whenLog(two, () => same(one, two))
    await intact(two)
    assert.equal(two.stats.pending, 0)
    link.cut()
  })

  test('the Log counts its sessions in stats.peers and fires each one\'s progress, naming the peer', async () => {
    const one = await openLog(owner)
    await one.append(Array.from({length: 300}, (_, i) => ({i})))
    const two = await openLog()
    assert.equal(two.stats.peers, 0)
    const seen: Array<{local: number, remote: number, behind: number, peer: string}> = []
    const caughtUp = new Promise<void>(resolve => two.on('progress', p => {
      seen.push(p)
      if (p.behind === 0 && p.local === one.length) resolve()
    }))
    const link = connect(one, two)
    assert.equal(one.stats.peers, 1)
    assert.equal(two.stats.peers, 1)
    await caughtUp
    assert.deepEqual(seen[seen.length - 1], {local: 301, remote: 301, behind: 0, peer: 'a'})
    assert.ok(seen.some(p => p.behind > 0), 'progress was seen on the way')
    const closed = Promise.all([link.a, link.b].map(peer => new Promise(resolve => peer.on('close', resolve))))
    link.cut()
    await closed
    assert.equal(one.stats.peers, 0)
    assert.equal(two.stats.peers, 0)
  })

  test('honest peers that relay to each other (a triangle, live) take no useless work from one another', async () => {
    const a = await openLog(owner)
    await a.admit(writer.publicKey)
    const b = await openLog()
    const c = await openLog(writer)
    const links = [connect(a, b), connect(b, c), connect(a, c)]
    for (let i = 0; i < 20; i++) {
      await a.append(Array.from({length: 50}, (_, j) => ({a: i * 50 + j})))
      await c.append({c: i})
    }
    // Checked on an update of any of the three: the last to land may be at any of them.
    await new Promise<void>(resolve => {
      const check = (): void => {
        if (same(a, b) && same(b, c)) resolve()
      }
      for (const log of [a, b, c]) log.on('update', check)
      check()
    })
    for (const link of links) {
      for (const peer of [link.a, link.b]) {
        assert.ok(!peer.destroyed)
        assert.deepEqual([peer.stats.uselessEntries, peer.stats.uselessForks, peer.stats.uselessVectors], [0, 0, 0])
      }
    }
    for (const log of [a, b, c]) await intact(log)
    for (const link of links) link.cut()
  })

  test('peers that hold the same forks of many authors send them at the start and stay connected', async () => {
    // An open log: any key writes once its entry has seen the owner's Init.
    const one = new Log({db: new MemoryLevel(), key: owner.publicKey, identity: owner, open: true})
    await one.ready()
    const [init] = await all(one)
    const side = (identity: Identity, value: string) => createEntry(owner.publicKey, {
      author: identity.publicKey, seq: 0, prev: null, links: [init.hash], time: 1, kind: EntryKind.Json, value: jsonValue(value),
    }, identity)
    const authors = Array.from({length: 20}, (_, i) => new KeyPairIdentity(new Uint8Array(32).fill(60 + i)))
    const xs = await Promise.all(authors.map(a => side(a, 'x')))
    const ys = await Promise.all(authors.map(a => side(a, 'y')))
    const two = await openLog()
    for (const log of [one, two]) {
      await log.add([init, ...xs], 'setup')
      await log.add(ys, 'setup')
      assert.equal((await log.forks()).length, authors.length)
    }
    let forksSent = 0
    let forked = (): void => {}
    const allSent = new Promise<void>(resolve => { forked = resolve })
    const link = connect(one, two, {}, bytes => {
      if (decodeLogMessage(bytes).type === LogMessageType.FORK && ++forksSent === authors.length) forked()
    })
    await allSent
    // Sent after the FORKs on one ordered channel, handled after them.
    const sentinel = await one.append('after the forks')
    await whenLog(two, () => two.lengths().get(toHex(owner.publicKey)) === sentinel.seq + 1)
    assert.equal(link.b.stats.uselessForks, authors.length, 'every FORK told it nothing')
    assert.ok(!link.a.destroyed && !link.b.destroyed)
    link.cut()
  })

  test('a session that ends while behind tells the Log its peer is behind by nothing now', async () => {
    const one = await openLog(owner)
    await one.append(Array.from({length: 3000}, (_, i) => ({i})))
    const two = await openLog()
    const seen: Array<{behind: number, peer: string}> = []
    let link: Link | undefined
    const closed = new Promise<void>(resolve => two.on('progress', p => {
      seen.push(p)
      if (p.behind > 0 && link && !link.b.destroyed) {
        link.b.on('close', () => resolve())
        link.cut()
      }
    }))
    link = connect(one, two, {bytesPerTick: 16 * 1024})
    await closed
    assert.ok(seen.some(p => p.behind > 0))
    assert.deepEqual(seen.map(p => [p.peer, p.behind]).at(-1), ['a', 0])
    assert.ok(two.length < one.length, 'cut before the end')
    assert.equal(two.stats.peers, 0)
  })
})
