import {expect} from '@open-wc/testing'
import {BrowserLevel} from 'browser-level'
import {KeyPairIdentity} from '../../src/core/crypto/seed-identity.js'
import {toHex} from '../../src/core/bytes.js'
import {Log} from '../../src/core/log/log.js'
import {KV} from '../../src/core/kv/kv.js'

describe('KV on real IndexedDB (browser-level)', () => {
  const location = `p2p-kv-test-${Math.random().toString(36).slice(2)}`
  const owner = new KeyPairIdentity(new Uint8Array(32).fill(11))
  const other = new KeyPairIdentity(new Uint8Array(32).fill(12))

  after(async () => {
    for (const name of [location, `${location}-other`]) {
      await new Promise(resolve => {
        const req = indexedDB.deleteDatabase(`level-js-${name}`)
        req.onsuccess = req.onerror = req.onblocked = resolve
      })
    }
  })

  it('keeps its keys, siblings and progress across a close and reopen, and goes on from there', async () => {
    let db = new BrowserLevel(location)
    const log = new Log({db, key: owner.publicKey, identity: owner, open: true})
    await log.ready()
    const kv = new KV(log)
    for (let i = 0; i < 50; i++) await kv.put(`key${i % 10}`, i)
    // A sibling from another writer that saw key0's put of 30 (entry 31), not the owner's put of 40.
    const replica = new Log({db: new BrowserLevel(`${location}-other`), key: owner.publicKey, identity: other})
    await replica.ready()
    const mine: Parameters<Log['add']>[0] = []
    for await (const {entry} of log.entries({limit: 41})) mine.push(entry)
    await replica.add(mine, 'owner')
    const theirs = await replica.append({kv: 'put', key: 'key0', value: 'theirs', heads: [toHex(mine[31].hash)]})
    await log.add([theirs], 'other')
    await kv.ready()
    const rows = await kv.view.range()
    expect(await kv.conflicts()).to.deep.equal(['key0'])
    await log.close()
    await db.close()
    await replica.close()

    db = new BrowserLevel(location)
    const again = new Log({db, key: owner.publicKey, identity: owner})
    await again.ready()
    const kv2 = new KV(again)
    let slices = 0
    kv2.view.on('progress', () => slices++)
    expect(await kv2.view.range()).to.deep.equal(rows)
    expect(new Set(await kv2.values('key0'))).to.deep.equal(new Set([40, 'theirs']))
    await kv2.put('key0', 'resolved')
    expect(await kv2.values('key0')).to.deep.equal(['resolved'])
    expect(await kv2.conflicts()).to.deep.equal([])
    expect(slices).to.equal(1, 'only the write after the reopen was folded')
    await again.close()
    await db.close()
  })
})
