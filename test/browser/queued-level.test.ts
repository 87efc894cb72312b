// The page's log database (src/elements/shared/storage.ts, QueuedBrowserLevel): a
// batch makes all its requests at once in one transaction, on real IndexedDB, and stays
// atomic: what IndexedDB refuses leaves nothing of the batch behind.
import {expect} from '@open-wc/testing'
import {QueuedBrowserLevel} from '../../src/elements/shared/storage.js'
import {KeyPairIdentity} from '../../src/core/crypto/seed-identity.js'
import {Log} from '../../src/core/log/log.js'
import {all} from '../shared/log-helpers.js'

const locations: string[] = []
function fresh(): string {
  const location = `p2p-queued-test-${Math.random().toString(36).slice(2)}`
  locations.push(location)
  return location
}

describe('QueuedBrowserLevel on real IndexedDB', () => {
  after(async () => {
    await Promise.all(locations.map(location => new Promise(resolve => {
      const req = indexedDB.deleteDatabase(`level-js-${location}`)
      req.onsuccess = req.onerror = req.onblocked = resolve
    })))
  })

  it('writes a batch of puts and deletes, in order, and reads it back after a reopen', async () => {
    const location = fresh()
    let db = new QueuedBrowserLevel<string, string>(location)
    await db.open()
    await db.batch(Array.from({length: 500}, (_, i) => ({type: 'put' as const, key: `k${String(i).padStart(3, '0')}`, value: `v${i}`})))
    // A put then a delete of one key in one batch: the order of the requests holds.
    await db.batch([{type: 'put', key: 'k000', value: 'again'}, {type: 'del', key: 'k000'}, {type: 'del', key: 'k499'}, {type: 'put', key: 'k001', value: 'new'}])
    await db.close()
    db = new QueuedBrowserLevel<string, string>(location)
    await db.open()
    const keys = await db.keys().all()
    expect(keys.length).to.equal(498)
    expect(await db.get('k000')).to.equal(undefined)
    expect(await db.get('k001')).to.equal('new')
    expect(await db.get('k002')).to.equal('v2')
    await db.close()
  })

  it('a request IndexedDB refuses fails the whole batch: nothing of it is written', async () => {
    const db = new QueuedBrowserLevel<string, string>(fresh())
    await db.open()
    await db.put('before', 'kept')
    // abstract-level encodes keys before its hook, so only a direct call can hand IndexedDB a key it refuses.
    const hook = (db as unknown as {_batch(ops: unknown[]): Promise<void>})._batch.bind(db)
    let failed: unknown
    try {
      await hook([{type: 'put', key: 'a', value: '1'}, {type: 'put', key: 'b', value: '2'}, {type: 'put', key: {}, value: '3'}])
    } catch (err) {
      failed = err
    }
    expect((failed as DOMException | undefined)?.name).to.equal('DataError')
    expect(await db.keys().all()).to.deep.equal(['before'])
    await db.close()
  })

  it('holds a log: a batched append of 1,000 entries reads back whole after a reopen', async () => {
    const location = fresh()
    const owner = new KeyPairIdentity()
    let db = new QueuedBrowserLevel<string, string>(location)
    let log = new Log({db, key: owner.publicKey, identity: owner})
    await log.ready()
    await log.append(Array.from({length: 1000}, (_, i) => ({i})))
    const heads = log.heads().map(h => h.join())
    await log.close()
    await db.close()
    db = new QueuedBrowserLevel<string, string>(location)
    log = new Log({db, key: owner.publicKey})
    await log.ready()
    expect(log.length).to.equal(1001)
    expect(log.heads().map(h => h.join())).to.deep.equal(heads)
    expect((await all(log)).length).to.equal(1001)
    await log.close()
    await db.close()
  })

  it('commits a Log\'s own appends with strict durability and what it receives with the default', async () => {
    const seen: string[] = []
    const transaction = IDBDatabase.prototype.transaction
    IDBDatabase.prototype.transaction = function (this: IDBDatabase, ...args: Parameters<IDBDatabase['transaction']>) {
      const made = transaction.apply(this, args)
      if (made.mode === 'readwrite') seen.push(made.durability)
      return made
    }
    try {
      const owner = new KeyPairIdentity(new Uint8Array(32).fill(12))
      const mine = new QueuedBrowserLevel<string, any>(fresh())
      const log = new Log({db: mine, key: owner.publicKey, identity: owner})
      await log.ready()
      await log.append(['a', 'b'])
      expect(seen).to.deep.equal(['strict', 'strict'], 'Init and the append')
      seen.length = 0
      const theirs = new QueuedBrowserLevel<string, any>(fresh())
      const replica = new Log({db: theirs, key: owner.publicKey})
      await replica.ready()
      await replica.add(await all(log), 'owner')
      expect(replica.length).to.equal(3)
      expect(seen).to.deep.equal(['default'])
      await Promise.all([log.close(), replica.close()])
      await Promise.all([mine.close(), theirs.close()])
    } finally {
      IDBDatabase.prototype.transaction = transaction
    }
  })
})
