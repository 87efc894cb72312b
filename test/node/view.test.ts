import {describe, test} from 'node:test'
import assert from 'node:assert/strict'
import {MemoryLevel} from 'memory-level'
import {KeyPairIdentity} from '../../src/core/crypto/seed-identity.js'
import {EntryKind, readValue, type Entry} from '../../src/core/log/entry.js'
import {Log} from '../../src/core/log/log.js'
import type {LogDatabase} from '../../src/core/log/store.js'
import {View, compareCodePoints, viewSublevel, type ViewDefinition, type ViewDiff, type ViewOptions, type ViewRange} from '../../src/core/views/view.js'
import {systemClock, type Clock} from '../../src/core/clock.js'
import {yieldToEventLoop} from '../../src/core/yield.js'
import {once} from '../../src/core/emitter.js'
import type {P2PError} from '../../src/core/errors.js'
import {all} from '../shared/log-helpers.js'
import {until} from '../shared/until.js'

const owner = new KeyPairIdentity(new Uint8Array(32).fill(21))

/** The owner's log; `{replica: true}` opens it with no identity, as a peer that only receives. */
async function openLog(db: LogDatabase = new MemoryLevel(), {replica = false} = {}): Promise<Log> {
  const log = new Log({db, key: owner.publicKey, identity: replica ? undefined : owner})
  await log.ready()
  return log
}

interface Item {
  tag: string
  n: number
}
type Row = {key: string, value: unknown}

const items = (from: number, to: number): Item[] => Array.from({length: to - from}, (_, i) => ({tag: `t${(from + i) % 7}`, n: from + i}))
const pad = (n: number): string => String(n).padStart(6, '0')

/**
 * Counts entries per tag (a row every entry of the tag rewrites, read back by the
 * map) and keeps a row per entry: the fold of any prefix of the log is easy to
 * compute, and an entry applied twice, or half, shows.
 */
function tally(name = 'tally', gate?: (item: Item) => Promise<void> | void): ViewDefinition {
  return {
    name,
    version: 1,
    async map(entry, view) {
      if (entry.kind !== EntryKind.Json) return
      const item = readValue(entry) as Item
      await gate?.(item)
      const count = (await view.get(`count!${item.tag}`) as number | undefined) ?? 0
      return [{type: 'put', key: `count!${item.tag}`, value: count + 1}, {type: 'put', key: `n!${pad(item.n)}`, value: item.tag}]
    },
  }
}

/** The rows `tally` gives for these items, in key order. */
function tallyOf(list: Item[]): Row[] {
  const rows = new Map<string, unknown>()
  for (const {tag, n} of list) {
    rows.set(`count!${tag}`, ((rows.get(`count!${tag}`) as number | undefined) ?? 0) + 1)
    rows.set(`n!${pad(n)}`, tag)
  }
  return [...rows].sort(([a], [b]) => (a < b ? -1 : 1)).map(([key, value]) => ({key, value}))
}

/** A value the map of `ops` turns into one put or one deletion. */
type Op = {op: 'put', key: string, value: unknown} | {op: 'del', key: string}
const ops = (name = 'ops'): ViewDefinition => ({
  name,
  version: 1,
  map(entry) {
    if (entry.kind !== EntryKind.Json) return
    const op = readValue(entry) as Op
    return op.op === 'put' ? [{type: 'put', key: op.key, value: op.value}] : [{type: 'del', key: op.key}]
  },
})

function gate(): {promise: Promise<void>, open: () => void} {
  let open!: () => void
  const promise = new Promise<void>(resolve => { open = resolve })
  return {promise, open}
}

/**
 * Applies live diffs to a copy of the range, and notes what could only come from
 * a diff missed or doubled: an enter of a row it holds, a change or leave of one
 * it does not hold or whose old value is not the one it holds.
 */
class Mirror {
  readonly rows = new Map<string, unknown>()
  readonly problems: string[] = []
  apply = (diffs: ViewDiff[]): void => {
    for (const diff of diffs) {
      if (diff.type === 'enter') {
        if (this.rows.has(diff.key)) this.problems.push(`enter of ${diff.key}, which the range holds: doubled`)
        this.rows.set(diff.key, diff.value)
        continue
      }
      if (!this.rows.has(diff.key)) this.problems.push(`${diff.type} of ${diff.key}, which the range does not hold: an enter was missed`)
      else if (JSON.stringify(diff.old) !== JSON.stringify(this.rows.get(diff.key))) this.problems.push(`${diff.type} of ${diff.key} from another value: a change was missed`)
      if (diff.type === 'change') this.rows.set(diff.key, diff.value)
      else this.rows.delete(diff.key)
    }
  }

  /** The rows in key order, as the store orders them (by code point). */
  list(): Row[] {
    return [...this.rows].sort(([a], [b]) => compareCodePoints(a, b)).map(([key, value]) => ({key, value}))
  }
}

/** The rows as stored, read past the View. */
async function storedRows(log: Log, name: string): Promise<Row[]> {
  const rows: Row[] = []
  for await (const [key, value] of viewSublevel(log.db, log.address, name).iterator({gte: 'r!', lt: 'r"'})) {
    rows.push({key: key.slice(2), value: JSON.parse(value)})
  }
  return rows
}

/** A clock that does not move: slices end by their entry count alone. */
const frozen: Clock = {...systemClock, now: () => 0}

/** The next error the view emits. */
const failure = (view: View): Promise<P2PError> => once(view, 'error')

describe('View: catch-up and live', () => {
  test('catches up over many slices; its rows are the fold of every entry, progress reaches the total', async () => {
    const log = await openLog()
    const list = items(0, 2000)
    await log.append(list.slice(0, 1000))
    await log.append(list.slice(1000))
    const view = new View(log, tally(), {slice: 64, clock: frozen})
    const progress: number[] = []
    view.on('progress', ({indexed, total}) => {
      assert.equal(total, 2001)
      progress.push(indexed)
    })
    await view.ready()
    assert.deepEqual(await view.range(), tallyOf(list))
    assert.equal(view.stats.indexed, 2001)
    assert.equal(view.stats.slices, Math.ceil(2001 / 64))
    assert.equal(view.stats.rows, 4000)
    assert.equal(view.stats.failed, false)
    assert.deepEqual(progress, Array.from({length: Math.ceil(2001 / 64)}, (_, i) => Math.min(2001, (i + 1) * 64)))
    assert.equal(await view.get('count!t3'), list.filter(i => i.tag === 't3').length)
    assert.equal(await view.get('absent'), undefined)
    await log.close()
  })

  test('live: appends and entries stored by replication (log.add) reach the view', async () => {
    const writer = await openLog()
    const replica = await openLog(new MemoryLevel(), {replica: true})
    const view = new View(replica, tally())
    await view.ready()
    assert.deepEqual(await view.range(), [])
    await writer.append(items(0, 300))
    await replica.add(await all(writer), 'peer')
    await view.ready()
    assert.equal(view.stats.indexed, 301)
    assert.deepEqual(await view.range(), tallyOf(items(0, 300)))

    const local = new View(writer, tally())
    await local.ready()
    await writer.append(items(300, 310))
    await local.ready()
    assert.deepEqual(await local.range(), tallyOf(items(0, 310)))
    await writer.close()
    await replica.close()
  })

  test('ready() resolves once the entries present when it was called are folded, whatever comes after', async () => {
    const log = await openLog()
    const held = gate()
    // One entry a slice, so the entries appended after the call are in slices of their own.
    const view = new View(log, tally('tally', item => (item.n >= 1000 ? held.promise : undefined)), {slice: 1})
    await log.append(items(0, 50))
    const ready = view.ready()
    await log.append(items(1000, 1010))
    await ready
    assert.ok(view.stats.indexed >= 51 && view.stats.indexed < 61, `indexed ${view.stats.indexed}`)
    held.open()
    await view.ready()
    assert.deepEqual(await view.range(), tallyOf([...items(0, 50), ...items(1000, 1010)]))
    await log.close()
  })

  test('several views on one log go at their own pace: a slow view blocks neither appends nor the other view', async () => {
    const log = await openLog()
    const held = gate()
    let reached!: () => void
    const atGate = new Promise<void>(resolve => { reached = resolve })
    const slow = new View(log, tally('slow', () => {
      reached()
      return held.promise
    }))
    const fast = new View(log, tally('fast'))
    await log.append(items(0, 100))
    await atGate
    await fast.ready()
    await log.append(items(100, 200))
    await fast.ready()
    assert.deepEqual(await fast.range(), tallyOf(items(0, 200)))
    assert.equal(slow.stats.indexed, 1, 'the slow view is still at its first entry')
    assert.equal(log.length, 201)
    held.open()
    await slow.ready()
    assert.deepEqual(await slow.range(), tallyOf(items(0, 200)))
    await log.close()
  })
})

describe('View: versions, deletion and rebuilds', () => {
  test('a new version deletes the old rows and folds the log again', async () => {
    const log = await openLog()
    await log.append(items(0, 40))
    const shape = (version: number, prefix: string): ViewDefinition => ({
      name: 'shape',
      version,
      map: entry => (entry.kind === EntryKind.Json ? [{type: 'put', key: `${prefix}${pad((readValue(entry) as Item).n)}`, value: version}] : undefined),
    })
    const v1 = new View(log, shape(1, 'a!'))
    await v1.ready()
    assert.equal((await v1.range()).length, 40)
    await v1.close()
    const v2 = new View(log, shape(2, 'b!'))
    await v2.ready()
    assert.deepEqual(await v2.range(), items(0, 40).map(({n}) => ({key: `b!${pad(n)}`, value: 2})))
    assert.equal(v2.stats.indexed, 41)
    await v2.close()
    // Back to version 1: rebuilt again, not mixed with version 2's rows.
    const again = new View(log, shape(1, 'a!'))
    await again.ready()
    assert.deepEqual(await again.range(), items(0, 40).map(({n}) => ({key: `a!${pad(n)}`, value: 1})))
    await log.close()
  })

  test('on LevelDB: rows persist across a reopen; deleting the view\'s data, or its progress marker alone, rebuilds identical rows', async () => {
    const {mkdtemp, rm} = await import('node:fs/promises')
    const {tmpdir} = await import('node:os')
    const {join} = await import('node:path')
    const {openNodeDatabase} = await import('../../src/node/level.js')
    const dir = await mkdtemp(join(tmpdir(), 'p2p-view-'))
    try {
      let db = await openNodeDatabase(dir)
      let log = await openLog(db)
      await log.append(items(0, 1500))
      let view = new View(log, tally(), {slice: 100, clock: frozen})
      await view.ready()
      const before = await view.range()
      assert.deepEqual(before, tallyOf(items(0, 1500)))
      await log.close()
      await db.close()

      db = await openNodeDatabase(dir)
      log = await openLog(db)
      view = new View(log, tally(), {slice: 100, clock: frozen})
      await view.ready()
      assert.equal(view.stats.slices, 0, 'reopened where it was: nothing folded again')
      assert.deepEqual(await view.range(), before)
      await view.close()

      await viewSublevel(log.db, log.address, 'tally').clear()
      view = new View(log, tally(), {slice: 100, clock: frozen})
      await view.ready()
      assert.equal(view.stats.slices, 16)
      assert.deepEqual(await view.range(), before)
      await view.close()

      // The counts stay but the marker goes: folding on top of them would count every entry twice.
      await viewSublevel(log.db, log.address, 'tally').del('meta')
      view = new View(log, tally(), {slice: 100, clock: frozen})
      await view.ready()
      assert.deepEqual(await view.range(), before)
      await log.close()
      await db.close()
    } finally {
      await rm(dir, {recursive: true, force: true})
    }
  })

  test('a progress marker that cannot be read, or that counts more entries than the log holds, folds the log again', async () => {
    const db = new MemoryLevel()
    let log = await openLog(db)
    await log.append(items(0, 100))
    const marker = viewSublevel(db, log.address, 'tally')
    for (const bad of ['not JSON', 'null', '{"version": 1}', '{"version": 1, "indexed": -5}', '{"version": 1, "indexed": "7"}']) {
      const view = new View(log, tally())
      await view.ready()
      await view.close()
      await marker.put('meta', bad)
      const again = new View(log, tally())
      await again.ready()
      assert.deepEqual(await again.range(), tallyOf(items(0, 100)), bad)
      await again.close()
    }
    // The log's data deleted, the view's kept: the log starts again, shorter, with other entries.
    await log.close()
    await db.sublevel(`log-${log.address}`).clear()
    log = await openLog(db)
    await log.append(items(500, 510))
    const view = new View(log, tally())
    await view.ready()
    assert.deepEqual(await view.range(), tallyOf(items(500, 510)))
    await log.close()
  })

  test('a crash in any write leaves no half-applied entry: the rows are the fold of exactly the entries the marker counts', async () => {
    /** Every write the view makes (batch, put) counts; the `failAt`th throws as a crash would stop it. */
    class CrashingLevel extends MemoryLevel<any, any> {
      writes = 0
      failAt = Infinity
    }
    const base = MemoryLevel.prototype as any
    for (const method of ['_batch', '_put']) {
      (CrashingLevel.prototype as any)[method] = function (this: CrashingLevel, ...args: unknown[]) {
        if (++this.writes === this.failAt) return Promise.reject(new Error('crash'))
        return base[method].apply(this, args)
      }
    }
    const list = items(0, 300)
    for (let failAt = 1; failAt <= 8; failAt++) {
      const db = new CrashingLevel()
      const log = await openLog(db)
      await log.append(list)
      db.writes = 0
      db.failAt = failAt
      const view = new View(log, tally(), {slice: 37})
      const err = await failure(view)
      assert.match(err.message, /crash/)
      await view.close()
      const meta = await viewSublevel(log.db, log.address, 'tally').get('meta')
      const indexed = meta === undefined ? 0 : (JSON.parse(meta) as {indexed: number}).indexed
      const rows = await storedRows(log, 'tally')
      // Entry 0 is the log's Init, which the map skips.
      assert.deepEqual(rows, tallyOf(list.slice(0, Math.max(0, indexed - 1))), `crash at write ${failAt}, ${indexed} indexed`)
      db.failAt = Infinity
      const after = new View(log, tally())
      await after.ready()
      assert.deepEqual(await after.range(), tallyOf(list), `crash at write ${failAt}: folded on to the end`)
      await log.close()
    }
  })

  test('rebuild() sends every row of a live query as leave, then the rows again as they are folded', async () => {
    const log = await openLog()
    await log.append([{op: 'put', key: 'a', value: 1}, {op: 'put', key: 'b', value: 2}, {op: 'put', key: 'z', value: 3}])
    const view = new View(log, ops())
    const mirror = new Mirror()
    const diffs: ViewDiff[] = []
    const sub = view.subscribe({lt: 'c'}, d => {
      diffs.push(...d)
      mirror.apply(d)
    })
    await sub.ready
    await view.ready()
    diffs.length = 0
    await view.rebuild()
    assert.deepEqual(diffs.slice(0, 2), [{type: 'leave', key: 'a', old: 1}, {type: 'leave', key: 'b', old: 2}])
    assert.deepEqual(diffs.slice(2), [{type: 'enter', key: 'a', value: 1}, {type: 'enter', key: 'b', value: 2}])
    assert.deepEqual(mirror.problems, [])
    assert.deepEqual(mirror.list(), await view.range({lt: 'c'}))
    await log.close()
  })
})

describe('View: reading', () => {
  test('get, and range reads with gt/gte/lt/lte, limit and reverse', async () => {
    const log = await openLog()
    await log.append(Array.from({length: 20}, (_, i) => ({op: 'put', key: `k${String(i).padStart(2, '0')}`, value: {i}})))
    const view = new View(log, ops())
    await view.ready()
    const keys = async (range: ViewRange): Promise<string[]> => (await view.range(range)).map(r => r.key)
    const k = (i: number): string => `k${String(i).padStart(2, '0')}`
    const span = (from: number, to: number): string[] => Array.from({length: to - from + 1}, (_, i) => k(from + i))
    assert.deepEqual(await keys({}), span(0, 19))
    assert.deepEqual(await keys({gt: k(3), lt: k(7)}), span(4, 6))
    assert.deepEqual(await keys({gte: k(3), lte: k(7)}), span(3, 7))
    assert.deepEqual(await keys({gte: k(3), limit: 2}), span(3, 4))
    assert.deepEqual(await keys({lt: k(5), reverse: true}), span(0, 4).reverse())
    assert.deepEqual(await keys({gt: k(10), lte: k(15), reverse: true, limit: 3}), [k(15), k(14), k(13)])
    assert.deepEqual(await keys({limit: 0}), [])
    assert.deepEqual(await keys({gt: 'k', lt: 'k'}), [])
    assert.deepEqual(await view.get(k(12)), {i: 12})
    const streamed: string[] = []
    for await (const {key} of view.rows({gte: k(18)})) streamed.push(key)
    assert.deepEqual(streamed, [k(18), k(19)])
    // The progress marker is not a row.
    assert.equal(await view.get('meta'), undefined)
    await log.close()
  })

  test('range reads longer than one chunk of the store: every row once, in order, a limit exact, a loop left early', async () => {
    const log = await openLog()
    const total = 2500
    const k = (i: number): string => `k${String(i).padStart(4, '0')}`
    const span = (from: number, to: number): string[] => Array.from({length: to - from + 1}, (_, i) => k(from + i))
    await log.append(Array.from({length: total}, (_, i) => ({op: 'put', key: k(i), value: i})))
    const view = new View(log, ops())
    await view.ready()
    const rows = await view.range()
    assert.deepEqual(rows.map(r => r.key), span(0, total - 1))
    assert.deepEqual(rows.map(r => r.value), Array.from({length: total}, (_, i) => i))
    for (const limit of [99, 100, 101, 300, 1234, total, total + 1]) {
      assert.deepEqual((await view.range({limit})).map(r => r.key), span(0, Math.min(limit, total) - 1), `limit ${limit}`)
    }
    assert.deepEqual((await view.range({reverse: true, limit: 1500})).map(r => r.key), span(total - 1500, total - 1).reverse())
    assert.deepEqual((await view.range({gt: k(149), lte: k(2100)})).map(r => r.key), span(150, 2100))
    // A loop left early gets the rows up to there, in order (the generator's finally closes the store's iterator).
    let read = 0
    for await (const row of view.rows()) {
      assert.equal(row.key, k(read))
      if (++read === 250) break
    }
    assert.equal(read, 250)
    await log.close()
  })
})

describe('View: live queries', () => {
  test('a live query gets the range\'s rows as enters, then exact enter, change and leave diffs of keys in the range only', async () => {
    const log = await openLog()
    await log.append([{op: 'put', key: 'a', value: 0}, {op: 'put', key: 'b0', value: 0}, {op: 'put', key: 'c', value: 0}])
    const view = new View(log, ops())
    await view.ready()
    const got: ViewDiff[][] = []
    const sub = view.subscribe({gte: 'b', lt: 'c'}, diffs => got.push(diffs))
    await sub.ready
    assert.deepEqual(got, [[{type: 'enter', key: 'b0', value: 0}]])
    const step = async (op: Op): Promise<ViewDiff[][]> => {
      got.length = 0
      await log.append(op)
      await view.ready()
      return [...got]
    }
    assert.deepEqual(await step({op: 'put', key: 'b1', value: {x: 1}}), [[{type: 'enter', key: 'b1', value: {x: 1}}]])
    assert.deepEqual(await step({op: 'put', key: 'b1', value: {x: 2}}), [[{type: 'change', key: 'b1', value: {x: 2}, old: {x: 1}}]])
    assert.deepEqual(await step({op: 'put', key: 'b1', value: {x: 2}}), [], 'the same value again is no change')
    assert.deepEqual(await step({op: 'put', key: 'a', value: 1}), [], 'below the range')
    assert.deepEqual(await step({op: 'put', key: 'c', value: 1}), [], 'lt is exclusive')
    assert.deepEqual(await step({op: 'del', key: 'b1'}), [[{type: 'leave', key: 'b1', old: {x: 2}}]])
    assert.deepEqual(await step({op: 'del', key: 'b1'}), [], 'deleting what is not there')
    sub.close()
    assert.deepEqual(await step({op: 'put', key: 'b2', value: 1}), [], 'closed')
    await log.close()
  })

  test('entries of one slice touching one key give one diff, from the value before the slice to the value after', async () => {
    const log = await openLog()
    const view = new View(log, ops())
    await view.ready()
    const got: ViewDiff[] = []
    await view.subscribe({}, diffs => got.push(...diffs)).ready
    await log.append([{op: 'put', key: 'x', value: 1}, {op: 'put', key: 'x', value: 2}, {op: 'put', key: 'y', value: 1}, {op: 'del', key: 'y'}])
    await view.ready()
    assert.deepEqual(got, [{type: 'enter', key: 'x', value: 2}])
    got.length = 0
    await log.append([{op: 'put', key: 'x', value: 3}, {op: 'put', key: 'x', value: 2}])
    await view.ready()
    assert.deepEqual(got, [], 'changed and changed back within the slice')
    await log.close()
  })

  test('range bounds compare by code point, as the store orders keys: past U+FFFF sorts after U+FFFF; a live query holds what range() reads', async () => {
    const log = await openLog()
    const view = new View(log, ops())
    await view.ready()
    const ranges: ViewRange[] = [
      {gt: '\uffff'}, {gte: '\uffff'}, {lt: '\uffff'}, {lte: '\uffff'},
      {gt: '\ue000', lt: '\u{1f600}'}, {gte: '\ue000', lte: '\u{1f600}'}, {gt: '\u{1f600}'}, {lt: '\u{10000}'},
      // Both bounds of a side: gt and lt count, as range() reads it.
      {gt: 'a', gte: '\uffff', lt: '\u{10ffff}', lte: '\ue000'},
    ]
    const mirrors = ranges.map(range => {
      const mirror = new Mirror()
      view.subscribe(range, mirror.apply)
      return mirror
    })
    const keys = ['a', '\ue000', '\uffff', '\u{10000}', '\u{1f600}', '\u{1f600}x', '\u{10ffff}']
    await log.append(keys.map((key, i) => ({op: 'put', key, value: i})))
    await view.ready()
    for (const [i, range] of ranges.entries()) {
      const stored = await view.range(range)
      assert.deepEqual(mirrors[i].problems, [], JSON.stringify(range))
      assert.deepEqual(mirrors[i].list(), stored, JSON.stringify(range))
    }
    assert.deepEqual((await view.range({gt: '\uffff'})).map(r => r.key), ['\u{10000}', '\u{1f600}', '\u{1f600}x', '\u{10ffff}'])
    await log.close()
  })

  test('subscribing while a slice is being folded misses and doubles nothing', async () => {
    const log = await openLog()
    const list: Op[] = Array.from({length: 400}, (_, i) => (i % 5 === 4 ? {op: 'del', key: `k${(i * 7) % 40}`} : {op: 'put', key: `k${(i * 3) % 40}`, value: i}))
    await log.append(list)
    const held = gate()
    let reached!: () => void
    const atGate = new Promise<void>(resolve => { reached = resolve })
    const base = ops()
    const view = new View(log, {
      ...base,
      async map(entry, reader) {
        if (entry.kind === EntryKind.Json && (readValue(entry) as {value?: number}).value === 201) {
          reached()
          await held.promise
        }
        return base.map(entry, reader)
      },
    }, {slice: 16})
    await atGate
    const mirror = new Mirror()
    const sub = view.subscribe({gte: 'k1', lt: 'k3'}, mirror.apply)
    const whole = new Mirror()
    const all = view.subscribe({}, whole.apply)
    held.open()
    await Promise.all([sub.ready, all.ready])
    await view.ready()
    assert.deepEqual(mirror.problems, [])
    assert.deepEqual(whole.problems, [])
    assert.deepEqual(mirror.list(), await view.range({gte: 'k1', lt: 'k3'}))
    assert.deepEqual(whole.list(), await view.range())
    await log.close()
  })

  test('a listener that throws (a live query\'s, change, error) stops nothing: its error is reported, the view goes on', {timeout: 60_000}, async () => {
    const log = await openLog()
    const view = new View(log, ops())
    await view.ready()
    const thrown: unknown[] = []
    // The view reports a listener's error as the host reports an event listener's: thrown again in a microtask.
    const queue = globalThis.queueMicrotask
    globalThis.queueMicrotask = callback => queue(() => {
      try {
        callback()
      } catch (err) {
        thrown.push(err)
      }
    })
    try {
      const boom = new Error('listener bug')
      const bang = new Error('change listener bug')
      view.subscribe({}, () => { throw boom })
      view.on('change', () => { throw bang })
      const mirror = new Mirror()
      view.subscribe({}, mirror.apply)
      await log.append({op: 'put', key: 'a', value: 1})
      await view.ready()
      await log.append({op: 'put', key: 'b', value: 2})
      await view.ready()
      assert.deepEqual(mirror.problems, [])
      assert.deepEqual(mirror.list(), [{key: 'a', value: 1}, {key: 'b', value: 2}])
      assert.equal(view.stats.failed, false)
      assert.deepEqual(thrown, [bang, boom, bang, boom])

      // An error listener that throws: the failure stands as it is, and rebuild() folds again.
      thrown.length = 0
      let broken = true
      const failing = new View(log, {...ops('failing'), map: entry => {
        if (broken && entry.kind === EntryKind.Json) throw new Error('map bug')
        return ops().map(entry, {get: async () => undefined})
      }})
      const oops = new Error('error listener bug')
      failing.on('error', () => { throw oops })
      await assert.rejects(failing.ready(), {code: 'ERR_VIEW_FAILED'})
      await until(() => thrown.length > 0, 'the error listener\'s error reported')
      assert.deepEqual(thrown, [oops])
      broken = false
      await failing.rebuild()
      assert.deepEqual(await failing.range(), [{key: 'a', value: 1}, {key: 'b', value: 2}])
    } finally {
      globalThis.queueMicrotask = queue
    }
    await log.close()
  })

  test('a map that changes the value it read gets a fresh copy on every read: diffs and rows as if each entry were folded alone', async () => {
    const log = await openLog()
    // The map pushes onto the list it read: the object it gets must not be the one the view keeps.
    const lists: ViewDefinition = {
      name: 'lists',
      version: 1,
      async map(entry, view) {
        if (entry.kind !== EntryKind.Json) return
        const {tag, n} = readValue(entry) as Item
        const list = (await view.get(tag) as number[] | undefined) ?? []
        list.push(n)
        const again = (await view.get(tag) as number[] | undefined) ?? []
        return [{type: 'put', key: tag, value: list}, {type: 'put', key: `${tag}-before`, value: again}]
      },
    }
    await log.append([{tag: 'a', n: 0}, {tag: 'b', n: 1}])
    const view = new View(log, lists)
    const got: ViewDiff[] = []
    await view.subscribe({}, diffs => got.push(...diffs)).ready
    await view.ready()
    got.length = 0
    await log.append({tag: 'a', n: 2})
    await view.ready()
    assert.deepEqual(got, [
      {type: 'change', key: 'a', value: [0, 2], old: [0]},
      {type: 'change', key: 'a-before', value: [0], old: []},
    ])
    await log.append([{tag: 'a', n: 3}, {tag: 'a', n: 4}, {tag: 'b', n: 5}])
    await view.ready()
    const one = new View(log, {...lists, name: 'one-a-slice'}, {slice: 1})
    await one.ready()
    assert.deepEqual(await view.range(), await one.range())
    assert.deepEqual(await view.get('a'), [0, 2, 3, 4])
    await log.close()
  })
})

describe('View: failures', () => {
  test('two views on one log, one map throws: the other finishes; the failing one reports ERR_VIEW_FAILED with the cause, and rebuild() with the fixed map recovers', async () => {
    const log = await openLog()
    await log.append(items(0, 500))
    const bug = new Error('map bug')
    let broken = true
    const failing = new View(log, tally('failing', item => {
      if (broken && item.n === 321) throw bug
    }), {slice: 50})
    const other = new View(log, tally('other'), {slice: 50})
    const err = await failure(failing)
    assert.equal(err.code, 'ERR_VIEW_FAILED')
    assert.equal(err.cause, bug)
    await assert.rejects(failing.ready(), (e: P2PError) => e === err)
    assert.equal(failing.stats.failed, true)
    assert.ok(failing.stats.indexed <= 322, 'stopped at the slice holding the failing entry')
    assert.deepEqual(await failing.range(), tallyOf(items(0, failing.stats.indexed - 1)), 'what it wrote before stays whole')
    await other.ready()
    assert.deepEqual(await other.range(), tallyOf(items(0, 500)))
    // A failed view folds nothing more, even on the log's next update.
    await log.append(items(500, 510))
    await other.ready()
    assert.equal(failing.stats.failed, true)
    await assert.rejects(failing.ready(), (e: P2PError) => e === err)

    broken = false
    await failing.rebuild()
    assert.equal(failing.stats.failed, false)
    assert.deepEqual(await failing.range(), tallyOf(items(0, 510)))
    await log.close()
  })

  test('a map that returns what is not rows fails the view with ERR_VIEW_FAILED', async () => {
    const circular: Record<string, unknown> = {}
    circular.self = circular
    const bad: Array<[string, unknown]> = [
      ['not an array', {type: 'put', key: 'a', value: 1}],
      ['null', null],
      ['a row of another type', [{type: 'upsert', key: 'a', value: 1}]],
      ['a row that is not an object', ['a']],
      ['a key that is not a string', [{type: 'put', key: 7, value: 1}]],
      ['a key over 1024 characters', [{type: 'put', key: 'k'.repeat(1025), value: 1}]],
      ['an undefined value', [{type: 'put', key: 'a', value: undefined}]],
      ['a function', [{type: 'put', key: 'a', value: () => 1}]],
      ['a circular value', [{type: 'put', key: 'a', value: circular}]],
      ['a bigint', [{type: 'put', key: 'a', value: 1n}]],
    ]
    const log = await openLog()
    await log.append({n: 1})
    for (const [what, rows] of bad) {
      const view = new View(log, {name: 'bad', version: 1, map: entry => (entry.kind === EntryKind.Json ? rows as never : undefined)})
      const err = await failure(view)
      assert.equal(err.code, 'ERR_VIEW_FAILED', what)
      assert.equal(view.stats.failed, true, what)
      assert.deepEqual(await view.range(), [], `${what}: nothing written`)
      await view.close()
    }
    const fine = new View(log, {name: 'fine', version: 1, map: () => [{type: 'put', key: 'k'.repeat(1024), value: null}, {type: 'del', key: 'gone'}]})
    await fine.ready()
    assert.deepEqual(await fine.range(), [{key: 'k'.repeat(1024), value: null}])
    await log.close()
  })

  test('storage full: ERR_STORAGE_FULL, what was written stays, and the log\'s next update resumes the fold', async () => {
    class FullLevel extends MemoryLevel<any, any> {
      full = false
    }
    const base = MemoryLevel.prototype as any
    ;(FullLevel.prototype as any)._batch = function (this: FullLevel, ...args: unknown[]) {
      if (this.full) return Promise.reject(Object.assign(new Error('quota exceeded'), {name: 'QuotaExceededError'}))
      return base._batch.apply(this, args)
    }
    const db = new FullLevel()
    const log = await openLog(db)
    await log.append(items(0, 100))
    const view = new View(log, tally(), {slice: 10})
    view.on('progress', ({indexed}) => {
      if (indexed === 30) db.full = true
    })
    const err = await failure(view)
    assert.equal(err.code, 'ERR_STORAGE_FULL')
    assert.equal(view.stats.indexed, 30)
    assert.equal(view.stats.failed, false)
    assert.deepEqual(await view.range(), tallyOf(items(0, 29)))
    const ready = view.ready()
    db.full = false
    await log.append(items(100, 101))
    await ready
    await view.ready()
    assert.deepEqual(await view.range(), tallyOf(items(0, 101)))
    await log.close()
  })
})

describe('View: lifecycle and arguments', () => {
  test('close() rejects a waiting ready() with ERR_DESTROYED and stops following the log', async () => {
    const log = await openLog()
    const listeners = log.listenerCount('update')
    const held = gate()
    let reached!: () => void
    const atGate = new Promise<void>(resolve => { reached = resolve })
    const view = new View(log, tally('tally', () => {
      reached()
      return held.promise
    }))
    await log.append(items(0, 5))
    await atGate
    const ready = view.ready()
    // The view is open and its slice waits at the gate: ready() registers its wait within microtasks, all run before this.
    await new Promise(resolve => setImmediate(resolve))
    const closed = view.close()
    await assert.rejects(ready, {code: 'ERR_DESTROYED'})
    held.open()
    await closed
    assert.equal(log.listenerCount('update'), listeners)
    const indexed = view.stats.indexed
    const sentinel = new View(log, tally('sentinel'))
    await log.append(items(5, 10))
    await sentinel.ready()
    assert.equal(view.stats.indexed, indexed)
    await assert.rejects(view.ready(), {code: 'ERR_DESTROYED'})
    await assert.rejects(view.rebuild(), {code: 'ERR_DESTROYED'})
    await view.close()
    await log.close()
  })

  test('the log\'s close closes the view', async () => {
    const log = await openLog()
    const view = new View(log, tally())
    await view.ready()
    const closed = once(view, 'close')
    await log.close()
    await closed
    await assert.rejects(view.ready(), {code: 'ERR_DESTROYED'})
  })

  test('invalid names, versions, options and ranges are ERR_INVALID_ARGUMENT', async () => {
    const log = await openLog()
    const map = (): undefined => undefined
    const bad: Array<[unknown, ViewOptions?]> = [
      [{name: '', version: 1, map}], [{name: '-x', version: 1, map}], [{name: 'a/b', version: 1, map}],
      [{name: 'a'.repeat(65), version: 1, map}], [{name: 7, version: 1, map}], [{name: 'a b', version: 1, map}],
      [{name: 'v', version: 0, map}], [{name: 'v', version: 1.5, map}], [{name: 'v', version: '1', map}], [{name: 'v', version: -1, map}],
      [{name: 'v', version: 1}], [{name: 'v', version: 1, map: 'rows'}], [undefined],
      [{name: 'v', version: 1, map}, {slice: 0}], [{name: 'v', version: 1, map}, {slice: 1.5}],
      [{name: 'v', version: 1, map}, {sliceMs: 0}], [{name: 'v', version: 1, map}, {sliceMs: Number.NaN}],
    ]
    for (const [definition, options] of bad) {
      assert.throws(() => new View(log, definition as ViewDefinition, options), {code: 'ERR_INVALID_ARGUMENT'}, JSON.stringify([definition, options]))
    }
    const view = new View(log, {name: 'a'.repeat(64), version: 1, map})
    assert.throws(() => view.subscribe({limit: 5}, () => {}), {code: 'ERR_INVALID_ARGUMENT'})
    assert.throws(() => view.subscribe({gt: 5 as never}, () => {}), {code: 'ERR_INVALID_ARGUMENT'})
    assert.throws(() => view.subscribe({}, 'listener' as never), {code: 'ERR_INVALID_ARGUMENT'})
    await assert.rejects(view.range({limit: -1}), {code: 'ERR_INVALID_ARGUMENT'})
    await assert.rejects(view.range({lte: null as never}), {code: 'ERR_INVALID_ARGUMENT'})
    await assert.rejects(view.get(5 as never), {code: 'ERR_INVALID_ARGUMENT'})
    await log.close()
  })
})

describe('View: one View of a name at a time', () => {
  test('a second View of the same name on the same database is refused until the first is closed', async () => {
    const db = new MemoryLevel()
    const log = await openLog(db)
    await log.append(items(0, 300))
    const first = new View(log, tally(), {slice: 10})
    // The same log opened twice on one database is the same sublevel too.
    const twin = await openLog(db)
    assert.throws(() => new View(log, tally()), {code: 'ERR_INVALID_ARGUMENT'})
    assert.throws(() => new View(twin, tally()), {code: 'ERR_INVALID_ARGUMENT'})
    const other = new View(log, tally('other'))
    await Promise.all([first.ready(), other.ready()])
    await first.close()
    const second = new View(twin, tally())
    await twin.append(items(300, 310))
    await second.ready()
    assert.deepEqual(await second.range(), tallyOf(items(0, 310)))
    await log.close()
    await twin.close()
  })

  test('a View of the name made while the last one closes in the middle of a slice opens once that slice is written, and folds on from it', async () => {
    const log = await openLog()
    await log.append(items(0, 50))
    const held = gate()
    let reached!: () => void
    const atGate = new Promise<void>(resolve => { reached = resolve })
    const first = new View(log, tally('tally', item => {
      if (item.n !== 20) return
      reached()
      return held.promise
    }), {slice: 1000})
    await atGate
    const closing = first.close()
    const next = new View(log, tally())
    held.open()
    await closing
    assert.equal(first.stats.indexed, 51, 'the slice in progress was written whole')
    await log.append(items(50, 60))
    await next.ready()
    assert.deepEqual(await next.range(), tallyOf(items(0, 60)))
    await log.close()
  })

  test('Views of one name made and closed while the first still writes its last slice wait for it, in turn', async () => {
    const log = await openLog()
    await log.append(items(0, 50))
    const held = gate()
    let reached!: () => void
    const atGate = new Promise<void>(resolve => { reached = resolve })
    const first = new View(log, tally('tally', item => {
      if (item.n !== 20) return
      reached()
      return held.promise
    }), {slice: 1000, clock: frozen})
    await atGate
    const closings = [first.close()]
    // Of another version: had it opened, it would have cleared the rows.
    const second = new View(log, {...tally(), version: 2})
    closings.push(second.close())
    const third = new View(log, tally())
    held.open()
    await Promise.all(closings)
    await third.ready()
    assert.equal(third.stats.slices, 0, 'the first View folded every entry: nothing to fold again')
    assert.deepEqual(await third.range(), tallyOf(items(0, 50)))
    await log.close()
  })
})

describe('View: slices', () => {
  test('keys(): the rows a slice\'s maps will read are fetched beforehand, in one read; nothing else is read unless someone listens for diffs', async () => {
    /** Counts reads of one record and of many at once. */
    class CountingLevel extends MemoryLevel<any, any> {
      gets = 0
      getManys = 0
    }
    const base = MemoryLevel.prototype as any
    Object.assign(CountingLevel.prototype, {
      _get(this: CountingLevel, ...args: unknown[]) {
        this.gets++
        return base._get.apply(this, args)
      },
      _getMany(this: CountingLevel, ...args: unknown[]) {
        this.getManys++
        return base._getMany.apply(this, args)
      },
    })
    const db = new CountingLevel()
    const log = await openLog(db)
    await log.append(items(0, 500))
    const reads = async (view: View): Promise<{gets: number, getManys: number}> => {
      const before = {gets: db.gets, getManys: db.getManys}
      await view.ready()
      return {gets: db.gets - before.gets, getManys: db.getManys - before.getManys}
    }
    const keys = (entry: Entry): string[] => (entry.kind === EntryKind.Json ? [`count!${(readValue(entry) as Item).tag}`] : [])
    // The log's own reads (its entries) come from its memory of the last 16,384 entries: none here.
    const plain = new View(log, tally('plain'), {slice: 100, clock: frozen})
    // Its marker, then each count once: the view keeps the rows it read and wrote from slice to slice.
    assert.deepEqual(await reads(plain), {gets: 1 + 7, getManys: 0})
    const prefetched = new View(log, {...tally('prefetched'), keys}, {slice: 100, clock: frozen})
    assert.deepEqual(await reads(prefetched), {gets: 1, getManys: 1}, 'its marker, then one read of the 7 counts')
    assert.deepEqual(await prefetched.range(), await plain.range())
    // A listener needs every written row as it was: the n! rows the maps never read are read too.
    const listened = new View(log, {...tally('listened'), keys}, {slice: 100, clock: frozen})
    const diffs: ViewDiff[] = []
    listened.on('change', d => diffs.push(...d))
    assert.deepEqual(await reads(listened), {gets: 1 + 500, getManys: 1})
    assert.equal(diffs.length, 500 + 5 * 7 + 1, "an enter per n! row, a diff per count and slice")
    // More keys than one read takes (256): read in chunks, each its own read (a task of its own in a page).
    const many = (entry: Entry): string[] => (entry.kind === EntryKind.Json ? [`n!${(readValue(entry) as Item).n}`, `count!${(readValue(entry) as Item).tag}`] : [])
    const chunked = new View(log, {...tally('chunked'), keys: many}, {slice: 400, clock: frozen})
    // Slice 1: 399 entries' 399 n! rows and 7 counts (406 keys: 2 reads); slice 2: 101 n! rows (the counts are kept): 1 read.
    assert.deepEqual(await reads(chunked), {gets: 1, getManys: 2 + 1})
    assert.deepEqual(await chunked.range(), await plain.range())
    await log.close()
  })

  test('rows kept in memory between slices are dropped past their bound and read again, true to the store', async () => {
    const log = await openLog()
    // 5,000 counts and 6,000 entry rows, more than the view keeps: the counts of the last 1,000 entries were dropped by then.
    const list = Array.from({length: 6000}, (_, n) => ({tag: `k${n % 5000}`, n}))
    await log.append(list)
    const view = new View(log, tally(), {clock: frozen})
    await view.ready()
    assert.deepEqual(await view.range(), tallyOf(list))
    await log.close()
  })

  test('a slice ends once sliceMs has passed on the view\'s clock', async () => {
    let now = 0
    const clock: Clock = {...systemClock, now: () => now}
    const log = await openLog()
    await log.append(items(0, 100))
    // Each entry takes 1 ms of the view's clock: 8 entries to a slice of 8 ms.
    const view = new View(log, tally('tally', () => { now++ }), {sliceMs: 8, clock})
    const progress: number[] = []
    view.on('progress', ({indexed}) => progress.push(indexed))
    await view.ready()
    // Init takes no time (the map returns before the gate): the first slice holds it and 8 items.
    assert.deepEqual(progress, [...Array.from({length: 12}, (_, i) => 9 + 8 * i), 101])
    assert.equal(view.stats.slices, 13)
    assert.deepEqual(await view.range(), tallyOf(items(0, 100)))
    await log.close()
  })

  test('a slice ends once it has written 512 rows, after the entry that reached them', async () => {
    const log = await openLog()
    await log.append(Array.from({length: 30}, (_, n) => ({tag: 'wide', n})))
    // 100 rows an entry: the sixth entry of a slice takes it past 512.
    const wide: ViewDefinition = {
      name: 'wide',
      version: 1,
      map: entry => (entry.kind === EntryKind.Json
        ? Array.from({length: 100}, (_, i) => ({type: 'put', key: `${pad((readValue(entry) as Item).n)}!${i}`, value: i}))
        : undefined),
    }
    const view = new View(log, wide, {clock: frozen})
    const progress: number[] = []
    view.on('progress', ({indexed}) => progress.push(indexed))
    await view.ready()
    assert.deepEqual(progress, [7, 13, 19, 25, 31], 'Init and 6 entries, then 6 a slice')
    assert.equal((await view.range()).length, 3000)
    await log.close()
  })

  test('the event loop gets a turn between slices: callbacks queued while indexing run before it ends', async () => {
    const log = await openLog()
    await log.append(items(0, 200))
    const ran: Record<string, number> = {}
    let view!: View
    view = new View(log, tally('tally', item => {
      if (item.n !== 0) return
      setImmediate(() => { ran.immediate = view.stats.indexed })
      setTimeout(() => { ran.timer = view.stats.indexed }, 0)
    }), {slice: 4})
    await view.ready()
    assert.ok(ran.immediate !== undefined && ran.immediate < 201, `setImmediate ran at ${ran.immediate}`)
    assert.ok(ran.timer !== undefined && ran.timer < 201, `the timer ran at ${ran.timer}`)
    await log.close()
  })
})

describe('yieldToEventLoop', () => {
  /** Yields until a callback queued by `queue` has run; the count of yields it took, or Infinity if it never ran. */
  async function yieldsUntil(queue: (callback: () => void) => void): Promise<number> {
    let ran = false
    queue(() => { ran = true })
    for (let n = 1; n <= 10_000; n++) {
      await yieldToEventLoop()
      if (ran) return n
    }
    return Infinity
  }

  test('each way of yielding lets queued tasks run: scheduler.yield, a message port, a timer', async () => {
    const globals = globalThis as {scheduler?: {yield?: () => Promise<void>}, MessageChannel?: typeof MessageChannel}
    const {scheduler, MessageChannel: Channel} = globals
    try {
      assert.ok(await yieldsUntil(setImmediate) < Infinity, 'a message port (Node has it)')
      let calls = 0
      globals.scheduler = {yield: () => new Promise(resolve => { calls++; setTimeout(resolve, 0) })}
      assert.ok(await yieldsUntil(setImmediate) < Infinity, 'scheduler.yield')
      assert.ok(calls > 0, 'scheduler.yield is used where the platform has it')
      globals.scheduler = scheduler
      delete globals.MessageChannel
      assert.ok(await yieldsUntil(setImmediate) < Infinity, 'a timer')
    } finally {
      globals.scheduler = scheduler
      globals.MessageChannel = Channel
    }
  })
})
