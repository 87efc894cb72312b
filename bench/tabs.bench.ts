// Time for the 12th tab of one origin to reach the 11 already in a room, all tabs of one
// Chromium sharing one hub stream through a leader tab (a stream per tab would leave
// the 7th tab without one: Chromium allows 6 connections per host across tabs). From
// the tab's navigation to its 11th `p2p-peer-connect`, on the demo page; the baseline
// is the 2nd tab reaching the 1st in the same run.
import {randomBytes} from 'node:crypto'
import type {Browser, Page} from 'puppeteer-core'
import {launchChromium, startDemoServer} from '../scripts/browser.js'
import {startHubProcess} from '../scripts/hub-process.js'
import {median} from './stats.js'

const TABS = 12
const RUNS = 3
const TIMEOUT = 60_000

// Measured, as the rest of the benches, without the hub's per-address rate limit:
// every tab of the browser shares one address.
const hub = await startHubProcess({args: ['--rate-limit', '100000']})
const demo = await startDemoServer()
const chromium = await launchChromium()

/** Opens a demo tab in `room`; the page records when each peer connects, from its navigation. */
async function openTab(browser: Browser, room: string): Promise<Page> {
  const page = await browser.newPage()
  await page.evaluateOnNewDocument(() => {
    const times: number[] = []
    ;(window as unknown as {connectTimes: number[]}).connectTimes = times
    document.addEventListener('p2p-peer-connect', () => times.push(performance.now()))
  })
  await page.goto(`${demo.url}/?hub=${encodeURIComponent(hub.url)}&room=${room}`)
  return page
}

/** Milliseconds from the tab's navigation to its `peers`-th peer connect. */
async function timeToPeers(page: Page, peers: number): Promise<number> {
  await page.waitForFunction(n => (window as unknown as {connectTimes: number[]}).connectTimes.length >= n,
    {timeout: TIMEOUT, polling: 50}, peers)
  return page.evaluate(n => (window as unknown as {connectTimes: number[]}).connectTimes[n - 1], peers)
}

/** Opens `before` tabs and waits for their mesh, then times one more tab reaching them all. */
async function lastTab(before: number): Promise<number> {
  const room = `bench-tabs-${randomBytes(4).toString('hex')}`
  const pages = await Promise.all(Array.from({length: before}, () => openTab(chromium.browser, room)))
  try {
    await Promise.all(pages.map(page => timeToPeers(page, before - 1)))
    const last = await openTab(chromium.browser, room)
    pages.push(last)
    return await timeToPeers(last, before)
  } finally {
    await Promise.all(pages.map(page => page.close()))
  }
}

try {
  const baselines: number[] = []
  const times: number[] = []
  for (let i = 0; i < RUNS; i++) {
    baselines.push(await lastTab(1))
    times.push(await lastTab(TABS - 1))
    console.log(`run ${i + 1}: 2nd tab reaches the 1st in ${baselines.at(-1)!.toFixed(0)} ms; ` +
      `${TABS}th tab reaches the other ${TABS - 1} in ${times.at(-1)!.toFixed(0)} ms`)
  }
  const baselineMs = median(baselines)
  const ms = median(times)
  console.log(`median of ${RUNS}: ${ms.toFixed(0)} ms for the ${TABS}th tab, ${baselineMs.toFixed(0)} ms for the 2nd (${(ms / baselineMs).toFixed(1)}×)`)
  console.log('BENCH ' + JSON.stringify({
    name: 'tab-join',
    tabs: TABS,
    ms: Math.round(ms),
    baselineMs: Math.round(baselineMs),
    ratio: +(ms / baselineMs).toFixed(1),
    runs: times.map(Math.round),
    baselineRuns: baselines.map(Math.round),
  }))
} finally {
  await chromium.close()
  await demo.close()
  await hub.close()
}
