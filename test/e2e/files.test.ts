// The file drop demo as people use it: a real hub process, the demo server, and tabs
// of the browser under test (P2P_BROWSER). One tab shares a file through the drop zone's picker, the
// other downloads it with the Download button, and the bytes must be the same; a tab
// reloaded in the middle of a download goes on from what it had stored.
import {after, before, test} from 'node:test'
import assert from 'node:assert/strict'
import {mkdir, mkdtemp, rm, writeFile} from 'node:fs/promises'
import {createHash, randomBytes} from 'node:crypto'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'
import type {ElementHandle, Page} from 'puppeteer-core'
import type {FileInfo} from '../../src/core/files/share.js'
import {collectPageErrors, useDemoStack} from './helpers.js'
import {until} from '../shared/until.js'

const RESULTS = new URL('../../test-results/', import.meta.url)
const TIMEOUT = 60_000

const stack = useDemoStack()
let files: string

before(async () => {
  files = await mkdtemp(join(tmpdir(), 'p2p-elements-files-e2e-'))
})

after(async () => {
  if (files) await rm(files, {recursive: true, force: true})
})

/** A file of random bytes in the temp directory, and its SHA-256 (hex). */
async function makeFile(name: string, size: number): Promise<{path: string, sha256: string}> {
  const bytes = randomBytes(size)
  const path = join(files, name)
  await writeFile(path, bytes)
  return {path, sha256: createHash('sha256').update(bytes).digest('hex')}
}

/**
 * Opens tabs of demo/files.html in a room of the test's own, collecting page errors.
 * The tabs share a browser context of the test's own too, so no test finds the files
 * (IndexedDB) or locks of another; `end()` closes it.
 */
async function opener(pageErrors: string[]) {
  const room = `e2e-files-${randomBytes(4).toString('hex')}`
  const address = `${stack.demo.url}/files.html?hub=${encodeURIComponent(stack.hub.url)}&room=${room}`
  const context = await stack.browser.createBrowserContext()
  const open = async (name: string) => {
    const page = await context.newPage()
    collectPageErrors(page, name, stack.hub.url, pageErrors)
    await page.setViewport({width: 800, height: 900})
    await page.goto(address)
    await ready(page, name)
    return page
  }
  return {open, end: () => context.close()}
}

/** Waits until the tab's file drop has opened its storage and listed its files. */
async function ready(page: Page, name: string): Promise<void> {
  try {
    await page.waitForFunction(() => {
      const zone = document.querySelector('p2p-file-drop')?.shadowRoot?.querySelector<HTMLButtonElement>('[part~="drop-zone"]')
      return zone !== undefined && zone !== null && !zone.disabled
    }, {timeout: TIMEOUT, polling: 100})
  } catch (err) {
    throw new Error(`${name} never opened its file storage`, {cause: err})
  }
}

/** Chooses `path` in the tab's picker, as a person does after clicking the drop zone. */
async function share(page: Page, path: string): Promise<void> {
  const input = await page.$('p2p-file-drop >>> input[type="file"]') as ElementHandle<HTMLInputElement> | null
  assert.ok(input, 'the drop zone has a file input')
  await input.uploadFile(path)
}

/** The file of that name as the tab's share lists it. */
function listing(page: Page, name: string): Promise<FileInfo | undefined> {
  return page.evaluate((name: string) => {
    const info = document.querySelector('p2p-file-drop')?.share?.files().find(f => f.name === name)
    // Only what crosses the page boundary as JSON: the error becomes its message.
    return info && {...info, error: undefined}
  }, name)
}

/** Waits until the tab lists `name` with a Download button, and returns its listing. */
async function offered(page: Page, name: string, who: string): Promise<FileInfo> {
  // The list renders once a frame, and only the tab in front gets frames.
  await page.bringToFront()
  try {
    await page.waitForFunction((name: string) => {
      const drop = document.querySelector('p2p-file-drop')
      const info = drop?.share?.files().find(f => f.name === name)
      return info !== undefined && drop!.shadowRoot!.querySelector(`[data-id="${info.id}"] [part~="download"]`) !== null
    }, {timeout: TIMEOUT, polling: 100}, name)
  } catch (err) {
    throw new Error(`${who} never offered ${name} for download; it lists ${JSON.stringify(await listing(page, name))}`, {cause: err})
  }
  return (await listing(page, name))!
}

/** Clicks the Download button of file `id`, as a person does. */
async function clickDownload(page: Page, id: string): Promise<void> {
  await page.bringToFront()
  await page.click(`p2p-file-drop >>> [data-id="${id}"] [part~="download"]`)
}

async function waitForComplete(page: Page, id: string, who: string): Promise<void> {
  try {
    await page.waitForFunction((id: string) => document.querySelector('p2p-file-drop')?.share?.file(id)?.state === 'complete',
      {timeout: TIMEOUT, polling: 100}, id)
  } catch (err) {
    const info = await page.evaluate((id: string) => {
      const f = document.querySelector('p2p-file-drop')?.share?.file(id)
      return f && {state: f.state, have: f.have, chunks: f.chunks, holders: f.holders.length, error: f.error?.message}
    }, id)
    throw new Error(`${who} did not complete ${id.slice(0, 8)}: ${JSON.stringify(info)}`, {cause: err})
  }
}

/** SHA-256 (hex) of the complete file as the tab's share reads it back from IndexedDB. */
function pageSha256(page: Page, id: string): Promise<string> {
  return page.evaluate(async (id: string) => {
    const blob = await document.querySelector('p2p-file-drop')!.share!.blob(id)
    const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', await blob.arrayBuffer()))
    return [...digest].map(b => b.toString(16).padStart(2, '0')).join('')
  }, id)
}

test('a file dropped in one tab of the demo downloads in the other, byte for byte', async () => {
  const pageErrors: string[] = []
  const {open, end} = await opener(pageErrors)
  const [ada, bob] = await Promise.all([open('first tab'), open('second tab')])
  const file = await makeFile('holiday.bin', 3 * 1024 * 1024 + 123)

  await ada.bringToFront()
  await share(ada, file.path)
  const info = await offered(bob, 'holiday.bin', 'second tab')
  assert.equal(info.size, 3 * 1024 * 1024 + 123)
  assert.equal(info.state, 'remote')
  assert.deepEqual(info.holders, [await ada.evaluate(() => document.querySelector('p2p-swarm')!.swarm!.publicKey)])

  await clickDownload(bob, info.id)
  await waitForComplete(bob, info.id, 'second tab')
  assert.equal(await pageSha256(bob, info.id), file.sha256)
  // The finished file offers a Save link named as the file.
  await bob.waitForFunction((id: string) => {
    const save = document.querySelector('p2p-file-drop')!.shadowRoot!.querySelector<HTMLAnchorElement>(`[data-id="${id}"] a[part~="save"]`)
    return save?.download === 'holiday.bin' && save.href.startsWith('blob:')
  }, {timeout: TIMEOUT, polling: 100}, info.id)
  assert.deepEqual(pageErrors, [])

  await mkdir(RESULTS, {recursive: true})
  // A screenshot waits for a frame, which only the tab in front paints.
  for (const [page, name] of [[ada, 'files-first-tab'], [bob, 'files-second-tab']] as const) {
    await page.bringToFront()
    await page.screenshot({path: `${fileURLToPath(RESULTS)}${name}.png`})
  }
  await end()
})

test('a third tab downloads from both tabs that have the file', async () => {
  const pageErrors: string[] = []
  const {open, end} = await opener(pageErrors)
  const [ada, bob, cy] = await Promise.all([open('first tab'), open('second tab'), open('third tab')])
  const file = await makeFile('shared.bin', 4 * 1024 * 1024)
  const uploaded = (page: Page) => page.evaluate(() => document.querySelector('p2p-file-drop')!.share!.stats.uploaded)

  await ada.bringToFront()
  await share(ada, file.path)
  const info = await offered(bob, 'shared.bin', 'second tab')
  await clickDownload(bob, info.id)
  await waitForComplete(bob, info.id, 'second tab')
  const [adaBefore, bobBefore] = await Promise.all([uploaded(ada), uploaded(bob)])

  // The third tab sees two holders, both with every chunk, and fetches from each.
  await offered(cy, 'shared.bin', 'third tab')
  await until(async () => (await listing(cy, 'shared.bin'))?.seeders === 2, 'the third tab to count two seeders', {timeout: TIMEOUT})
  await clickDownload(cy, info.id)
  await waitForComplete(cy, info.id, 'third tab')
  assert.equal(await pageSha256(cy, info.id), file.sha256)
  assert.ok(await uploaded(ada) > adaBefore, 'the first tab served part of the file')
  assert.ok(await uploaded(bob) > bobBefore, 'the second tab served part of the file')
  assert.deepEqual(pageErrors, [])
  await end()
})

test('a tab reloaded in the middle of a download keeps what it stored and finishes it', async () => {
  const pageErrors: string[] = []
  const {open, end} = await opener(pageErrors)
  const [ada, bob] = await Promise.all([open('first tab'), open('second tab')])
  const file = await makeFile('big.bin', 40 * 1024 * 1024)

  await ada.bringToFront()
  await share(ada, file.path)
  const info = await offered(bob, 'big.bin', 'second tab')
  const database = await bob.evaluate(() => document.querySelector('p2p-file-drop')!.database)

  await clickDownload(bob, info.id)
  // Somewhere in the middle: more than a fifth stored, not all of it.
  let stored = 0
  await until(async () => {
    const now = await listing(bob, 'big.bin')
    stored = now?.have ?? 0
    if (now?.state === 'complete') throw new Error('the download finished before the tab could be reloaded')
    return (now?.bytes ?? 0) > info.size / 5
  }, 'the second tab to store a fifth of big.bin', {timeout: TIMEOUT, every: 20})
  assert.ok(stored < info.chunks)
  await mkdir(RESULTS, {recursive: true})
  await bob.screenshot({path: `${fileURLToPath(RESULTS)}files-downloading.png`})

  await bob.reload()
  // Its own database again (the lock went with the old page), with every chunk it had.
  await bob.waitForFunction(() => document.querySelector('p2p-file-drop')?.share !== undefined, {timeout: TIMEOUT})
  const after = await bob.evaluate(async (id: string) => {
    const drop = document.querySelector('p2p-file-drop')!
    const share = drop.share!
    await share.ready
    const f = share.file(id)
    return {database: drop.database, have: f?.have ?? 0, state: f?.state}
  }, info.id)
  assert.equal(after.database, database)
  assert.ok(after.have >= stored, `after the reload it has ${after.have} chunks, before it had ${stored}`)
  assert.notEqual(after.state, 'remote')

  // It resumes on its own (no click), and the file is whole.
  await waitForComplete(bob, info.id, 'reloaded tab')
  assert.equal(await pageSha256(bob, info.id), file.sha256)
  assert.deepEqual(pageErrors, [])
  await end()
})
