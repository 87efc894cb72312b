// The README's "publishing from JavaScript" example, as written there: its HTML block
// is served as a page (the script-tag file from the demo server's bundle of the same
// sources, the hub a real hub process), opened in two tabs of the system Chromium, and
// what its own console.log prints is what the test reads. A small server of its own
// serves the page and passes every other path to the demo server (request interception
// would also catch the hub's event stream, which then never opened).
import {after, before, test} from 'node:test'
import assert from 'node:assert/strict'
import {readFile} from 'node:fs/promises'
import {join} from 'node:path'
import {randomBytes} from 'node:crypto'
import {EventEmitter, once} from 'node:events'
import {createServer, type Server} from 'node:http'
import type {AddressInfo} from 'node:net'
import type {Page} from 'puppeteer-core'
import {startHubProcess, type HubProcess} from '../../scripts/hub-process.js'
import {launchChromium, startDemoServer, type LaunchedChromium} from '../../scripts/browser.js'
import type {DemoServer} from '../../scripts/demo-server.js'
import {ROOT} from '../../scripts/kit-build.js'

const TIMEOUT = 30_000
const KIT_IN_README = '/node_modules/p2p-elements/dist/p2p-elements.min.js'
const HUB_IN_README = 'http://127.0.0.1:9000'

let hub: HubProcess
let demo: DemoServer
let chromium: LaunchedChromium
let server: Server
let url: string
/** The page each room's tabs get, by room. */
const pages = new Map<string, string>()

before(async () => {
  hub = await startHubProcess()
  demo = await startDemoServer()
  server = createServer((request, response) => {
    const path = new URL(request.url!, 'http://x').pathname
    const page = pages.get(path.slice(1))
    if (page) return void response.writeHead(200, {'content-type': 'text/html; charset=utf-8'}).end(page)
    fetch(`${demo.url}${path}`).then(async upstream => {
      response.writeHead(upstream.status, {'content-type': upstream.headers.get('content-type') ?? 'application/octet-stream'})
      response.end(Buffer.from(await upstream.arrayBuffer()))
    }, err => response.writeHead(502).end(String(err)))
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  chromium = await launchChromium()
})

after(async () => {
  await Promise.all([chromium?.close(), demo?.close(), hub?.close(), new Promise(resolve => server?.close(resolve))])
})

/** The HTML block that follows "Publishing from JavaScript" in README.md. */
async function readmeExample(): Promise<string> {
  const readme = await readFile(join(ROOT, 'README.md'), 'utf8')
  const start = readme.indexOf('**Publishing from JavaScript.**')
  assert.ok(start >= 0, 'README.md has no "Publishing from JavaScript" paragraph')
  const block = readme.slice(start).match(/```html\n([\s\S]*?)```/)
  assert.ok(block, 'no html block follows it')
  return block[1]
}

/** Opens the example in a tab, in `room`, collecting what it logs. */
async function openExample(html: string, room: string): Promise<{page: Page, logged: unknown[][], logs: EventEmitter}> {
  assert.ok(html.includes(KIT_IN_README) && html.includes(HUB_IN_README), 'the example loads the kit and names a hub as the test expects')
  const page = await chromium.browser.newPage()
  const logged: unknown[][] = []
  const logs = new EventEmitter()
  page.on('console', message => {
    Promise.all(message.args().map(arg => arg.jsonValue())).then(args => {
      logged.push(args)
      logs.emit('log')
    }, () => {})
  })
  // The demo server's bundle is the same sources as the script-tag file the README loads.
  pages.set(room, `<!doctype html><meta charset="utf-8">${html.replace(KIT_IN_README, '/p2p-elements.js')
    .replace(HUB_IN_README, hub.url).replace('room="team"', `room="${room}"`)}`)
  await page.goto(`${url}/${room}`)
  return {page, logged, logs}
}

test('README: publishing from JavaScript reaches the other tab, and both log what their example says', async () => {
  const html = await readmeExample()
  const room = `e2e-${randomBytes(4).toString('hex')}`
  const a = await openExample(html, room)
  const b = await openExample(html, room)
  try {
    for (const {page} of [a, b]) {
      // Published before the gossip link is up, a message would reach only this tab.
      await page.waitForFunction(() => (document.querySelector('p2p-gossip') as HTMLElement & {gossip?: {stats: {links: number}}})?.gossip?.stats.links === 1,
        {timeout: TIMEOUT, polling: 100})
    }
    // A click waits for an animation frame, which only the tab in front gets.
    await a.page.bringToFront()
    await a.page.click('#wave')
    const said = ['received', {name: 'Ada', text: 'Hello, room!'}]
    // Console messages reach the test after the page logs them: wait for them, not for a time.
    for (const [name, tab] of [['A', a], ['B', b]] as const) {
      while (tab.logged.length === 0) {
        await once(tab.logs, 'log', {signal: AbortSignal.timeout(TIMEOUT)}).catch(err => {
          throw new Error(`tab ${name} logged nothing`, {cause: err})
        })
      }
    }
    assert.deepEqual(b.logged, [said])
    assert.deepEqual(a.logged, [['sent', said[1]]])
  } finally {
    await Promise.all([a.page.close(), b.page.close()])
  }
})
