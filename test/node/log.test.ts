import {describe, test} from 'node:test'
import assert from 'node:assert/strict'
import {MemoryLevel} from 'memory-level'
import {KeyPairIdentity} from '../../src/core/crypto/seed-identity.js'
import type {Identity} from '../../src/core/crypto/identity.js'
import {toHex, randomBytes} from '../../src/core/bytes.js'
import {EntryKind, authenticateRun, createEntry, decodeEntry, jsonValue, readValue, type Entry} from '../../src/core/log/entry.js'
import {Log, MAX_RUN} from '../../src/core/log/log.js'
import type {ForkEvidence, LogDatabase} from '../../src/core/log/store.js'
import {all} from '../shared/log-helpers.js'

const owner = new KeyPairIdentity(new Uint8Array(32).fill(1))
const writerX = new KeyPairIdentity(new Uint8Array(32).fill(2))
const writerY = new KeyPairIdentity(new Uint8Array(32).fill(3))

const memory = (): LogDatabase => new MemoryLevel()

async function openLog(db: LogDatabase, identity?: Identity, options: {key?: Uint8Array, open?: boolean, maxPending?: number} = {}): Promise<Log> {
  const log = new Log({db, key: options.key ?? owner.publicKey, identity, open: options.open, maxPending: options.maxPending})
  await log.ready()
  return log
}

/** An entry of the owner's log by `identity`, made by hand: what a remote peer could send. */
function make(identity: Identity, fields: {seq: number, prev?: Entry | null, links?: Entry[], kind?: EntryKind, value?: unknown}, sign = true): Promise<Entry> {
  return createEntry(owner.publicKey, {
    author: identity.publicKey,
    seq: fields.seq,
    prev: fields.prev?.hash ?? null,
    links: (fields.links ?? []).map(e => e.hash).sort((a, b) => Buffer.compare(a, b)),
    time: 1,
    kind: fields.kind ?? EntryKind.Json,
    value: fields.kind === EntryKind.Admit || fields.kind === EntryKind.Remove ? fields.value as Uint8Array : jsonValue(fields.value ?? 'x'),
  }, identity, {sign})
}

describe('Log: append and read', () => {
  test('the owner creates the log with Init; append, get, heads, length', async () => {
    const log = await openLog(memory(), owner)
    assert.equal(log.length, 1)
    const [init] = await all(log)
    assert.equal(init.kind, EntryKind.Init)
    const a = await log.append({text: 'hello'})
    assert.equal(log.length, 2)
    assert.deepEqual(log.heads(), [a.hash])
    assert.deepEqual(readValue((await log.get(a.hash))!), {text: 'hello'})
    assert.equal(await log.get(randomBytes(32)), undefined)
    const bytes = await log.append(Uint8Array.of(7, 8))
    assert.deepEqual(readValue((await log.get(bytes.hash))!), Uint8Array.of(7, 8))
    assert.equal(log.lengths().get(toHex(owner.publicKey)), 3)
    assert.ok(log.writable)
    await log.close()
  })

  test('iteration: since, limit, reverse', async () => {
    const log = await openLog(memory(), owner)
    await log.append([1, 2, 3, 4, 5])
    const values = (entries: Entry[]) => entries.map(e => readValue(e))
    assert.deepEqual(values(await all(log, {since: 1})), [1, 2, 3, 4, 5])
    assert.deepEqual(values(await all(log, {since: 2, limit: 2})), [2, 3])
    assert.deepEqual(values(await all(log, {reverse: true, limit: 3})), [5, 4, 3])
    const back = await all(log, {reverse: true, since: 2})
    assert.deepEqual(values(back.slice(0, 2)), [2, 1])
    assert.equal(back[2].kind, EntryKind.Init, 'reverse from index 2 ends at the Init')
    assert.equal(back.length, 3)
    await log.close()
  })

  test('a live iterator yields later entries as they are stored, and ends when the consumer breaks or the log closes', async () => {
    const log = await openLog(memory(), owner)
    const seen: unknown[] = []
    const reading = (async () => {
      for await (const {entry} of log.entries({since: 1, live: true})) {
        seen.push(readValue(entry))
        if (seen.length === 3) break
      }
    })()
    await log.append('a')
    await log.append(['b', 'c'])
    await reading
    assert.deepEqual(seen, ['a', 'b', 'c'])
    assert.equal(log.listenerCount('update'), 0)
    const ended = (async () => {
      for await (const _ of log.entries({since: 10, live: true})) assert.fail('nothing is stored there')
    })()
    await log.close()
    await ended
  })

  test('a batched append of 1000 values signs only the ends of runs; all are retrievable', async () => {
    const log = await openLog(memory(), owner)
    const values = Array.from({length: 1000}, (_, i) => i)
    const entries = await log.append(values)
    const signed = entries.flatMap((e, i) => e.signature ? [i] : [])
    assert.deepEqual(signed, [MAX_RUN - 1, 2 * MAX_RUN - 1, 3 * MAX_RUN - 1, 999])
    const stored = await all(log, {since: 1})
    assert.deepEqual(stored.map(e => readValue(e)), values)
    for (const e of entries) assert.ok(await log.get(e.hash))
    await log.close()
  })
})

/** The owner's log with X admitted, and the entries in order: [init, admit]. */
async function withWriter(db = memory()): Promise<{log: Log, init: Entry, admit: Entry}> {
  const log = await openLog(db, owner)
  const admit = await log.admit(writerX.publicKey)
  const [init] = await all(log)
  return {log, init, admit}
}

describe('Log: writers', () => {
  test('the owner admits X: X\'s entries that saw the admit are stored, on X\'s side and on the owner\'s', async () => {
    const {log, init, admit} = await withWriter()
    assert.deepEqual(log.writers(), new Set([toHex(owner.publicKey), toHex(writerX.publicKey)]))
    const xLog = await openLog(memory(), writerX)
    assert.equal(xLog.length, 0, 'only the owner creates the log')
    assert.equal(xLog.writable, false)
    await assert.rejects(xLog.append('too early'), {code: 'ERR_NOT_A_WRITER'})
    const {stored} = await xLog.add([init, admit], 'owner')
    assert.equal(stored.length, 2)
    assert.ok(xLog.writable)
    const x = await xLog.append('from X')
    const result = await log.add([x], 'x')
    assert.deepEqual(result.stored.map(e => toHex(e.hash)), [toHex(x.hash)])
    assert.deepEqual(result.rejected, [])
    assert.deepEqual(log.heads(), [x.hash])
  })

  test('an entry by X whose causal past lacks the admit is ERR_NOT_A_WRITER', async () => {
    const {log, init} = await withWriter()
    const x = await make(writerX, {seq: 0, links: [init]})
    const {stored, rejected} = await log.add([x], 'x')
    assert.deepEqual(stored, [])
    assert.equal(rejected[0].error.code, 'ERR_NOT_A_WRITER')
    assert.equal(log.stats.rejected, 1)
    assert.equal(await log.get(x.hash), undefined)
  })

  test('a removal applies to X\'s entries that saw it, not to concurrent ones', async () => {
    const {log, admit} = await withWriter()
    const removal = await log.remove(writerX.publicKey)
    assert.ok(!log.writers().has(toHex(writerX.publicKey)))
    const concurrent = await make(writerX, {seq: 0, links: [admit]})
    const after = await make(writerX, {seq: 1, prev: concurrent, links: [removal]})
    const {stored, rejected} = await log.add([concurrent, after], 'x')
    assert.deepEqual(stored.map(e => e.seq), [0])
    assert.equal(rejected.length, 1)
    assert.equal(rejected[0].error.code, 'ERR_NOT_A_WRITER')
  })

  test('an open log takes any key\'s entries, except a removed key\'s that saw the removal', async () => {
    const log = await openLog(memory(), owner, {open: true})
    assert.ok(log.open)
    const [init] = await all(log)
    const y = await make(writerY, {seq: 0, links: [init]})
    assert.equal((await log.add([y], 'y')).stored.length, 1)
    const removal = await log.remove(writerY.publicKey)
    const late = await make(writerY, {seq: 1, prev: y, links: [removal]})
    assert.equal((await log.add([late], 'y')).rejected[0].error.code, 'ERR_NOT_A_WRITER')
    const closed = await openLog(memory(), owner, {key: writerX.publicKey})
    assert.equal(closed.open, false, 'a log is closed unless its Init says so')
  })

  test('Admit, Remove and Init by anyone but the owner are rejected', async () => {
    const {log, admit} = await withWriter()
    const forged = await make(writerX, {seq: 0, links: [admit], kind: EntryKind.Admit, value: writerY.publicKey})
    assert.equal((await log.add([forged], 'x')).rejected[0].error.code, 'ERR_NOT_A_WRITER')
    assert.ok(!log.writers().has(toHex(writerY.publicKey)))
    const xLog = new Log({db: memory(), key: owner.publicKey, identity: writerX})
    await assert.rejects(xLog.admit(writerY.publicKey), {code: 'ERR_NOT_A_WRITER'})
  })
})

describe('Log: forks, pending, replays', () => {
  test('a second entry at (author, seq) is a fork: conflict with both, evidence stored, the author frozen, others unaffected', async () => {
    const {log, admit} = await withWriter()
    const first = await make(writerX, {seq: 0, links: [admit], value: 'one'})
    const second = await make(writerX, {seq: 0, links: [admit], value: 'two'})
    const next = await make(writerX, {seq: 1, prev: first, value: 'after'})
    await log.add([first], 'a')
    const conflicts: ForkEvidence[] = []
    log.on('conflict', evidence => conflicts.push(evidence))
    const result = await log.add([second], 'b')
    assert.equal(conflicts.length, 1)
    const [evidence] = conflicts
    assert.deepEqual(result.stored, [])
    assert.deepEqual(evidence.runs.map((run: Uint8Array[]) => run.map(toHex)), [[toHex(first.bytes)], [toHex(second.bytes)]])
    assert.equal(evidence.seq, 0)
    assert.equal((await log.forks()).length, 1)
    assert.deepEqual((await log.forks())[0].runs, evidence.runs)
    assert.equal(await log.get(second.hash), undefined)
    assert.equal((await log.add([next], 'a')).rejected[0].error.code, 'ERR_AUTHOR_FROZEN')
    const ownerEntry = await log.append('owner goes on')
    assert.ok(await log.get(ownerEntry.hash))
  })

  test('entries added out of order are stored once their links arrive', async () => {
    const source = await openLog(memory(), owner)
    await source.append(['a', 'b', 'c'])
    const entries = await all(source)
    const log = new Log({db: memory(), key: owner.publicKey})
    await log.ready()
    const reversed = [...entries].reverse()
    const first = await log.add(reversed.slice(0, 2), 'peer')
    assert.deepEqual(first.stored, [])
    assert.equal(first.pending, 2)
    assert.equal(log.stats.pending, 2)
    const rest = await log.add(reversed.slice(2), 'peer')
    assert.equal(rest.stored.length, 4, 'the two that waited, with the two that complete them')
    assert.equal(rest.pending, 0)
    assert.deepEqual((await all(log)).map(e => toHex(e.hash)), entries.map(e => toHex(e.hash)))
  })

  test('an entry waiting on two links waits for the second once the first arrives', async () => {
    const {log, init, admit} = await withWriter()
    const other = new Log({db: memory(), key: owner.publicKey})
    await other.add([init], 'p')
    const x0 = await make(writerX, {seq: 0, links: [admit]})
    const owner2 = await log.append('owner')
    const both = await make(writerX, {seq: 1, prev: x0, links: [owner2]})
    assert.equal((await other.add([both], 'p')).pending, 1)
    assert.equal((await other.add([admit, x0], 'q')).pending, 1, 'still waiting for the owner\'s entry')
    const done = await other.add([owner2], 'r')
    assert.deepEqual(done.stored.map(e => toHex(e.hash)), [owner2, both].map(e => toHex(e.hash)))
    assert.equal(other.stats.pending, 0)
  })

  test('entries of one call waiting on the same missing entry are all stored when it comes', async () => {
    const {log, init, admit} = await withWriter()
    const other = new Log({db: memory(), key: owner.publicKey})
    await other.add([init], 'p')
    const x0 = await make(writerX, {seq: 0, links: [admit]})
    const owner2 = await log.append('owner')
    assert.equal((await other.add([x0, owner2], 'p')).pending, 2)
    const done = await other.add([admit], 'q')
    assert.equal(done.stored.length, 3)
    assert.equal(other.stats.pending, 0)
  })

  test('the pending bound holds against a flood of dangling links: that source is misbehaving, others are served', async () => {
    const {log, admit} = await withWriter(memory())
    const bounded = new Log({db: memory(), key: owner.publicKey, maxPending: 8})
    await bounded.ready()
    const flood = await Promise.all(Array.from({length: 12}, (_, i) => createEntry(owner.publicKey, {
      author: writerY.publicKey, seq: 0, prev: null, links: [randomBytes(32)], time: i, kind: EntryKind.Json, value: jsonValue(i),
    }, writerY)))
    const attack = await bounded.add(flood, 'evil')
    assert.equal(attack.pending, 8)
    assert.equal(attack.rejected.length, 4)
    for (const {error} of attack.rejected) assert.equal(error.code, 'ERR_PEER_MISBEHAVING')
    const honest = await bounded.add(await all(log), 'good')
    assert.equal(honest.stored.length, 2)
    assert.deepEqual(bounded.heads(), [admit.hash])
  })

  test('replayed entries are no-ops', async () => {
    const source = await openLog(memory(), owner)
    await source.append(['a', 'b'])
    const entries = await all(source)
    const log = new Log({db: memory(), key: owner.publicKey})
    const updates: number[] = []
    log.on('update', e => updates.push(e.length))
    assert.equal((await log.add(entries, 'p')).stored.length, 3)
    const again = await log.add(entries, 'p')
    assert.deepEqual([again.stored, again.rejected, again.pending], [[], [], 0])
    assert.equal(log.length, 3)
    assert.deepEqual(updates, [3])
  })

  test('two logs over one database stay apart', async () => {
    const db = memory()
    const a = await openLog(db, owner)
    const b = await openLog(db, writerX, {key: writerX.publicKey})
    await a.append('in a')
    await b.append(['in b', 'in b too'])
    assert.deepEqual([a.length, b.length], [2, 3])
    assert.deepEqual((await all(a)).map(e => toHex(e.author)), [toHex(owner.publicKey), toHex(owner.publicKey)])
    const reopened = await openLog(db, undefined, {key: writerX.publicKey})
    assert.equal(reopened.length, 3)
  })
})

/** A memory-level database that counts reads (items, and calls: round trips in IndexedDB) and can be made to run out of space. */
class CountingLevel extends MemoryLevel<any, any> {
  reads = 0
  calls = 0
  /** Records written by batches. */
  puts = 0
  /** Each batch's options. */
  options: unknown[] = []
  full = false
}
// abstract-level's private hooks (_get, _getMany, _iterator, _keys, _values, _batch) are not in its typings: wrapped here.
const base = MemoryLevel.prototype as any
for (const kind of ['_iterator', '_keys', '_values']) {
  (CountingLevel.prototype as any)[kind] = function (this: CountingLevel, ...args: unknown[]) {
    const iterator = base[kind].apply(this, args)
    // Every item an iterator hands over counts as a read, however it is asked for.
    for (const name of ['_next', '_nextv', '_all']) {
      const read = iterator[name]
      iterator[name] = async (...rest: unknown[]) => {
        this.calls++
        const got = await read.apply(iterator, rest)
        this.reads += Array.isArray(got) && name !== '_next' ? got.length : got === undefined ? 0 : 1
        return got
      }
    }
    return iterator
  }
}
Object.assign(CountingLevel.prototype, {
  _get(this: CountingLevel, ...args: unknown[]) {
    this.reads++
    this.calls++
    return base._get.apply(this, args)
  },
  _getMany(this: CountingLevel, keys: unknown[], ...rest: unknown[]) {
    this.reads += keys.length
    this.calls++
    return base._getMany.call(this, keys, ...rest)
  },
  async _batch(this: CountingLevel, ...args: unknown[]) {
    if (this.full) throw Object.assign(new Error('quota exceeded'), {name: 'QuotaExceededError'})
    this.puts += (args[0] as unknown[]).length
    this.options.push(args[1])
    return base._batch.apply(this, args)
  },
})

describe('Log: storage', () => {
  test('opening reads only the state record, at any length', async () => {
    const reads = async (length: number): Promise<number> => {
      const db = new CountingLevel()
      const log = await openLog(db, owner)
      if (length > 1) await log.append(Array.from({length: length - 1}, (_, i) => i))
      await log.close()
      db.reads = 0
      const again = await openLog(db)
      assert.equal(again.length, length)
      return db.reads
    }
    const small = await reads(2)
    assert.equal(await reads(20_000), small)
    assert.equal(small, 1)
  })

  test('persists across close and reopen on LevelDB (classic-level)', async () => {
    const {mkdtemp, rm} = await import('node:fs/promises')
    const {tmpdir} = await import('node:os')
    const {join} = await import('node:path')
    const {openNodeDatabase} = await import('../../src/node/level.js')
    const dir = await mkdtemp(join(tmpdir(), 'p2p-log-'))
    try {
      let db = await openNodeDatabase(dir)
      const log = await openLog(db, owner)
      await log.admit(writerX.publicKey)
      const entries = await log.append(['a', 'b', 'c'])
      const heads = log.heads()
      await log.close()
      await db.close()
      db = await openNodeDatabase(dir)
      const again = await openLog(db, owner)
      assert.equal(again.length, 5)
      assert.deepEqual(again.heads(), heads)
      assert.ok(again.writers().has(toHex(writerX.publicKey)))
      assert.deepEqual((await all(again, {since: 2})).map(e => readValue(e)), ['a', 'b', 'c'])
      assert.deepEqual(readValue((await again.get(entries[1].hash))!), 'b')
      const d = await again.append('d')
      assert.deepEqual(d.prev, entries[2].hash, 'the next append follows on')
      assert.equal(d.seq, 5)
      await again.close()
      await db.close()
    } finally {
      await rm(dir, {recursive: true, force: true})
    }
  })

  test('a full disk fails the append and the add atomically with ERR_STORAGE_FULL; the next write after space returns succeeds', async () => {
    const db = new CountingLevel()
    const log = await openLog(db, owner)
    const before = await log.append('kept')
    const errors: string[] = []
    log.on('error', err => errors.push(err.code))
    db.full = true
    await assert.rejects(log.append(['x', 'y']), {code: 'ERR_STORAGE_FULL'})
    assert.deepEqual(errors, ['ERR_STORAGE_FULL'])
    assert.equal(log.stats.paused, true)
    assert.equal(log.length, 2)
    assert.deepEqual(log.heads(), [before.hash])
    const source = await openLog(memory(), writerY, {key: writerY.publicKey})
    await source.append('remote')
    await assert.rejects(new Log({db, key: writerY.publicKey}).add(await all(source), 'peer'), {code: 'ERR_STORAGE_FULL'})
    db.full = false
    const reopened = await openLog(db)
    assert.equal(reopened.length, 2, 'nothing half-written')
    assert.equal((await all(reopened)).length, 2)
    const after = await log.append('after')
    assert.equal(log.stats.paused, false)
    assert.equal(after.seq, 2)
    assert.deepEqual((await all(log, {since: 1})).map(e => readValue(e)), ['kept', 'after'])
  })

  test('its own appends are written durably (LevelDB sync, IndexedDB strict); what it receives is not', async () => {
    const db = new CountingLevel()
    const log = await openLog(db, owner)
    await log.append(['a', 'b'])
    const durable = (options: unknown): boolean => {
      const {sync, durability} = options as {sync?: boolean, durability?: string}
      return sync === true && durability === 'strict'
    }
    assert.equal(db.options.length, 2)
    assert.ok(db.options.every(durable), 'Init and the append')
    const replica = new CountingLevel()
    const other = new Log({db: replica, key: owner.publicKey})
    await other.add(await all(log), 'owner')
    assert.equal(other.length, 3)
    assert.equal(replica.options.length, 1)
    assert.ok(!durable(replica.options[0]))
  })

  test('stats: a fixed shape; persisted is null where there is no navigator.storage', async () => {
    const log = await openLog(memory(), owner)
    await log.append(['a', 'b'])
    assert.deepEqual(Object.keys(log.stats).sort(), ['authors', 'bytes', 'entries', 'overQuota', 'paused', 'peers', 'pending', 'persisted', 'rejected', 'verified'])
    assert.equal(log.stats.entries, 3)
    assert.equal(log.stats.authors, 1)
    assert.ok(log.stats.bytes > 0)
    assert.equal(log.stats.persisted, null)
  })
})

describe('Log: missing', () => {
  test('what a holder lacks, in local order, at most about limit per call, runs cut at signed entries', async () => {
    const log = await openLog(memory(), owner)
    await log.admit(writerX.publicKey)
    await log.append(Array.from({length: 300}, (_, i) => i))
    const remote = new Map([[toHex(owner.publicKey), 1]])
    const first = await log.missing(remote, 10)
    // Entries 2..256 form one run ending in the signed 256th of the batch: the answer cannot stop inside it.
    assert.equal(first.entries[0].seq, 1)
    assert.ok(first.entries.at(-1)!.signature, 'the answer ends at a signed entry')
    assert.deepEqual(first.entries.map(e => e.seq), Array.from({length: first.entries.length}, (_, i) => i + 1))
    const second = await log.missing(remote, 1000, first.cursor)
    assert.deepEqual([...first.entries, ...second.entries].map(e => e.seq), Array.from({length: 301}, (_, i) => i + 1))
    const done = await log.missing(new Map([[toHex(owner.publicKey), 302]]), 10)
    assert.deepEqual(done.entries, [])
  })
})

describe('Log: reading in batches', () => {
  test('indexOf() gives the local index of an author\'s entry, for two authors across writes and a reopen, and nothing for what is not stored', async () => {
    const db = memory()
    const {log, init, admit} = await withWriter(db)
    const xLog = await openLog(memory(), writerX)
    await xLog.add([init, admit], 'owner')
    const fromX = await xLog.append(['x0', 'x1', 'x2'])
    await log.append(['o2', 'o3'])
    await log.add(fromX, 'x')
    await log.append('o4')
    await log.close()
    const reopened = await openLog(db, owner)
    const order = await all(reopened)
    for (const [index, entry] of order.entries()) assert.equal(await reopened.indexOf(toHex(entry.author), entry.seq), index)
    assert.equal(await reopened.indexOf(toHex(writerX.publicKey), 3), undefined)
    assert.equal(await reopened.indexOf(toHex(owner.publicKey), reopened.lengths().get(toHex(owner.publicKey))!), undefined)
    assert.equal(await reopened.indexOf('cd'.repeat(32), 0), undefined)
  })

  test('missing() and entries() read storage a chunk at a time (one range read and one getMany), not once per entry', async () => {
    const db = new CountingLevel()
    const log = await openLog(db, owner)
    for (let i = 0; i < 3; i++) await log.append(Array.from({length: 1000}, (_, j) => i * 1000 + j))
    db.calls = 0
    let cursor = 0
    let sent = 0
    for (;;) {
      const answer = await log.missing(new Map(), 1024, cursor)
      if (answer.entries.length === 0) break
      sent += answer.entries.length
      cursor = answer.cursor
    }
    assert.equal(sent, 3001)
    // 3,001 entries in answers of about 1024: each answer reads a few records and one getMany.
    assert.ok(db.calls <= 24, `missing() made ${db.calls} reads`)
    db.calls = 0
    assert.equal((await all(log)).length, 3001)
    assert.ok(db.calls <= 16, `entries() made ${db.calls} reads`)
  })
})

describe('Log: writing few records', () => {
  test('a write puts a few records whatever its number of entries: blocks, one per author, its run of the hash index, the state', async () => {
    const db = new CountingLevel()
    const log = await openLog(db, owner)
    await log.admit(writerX.publicKey)
    db.puts = 0
    await log.append(Array.from({length: 1000}, (_, i) => i))
    // 1,000 entries of about 110 bytes: two blocks of 60 KiB, one a! record, the merged run's page put and the
    // older run's page deleted, m!state. A record per entry would be over a thousand.
    assert.ok(db.puts <= 8, `${db.puts} records for 1,000 entries`)
    const x = await openLog(new CountingLevel(), writerX)
    await x.add(await collect(log), 'owner')
    const xs = await x.append(Array.from({length: 10}, (_, i) => i))
    db.puts = 0
    await log.add(xs, 'x')
    // A block, an a! record, a page (and the pages of runs it merged with, deleted), m!state.
    assert.ok(db.puts <= 6, `${db.puts} records for 10 entries`)
  })

  test('get() finds every entry through the hash index after many writes of any size and a reopen, and nothing else', async () => {
    const db = new MemoryLevel()
    const log = await openLog(db, owner)
    const hashes: Uint8Array[] = [log.heads()[0]]
    for (const size of [1, 1500, 3, 1024, 700, ...Array.from({length: 40}, () => 1), 2, 300]) {
      for (const entry of await log.append(Array.from({length: size}, (_, i) => i))) hashes.push(entry.hash)
    }
    await log.close()
    // A new Log over the same database: nothing in memory, every lookup reads the index.
    const again = await openLog(db)
    for (const [i, hash] of hashes.entries()) {
      const entry = await again.get(hash)
      assert.ok(entry, `entry ${i} found`)
      assert.equal(entry.seq, i)
      assert.deepEqual(entry.hash, hash)
    }
    assert.equal(await again.get(randomBytes(32)), undefined)
    // The runs merge as they go: at most about log2 of the entries remain, so a lookup reads that many pages.
    const runs = (await db.keys({gte: '!log-' + toHex(owner.publicKey) + '!h!', lt: '!log-' + toHex(owner.publicKey) + '!h"'}).all())
      .map(key => key.split('!')[3])
    assert.ok(new Set(runs).size <= Math.ceil(Math.log2(hashes.length)), `${new Set(runs).size} runs for ${hashes.length} entries`)
  })

  test('a link to an entry written long before, met with nothing in memory, is found through the index', async () => {
    const db = new MemoryLevel()
    const log = await openLog(db, owner)
    await log.admit(writerX.publicKey)
    const old = await log.append('old')
    const x = await openLog(memory(), writerX)
    await x.add(await collect(log), 'owner')
    // X's first entry links to the owner's head then, 'old' (and has seen the admit); the owner writes on.
    const xs = await x.append('from x')
    assert.deepEqual(xs.links, [old.hash])
    for (let i = 0; i < 5; i++) await log.append(Array.from({length: 2000}, (_, j) => j))
    await log.close()
    const again = await openLog(db)
    const {stored, rejected} = await again.add([xs], 'x')
    assert.deepEqual(rejected, [])
    assert.equal(stored.length, 1)
    assert.deepEqual((await again.get(old.hash))?.seq, old.seq)
    // A prev that names a stored entry of another author is refused, found through the index too.
    const forged = await make(writerX, {seq: 2, prev: old})
    const result = await again.add([forged], 'x')
    assert.equal(result.rejected[0]?.error.code, 'ERR_HASH_MISMATCH')
  })

  test('iteration and appends find entries across the records of many writes of any size', async () => {
    const log = await openLog(memory(), owner)
    for (const size of [1, 1500, 3, 1024, 700, 1]) await log.append(Array.from({length: size}, (_, i) => i))
    const n = log.length
    assert.equal(n, 3230)
    // Owner-only: the entry at local index i is the owner's seq i.
    assert.deepEqual((await all(log)).map(e => e.seq), Array.from({length: n}, (_, i) => i))
    for (const since of [0, 1, 2, 1023, 1024, 1025, 1501, 1504, 2528, n - 1]) {
      for (const limit of [1, 5, 2000]) {
        const forward = (await all(log, {since, limit})).map(e => e.seq)
        assert.deepEqual(forward, Array.from({length: Math.min(limit, n - since)}, (_, i) => since + i), `since ${since} limit ${limit}`)
        const back = (await all(log, {since, limit, reverse: true})).map(e => e.seq)
        assert.deepEqual(back, Array.from({length: Math.min(limit, since + 1)}, (_, i) => since - i), `reverse since ${since} limit ${limit}`)
      }
    }
  })
})

async function collect(log: Log): Promise<Entry[]> {
  const out: Entry[] = []
  let cursor = 0
  for (;;) {
    const answer = await log.missing(new Map(), 1024, cursor)
    if (answer.entries.length === 0) return out
    out.push(...answer.entries)
    cursor = answer.cursor
  }
}

describe('Log: fork evidence', () => {
  test('each side of the evidence runs on to a signed entry', async () => {
    const {log, admit} = await withWriter()
    const a0 = await make(writerX, {seq: 0, links: [admit], value: 'a0'}, false)
    const a1 = await make(writerX, {seq: 1, prev: a0, value: 'a1'})
    const b0 = await make(writerX, {seq: 0, links: [admit], value: 'b0'}, false)
    const b1 = await make(writerX, {seq: 1, prev: b0, value: 'b1'})
    await log.add([a0, a1], 'a')
    const conflicts: ForkEvidence[] = []
    log.on('conflict', evidence => conflicts.push(evidence))
    await log.add([b0, b1], 'b')
    assert.equal(conflicts.length, 1)
    const [{runs}] = conflicts
    assert.deepEqual(runs.map((run: Uint8Array[]) => run.map(toHex)), [[a0, a1].map(e => toHex(e.bytes)), [b0, b1].map(e => toHex(e.bytes))])
    assert.equal(log.length, 4)
  })
})

describe('Log: missing, authenticateRun and add together', () => {
  /** What a replica does with the bytes of `missing`: decode, cut into author runs, authenticate each, add. */
  async function receive(log: Log, bytes: Uint8Array[]): Promise<void> {
    const decoded = bytes.map(b => decodeEntry(b))
    const runs: Array<typeof decoded> = []
    for (const entry of decoded) {
      const run = runs.at(-1)
      const last = run?.at(-1)
      if (run && last && toHex(last.author) === toHex(entry.author) && last.seq + 1 === entry.seq && !last.signature) run.push(entry)
      else runs.push([entry])
    }
    const entries = (await Promise.all(runs.map(run => authenticateRun(owner.publicKey, run)))).flat()
    const {rejected} = await log.add(entries, 'source')
    // Codes, not entries: a diff of entries' bytes takes node's assert minutes to print.
    assert.deepEqual(rejected.map(r => r.error.code), [])
  }

  test('a replica fed by missing() in small pieces ends with the same entries, heads and writers', async () => {
    const source = await openLog(memory(), owner, {open: true})
    await source.admit(writerX.publicKey)
    const xLog = await openLog(memory(), writerX)
    await xLog.add(await all(source), 'owner')
    await source.append(Array.from({length: 600}, (_, i) => i))
    await xLog.append(Array.from({length: 300}, (_, i) => `x${i}`))
    await source.add(await all(xLog, {since: 2}), 'x')
    await source.append('after both')
    const replica = new Log({db: memory(), key: owner.publicKey})
    // 905 entries in answers of about 50 (runs end signed, so some are longer): far fewer than 100 rounds.
    let cursor = 0
    for (let round = 0; round < 100; round++) {
      const answer = await source.missing(replica.lengths(), 50, cursor)
      if (answer.entries.length === 0) break
      await receive(replica, answer.entries.map(e => e.bytes))
      cursor = answer.cursor
    }
    assert.equal(replica.length, source.length)
    assert.deepEqual(replica.heads(), source.heads())
    assert.deepEqual(replica.lengths(), source.lengths())
    assert.equal(replica.open, true)
    assert.deepEqual(replica.writers(), source.writers())
    assert.deepEqual((await all(replica)).map(e => toHex(e.hash)), (await all(source)).map(e => toHex(e.hash)))
  })
})
