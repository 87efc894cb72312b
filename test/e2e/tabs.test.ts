// Many tabs of one origin in one browser (P2P_BROWSER), as a person with a dozen tabs open: the
// browser gives a host 6 HTTP/1.1 connections across all its tabs, so the tabs must
// share one hub stream (a leader tab relaying to the others) or the seventh never
// hears the hub. Twelve tabs of the demo join one room through one hub process.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {randomBytes} from 'node:crypto'
import type {Page} from 'puppeteer-core'
import {collectPageErrors, useDemoStack} from './helpers.js'
import {until} from '../shared/until.js'

const TABS = 12
const TIMEOUT = 45_000

// The hub as deployed, default rate limit included: the tabs share one address, and 66
// connections' signalling at once goes past 50 POSTs a second, so the hub client's
// retries on 429 are part of what this test shows working.
const stack = useDemoStack()

/** What the hub process reports on `GET /`. */
async function hubInfo(): Promise<{subscribers: number, channels: number}> {
  const res = await fetch(`${stack.hub.url}/`)
  return await res.json() as {subscribers: number, channels: number}
}

/** The tab's own key and the keys its swarm is connected to. */
function swarmOf(page: Page): Promise<{key: string, peers: string[], stats: unknown}> {
  return page.evaluate(() => {
    const swarm = document.querySelector('p2p-swarm')?.swarm
    return {key: swarm?.publicKey ?? '', peers: swarm?.peers.map(p => p.publicKey!) ?? [], stats: swarm?.stats}
  })
}

/** Whether this tab holds the origin's stream to the hub (read from the kit the page loaded). */
function leads(page: Page): Promise<boolean> {
  return page.evaluate(async () => {
    const protocol = await import(`${location.origin}/protocol.js`) as typeof import('../../src/protocol.js')
    return protocol.pageStreams.stats.leading > 0
  })
}

/** Waits until every page is connected to exactly the others. */
async function untilMesh(pages: Page[], what: string): Promise<void> {
  let last: Array<{key: string, peers: string[], stats: unknown}> = []
  try {
    await until(async () => {
      last = await Promise.all(pages.map(swarmOf))
      const keys = new Set(last.map(s => s.key))
      return last.every(s => s.peers.length === pages.length - 1 && s.peers.every(k => keys.has(k) && k !== s.key))
    }, what, {timeout: TIMEOUT, every: 250})
  } catch (err) {
    const stats = last.map((s, i) => `tab ${i + 1}: ${s.peers.length} peers, ${JSON.stringify(s.stats)}`).join('\n')
    throw new Error(`${(err as Error).message}; peers per tab: ${last.map(s => s.peers.length).join(' ')}\n${stats}`, {cause: err})
  }
}

/** Opens a demo tab in `room`, its errors collected into `pageErrors` under the name given. */
function opener(room: string, pageErrors: string[]) {
  const address = `${stack.demo.url}/?hub=${encodeURIComponent(stack.hub.url)}&room=${room}`
  return async (name: string) => {
    const page = await stack.browser.newPage()
    collectPageErrors(page, name, stack.hub.url, pageErrors)
    await page.goto(address)
    return page
  }
}

test('twelve tabs of one origin share one hub stream, and keep signalling after the leader tab closes', async t => {
  const room = `e2e-tabs-${randomBytes(4).toString('hex')}`
  const pageErrors: string[] = []
  const open = opener(room, pageErrors)
  // Sampled all along: the hub must never see a stream per tab.
  let mostSubscribers = 0
  let sampling = true
  const sampler = (async () => {
    while (sampling) {
      mostSubscribers = Math.max(mostSubscribers, (await hubInfo()).subscribers)
      await new Promise(resolve => setTimeout(resolve, 100))
    }
  })()

  try {
    const pages = await Promise.all(Array.from({length: TABS}, (_, i) => open(`tab ${i + 1}`)))
    await untilMesh(pages, `${TABS} tabs to connect to each other`)
    const leaders = (await Promise.all(pages.map(leads))).flatMap((leading, i) => leading ? [i] : [])
    assert.equal(leaders.length, 1, 'one tab holds the stream for the origin')
    await until(async () => (await hubInfo()).subscribers === 1, 'the hub to see one stream')

    // The leader tab goes; the eleven left keep signalling: a tab opened now still
    // reaches every one of them, through the stream the next leader opened.
    await pages[leaders[0]].close()
    const rest = pages.filter((_, i) => i !== leaders[0])
    const late = await open('late tab')
    const room12 = [...rest, late]
    await untilMesh(room12, 'the late tab to reach the eleven tabs left')
    const newLeaders = (await Promise.all(room12.map(leads))).filter(Boolean)
    assert.equal(newLeaders.length, 1, 'another tab took the stream over')
    await until(async () => (await hubInfo()).subscribers === 1, 'the hub to see one stream again')
  } finally {
    sampling = false
    await sampler
  }
  // Replacing the stream when the union of channels grows overlaps the old and the new
  // until the hub notices the old socket closed: briefly two, more on a busy machine. A
  // stream per tab shows as 6, the browser's connections per host (measured), so that is the bound.
  t.diagnostic(`the hub saw at most ${mostSubscribers} streams at once from ${TABS} tabs`)
  assert.ok(mostSubscribers < 6, `the hub saw ${mostSubscribers} streams at once from ${TABS} tabs`)
  assert.deepEqual(pageErrors, [])
})

/** Whether a script `page` fetched holds `text`. */
async function loaded(page: Page, text: string): Promise<boolean> {
  const scripts = await page.evaluate(() => performance.getEntriesByType('resource').map(e => e.name)
    .filter(name => name.startsWith(location.origin) && new URL(name).pathname.endsWith('.js')))
  const texts = await Promise.all(scripts.map(async url => (await fetch(url)).text()))
  return texts.some(script => script.includes(text))
}

/** Whether `page` has loaded the code that relays between tabs (it holds the tab messages' checks). */
const loadedTabRelay = (page: Page) => loaded(page, 'has no waiting flag')
/** Whether `page` has loaded the event-stream reader over fetch (it holds its check of the answer's type). */
const loadedFetchReader = (page: Page) => loaded(page, 'not an event stream')

test('a tab alone never fetches the relay between tabs; a second tab in its room makes both fetch it (and neither the fetch reader)', async () => {
  const room = `e2e-tab-relay-${randomBytes(4).toString('hex')}`
  const pageErrors: string[] = []
  const open = opener(room, pageErrors)
  const first = await open('alone')
  try {
    // The sentinel: the lone tab leads its room's stream and the hub serves it.
    await until(() => first.evaluate(() => document.querySelector('p2p-swarm')?.getAttribute('state') === 'online'),
      'the lone tab to be online', {timeout: TIMEOUT, every: 250})
    assert.equal(await loadedTabRelay(first), false, 'a tab alone fetched the relay between tabs')
    const second = await open('second')
    try {
      await untilMesh([first, second], 'the two tabs to connect')
      assert.equal(await loadedTabRelay(first), true, 'the leader fetched the relay once another tab showed up')
      assert.equal(await loadedTabRelay(second), true, 'the follower fetched it')
      // A page reads its hub streams with EventSource: the fetch reader is for Node and workers.
      assert.deepEqual([await loadedFetchReader(first), await loadedFetchReader(second)], [false, false], 'a page fetched the event-stream reader over fetch')
    } finally {
      await second.close()
    }
  } finally {
    await first.close()
  }
  assert.deepEqual(pageErrors, [])
})
