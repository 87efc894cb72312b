import {expect} from '@open-wc/testing'
import {BrowserLevel} from 'browser-level'
import {KeyPairIdentity} from '../../src/core/crypto/seed-identity.js'
import {Log} from '../../src/core/log/log.js'
import {EntryKind, readValue} from '../../src/core/log/entry.js'
import {View, type ViewDefinition, type ViewDiff} from '../../src/core/views/view.js'

/** Counts entries per tag, the count read back by the map, and keeps a row per entry. */
const tally: ViewDefinition = {
  name: 'tally',
  version: 1,
  async map(entry, view) {
    if (entry.kind !== EntryKind.Json) return
    const {tag, n} = readValue(entry) as {tag: string, n: number}
    const count = (await view.get(`count!${tag}`) as number | undefined) ?? 0
    return [{type: 'put', key: `count!${tag}`, value: count + 1}, {type: 'put', key: `n!${String(n).padStart(6, '0')}`, value: tag}]
  },
}

const items = (from: number, to: number): Array<{tag: string, n: number}> => Array.from({length: to - from}, (_, i) => ({tag: `t${(from + i) % 7}`, n: from + i}))

function tallyOf(list: Array<{tag: string, n: number}>): Array<{key: string, value: unknown}> {
  const rows = new Map<string, unknown>()
  for (const {tag, n} of list) {
    rows.set(`count!${tag}`, ((rows.get(`count!${tag}`) as number | undefined) ?? 0) + 1)
    rows.set(`n!${String(n).padStart(6, '0')}`, tag)
  }
  return [...rows].sort(([a], [b]) => (a < b ? -1 : 1)).map(([key, value]) => ({key, value}))
}

describe('View on real IndexedDB (browser-level)', () => {
  const location = `p2p-view-test-${Math.random().toString(36).slice(2)}`
  const owner = new KeyPairIdentity(new Uint8Array(32).fill(31))

  after(async () => {
    for (const name of [location, `${location}-live`, `${location}-big`]) {
      await new Promise(resolve => {
        const req = indexedDB.deleteDatabase(`level-js-${name}`)
        req.onsuccess = req.onerror = req.onblocked = resolve
      })
    }
  })

  it('catches up, keeps its rows across a close and reopen of the database, and folds on from there', async () => {
    let db = new BrowserLevel(location)
    let log = new Log({db, key: owner.publicKey, identity: owner})
    await log.ready()
    await log.append(items(0, 1000))
    let view = new View(log, tally, {slice: 128})
    await view.ready()
    const rows = await view.range()
    expect(rows).to.deep.equal(tallyOf(items(0, 1000)))
    expect(view.stats.slices).to.be.greaterThan(1)
    await log.close()
    await db.close()

    db = new BrowserLevel(location)
    log = new Log({db, key: owner.publicKey, identity: owner})
    await log.ready()
    view = new View(log, tally, {slice: 128})
    await view.ready()
    expect(view.stats.slices).to.equal(0, 'nothing folded again')
    expect(await view.range()).to.deep.equal(rows)
    await log.append(items(1000, 1010))
    await view.ready()
    expect(await view.range()).to.deep.equal(tallyOf(items(0, 1010)))
    await log.close()
    await db.close()
  })

  it('a live query in the page gets its rows, then the diffs of each append', async () => {
    const db = new BrowserLevel(`${location}-live`)
    const log = new Log({db, key: owner.publicKey, identity: owner})
    await log.ready()
    await log.append(items(0, 14))
    const view = new View(log, tally)
    await view.ready()
    const got: ViewDiff[] = []
    const sub = view.subscribe({gte: 'count!t1', lte: 'count!t2'}, diffs => got.push(...diffs))
    await sub.ready
    expect(got).to.deep.equal([{type: 'enter', key: 'count!t1', value: 2}, {type: 'enter', key: 'count!t2', value: 2}])
    got.length = 0
    await log.append({tag: 't2', n: 14})
    await view.ready()
    expect(got).to.deep.equal([{type: 'change', key: 'count!t2', value: 3, old: 2}])
    got.length = 0
    await log.append({tag: 't9', n: 15})
    await view.ready()
    expect(got).to.deep.equal([], 'count!t9 is past the range')
    sub.close()
    await log.close()
    await db.close()
  })

  it('indexing 20k entries gives the page turns: it yields between slices, and tasks queued meanwhile run before it ends', async function () {
    this.timeout(240_000)
    const db = new BrowserLevel(`${location}-big`)
    const log = new Log({db, key: owner.publicKey, identity: owner})
    await log.ready()
    for (let from = 0; from < 20_000; from += 2000) await log.append(items(from, from + 2000))
    // The view's turns go through scheduler.yield where the browser has it (Chromium): counted here.
    const scheduler = (globalThis as {scheduler?: {yield?: () => Promise<void>}}).scheduler
    const original = scheduler?.yield
    let yields = 0
    if (scheduler && original) scheduler.yield = () => (yields++, original.call(scheduler))
    const ran: Record<string, number> = {}
    let view!: View
    try {
      view = new View(log, {
        ...tally,
        map(entry, reader) {
          if (entry.kind === EntryKind.Json && (readValue(entry) as {n: number}).n === 0) {
            const {port1, port2} = new MessageChannel()
            port1.onmessage = () => {
              ran.message = view.stats.indexed
              port1.close()
            }
            port2.postMessage(null)
            setTimeout(() => { ran.timer = view.stats.indexed }, 0)
          }
          return tally.map(entry, reader)
        },
      })
      await view.ready()
    } finally {
      if (scheduler && original) scheduler.yield = original
    }
    expect(view.stats.indexed).to.equal(20_001)
    expect(view.stats.slices).to.be.greaterThan(1)
    expect(ran.message, 'a message posted while indexing').to.be.lessThan(20_001)
    expect(ran.timer, 'a timer set while indexing').to.be.lessThan(20_001)
    // A turn after each slice; ready() may resolve before the last one's.
    if (original) expect(yields).to.be.at.least(view.stats.slices - 1)
    expect(await view.get('count!t3')).to.equal(items(0, 20_000).filter(i => i.tag === 't3').length)
    await log.close()
    await db.close()
  })
})
