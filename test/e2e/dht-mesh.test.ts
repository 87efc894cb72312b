// A partial mesh mended through the browsers' DHT, in Chromium, with the
// always-on mirror (`p2p-elements mirror`, a real child process on LevelDB) as
// one of its nodes (src/core/dht/room-discovery.ts, docs/dht.md). Four pages, each
// in a browser context of its own, join a room with room for everyone: the
// mirror and two pages on one hub, two pages on another, and the first page on
// both. The hubs alone leave a partial mesh (the pages of one hub never meet
// those of the other); the missing connections open through the DHT, their
// offers and answers relayed by the first page. Then both hubs stop, and a new
// tab in one page's context, whose only way in is that page, reaches every member
// of the room, the mirror too. Real hub processes, loopback only.
import {after, before, test} from 'node:test'
import assert from 'node:assert/strict'
import {mkdtemp, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import type {BrowserContext, Page} from 'puppeteer-core'
import {MirrorProcess} from '../shared/mirror-process.js'
import {callTestApi, openTestPage, useChromiumHubs} from './helpers.js'
import type {DhtPageApi} from './pages/dht-page.js'
import {until} from '../shared/until.js'
import {randomBytes, toHex} from '../../src/core/bytes.js'

const stack = useChromiumHubs(2)
let dir: string
let mirror: MirrorProcess | undefined

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'p2p-dht-mesh-'))
})

after(async () => {
  await mirror?.stop()
  if (dir) await rm(dir, {recursive: true, force: true})
})

const call = <K extends keyof DhtPageApi & string>(page: Page, name: K, ...args: Parameters<DhtPageApi[K]>) => callTestApi<DhtPageApi, K>(page, name, ...args)

const openPage = (context: BrowserContext): Promise<Page> => openTestPage(context, `${stack.server.url}/test/e2e/pages/dht.html`)

test('a partial mesh of pages and the mirror on two hubs mends through the DHT; with the hubs stopped, a new tab whose one way in is a tab of its origin reaches all of them', {timeout: 300_000}, async () => {
  const room = `dht-mesh-${Date.now()}`
  const [a, b] = stack.hubs.map(hub => hub.url)
  // The mirror needs something to keep or an owner: an owner that never writes.
  mirror = new MirrorProcess(['mirror', '--hub', a, '--dir', join(dir, 'mirror'), '--room', room, '--owner', toHex(randomBytes(32))])
  const mirrorKey = (await mirror.status(() => true, 'a first status')).key

  const pages: Page[] = []
  for (let i = 0; i < 4; i++) pages.push(await openPage(await stack.context()))
  const hubsOf = (i: number) => i === 0 ? [a, b] : i === 1 ? [a] : [b]
  const keys = await Promise.all(pages.map((page, i) => call(page, 'join', hubsOf(i), room, 8)))
  const everyone = [mirrorKey, ...keys]

  // Every page and the mirror end with all the others: the hubs gave each page of one hub none of the other's.
  await until(async () => (await Promise.all(pages.map(async (page, i) => {
    const {peers} = await call(page, 'room', room)
    return everyone.every(key => key === keys[i] || peers.includes(key))
  }))).every(Boolean), 'every page with the mirror and every other page', {timeout: 120_000})
  await mirror.status(s => s.rooms[0].peers === 4, 'the mirror with all four pages')
  // Each connection across the hubs opened through the DHT (by one end or the other, relayed by the first page).
  const across: Array<[number, string[]]> = [[1, [keys[2], keys[3]]], [2, [mirrorKey, keys[1]]], [3, [mirrorKey, keys[1]]]]
  for (const [i, others] of across) {
    const {viaDht} = await call(pages[i], 'room', room)
    for (const key of others) assert.ok(viaDht.includes(key), `page ${i} reached ${key.slice(0, 8)} through the DHT (its DHT connections: ${viaDht.map(k => k.slice(0, 8))})`)
  }

  await Promise.all(stack.hubs.map(hub => hub.close()))

  // A new tab in the third page's context, with the hubs stopped: its only way in is that one page, the one tab of its
  // origin (the ninth page with one existing peer as bootstrap). It reaches every member of the room, the
  // mirror among them, each connection signalled through the DHT.
  const tab = await openPage(stack.contexts[2])
  const tabKey = await call(tab, 'join', [b], room, 8)
  assert.ok(![...keys, mirrorKey].includes(tabKey))
  await until(async () => {
    const {peers} = await call(tab, 'room', room)
    return everyone.every(key => peers.includes(key))
  }, 'the new tab with the mirror and all four pages', {timeout: 60_000})
  const {viaDht} = await call(tab, 'room', room)
  for (const key of everyone) assert.ok(viaDht.includes(key), `the new tab reached ${key.slice(0, 8)} through the DHT`)
  await mirror.status(s => s.rooms[0].peers === 5, 'the mirror with the new tab too')
})
