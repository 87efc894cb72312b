// The demo in Firefox ESR: two tabs must find each other through a real hub process and
// list one connected peer each. Firefox's EventSource fires `open` only on the first
// bytes of a stream's body, so this is what breaks when the hub stays silent until its
// first message (the hub's `:ok` line), or when a page waits for such an `open` before
// it announces, on a hub that sends nothing before a message (signalhub's own server).
import {after, before, test} from 'node:test'
import assert from 'node:assert/strict'
import {createRequire} from 'node:module'
import type {IncomingMessage, Server, ServerResponse} from 'node:http'
import type {AddressInfo} from 'node:net'
import {randomBytes} from 'node:crypto'
import type {Page} from 'puppeteer-core'
import {startHubProcess} from '../../scripts/hub-process.js'
import {startDemoServer} from '../../scripts/browser.js'
import {launchFirefox, type LaunchedBrowser} from '../../scripts/firefox.js'
import type {DemoServer} from '../../scripts/demo-server.js'
import {isFirefoxNotice, peerRows, waitForOneConnectedPeer} from './helpers.js'

const CONNECT_TIMEOUT = 60_000
const signalhubServer = createRequire(import.meta.url)('signalhub/server') as () => Server

let demo: DemoServer
let firefox: LaunchedBrowser
const started: Array<{close(): Promise<void>}> = []

before(async () => {
  demo = await startDemoServer()
  started.push(demo)
  firefox = await launchFirefox()
  started.push(firefox)
})

after(async () => {
  await Promise.all(started.map(s => s.close()))
})

/**
 * signalhub 4.9.0's own server, which writes no byte of a stream before the first
 * message, with its 30 s heartbeat comments dropped: whatever opens a Firefox tab's
 * stream must then be a message, so a page that waits for `open` before announcing
 * never meets anyone (with the heartbeat it would, half a minute late).
 */
async function startSilentSignalhub(): Promise<{url: string, close(): Promise<void>}> {
  const server = signalhubServer()
  server.prependListener('request', (req: IncomingMessage, res: ServerResponse) => {
    if (req.method !== 'GET') return
    const write = res.write.bind(res) as (chunk: unknown) => boolean
    res.write = ((chunk: unknown) => String(chunk).startsWith(':heartbeat') || write(chunk)) as typeof res.write
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise(resolve => {
      server.close(() => resolve())
      server.closeAllConnections()
    }),
  }
}

/** Two Firefox tabs of the demo on `hub`, in a room of their own; each must list the other, connected. */
async function twoTabsMeet(hub: string, {closedWhileOpening = false} = {}) {
  const room = `firefox-${randomBytes(4).toString('hex')}`
  const address = `${demo.url}/?hub=${encodeURIComponent(hub)}&room=${room}`
  const pageErrors: string[] = []
  const open = async (name: string) => {
    const page = await firefox.browser.newPage()
    page.on('pageerror', err => {
      const message = (err as Error).message
      if (closedWhileOpening && isFirefoxNotice(message, hub)) return
      pageErrors.push(`${name}: ${message}`)
    })
    await page.goto(address)
    return page
  }
  const first = await open('first tab')
  const second = await open('second tab')
  try {
    await Promise.all([waitForOneConnectedPeer(first, 'first tab', CONNECT_TIMEOUT), waitForOneConnectedPeer(second, 'second tab', CONNECT_TIMEOUT)])
    const ownKey = (page: Page) => page.evaluate(() => document.querySelector('p2p-swarm')?.swarm?.publicKey)
    const [firstRows, secondRows] = await Promise.all([peerRows(first), peerRows(second)])
    assert.equal(firstRows[0].key, await ownKey(second))
    assert.equal(secondRows[0].key, await ownKey(first))
    assert.deepEqual(pageErrors, [])
  } finally {
    await Promise.all([first.close(), second.close()])
  }
}

// Heartbeats a day apart: nothing but the stream's first line and messages reach a page.
const QUIET = ['--heartbeat-interval', String(24 * 3600_000)]

test("Firefox's EventSource opens on a hub stream before any message", {timeout: 120_000}, async () => {
  const hub = await startHubProcess({args: QUIET})
  started.push(hub)
  const page = await firefox.browser.newPage()
  try {
    await page.goto(`${demo.url}/`)
    const opened = await page.evaluate(url => new Promise<string>(resolve => {
      const source = new EventSource(url)
      source.onopen = () => {
        source.close()
        resolve('open')
      }
      source.onerror = () => {
        source.close()
        resolve('error')
      }
      // A hang guard, so a silent stream fails with a reason rather than the test's timeout.
      setTimeout(() => {
        source.close()
        resolve('no open after a minute')
      }, 60_000)
    }), `${hub.url}/v1/firefox/nobody-posts-here`)
    assert.equal(opened, 'open')
  } finally {
    await page.close()
  }
})

test('two Firefox tabs of the demo meet through a hub process', {timeout: 120_000}, async () => {
  const hub = await startHubProcess({args: QUIET})
  started.push(hub)
  await twoTabsMeet(hub.url)
})

test("two Firefox tabs of the demo meet through signalhub's own server, which sends nothing before the first message", {timeout: 120_000}, async () => {
  const hub = await startSilentSignalhub()
  started.push(hub)
  await twoTabsMeet(hub.url, {closedWhileOpening: true})
})
