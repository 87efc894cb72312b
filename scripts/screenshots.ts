// `npm run screenshots -- <dir>`: PNGs of each demo page (index, chat, files) in the
// light and dark colour schemes, at a desktop width and a 375 px phone, written into
// <dir>. Each page is shown as a person meets it with a second tab in the room: a
// connected peer in the (opened) peer list, two chat messages, a file shared by the peer.
// A hub process, the demo server and the system Chromium, all on loopback.
import {mkdir} from 'node:fs/promises'
import {randomBytes} from 'node:crypto'
import {join, resolve} from 'node:path'
import type {Page} from 'puppeteer-core'
import {startHubProcess} from './hub-process.js'
import {launchChromium, startDemoServer} from './browser.js'

const PAGES = ['index', 'chat', 'files'] as const
const SCHEMES = ['light', 'dark'] as const
const WIDTHS = {desktop: {width: 1280, height: 800}, phone: {width: 375, height: 667}}
const TIMEOUT = 60_000

const dir = process.argv[2]
if (!dir) {
  console.error('usage: npm run screenshots -- <directory for the PNGs>')
  process.exit(2)
}
const out = resolve(dir)
await mkdir(out, {recursive: true})

const hub = await startHubProcess()
const demo = await startDemoServer()
const chromium = await launchChromium()

/** Opens `name` in `room` in one colour scheme, and waits until it lists one connected peer. */
async function open(name: string, room: string, scheme: string, connected: boolean): Promise<Page> {
  const page = await chromium.browser.newPage()
  await page.emulateMediaFeatures([{name: 'prefers-color-scheme', value: scheme}])
  await page.setViewport(WIDTHS.desktop)
  await page.goto(`${demo.url}/${name}.html?hub=${encodeURIComponent(hub.url)}&room=${room}`)
  if (connected) {
    await page.waitForFunction(() => document.querySelector('p2p-peers')?.shadowRoot?.querySelectorAll('[part~="peer-connected"]').length === 1,
      {timeout: TIMEOUT, polling: 100})
  }
  return page
}

/** Sends a chat message from `page` and waits until `seen` shows it. */
async function say(page: Page, name: string, text: string, seen: Page[]): Promise<void> {
  // Typing goes to the focused tab.
  await page.bringToFront()
  await page.$eval('input[name="name"]', (input, value) => { (input as HTMLInputElement).value = value }, name)
  await page.type('input[name="text"]', text)
  await page.click('form button')
  for (const other of seen) {
    await other.waitForFunction(t => [...document.querySelectorAll('p2p-feed .text')].some(el => el.textContent === t), {timeout: TIMEOUT, polling: 100}, text)
  }
}

/** Shares a small text file from `page`'s file drop and waits until `seen` lists it. */
async function share(page: Page, seen: Page): Promise<void> {
  // A background tab runs no animation frames, and the file drop renders on them.
  await page.bringToFront()
  await page.evaluate(async () => {
    const drop = document.querySelector('p2p-file-drop') as HTMLElement & {share?: {ready: Promise<void>, add(b: Blob, o: {name: string, type: string}): Promise<unknown>}}
    while (!drop.share) await new Promise(requestAnimationFrame)
    await drop.share.ready
    await drop.share.add(new Blob(['Minutes of Monday: ship the file drop.\n'], {type: 'text/plain'}), {name: 'minutes.txt', type: 'text/plain'})
  })
  await seen.bringToFront()
  await seen.waitForFunction(() => document.querySelector('p2p-file-drop')?.shadowRoot?.querySelectorAll('[part~="file"]').length === 1,
    {timeout: TIMEOUT, polling: 100})
}

const written: string[] = []
try {
  for (const name of PAGES) {
    for (const scheme of SCHEMES) {
      const room = `shots-${randomBytes(4).toString('hex')}`
      const shot = await open(name, room, scheme, false)
      const peer = await open(name, room, scheme, true)
      await shot.waitForFunction(() => document.querySelector('p2p-peers')?.shadowRoot?.querySelectorAll('[part~="peer-connected"]').length === 1,
        {timeout: TIMEOUT, polling: 100})
      if (name === 'chat') {
        await say(peer, 'Grace', 'Anyone up for lunch at noon?', [shot])
        await say(shot, 'Ada', 'Yes! The usual place?', [shot, peer])
      }
      if (name === 'files') await share(peer, shot)
      // The chat and file pages fold the peer list away; opened, it shows the connected badge.
      await shot.evaluate(() => document.querySelector('details')?.setAttribute('open', ''))
      await shot.bringToFront()
      for (const [label, viewport] of Object.entries(WIDTHS)) {
        await shot.setViewport(viewport)
        const path = join(out, `${name}-${scheme}-${label}.png`)
        await shot.screenshot({path, fullPage: true})
        written.push(path)
      }
      await Promise.all([shot.close(), peer.close()])
    }
  }
} finally {
  await Promise.all([chromium.close(), demo.close(), hub.close()])
}
for (const path of written) console.log(path)
