// The demo as a newcomer meets it: a real hub process, the demo server, and two tabs
// of the browser under test (P2P_BROWSER) that must find each other and show one connected peer.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {mkdir} from 'node:fs/promises'
import {randomBytes} from 'node:crypto'
import {fileURLToPath} from 'node:url'
import type {Page} from 'puppeteer-core'
import {collectPageErrors, peerRows, useDemoStack, waitForOneConnectedPeer} from './helpers.js'

const RESULTS = new URL('../../test-results/', import.meta.url)
const CONNECT_TIMEOUT = 30_000

const stack = useDemoStack()

test('two tabs of the demo find each other and list one connected peer each', async () => {
  // A room of its own, so a stray tab on the same hub cannot join this test.
  const room = `e2e-${randomBytes(4).toString('hex')}`
  const address = `${stack.demo.url}/?hub=${encodeURIComponent(stack.hub.url)}&room=${room}`
  const pageErrors: string[] = []
  const open = async (name: string) => {
    const page = await stack.browser.newPage()
    collectPageErrors(page, name, stack.hub.url, pageErrors)
    await page.setViewport({width: 900, height: 700})
    await page.goto(address)
    return page
  }
  const [first, second] = await Promise.all([open('first tab'), open('second tab')])

  await Promise.all([waitForOneConnectedPeer(first, 'first tab', CONNECT_TIMEOUT), waitForOneConnectedPeer(second, 'second tab', CONNECT_TIMEOUT)])

  // Each tab lists the other: the key shown in one is the key the other calls its own.
  const [firstRows, secondRows] = await Promise.all([peerRows(first), peerRows(second)])
  const ownKey = (page: Page) => page.evaluate(() => document.querySelector('p2p-swarm')?.swarm?.publicKey)
  assert.equal(firstRows[0].key, await ownKey(second))
  assert.equal(secondRows[0].key, await ownKey(first))
  assert.deepEqual(pageErrors, [])

  await mkdir(RESULTS, {recursive: true})
  // A screenshot waits for a frame, which only the tab in front paints.
  for (const [page, name] of [[first, 'demo-first-tab'], [second, 'demo-second-tab']] as const) {
    await page.bringToFront()
    await page.screenshot({path: `${fileURLToPath(RESULTS)}${name}.png`})
  }

  // A reload leaves no ghost: the reloaded tab comes back with the same key (the page
  // identity is kept, docs/identity.md) on a new connection under a new hub id, and the
  // first tab ends with exactly that one peer (the old connection went with its goodbye).
  const oldKey = await ownKey(second)
  const hubIdOfPeer = () => first.evaluate(() => document.querySelector('p2p-swarm')?.swarm?.peers.map(p => p.id) ?? [])
  const [oldHubId] = await hubIdOfPeer()
  await second.reload()
  await waitForOneConnectedPeer(second, 'reloaded tab', CONNECT_TIMEOUT)
  assert.equal(await ownKey(second), oldKey, 'the reloaded tab has its key back')
  await first.waitForFunction((key, old) => {
    const swarm = document.querySelector('p2p-swarm')?.swarm
    const rows = document.querySelector('p2p-peers')?.shadowRoot?.querySelectorAll('[part~="peer"]') ?? []
    return swarm?.peers.length === 1 && swarm.peers[0].id !== old && rows.length === 1 &&
      rows[0].getAttribute('data-key') === key && rows[0].getAttribute('data-state') === 'connected'
  }, {timeout: CONNECT_TIMEOUT, polling: 100}, oldKey, oldHubId)
  assert.deepEqual(pageErrors, [])
})
