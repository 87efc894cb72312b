// A signed log between two pages of the browser under test (P2P_BROWSER), each with
// its own IndexedDB database, through a real hub process: the receiving page reloads
// while replication is under way, and loses nothing of what it stored.
import {test, after, before} from 'node:test'
import assert from 'node:assert/strict'
import {randomBytes} from 'node:crypto'
import type {Page} from 'puppeteer-core'
import {launchChromium, startTestServer, type LaunchedChromium, type TestServer} from '../../scripts/browser.js'
import {launchFirefox} from '../../scripts/firefox.js'
import {startHubProcess, type HubProcess} from '../../scripts/hub-process.js'
import {KeyPairIdentity} from '../../src/core/crypto/seed-identity.js'
import {toHex} from '../../src/core/bytes.js'
import {BROWSER, collectPageErrors} from './helpers.js'
import type {LogSummary} from './pages/log-page.js'

/** Large enough that replication is far from done when the reload, started at the first stored message, takes effect. */
const ENTRIES = 8000
const TIMEOUT = 150_000

let hub: HubProcess
let server: TestServer
let browser: LaunchedChromium

interface P2PTest {
  open(address: string, seed: string, location?: string): Promise<LogSummary>
  join(hub: string, room: string): Promise<string>
  reloadWhenStored(n: number): void
  lengthAtReload(): number | null
  lengthAtLeast(n: number): Promise<number>
  appendMany(count: number): Promise<number>
  summary(): Promise<LogSummary>
  stop(): Promise<void>
}
declare const p2pTest: P2PTest

before(async () => {
  hub = await startHubProcess()
  server = await startTestServer()
  browser = await (BROWSER === 'firefox' ? launchFirefox() : launchChromium())
})

after(async () => {
  await browser?.close()
  await server?.close()
  await hub?.close()
})

async function openPage(name: string, errors: string[]): Promise<Page> {
  const page = await browser.browser.newPage()
  collectPageErrors(page, name, hub.url, errors)
  await page.goto(`${server.url}/test/e2e/pages/log.html`)
  await page.waitForFunction(() => 'p2pTest' in window)
  return page
}

test('a page reloaded in the middle of replication keeps what it stored and resumes, storing each entry once', {timeout: 300_000}, async () => {
  const room = `log-pages-${randomBytes(4).toString('hex')}`
  const owner = toHex(new Uint8Array(32).fill(51))
  const address = toHex(new KeyPairIdentity(new Uint8Array(32).fill(51)).publicKey)
  const reader = toHex(randomBytes(32))
  const location = `p2p-log-e2e-reload-${randomBytes(4).toString('hex')}`
  const errors: string[] = []

  const a = await openPage('writer', errors)
  await a.evaluate((ad, s) => p2pTest.open(ad, s), address, owner)
  const total = await a.evaluate(n => p2pTest.appendMany(n), ENTRIES)
  assert.equal(total, ENTRIES + 1)
  await a.evaluate((h, r) => p2pTest.join(h, r), hub.url, room)

  const b = await openPage('reader', errors)
  const fresh = await b.evaluate((ad, s, l) => p2pTest.open(ad, s, l), address, reader, location)
  assert.equal(fresh.length, 0)
  await b.evaluate(() => p2pTest.reloadWhenStored(1))
  const reloaded = b.waitForNavigation({timeout: TIMEOUT})
  await b.evaluate((h, r) => p2pTest.join(h, r), hub.url, room)
  await reloaded
  await b.waitForFunction(() => 'p2pTest' in window)

  // The same database, reopened before joining again: everything stored before the reload
  // is there, as a gap-free prefix, and most of the log is still to come.
  const atReload = await b.evaluate(() => p2pTest.lengthAtReload())
  assert.ok(atReload !== null && atReload >= 1, `the page reloaded itself (at ${atReload})`)
  const reopened = await b.evaluate((ad, s, l) => p2pTest.open(ad, s, l), address, reader, location)
  assert.ok(reopened.length >= atReload, `nothing stored was lost: ${reopened.length} after, ${atReload} before`)
  assert.ok(reopened.length < total, `reloaded mid-way: ${reopened.length} of ${total}`)
  assert.ok(reopened.gapless, 'every author\'s seqs 0 … n − 1 once')
  assert.equal(reopened.distinct, reopened.length)

  await b.evaluate((h, r) => p2pTest.join(h, r), hub.url, room)
  await b.evaluate(n => p2pTest.lengthAtLeast(n), total)
  const [done, source] = await Promise.all([b.evaluate(() => p2pTest.summary()), a.evaluate(() => p2pTest.summary())])
  assert.equal(done.length, total)
  assert.ok(done.gapless, 'every author\'s seqs 0 … n − 1 once')
  assert.equal(done.distinct, total)
  assert.deepEqual(done.heads, source.heads)
  assert.deepEqual(done.lengths, source.lengths)
  // What the page stored after the reload is exactly what it lacked: no entry twice.
  assert.equal(done.storedHere, total - reopened.length)
  assert.deepEqual(errors, [])

  await Promise.all([a, b].map(page => page.evaluate(() => p2pTest.stop())))
})
