// The demo pages fold their peer list away, so they use <p2p-swarm state="…"> as a CSS
// hook to say when the hub cannot be reached or the browser is offline. A real hub
// process, the demo server, the browser under test (P2P_BROWSER); offline through its own
// network emulation (navigator.onLine and the window's offline event, as a user meets it).
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {randomBytes} from 'node:crypto'
import type {Page} from 'puppeteer-core'
import {useDemoStack} from './helpers.js'

/** Nothing listens there (the discard port): connections are refused at once. */
const DEAD_HUB = 'http://127.0.0.1:9'
const TIMEOUT = 30_000

const stack = useDemoStack()

/** Waits until the page's swarm is in `state`, then says which banners are shown. */
async function bannersIn(page: Page, state: string): Promise<string[]> {
  await page.waitForFunction(s => document.querySelector('p2p-swarm')?.getAttribute('state') === s, {timeout: TIMEOUT, polling: 100}, state)
  return page.evaluate(() => [...document.querySelectorAll<HTMLElement>('.hub-banner')]
    .filter(banner => getComputedStyle(banner).display !== 'none')
    .map(banner => banner.textContent!.trim()))
}

for (const demoPage of ['chat.html', 'files.html']) {
  test(`${demoPage}: a hub where nothing listens shows the unreachable banner; a good hub shows none, offline shows the offline one`, async () => {
    const room = `e2e-${randomBytes(4).toString('hex')}`
    const dead = await stack.browser.newPage()
    const good = await stack.browser.newPage()
    try {
      await dead.goto(`${stack.demo.url}/${demoPage}?hub=${encodeURIComponent(DEAD_HUB)}&room=${room}`)
      assert.deepEqual(await bannersIn(dead, 'hub-unreachable'), ['Can’t reach the signalling hub, so new tabs can’t find this one. Retrying…'])

      await good.goto(`${stack.demo.url}/${demoPage}?hub=${encodeURIComponent(stack.hub.url)}&room=${room}`)
      assert.deepEqual(await bannersIn(good, 'online'), [])
      await good.setOfflineMode(true)
      assert.deepEqual(await bannersIn(good, 'offline'), ['You are offline. The room picks up again when the network is back.'])
      await good.setOfflineMode(false)
      assert.deepEqual(await bannersIn(good, 'online'), [])
    } finally {
      await Promise.all([dead.close(), good.close()])
    }
  })
}
