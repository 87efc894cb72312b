// The browser DHT in Chromium (src/core/dht, docs/dht.md): eight pages, each in a
// browser context of its own, join a room with maxPeers 3 and run the page's DHT
// node: four through one hub process, four through another, and the first page
// through both (so the two halves meet only through it); three of them are in a
// second room too. Both hubs stop. Then: two pages never connected open a
// connection signalled through the DHT; a page joins the second room, found only
// through the DHT; and a new tab in one page's context (the same origin and
// storage: its tabs share a BroadcastChannel) reaches the room from that tab
// alone. Loopback only.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import type {BrowserContext, Page} from 'puppeteer-core'
import {callTestApi, openTestPage, useChromiumHubs} from './helpers.js'
import type {DhtPageApi} from './pages/dht-page.js'
import {until} from '../shared/until.js'

const stack = useChromiumHubs(2)

const call = <K extends keyof DhtPageApi & string>(page: Page, name: K, ...args: Parameters<DhtPageApi[K]>) => callTestApi<DhtPageApi, K>(page, name, ...args)

const openPage = (context: BrowserContext): Promise<Page> => openTestPage(context, `${stack.server.url}/test/e2e/pages/dht.html`)

test('eight pages (maxPeers 3) and the hub stopped: a connection signalled through the DHT, a room found only through it, a new tab in through a tab of its origin', {timeout: 300_000}, async () => {
  const room = `dht-e2e-${Date.now()}`
  const second = `${room}-second`
  const pages: Page[] = []
  for (let i = 0; i < 8; i++) pages.push(await openPage(await stack.context()))
  const [a, b] = stack.hubs.map(hub => hub.url)
  const hubsOf = (i: number) => i === 0 ? [a, b] : i < 4 ? [a] : [b]
  const keys = await Promise.all(pages.map((page, i) => call(page, 'join', hubsOf(i), room, 3)))
  for (const [i, page] of pages.slice(0, 3).entries()) await call(page, 'join', hubsOf(i), second, 3)
  await until(async () => (await Promise.all(pages.map(async page => {
    const dht = await call(page, 'dht')
    return (dht?.dhtPeers ?? 0) >= 2 && (await call(page, 'room', room)).peers.length >= 1
  }))).every(Boolean), 'every page in the room and with two DHT peers', {timeout: 120_000})
  await until(async () => (await Promise.all(pages.slice(0, 3).map(async page => (await call(page, 'dht'))!.announcements >= 2))).every(Boolean),
    'the second room\'s pages announced both their rooms', {timeout: 60_000})

  await Promise.all(stack.hubs.map(hub => hub.close()))

  // (a) Two pages never connected (one of each half): a lookup finds the route, and the connection is signalled along it.
  let pair: [number, number] | null = null
  for (let i = 1; i < 4 && !pair; i++) {
    for (let j = 4; j < 8 && !pair; j++) if (!await call(pages[i], 'connected', keys[j])) pair = [i, j]
  }
  assert.ok(pair, 'two pages not connected to each other')
  const [i, j] = pair
  const {connected, relays} = await call(pages[i], 'connect', keys[j])
  assert.equal(connected, true)
  assert.ok(relays >= 1, `through ${relays} relays`)
  await until(async () => (await call(pages[j], 'dht'))!.keys.includes(keys[i]), 'the other end has it too')

  // (b) The eighth page joins the second room, which it never met on the hub: found through the DHT.
  const last = pages[7]
  await call(last, 'join', [b], second, 3)
  await until(async () => (await call(last, 'room', second)).peers.length >= 1, 'the eighth page in the second room', {timeout: 60_000})
  const inSecond = await call(last, 'room', second)
  assert.ok(inSecond.peers.every(key => keys.slice(0, 3).includes(key)))
  assert.equal(inSecond.throughDht, inSecond.peers.length, 'every connection of it signalled through the DHT')

  // (c) A new tab in the second page's context: its origin's tabs are its only hub that answers.
  const tab = await openPage(stack.contexts[1])
  const tabKey = await call(tab, 'join', [a], room, 3)
  assert.ok(!keys.includes(tabKey))
  await until(async () => (await call(tab, 'room', room)).peers.length >= 1, 'the new tab in the room', {timeout: 60_000})
  assert.ok((await call(tab, 'dht'))!.keys.includes(keys[1]), 'it met the tab of its origin')
})
