// The demo pages as a phone shows them (375×667, as an iPhone SE does) and in both
// colour schemes: a real hub process, the demo server and the system Chromium, two
// tabs per page so the peer list has a connected badge to look at.
import {after, before, test} from 'node:test'
import assert from 'node:assert/strict'
import {randomBytes} from 'node:crypto'
import type {Page} from 'puppeteer-core'
import {startHubProcess, type HubProcess} from '../../scripts/hub-process.js'
import {launchChromium, startDemoServer, type LaunchedChromium} from '../../scripts/browser.js'
import type {DemoServer} from '../../scripts/demo-server.js'
import {waitForOneConnectedPeer} from './helpers.js'
import {contrast} from '../shared/contrast.js'

const PHONE = {width: 375, height: 667}
const TIMEOUT = 30_000

// Chromium whatever P2P_BROWSER says: what is measured is layout at a set viewport and
// colour scheme, which puppeteer emulates through Chromium's DevTools protocol.
let hub: HubProcess
let demo: DemoServer
let chromium: LaunchedChromium

before(async () => {
  hub = await startHubProcess()
  demo = await startDemoServer()
  chromium = await launchChromium()
})

after(async () => {
  await Promise.all([chromium?.close(), demo?.close(), hub?.close()])
})

/** Opens a demo page at the phone's size in one colour scheme. */
async function openDemo(path: string, room: string, colorScheme: 'light' | 'dark'): Promise<Page> {
  const page = await chromium.browser.newPage()
  await page.setViewport(PHONE)
  await page.emulateMediaFeatures([{name: 'prefers-color-scheme', value: colorScheme}])
  await page.goto(`${demo.url}/${path}?hub=${encodeURIComponent(hub.url)}&room=${room}`)
  return page
}

/**
 * What overflows sideways: the page scrolling past the viewport, or an element (in the
 * page or in an element's shadow root) reaching past the right edge of the box it is in,
 * like a table poking out of its bordered panel. Inside a box that scrolls sideways (the
 * code samples) a wide element is fine: the box scrolls.
 */
function overflowing(page: Page): Promise<string[]> {
  // No named functions inside: the test's TypeScript build would wrap them in a helper the page lacks.
  return page.evaluate(() => {
    const width = document.documentElement.clientWidth
    const found: string[] = []
    if (document.documentElement.scrollWidth > width) found.push(`the page scrolls sideways to ${document.documentElement.scrollWidth} px`)
    // Each entry: an element and the right edge of the box it must stay within.
    const stack: Array<[Element, number]> = [...document.body.children].map(el => [el, width] as [Element, number])
    while (stack.length > 0) {
      const [el, limit] = stack.pop()!
      const box = el.getBoundingClientRect()
      const style = getComputedStyle(el)
      if (style.display === 'none' || style.position === 'fixed') continue
      if (box.width > 0 && box.right > limit + 0.5) {
        const host = el.getRootNode() instanceof ShadowRoot ? `${(el.getRootNode() as ShadowRoot).host.tagName.toLowerCase()} > ` : ''
        found.push(`${host}${el.tagName.toLowerCase()} reaches ${Math.round(box.right)} px, past ${Math.round(limit)} px`)
        continue
      }
      if (style.overflowX === 'auto' || style.overflowX === 'scroll') continue
      // A 1 px visually hidden label is positioned, not laid out in its box.
      const inner = style.position === 'absolute' ? limit : Math.min(limit, box.right)
      const children = [...el.children, ...(el.shadowRoot?.children ?? [])]
      for (const child of children) stack.push([child, inner])
    }
    return found
  })
}

test('chat.html on a 375 px phone: the message input is at least 200 px wide and nothing overflows sideways', async () => {
  const page = await openDemo('chat.html', `e2e-${randomBytes(4).toString('hex')}`, 'light')
  try {
    await page.waitForSelector('p2p-swarm[state="online"]', {timeout: TIMEOUT})
    const input = await page.$eval('input[name="text"]', el => el.getBoundingClientRect().width)
    assert.ok(input >= 200, `the message input is ${Math.round(input)} px wide`)
    assert.deepEqual(await overflowing(page), [])
  } finally {
    await page.close()
  }
})

for (const path of ['index.html', 'chat.html', 'files.html', 'wiki.html']) {
  for (const colorScheme of ['light', 'dark'] as const) {
    test(`${path} in the ${colorScheme} scheme on a 375 px phone: a connected badge has a contrast of at least 4.5:1, and nothing overflows sideways`, async () => {
      const room = `e2e-${randomBytes(4).toString('hex')}`
      const [one, two] = [await openDemo(path, room, colorScheme), await openDemo(path, room, colorScheme)]
      try {
        await waitForOneConnectedPeer(one, `${path} (${colorScheme})`, TIMEOUT)
        // The chat and file pages fold the list away; a person opens it to see the badge.
        await one.evaluate(() => document.querySelector('details')?.setAttribute('open', ''))
        const {color, background} = await one.evaluate(() => {
          const badge = document.querySelector('p2p-peers')!.shadowRoot!.querySelector('[part~="state-connected"]')!
          const style = getComputedStyle(badge)
          return {color: style.color, background: style.backgroundColor}
        })
        const ratio = contrast(color, background)
        assert.ok(ratio >= 4.5, `${color} on ${background}: ${ratio.toFixed(2)}:1`)
        assert.deepEqual(await overflowing(one), [])
      } finally {
        await Promise.all([one.close(), two.close()])
      }
    })
  }
}
