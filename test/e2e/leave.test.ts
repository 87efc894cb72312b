// How peers leave, as a browser peer sees it, through a real hub process on loopback:
// a Node peer killed outright (SIGKILL: no GOODBYE, and its sockets just go quiet) is
// dropped by the multiplexer's keep-alive; a <p2p-swarm> taken out of the DOM, and a
// tab closed, say GOODBYE and are dropped at once, without an error. The tests wait for
// the drop and assert what kind it was; the time it took is printed, not asserted.
import {after, before, test} from 'node:test'
import assert from 'node:assert/strict'
import {randomBytes} from 'node:crypto'
import type {BrowserContext, Page} from 'puppeteer-core'
import {launchChromium, startTestServer, type LaunchedChromium, type TestServer} from '../../scripts/browser.js'
import {startHubProcess, type HubProcess} from '../../scripts/hub-process.js'
import {startPeerProcess} from '../../scripts/peer-process.js'
import {until, untilValue} from '../shared/until.js'

/**
 * Longest wait for a vanished peer to be dropped: well past the keep-alive's 5 s bound,
 * and short of the 30 s after which WebRTC's own consent check would drop it anyway.
 */
const VANISHED_WITHIN = 20_000

interface Disconnect {
  publicKey: string
  /** The error code the page saw, null for a goodbye. */
  code: string | null
  /** Date.now() in the page: the same clock as this process's. */
  at: number
}

let hub: HubProcess
let server: TestServer
let chromium: LaunchedChromium

before(async () => {
  hub = await startHubProcess()
  server = await startTestServer()
  chromium = await launchChromium()
})

after(async () => {
  await chromium?.close()
  await server?.close()
  await hub?.close()
})

const newRoom = (what: string) => `e2e-leave-${what}-${randomBytes(4).toString('hex')}`

async function open(context: BrowserContext, page: string, api: string): Promise<Page> {
  const tab = await context.newPage()
  await tab.goto(`${server.url}/test/e2e/pages/${page}`)
  await tab.waitForFunction(name => name in window, {}, api)
  return tab
}

/** A tab with a <p2p-swarm> in `room`, and what its p2p-peer-disconnect events reported. */
async function elementTab(context: BrowserContext, room: string) {
  const page = await open(context, 'swarm-element.html', 'p2pElement')
  const key = await page.evaluate((h, r) => (window as any).p2pElement.add(h, r), hub.url, room) as string
  return {
    page,
    key,
    peers: () => page.evaluate(() => (window as any).p2pElement.peers()) as Promise<string[]>,
    disconnects: async () => (await page.evaluate(() => (window as any).p2pElement.disconnects()) as Array<{publicKey: string, error: string | null, at: number}>)
      .map(({publicKey, error, at}): Disconnect => ({publicKey, code: error, at})),
  }
}

async function dropOf(disconnects: () => Promise<Disconnect[]>, key: string, what: string, timeout?: number): Promise<Disconnect> {
  return untilValue(async () => (await disconnects()).find(d => d.publicKey === key), what, {timeout})
}

test('a Node peer killed with SIGKILL is dropped by a browser peer', async t => {
  const room = newRoom('kill')
  const context = await chromium.browser.createBrowserContext()
  try {
    const page = await open(context, 'swarm.html', 'p2pTest')
    const browserKey = await page.evaluate((h, r) => (window as any).p2pTest.start(h, r), hub.url, room) as string
    const peer = await startPeerProcess(hub.url, room)
    const alive = () => {
      if (peer.child.exitCode !== null || peer.child.signalCode !== null) {
        throw new Error(`the Node peer exited (${peer.child.signalCode ?? peer.child.exitCode}) before the kill`)
      }
    }
    try {
      await until(async () => {
        alive()
        return (await page.evaluate(() => (window as any).p2pTest.peers()) as string[]).includes(peer.key)
      }, 'the browser to connect to the Node peer')
      await until(() => {
        alive()
        return peer.peers.has(browserKey)
      }, 'the Node peer to connect to the browser')
      const killedAt = Date.now()
      peer.child.kill('SIGKILL')
      const drop = await dropOf(() => page.evaluate(() => (window as any).p2pTest.disconnects()) as Promise<Disconnect[]>,
        peer.key, 'the browser to drop the killed peer', VANISHED_WITHIN)
      t.diagnostic(`dropped ${drop.at - killedAt} ms after SIGKILL, with ${drop.code}`)
      // Nothing was said: only the keep-alive can have noticed.
      assert.equal(drop.code, 'ERR_PEER_TIMEOUT')
    } finally {
      await peer.close()
    }
  } finally {
    await context.close()
  }
})

test('a <p2p-swarm> removed from the DOM is dropped by the other peer at once, without an error', async t => {
  const room = newRoom('remove')
  const context = await chromium.browser.createBrowserContext()
  try {
    const stay = await elementTab(context, room)
    const leave = await elementTab(context, room)
    await until(async () => (await stay.peers()).includes(leave.key) && (await leave.peers()).includes(stay.key),
      'the two elements to connect')
    const removedAt = Date.now()
    await leave.page.evaluate(() => (window as any).p2pElement.remove())
    const drop = await dropOf(stay.disconnects, leave.key, 'the other tab to drop the removed element')
    t.diagnostic(`dropped ${drop.at - removedAt} ms after the removal`)
    assert.equal(drop.code, null, 'a GOODBYE, not a timeout or a failure')
  } finally {
    await context.close()
  }
})

test('a tab closed is dropped by the other peer at once, without an error', async t => {
  const room = newRoom('close')
  const context = await chromium.browser.createBrowserContext()
  try {
    const stay = await elementTab(context, room)
    const leave = await elementTab(context, room)
    await until(async () => (await stay.peers()).includes(leave.key) && (await leave.peers()).includes(stay.key),
      'the two tabs to connect')
    const closedAt = Date.now()
    // Without beforeunload, as a person closing the tab: the page gets pagehide.
    await leave.page.close({runBeforeUnload: false})
    const drop = await dropOf(stay.disconnects, leave.key, 'the other tab to drop the closed one')
    t.diagnostic(`dropped ${drop.at - closedAt} ms after the tab closed`)
    assert.equal(drop.code, null, 'a GOODBYE, not a timeout or a failure')
  } finally {
    await context.close()
  }
})
