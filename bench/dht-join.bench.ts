// A page joining a room of eight pages in Chromium, through a hub against with no hub
// at all (docs/dht.md): eight pages, each in a browser context of its own, join a room
// (maxPeers 16) through a real hub process and run the page's DHT node. Baseline: a
// ninth page, in a context of its own, joins through the hub; the time until it has
// all eight as peers. Then the hub stops, and a new tab in the first page's context
// (its only way in: the tabs of its origin) joins; the time until it has all eight,
// found and connected through the DHT. Fresh pages, room and hub each run; loopback
// only (iceServers: []).
//
//   node --import tsx bench/dht-join.bench.ts
import type {BrowserContext, Page} from 'puppeteer-core'
import {launchChromium, startTestServer} from '../scripts/browser.js'
import {startHubProcess} from '../scripts/hub-process.js'
import {median} from './stats.js'

const RUNS = Number(process.env.BENCH_RUNS ?? 3)
const PAGES = 8

const server = await startTestServer()
const chromium = await launchChromium()

async function openPage(context: BrowserContext): Promise<Page> {
  const page = await context.newPage()
  await page.goto(`${server.url}/test/e2e/pages/dht.html`)
  await page.waitForFunction(() => 'p2pTest' in window)
  return page
}

const api = (page: Page, name: string, ...args: unknown[]) =>
  page.evaluate((n, a) => (window as unknown as {p2pTest: Record<string, (...x: unknown[]) => unknown>}).p2pTest[n](...a), name, args)

const throughHub: number[] = []
const withoutHub: number[] = []
try {
  for (let run = 0; run < RUNS; run++) {
    const hub = await startHubProcess() as {url: string, close(): Promise<void>}
    const contexts: BrowserContext[] = []
    try {
      const room = `dht-join-${run}-${Date.now()}`
      const pages: Page[] = []
      for (let i = 0; i < PAGES; i++) {
        contexts.push(await chromium.browser.createBrowserContext())
        pages.push(await openPage(contexts[i]))
      }
      // The room, every page with all the others.
      await Promise.all(pages.map(page => api(page, 'timeToPeers', [hub.url], room, 16, PAGES - 1)))
      contexts.push(await chromium.browser.createBrowserContext())
      const ninth = await openPage(contexts[PAGES])
      throughHub.push(await api(ninth, 'timeToPeers', [hub.url], room, 16, PAGES) as number)
      await contexts.pop()!.close()
      // The pages' DHT nodes have their table before the hub goes: wait for each to announce.
      for (const page of pages) {
        for (;;) {
          const dht = await api(page, 'dht') as {announcements: number, dhtPeers: number}
          if (dht.announcements > 0 && dht.dhtPeers > 0) break
          await new Promise(resolve => setTimeout(resolve, 100))
        }
      }
      await hub.close()
      const tab = await openPage(contexts[0])
      withoutHub.push(await api(tab, 'timeToPeers', [hub.url], room, 16, PAGES) as number)
      console.log(`run ${run + 1}: through the hub ${throughHub.at(-1)!.toFixed(0)} ms, with no hub ${withoutHub.at(-1)!.toFixed(0)} ms`)
    } finally {
      for (const context of contexts) await context.close().catch(() => {})
      await hub.close()
    }
  }
  const base = median(throughHub)
  const value = median(withoutHub)
  console.log(`a page reaching all ${PAGES} pages of a room: through a hub ${base.toFixed(0)} ms, with no hub (a tab of its origin, then the DHT) ${value.toFixed(0)} ms: ${(value / base).toFixed(2)}× (median of ${RUNS})`)
  console.log('BENCH ' + JSON.stringify({
    name: 'dht join with no hub', unit: 'ms', value: Math.round(value), baseline: Math.round(base), baselineIs: 'the same join through a hub, same run',
    ratio: +(value / base).toFixed(2), pages: PAGES, runs: {throughHub: throughHub.map(Math.round), withoutHub: withoutHub.map(Math.round)},
  }))
} finally {
  await chromium.close()
  await server.close()
}
process.exit(0)
