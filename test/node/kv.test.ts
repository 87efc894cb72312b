// The multi-value KV (src/core/kv/kv.ts): hyperkv's semantics over a multi-writer
// log, kept as a view: siblings kept side by side, merges, tombstones beside
// concurrent puts, the same rows on every replica in any causal order, and a
// hostile writer's broken entries passed over and counted.
import {describe, test} from 'node:test'
import assert from 'node:assert/strict'
import {MemoryLevel} from 'memory-level'
import {mkdtemp, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {openNodeDatabase} from '../../src/node/level.js'
import {KeyPairIdentity} from '../../src/core/crypto/seed-identity.js'
import type {Identity} from '../../src/core/crypto/identity.js'
import {toHex} from '../../src/core/bytes.js'
import {Mux, createMemoryTransportPair} from '../../src/core/mux/index.js'
import {Log} from '../../src/core/log/log.js'
import type {LogDatabase} from '../../src/core/log/store.js'
import {LogPeer} from '../../src/core/log/replicate.js'
import {logProtocol} from '../../src/core/log/swarm.js'
import {KV, MAX_KV_HEADS, MAX_KV_KEY_LENGTH, type KvChange} from '../../src/core/kv/kv.js'
import type {P2PError} from '../../src/core/errors.js'
import {all, same, whenLog} from '../shared/log-helpers.js'

const owner = new KeyPairIdentity(new Uint8Array(32).fill(7))
const alice = new KeyPairIdentity(new Uint8Array(32).fill(8))
const bob = new KeyPairIdentity(new Uint8Array(32).fill(9))
const quiet = {pingInterval: 0, timeout: 0}

/** A replica of the owner's open log, written as `identity`, with its KV. */
async function replica(identity: Identity, db: LogDatabase = new MemoryLevel()): Promise<{log: Log, kv: KV}> {
  const log = new Log({db, key: owner.publicKey, identity, open: true})
  await log.ready()
  return {log, kv: new KV(log)}
}

/** The owner's log, then `n` more replicas that hold its Init (so they may write: it is open). */
async function replicas(...identities: Identity[]): Promise<Array<{log: Log, kv: KV}>> {
  const first = await replica(owner)
  const rest = await Promise.all(identities.map(identity => replica(identity)))
  const init = await all(first.log)
  for (const r of rest) await r.log.add(init, 'owner')
  return [first, ...rest]
}

/** Live replication between two logs over a real mux on an in-memory transport, until `cut()`. */
function link(x: Log, y: Log): {cut: () => void} {
  const [tx, ty] = createMemoryTransportPair()
  const [mx, my] = [new Mux(tx, quiet), new Mux(ty, quiet)]
  const channel = logProtocol(toHex(owner.publicKey))
  new LogPeer({log: x, source: 'y', open: handlers => mx.channel(channel, handlers)})
  new LogPeer({log: y, source: 'x', open: handlers => my.channel(channel, handlers)})
  return {cut: () => mx.destroy()}
}

/** Both logs hold the same entries and both KVs have folded them. */
async function synced(a: {log: Log, kv: KV}, b: {log: Log, kv: KV}): Promise<void> {
  // Checked on either log's updates: whichever stores last makes them the same.
  await Promise.race([whenLog(a.log, () => same(a.log, b.log)), whenLog(b.log, () => same(a.log, b.log))])
  await Promise.all([a.kv.ready(), b.kv.ready()])
}

/** Every row of the KV's view: what a rebuild or another replica must give again. */
async function rowsOf(kv: KV): Promise<Array<{key: string, value: unknown}>> {
  await kv.ready()
  return kv.view.range()
}

describe('KV: one writer', () => {
  test('put, get, values, del; a key never written has no heads', async () => {
    const [{kv}] = await replicas()
    assert.deepEqual(await kv.get('title'), [])
    const first = await kv.put('title', {text: 'hello'})
    const heads = await kv.get('title')
    assert.deepEqual(heads, [{hash: toHex(first.hash), author: toHex(owner.publicKey), seq: first.seq, time: first.time, value: {text: 'hello'}}])
    await kv.put('title', 'again')
    assert.deepEqual(await kv.values('title'), ['again'])
    assert.deepEqual(await kv.conflicts(), [])
    const tomb = await kv.del('title')
    assert.deepEqual(await kv.get('title'), [{hash: toHex(tomb.hash), author: toHex(owner.publicKey), seq: tomb.seq, time: tomb.time, deleted: true}])
    assert.deepEqual(await kv.values('title'), [])
    assert.deepEqual(await kv.range(), [], 'a key whose heads are all tombstones is not listed')
  })

  test('each write names the heads it replaces, so history runs from the first write to the last', async () => {
    const [{kv, log}] = await replicas()
    const writes = [await kv.put('k', 1), await kv.put('k', 2), await kv.put('k', 3)]
    const bodies = (await all(log)).slice(1).map(e => JSON.parse(new TextDecoder().decode(e.value)))
    assert.deepEqual(bodies.map(b => b.heads), [[], [toHex(writes[0].hash)], [toHex(writes[1].hash)]])
    assert.deepEqual((await kv.history('k')).map(v => v.value), [1, 2, 3])
  })

  test('range reads over keys in order, with bounds, limit and reverse', async () => {
    const [{kv}] = await replicas()
    for (const key of ['b', 'a', 'd', 'c', 'e']) await kv.put(key, key.toUpperCase())
    const keys = async (range: Parameters<KV['range']>[0]): Promise<string[]> => (await kv.range(range)).map(r => r.key)
    assert.deepEqual(await keys({}), ['a', 'b', 'c', 'd', 'e'])
    assert.deepEqual(await keys({gt: 'a', lte: 'd'}), ['b', 'c', 'd'])
    assert.deepEqual(await keys({gte: 'b', lt: 'e', reverse: true, limit: 2}), ['d', 'c'])
    await kv.del('c')
    assert.deepEqual(await keys({limit: 3}), ['a', 'b', 'd'], 'the limit counts listed keys, not tombstoned ones')
  })

  test('misuse: keys of the wrong type or length, undefined values', async () => {
    const [{kv}] = await replicas()
    await assert.rejects(async () => kv.put('', 1), {code: 'ERR_INVALID_ARGUMENT'})
    await assert.rejects(async () => kv.put('x'.repeat(MAX_KV_KEY_LENGTH + 1), 1), {code: 'ERR_INVALID_ARGUMENT'})
    await assert.rejects(async () => kv.put(5 as unknown as string, 1), {code: 'ERR_INVALID_ARGUMENT'})
    await assert.rejects(async () => kv.put('k', undefined), {code: 'ERR_INVALID_ARGUMENT'})
    await assert.rejects(async () => kv.del(''), {code: 'ERR_INVALID_ARGUMENT'})
  })

  test('a page that may not write the log gets ERR_NOT_A_WRITER', async () => {
    const log = new Log({db: new MemoryLevel(), key: owner.publicKey, identity: owner})
    await log.ready()
    const reader = new Log({db: new MemoryLevel(), key: owner.publicKey, identity: alice})
    await reader.add(await all(log), 'owner')
    await assert.rejects(new KV(reader).put('k', 1), {code: 'ERR_NOT_A_WRITER'})
  })
})

describe('KV: several writers', () => {
  test('concurrent puts from two peers are two values on both; a put naming both merges them everywhere', async () => {
    const [a, b] = await replicas(alice)
    const wire = link(a.log, b.log)
    await a.kv.put('title', 'first')
    await synced(a, b)
    wire.cut()
    const fromA = await a.kv.put('title', 'from owner')
    const fromB = await b.kv.put('title', 'from alice')
    const again = link(a.log, b.log)
    await synced(a, b)
    const expected = [fromA, fromB].map(e => toHex(e.hash)).sort()
    for (const {kv} of [a, b]) {
      assert.deepEqual((await kv.get('title')).map(v => v.hash), expected)
      assert.deepEqual(new Set(await kv.values('title')), new Set(['from owner', 'from alice']))
      assert.deepEqual(await kv.conflicts(), ['title'])
    }
    const merge = await b.kv.put('title', 'merged')
    const body = JSON.parse(new TextDecoder().decode(merge.value))
    assert.deepEqual(body.heads, expected, 'the merge names every head')
    await synced(a, b)
    for (const {kv} of [a, b]) {
      assert.deepEqual(await kv.values('title'), ['merged'])
      assert.deepEqual(await kv.conflicts(), [])
    }
    assert.deepEqual(await rowsOf(a.kv), await rowsOf(b.kv))
    // History across the siblings: each write once, after the writes it replaced (the siblings in hash order), on both.
    const byHash = new Map([[toHex(fromA.hash), 'from owner'], [toHex(fromB.hash), 'from alice']])
    for (const {kv} of [a, b]) {
      assert.deepEqual((await kv.history('title')).map(v => v.value), ['first', ...expected.map(hash => byHash.get(hash)), 'merged'])
    }
    again.cut()
  })

  test('a tombstone concurrent with a put: both stay, the key listed for its value', async () => {
    const [a, b] = await replicas(alice)
    await a.kv.put('k', 'v0')
    await b.log.add(await all(a.log), 'a')
    await b.kv.ready()
    const tomb = await a.kv.del('k')
    const put = await b.kv.put('k', 'v1')
    await b.log.add(await all(a.log), 'a')
    await a.log.add(await all(b.log), 'b')
    for (const {kv} of [a, b]) {
      await kv.ready()
      const heads = await kv.get('k')
      assert.deepEqual(heads.map(v => v.hash), [tomb, put].map(e => toHex(e.hash)).sort())
      assert.deepEqual(heads.find(v => v.hash === toHex(tomb.hash))?.deleted, true)
      assert.deepEqual(await kv.values('k'), ['v1'])
      assert.deepEqual((await kv.range()).map(r => r.key), ['k'])
      assert.deepEqual(await kv.conflicts(), ['k'])
    }
  })

  test('a write naming a head this replica has not folded yet: that head never shows, in either order of arrival', async () => {
    const [a, b, c] = await replicas(alice, bob)
    const first = await a.kv.put('k', 'one')
    // Alice names the owner's write without holding it (its hash came another way).
    const second = await b.log.append({kv: 'put', key: 'k', value: 'two', heads: [toHex(first.hash)]})
    // c folds alice's write first, then the owner's; a the other way round.
    await c.log.add([second], 'b')
    await c.kv.ready()
    assert.deepEqual(await c.kv.values('k'), ['two'])
    await c.log.add(await all(a.log), 'a')
    await c.kv.ready()
    await a.log.add([second], 'b')
    await a.kv.ready()
    for (const {kv} of [a, c]) {
      assert.deepEqual((await kv.get('k')).map(v => v.hash), [toHex(second.hash)])
      assert.deepEqual(await kv.conflicts(), [])
    }
    // The marker goes once used: the rows are the same on both.
    assert.deepEqual(await rowsOf(a.kv), await rowsOf(c.kv))
  })

  test('a subscription gets each key\'s heads as they change, from nothing, and a merge as one change', async () => {
    const [a, b] = await replicas(alice)
    await a.kv.put('a:1', 'x')
    const changes: KvChange[] = []
    const sub = a.kv.subscribe({gte: 'a:', lt: 'a;'}, batch => changes.push(...batch))
    await sub.ready
    assert.deepEqual(changes.map(c => [c.key, c.values.map(v => v.value), c.old.length]), [['a:1', ['x'], 0]])
    await a.kv.put('b:1', 'outside')
    await b.log.add(await all(a.log), 'a')
    await b.kv.ready()
    const sibling = await b.kv.put('a:1', 'y')
    await a.kv.put('a:1', 'z')
    await a.log.add([sibling], 'b')
    await a.kv.ready()
    await a.kv.put('a:1', 'resolved')
    await a.kv.ready()
    assert.deepEqual(changes.slice(1).map(c => [c.key, c.values.map(v => v.value).sort(), c.old.map(v => v.value).sort()]), [
      ['a:1', ['z'], ['x']],
      ['a:1', ['y', 'z'], ['z']],
      ['a:1', ['resolved'], ['y', 'z']],
    ])
    sub.close()
  })
})

describe('KV: a view of the log', () => {
  test('rebuild gives the same rows; so does a second KV on a replica that folds the entries in another order', async () => {
    const [a, b] = await replicas(alice)
    for (let i = 0; i < 40; i++) await (i % 2 ? a : b).kv.put(`k${i % 7}`, i)
    await b.log.add(await all(a.log), 'a')
    await a.log.add(await all(b.log), 'b')
    const before = await rowsOf(a.kv)
    assert.ok(before.length > 7)
    await a.kv.view.rebuild()
    assert.deepEqual(await rowsOf(a.kv), before)
    assert.deepEqual(await rowsOf(b.kv), before)
  })

  test('on LevelDB, a reopened KV reads its rows at once and folds only what came since', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kv-'))
    try {
      let db = await openNodeDatabase(dir)
      let {log, kv} = await replica(owner, db)
      for (let i = 0; i < 30; i++) await kv.put(`k${i}`, i)
      await kv.ready()
      const rows = await rowsOf(kv)
      await log.close()
      await db.close()
      db = await openNodeDatabase(dir)
      ;({log, kv} = await replica(owner, db))
      let folded = 0
      kv.view.on('progress', p => { folded = p.indexed })
      assert.deepEqual(await kv.get('k29'), rows.find(r => r.key === 'k:k29')!.value)
      await kv.put('k30', 30)
      await kv.ready()
      assert.equal(folded, log.length)
      assert.equal(kv.view.stats.slices, 1, 'one slice: the write after the reopen, not the 31 before')
      assert.deepEqual(await kv.values('k30'), [30])
      await log.close()
      await db.close()
    } finally {
      await rm(dir, {recursive: true, force: true})
    }
  })
})

describe('KV: a hostile writer', () => {
  const broken: Array<[string, Record<string, unknown>]> = [
    ['an unknown op', {kv: 'set', key: 'k', value: 1, heads: []}],
    ['a key that is not a string', {kv: 'put', key: 5, value: 1, heads: []}],
    ['an empty key', {kv: 'put', key: '', value: 1, heads: []}],
    ['a key too long', {kv: 'put', key: 'x'.repeat(MAX_KV_KEY_LENGTH + 1), value: 1, heads: []}],
    ['a put without a value', {kv: 'put', key: 'k', heads: []}],
    ['a del with a value', {kv: 'del', key: 'k', value: 1, heads: []}],
    ['heads that are not a list', {kv: 'put', key: 'k', value: 1, heads: 'abc'}],
    ['a head that is not a hash', {kv: 'put', key: 'k', value: 1, heads: ['zz']}],
    ['a head twice', {kv: 'put', key: 'k', value: 1, heads: ['ab'.repeat(32), 'ab'.repeat(32)]}],
    ['too many heads', {kv: 'put', key: 'k', value: 1, heads: Array.from({length: MAX_KV_HEADS + 1}, (_, i) => i.toString(16).padStart(64, '0'))}],
  ]
  test('malformed KV entries are skipped and counted (ERR_MALFORMED_MESSAGE), the rest folds, nothing is lost', async () => {
    const [a, b] = await replicas(alice)
    await a.kv.put('k', 'kept')
    await b.log.add(await all(a.log), 'a')
    const skipped: P2PError[] = []
    a.kv.on('skip', (_entry, err) => skipped.push(err))
    for (const [, body] of broken) await b.log.append(body)
    await b.log.append({not: 'a kv entry'})
    await b.log.append(new Uint8Array([1, 2, 3]))
    const after = await b.kv.put('other', 'fine')
    await a.log.add(await all(b.log), 'b')
    await a.kv.ready()
    assert.deepEqual(skipped.map(err => err.code), broken.map(() => 'ERR_MALFORMED_MESSAGE'))
    assert.equal(a.kv.stats.skipped, broken.length, 'entries that are not KV entries are not counted')
    assert.deepEqual(await a.kv.values('k'), ['kept'])
    assert.deepEqual((await a.kv.get('other')).map(v => v.hash), [toHex(after.hash)])
    assert.equal(a.kv.view.stats.failed, false)
  })
})
