import {expect} from '@open-wc/testing'
import {BrowserLevel} from 'browser-level'
import {KeyPairIdentity} from '../../src/core/crypto/seed-identity.js'
import {Log} from '../../src/core/log/log.js'
import {readValue} from '../../src/core/log/entry.js'
import {until} from '../shared/until.js'
import {onlyIn} from './helpers/browser.js'

describe('Log on real IndexedDB (browser-level)', () => {
  const location = `p2p-log-test-${Math.random().toString(36).slice(2)}`
  const owner = new KeyPairIdentity(new Uint8Array(32).fill(9))

  after(async () => {
    await new Promise(resolve => {
      const req = indexedDB.deleteDatabase(`level-js-${location}`)
      req.onsuccess = req.onerror = req.onblocked = resolve
    })
  })

  it('keeps its entries, heads and writers across a close and reopen, and the next append follows on', async () => {
    const writer = new KeyPairIdentity(new Uint8Array(32).fill(10))
    let db = new BrowserLevel(location)
    const log = new Log({db, key: owner.publicKey, identity: owner})
    await log.ready()
    await log.admit(writer.publicKey)
    const entries = await log.append(Array.from({length: 300}, (_, i) => ({n: i})))
    const heads = log.heads()
    await log.close()
    await db.close()

    db = new BrowserLevel(location)
    const again = new Log({db, key: owner.publicKey, identity: owner})
    await again.ready()
    expect(again.length).to.equal(302)
    expect(again.heads()).to.deep.equal(heads)
    expect(again.writers().has([...writer.publicKey].map(b => b.toString(16).padStart(2, '0')).join(''))).to.equal(true)
    const values: unknown[] = []
    for await (const {entry} of again.entries({since: 2})) values.push(readValue(entry))
    expect(values).to.deep.equal(entries.map(e => readValue(e)))
    const next = await again.append('after reopen')
    expect(next.seq).to.equal(302)
    expect(next.prev).to.deep.equal(entries[299].hash)
    await again.close()
    await db.close()
  })

  it('reads on IndexedDB: get by hash, iteration with since, limit and reverse, and a live iterator that follows appends', async () => {
    const db = new BrowserLevel(`${location}-read`)
    const log = new Log({db, key: owner.publicKey, identity: owner})
    await log.ready()
    // Past one chunk of the store's reads, so chunks are crossed both ways.
    const entries = await log.append(Array.from({length: 1500}, (_, i) => ({n: i})))
    const ns = async (options: Parameters<Log['entries']>[0]): Promise<unknown[]> => {
      const out: unknown[] = []
      for await (const {entry} of log.entries(options)) out.push((readValue(entry) as {n: number}).n)
      return out
    }
    const span = (from: number, to: number): number[] => Array.from({length: to - from + 1}, (_, i) => from + i)
    // Index 0 is the Init.
    expect(await ns({since: 1})).to.deep.equal(span(0, 1499))
    expect(await ns({since: 1001, limit: 300})).to.deep.equal(span(1000, 1299))
    expect(await ns({reverse: true, limit: 1200})).to.deep.equal(span(300, 1499).reverse())
    expect(await ns({since: 700, reverse: true, limit: 3})).to.deep.equal([699, 698, 697])
    const got = await log.get(entries[1234].hash)
    expect(readValue(got!)).to.deep.equal({n: 1234})
    expect(await log.get(new Uint8Array(32))).to.equal(undefined)
    // Live: the stored entries from `since`, then each append as it is stored, until the consumer breaks.
    const live: unknown[] = []
    const following = (async () => {
      for await (const {entry} of log.entries({since: 1499, live: true})) {
        live.push((readValue(entry) as {n: number}).n)
        if (live.length === 3) break
      }
    })()
    await until(() => live.length === 2, 'the stored entries of the live iterator')
    await log.append({n: 1500})
    await following
    expect(live).to.deep.equal([1498, 1499, 1500])
    await log.close()
    await db.close()
    await new Promise(resolve => {
      const req = indexedDB.deleteDatabase(`level-js-${location}-read`)
      req.onsuccess = req.onerror = req.onblocked = resolve
    })
  })

  onlyIn('chromium', 'headless Firefox answers persist() with a permission prompt nobody can answer: the promise never settles')('asks for persistent storage once this page has written, and shows the answer in stats', async () => {
    const db = new BrowserLevel(`${location}-persist`)
    const log = new Log({db, key: owner.publicKey, identity: owner})
    await log.ready()
    await log.append('mine')
    const granted = await navigator.storage.persist()
    // The Log asked the same question; its answer lands a task later.
    await until(() => log.stats.persisted !== null, 'the Log has its answer')
    expect(log.stats.persisted).to.equal(granted)
    await log.close()
    await db.close()
  })
})
