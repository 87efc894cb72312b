// A room joined through the DHT from markup alone, in Chromium: `<p2p-swarm>` with a
// `<p2p-dht>` in it, as an app writes it (src/elements/p2p-dht). Two pages, each in a
// browser context of its own, meet in a room through a real hub process; the hub
// stops; a new tab in the first page's context, with the same markup, finds the room
// and reaches the second page through the DHT, its only way in the tab of its
// origin. Loopback only (`iceServers: []`).
import {test} from 'node:test'
import assert from 'node:assert/strict'
import type {BrowserContext, Page} from 'puppeteer-core'
import {callElementApi, openTestPage, useChromiumHubs} from './helpers.js'
import {until} from '../shared/until.js'

const stack = useChromiumHubs(1)

const call = callElementApi
const openPage = (context: BrowserContext): Promise<Page> => openTestPage(context, `${stack.server.url}/test/e2e/pages/swarm-element.html`, 'p2pElement')

test('<p2p-swarm> with a <p2p-dht> in it: with the hub stopped, a new tab finds the room and reaches a page of another browser through the DHT', {timeout: 180_000}, async () => {
  const room = `dht-markup-${Date.now()}`
  const pages: Page[] = []
  const hub = stack.hubs[0]
  for (let i = 0; i < 2; i++) pages.push(await openPage(await stack.context()))
  const [a, b] = await Promise.all(pages.map(page => call(page, 'add', hub.url, room, true)))
  await until(async () => (await call(pages[0], 'peers')).includes(b) && (await call(pages[1], 'peers')).includes(a), 'the two pages in the room')
  // Both DHT nodes up and the room announced on them before the hub goes.
  await until(async () => (await Promise.all(pages.map(async page => {
    const dht = await call(page, 'dht')
    return dht !== null && dht.peers >= 1 && dht.announcements >= 1
  }))).every(Boolean), 'both pages\' DHT nodes with a peer, the room announced')

  await hub.close()

  const tab = await openPage(stack.contexts[0])
  const key = await call(tab, 'add', hub.url, room, true)
  assert.ok(key !== a && key !== b, 'a tab has a key of its own')
  await until(async () => (await call(tab, 'peers')).includes(b), 'the new tab reached the page of the other browser', {timeout: 60_000})
  assert.ok((await call(tab, 'viaDht')).includes(b), 'its connection to it signalled through the DHT')
})
