// Two real tabs of one browser (one profile: one IndexedDB, one set of Web Locks), each
// writing its own signed log with its page identity (docs/identity.md): appending at
// once they never fork a log, and a reloaded tab has its key back and continues its log.
// P2P_BROWSER=firefox runs it in Firefox ESR.
import {test, after, before} from 'node:test'
import assert from 'node:assert/strict'
import type {Page} from 'puppeteer-core'
import {MemoryLevel} from 'memory-level'
import {fromHex} from '../../src/core/bytes.js'
import {authenticateRun, decodeEntry} from '../../src/core/log/entry.js'
import {Log} from '../../src/core/log/log.js'
import {launchChromium, startTestServer, type LaunchedChromium, type TestServer} from '../../scripts/browser.js'
import {launchFirefox} from '../../scripts/firefox.js'
import {BROWSER} from './helpers.js'
import type {TabLog} from './pages/identity-page.js'

let server: TestServer
let browser: LaunchedChromium

before(async () => {
  server = await startTestServer()
  browser = await (BROWSER === 'firefox' ? launchFirefox : launchChromium)()
})

after(async () => {
  await browser?.close()
  await server?.close()
})

async function openTab(): Promise<Page> {
  const page = await browser.browser.newPage()
  await page.goto(`${server.url}/test/e2e/pages/identity.html`)
  await page.waitForFunction(() => 'p2pTest' in window)
  return page
}

/**
 * What a peer given every entry of both tabs would find: forks show where their entries
 * meet (a tab's own log never sees the other tab's writes). Each log the tabs wrote gets
 * all entries either tab has of it, each authenticated (every append signs its entry).
 */
async function forksWhereTabsMeet(tabs: TabLog[]): Promise<{logs: number, entries: number, forks: number, conflicts: number}> {
  const byLog = new Map<string, Set<string>>()
  for (const tab of tabs) {
    const entries = byLog.get(tab.logKey) ?? new Set<string>()
    tab.written.forEach(hex => entries.add(hex))
    byLog.set(tab.logKey, entries)
  }
  const seen = {logs: byLog.size, entries: 0, forks: 0, conflicts: 0}
  for (const [address, entries] of byLog) {
    const key = fromHex(address)
    const log = new Log({db: new MemoryLevel(), key})
    log.on('conflict', () => { seen.conflicts++ })
    const authenticated = await Promise.all([...entries].map(async hex => (await authenticateRun(key, [decodeEntry(fromHex(hex))]))[0]))
    const {stored, rejected} = await log.add(authenticated, 'tabs')
    assert.deepEqual(rejected.map(r => r.error.code).filter(code => code !== 'ERR_AUTHOR_FROZEN'), [])
    seen.entries += stored.length
    seen.forks += (await log.forks()).length
    await log.close()
  }
  return seen
}

const open = (page: Page, name: string) => page.evaluate(n => (window as any).p2pTest.open(n), name) as Promise<TabLog>
const appendAtOnce = (page: Page, n: number) => page.evaluate(k => (window as any).p2pTest.appendAtOnce(k), n) as Promise<number[]>
const summary = (page: Page) => page.evaluate(() => (window as any).p2pTest.summary()) as Promise<TabLog>

test('two tabs appending 50 entries each at once write two logs with two keys, and neither forks; a reloaded tab continues its own, even after the other closed', {timeout: 120_000}, async () => {
  const [one, two] = [await openTab(), await openTab()]
  const [a, b] = [await open(one, 'chat'), await open(two, 'chat')]
  assert.notEqual(a.pageKey, b.pageKey)
  assert.notEqual(a.logKey, b.logKey)
  // Each log holds its owner's Init (seq 0) and nothing else yet.
  assert.deepEqual(a.lengths, {[a.logKey]: 1})
  assert.deepEqual(b.lengths, {[b.logKey]: 1})

  const [seqsA, seqsB] = await Promise.all([appendAtOnce(one, 50), appendAtOnce(two, 50)])
  const expected = Array.from({length: 50}, (_, i) => i + 1)
  assert.deepEqual([...seqsA].sort((x, y) => x - y), expected)
  assert.deepEqual([...seqsB].sort((x, y) => x - y), expected)
  const tabs = [await summary(one), await summary(two)]
  for (const [now, was] of [[tabs[0], a], [tabs[1], b]] as const) {
    assert.deepEqual(now.lengths, {[was.logKey]: 51}, 'one author, the tab\'s own, with 51 entries')
    assert.equal(now.length, 51)
    assert.equal(now.forks, 0)
    assert.equal(now.conflicts, 0)
  }
  assert.deepEqual(await forksWhereTabsMeet(tabs), {logs: 2, entries: 102, forks: 0, conflicts: 0})

  await one.reload()
  await one.waitForFunction(() => 'p2pTest' in window)
  const reopened = await open(one, 'chat')
  assert.equal(reopened.pageKey, a.pageKey)
  assert.equal(reopened.logKey, a.logKey)
  assert.deepEqual(reopened.lengths, {[a.logKey]: 51})
  assert.deepEqual(await appendAtOnce(one, 1), [51])
  const after = await summary(one)
  assert.deepEqual([after.length, after.forks, after.conflicts], [52, 0, 0])
  assert.deepEqual(await forksWhereTabsMeet([after, await summary(two)]), {logs: 2, entries: 103, forks: 0, conflicts: 0})
  // The other tab kept its own key and log throughout.
  const other = await summary(two)
  assert.deepEqual([other.pageKey, other.logKey, other.length], [b.pageKey, b.logKey, 51])

  // Tab 1 (the lower slot) closes; tab 2 reloaded keeps its own slot, key and log rather
  // than take the slot that came free.
  await one.close()
  await two.reload()
  await two.waitForFunction(() => 'p2pTest' in window)
  const reloaded = await open(two, 'chat')
  assert.deepEqual([reloaded.pageKey, reloaded.logKey, reloaded.length], [b.pageKey, b.logKey, 51])
})
