// The always-on mirror end to end, as its users meet it: a page (real elements,
// IndexedDB, Chromium's WebRTC) writes to its log and shares a file, the mirror
// (`p2p-elements mirror`, a real child process on LevelDB) keeps both, the page
// closes, and a fresh page (a browser context of its own: no storage, another
// key) gets both from the mirror alone. A real hub process; loopback only.
import {after, before, test} from 'node:test'
import assert from 'node:assert/strict'
import {mkdtemp, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import type {Page} from 'puppeteer-core'
import {launchChromium, startTestServer, type LaunchedChromium, type TestServer} from '../../scripts/browser.js'
import {startHubProcess} from '../../scripts/hub-process.js'
import {MirrorProcess} from '../shared/mirror-process.js'
import {until} from '../shared/until.js'

type MirrorPageApi = {
  address(): Promise<string>
  post(text: string): Promise<void>
  summary(): Promise<{length: number, heads: string[], texts: string[]}>
  lengthAtLeast(length: number): Promise<number>
  share(name: string, size: number): Promise<{id: string, sha256: string}>
  download(id: string): Promise<string>
  peers(): string[]
}

let hub: {url: string, close(): Promise<void>}
let server: TestServer
let chromium: LaunchedChromium
let dir: string
const mirrors: MirrorProcess[] = []

before(async () => {
  hub = await startHubProcess() as typeof hub
  server = await startTestServer()
  chromium = await launchChromium()
  dir = await mkdtemp(join(tmpdir(), 'p2p-mirror-e2e-'))
})

after(async () => {
  for (const m of mirrors) if (m.child.exitCode === null && m.child.signalCode === null) await m.stop('SIGKILL')
  await chromium?.close()
  await server?.close()
  await hub?.close()
  if (dir) await rm(dir, {recursive: true, force: true})
})

/**
 * Calls the page's p2pTest API. Not a timing: a bound that turns a call that cannot
 * end into a failure naming it (else Chromium's protocol timeout says only that some call hung).
 */
async function call<K extends keyof MirrorPageApi>(page: Page, name: K, ...args: Parameters<MirrorPageApi[K]>): Promise<Awaited<ReturnType<MirrorPageApi[K]>>> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const bound = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`the page's ${name}(${args.map(a => JSON.stringify(a)).join(', ').slice(0, 80)}) did not return in 120 s`)), 120_000)
  })
  try {
    return await Promise.race([page.evaluate((n, a) => ((window as unknown as {p2pTest: Record<string, (...x: unknown[]) => unknown>}).p2pTest[n])(...a), name, args), bound]) as never
  } finally {
    clearTimeout(timer)
  }
}

/** A page in a browser context of its own (its own IndexedDB, so its own key), on the mirror test page. */
async function openPage(room: string, key?: string): Promise<{page: Page, close(): Promise<void>}> {
  const context = await chromium.browser.createBrowserContext()
  const page = await context.newPage()
  const query = new URLSearchParams({hub: hub.url, room, ...key ? {key} : {}})
  await page.goto(`${server.url}/test/e2e/pages/mirror.html?${query}`)
  await page.waitForFunction(() => 'p2pTest' in window)
  return {page, close: () => context.close()}
}

test('a page writes to its log and shares a file, then closes; the mirror has both, and a fresh page gets both from the mirror alone', {timeout: 240_000}, async () => {
  const room = `mirror-e2e-${Date.now()}`
  const writer = await openPage(room)
  const address = await call(writer.page, 'address')
  for (const text of ['first note', 'second note', 'third note']) await call(writer.page, 'post', text)
  const file = await call(writer.page, 'share', 'photos.bin', 1_500_000)
  const written = await call(writer.page, 'summary')
  assert.deepEqual(written.texts, ['first note', 'second note', 'third note'])

  const mirror = new MirrorProcess(['mirror', '--hub', hub.url, '--dir', join(dir, 'mirror'), '--room', room, '--log', address, '--file', file.id])
  mirrors.push(mirror)
  const held = await mirror.status(s => s.logs[0]?.heads.join() === written.heads.join() && s.files[0]?.state === 'complete',
    'the writer\'s heads and the whole file')
  assert.equal(held.logs[0].length, written.length)
  assert.equal(held.files[0].bytes, 1_500_000)
  assert.equal(held.files[0].name, 'photos.bin')
  await writer.close()
  await mirror.status(s => s.rooms[0].peers === 0, 'the writer gone')

  // A fresh page: another browser context, so no storage and a key of its own; in the room only the mirror.
  const reader = await openPage(room, address)
  assert.equal(await call(reader.page, 'lengthAtLeast', written.length), written.length)
  const read = await call(reader.page, 'summary')
  assert.deepEqual(read.heads, written.heads, 'the writer\'s heads, from the mirror')
  assert.deepEqual(read.texts, written.texts)
  assert.equal(await call(reader.page, 'download', file.id), file.sha256, 'the file, byte for byte')
  await until(async () => (await call(reader.page, 'peers')).length > 0, 'the reader connected')
  assert.deepEqual(await call(reader.page, 'peers'), [held.key], 'the mirror was the only peer it had')
  await reader.close()
  assert.deepEqual(await mirror.stop(), {code: 0, signal: null})
})
