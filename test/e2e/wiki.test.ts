// The wiki demo as two people use it: a real hub process, the demo server and two
// profiles of the browser under test (P2P_BROWSER), each with its own IndexedDB, that
// edit demo/wiki.html over real WebRTC. One creates the wiki (an open log), the other
// joins it through the share link and writes that same log with a key of its own.
// Both change one field while apart, so neither write has seen the other: when they
// meet, both tabs show the two values side by side, a click on one resolves it on both,
// the view of pages by tag follows an edit live, a row of the page list opens that page
// in the editor, and a reload keeps the wiki.
import {after, before, test} from 'node:test'
import assert from 'node:assert/strict'
import {randomBytes} from 'node:crypto'
import {mkdir} from 'node:fs/promises'
import {fileURLToPath} from 'node:url'
import type {BrowserContext, ElementHandle, Page} from 'puppeteer-core'
import {startHubProcess, type HubProcess} from '../../scripts/hub-process.js'
import {launchChromium, startDemoServer, type LaunchedChromium} from '../../scripts/browser.js'
import {launchFirefox} from '../../scripts/firefox.js'
import type {DemoServer} from '../../scripts/demo-server.js'
import {BROWSER, collectPageErrors} from './helpers.js'
import {until} from '../shared/until.js'

const RESULTS = new URL('../../test-results/', import.meta.url)
const TIMEOUT = 60_000
// Fixed ports below 32768: Linux hands out the ports above as ephemeral ones, and a
// listener there now and then collides with a live outgoing connection.
const HUB_PORT = 24500
const DEMO_PORT = 24501

let hub: HubProcess
let demo: DemoServer
let browser: LaunchedChromium

before(async () => {
  hub = await startHubProcess({port: HUB_PORT})
  demo = await startDemoServer({port: DEMO_PORT})
  browser = await (BROWSER === 'firefox' ? launchFirefox() : launchChromium())
})

after(async () => {
  await browser?.close()
  await demo?.close()
  await hub?.close()
})

type Field = 'title' | 'tags' | 'body'

/** What a tab shows: the field's values (one, or several while conflicted), its conflicted state, the lists. */
interface Shown {
  /** The page the editor shows. */
  slug: string
  input: string
  conflicted: boolean
  kvConflicted: boolean
  values: string[]
  pages: string[]
  byTag: string[]
}

function shown(page: Page, field: Field): Promise<Shown> {
  // No named functions inside: the test's TypeScript build would wrap them in a helper the page lacks.
  return page.evaluate((field: string) => {
    const value = document.querySelector(`p2p-kv-value.${field}`) as (HTMLElement & {values?: Array<{value?: unknown, deleted?: true}>}) | null
    const [pages, byTag] = ['.pages:not(.by-tag)', '.by-tag'].map(list => [...document.querySelectorAll(`${list} p2p-view > button`)]
      .map(row => [...row.querySelectorAll('span')].map(span => span.textContent).join(' | ')))
    return {
      slug: (document.querySelector('#slug') as HTMLInputElement | null)?.value ?? '',
      input: (value?.querySelector('input, textarea') as HTMLInputElement | null)?.value ?? '',
      conflicted: value?.hasAttribute('conflicted') ?? false,
      kvConflicted: document.querySelector('p2p-kv')?.hasAttribute('conflicted') ?? false,
      values: (value?.values ?? []).filter(v => !v.deleted).map(v => String(v.value)).sort(),
      pages,
      byTag,
    }
  }, field)
}

/** Waits until `check` holds for what the tab shows; a failure says what it showed last. */
async function waitFor(page: Page, name: string, field: Field, what: string, check: (s: Shown) => boolean): Promise<Shown> {
  let last: Shown | undefined
  try {
    await until(async () => {
      last = await shown(page, field)
      return check(last)
    }, `${name} to show ${what}`, {timeout: TIMEOUT, every: 100})
  } catch (err) {
    throw new Error(`${name} never showed ${what}; it shows ${JSON.stringify(last)} (${(err as Error).message})`, {cause: err})
  }
  return last!
}

/** Types as a person does: click the field, select what is there, type, leave the field (its `change` event). */
async function typeInto(page: Page, selector: string, text: string): Promise<void> {
  // A click waits for the tab to paint, and background tabs do not paint.
  await page.bringToFront()
  await page.click(selector)
  await page.keyboard.down('Control')
  await page.keyboard.press('KeyA')
  await page.keyboard.up('Control')
  await page.keyboard.type(text)
  await page.keyboard.press('Tab')
}

/** Edits a field of the page in the editor: its change writes the field's key. */
async function edit(page: Page, field: Field, text: string): Promise<void> {
  // A change before the KV is open is not written (p2p-error): the log opens first, its KV just after.
  await page.waitForFunction((field: string) => (document.querySelector(`p2p-kv-value.${field}`) as HTMLElement & {kv?: unknown})?.kv !== undefined,
    {timeout: TIMEOUT, polling: 100}, field)
  await typeInto(page, `p2p-kv-value.${field} ${field === 'body' ? 'textarea' : 'input'}`, text)
}

/** Clicks the row of the page list whose title is `title`. */
async function openFromList(page: Page, title: string): Promise<void> {
  await page.bringToFront()
  const handle = await page.evaluateHandle((title: string) =>
    [...document.querySelectorAll('.pages:not(.by-tag) p2p-view > button')].find(row => row.querySelector('.title')?.textContent === title) ?? null, title)
  const row = handle.asElement()
  if (!row) throw new Error(`no page titled ${JSON.stringify(title)} in the list`)
  await (row as ElementHandle<Element>).click()
}

/** Picks one of a conflicted field's values through its conflict picker, by a click. */
async function choose(page: Page, field: Field, value: string): Promise<void> {
  await page.bringToFront()
  const handle = await page.evaluateHandle((field: string, value: string) => {
    const picks = document.querySelector(`p2p-kv-value.${field}`)?.shadowRoot?.querySelectorAll('[part~="pick"]') ?? []
    return [...picks].find(button => button.textContent === value) ?? null
  }, field, value)
  const button = handle.asElement()
  if (!button) throw new Error(`no choice of ${JSON.stringify(value)} in the ${field} conflict picker`)
  await (button as ElementHandle<Element>).click()
}

function wikiAddress(room: string): string {
  return `${demo.url}/wiki.html?hub=${encodeURIComponent(hub.url)}&room=${room}`
}

test('two people edit one wiki: a conflict shows on both tabs, one click resolves it on both, the tag view follows live, a row opens its page, a reload keeps it', {timeout: 300_000}, async () => {
  const room = `e2e-wiki-${randomBytes(4).toString('hex')}`
  const pageErrors: string[] = []
  // Two people, each a profile of their own, with one tab each.
  const contexts: BrowserContext[] = []
  const tab = async (name: string) => {
    const context = await browser.browser.createBrowserContext()
    contexts.push(context)
    const page = await context.newPage()
    collectPageErrors(page, name, hub.url, pageErrors)
    await page.setViewport({width: 1000, height: 900})
    return page
  }
  try {
    const ada = await tab('Ada')
    const bob = await tab('Bob')

    // Ada opens the wiki alone: her tab creates it and shows the link to share.
    await ada.goto(wikiAddress(room))
    await ada.waitForFunction(() => /#[0-9a-f]{64}$/.test(document.querySelector('#share')?.getAttribute('href') ?? ''), {timeout: TIMEOUT, polling: 100})
    const link = await ada.$eval('#share', a => (a as HTMLAnchorElement).href)
    const key = link.slice(-64)
    assert.equal(await ada.evaluate(() => document.querySelector('p2p-log')!.log!.address), key, 'the link names the log Ada writes')
    await edit(ada, 'title', 'Home')
    await edit(ada, 'tags', 'start')
    await waitFor(ada, 'Ada', 'title', 'her page in both lists', s => s.pages.includes('Home | start') && s.byTag.includes('start | Home'))

    // Bob joins through the link: he gets Ada's page and writes her log with a key of his own.
    await bob.goto(link)
    await waitFor(bob, 'Bob', 'title', 'Ada\'s page', s => s.input === 'Home' && s.pages.includes('Home | start'))
    assert.equal(await bob.evaluate(() => document.querySelector('p2p-log')!.getAttribute('key')), key)

    // Apart: Ada leaves, Bob changes the title alone; Bob leaves, Ada comes back and
    // changes it alone. Neither write has seen the other, whatever the timing.
    await ada.goto('about:blank')
    await edit(bob, 'title', 'Home, by Bob')
    await waitFor(bob, 'Bob', 'title', 'his title', s => s.pages.includes('Home, by Bob | start'))
    await bob.goto('about:blank')
    await ada.goto(wikiAddress(room))
    await waitFor(ada, 'Ada, back', 'title', 'her own title from her storage', s => s.input === 'Home' && s.pages.includes('Home | start'))
    await edit(ada, 'title', 'Home, by Ada')
    await waitFor(ada, 'Ada', 'title', 'her title', s => s.pages.includes('Home, by Ada | start'))

    // Together again: both tabs show both titles side by side, marked conflicted.
    await bob.goto(link)
    const both = ['Home, by Ada', 'Home, by Bob']
    const conflicted = (s: Shown) => s.conflicted && s.kvConflicted && JSON.stringify(s.values) === JSON.stringify(both)
    await waitFor(ada, 'Ada', 'title', 'the conflict', conflicted)
    await waitFor(bob, 'Bob', 'title', 'the conflict', conflicted)
    await mkdir(RESULTS, {recursive: true})
    // A screenshot waits for a frame, which only the tab in front paints.
    await bob.bringToFront()
    await bob.screenshot({path: `${fileURLToPath(RESULTS)}wiki-conflict.png`, fullPage: true})

    // Bob keeps Ada's title with a click: one value on both tabs, no conflict left.
    await choose(bob, 'title', 'Home, by Ada')
    const resolved = (s: Shown) => !s.conflicted && !s.kvConflicted && s.input === 'Home, by Ada' &&
      JSON.stringify(s.values) === JSON.stringify(['Home, by Ada']) && s.pages.includes('Home, by Ada | start')
    await waitFor(bob, 'Bob', 'title', 'the title he chose, resolved', resolved)
    await waitFor(ada, 'Ada', 'title', 'the title Bob chose, resolved', resolved)

    // Ada tags the page: Bob's view of pages by tag follows, with no reload.
    await edit(ada, 'tags', 'start, guide')
    await waitFor(bob, 'Bob', 'tags', 'the new tag in his view', s => JSON.stringify(s.byTag) === JSON.stringify(['guide | Home, by Ada', 'start | Home, by Ada']))

    // Ada starts a second page by naming it in the editor; Bob opens it from his list with a click.
    await typeInto(ada, '#slug', 'Guide')
    await edit(ada, 'title', 'Guide')
    await edit(ada, 'tags', 'guide')
    const everyTag = ['guide | Guide', 'guide | Home, by Ada', 'start | Home, by Ada']
    const bothPages = ['Guide | guide', 'Home, by Ada | guide, start']
    await waitFor(bob, 'Bob', 'title', 'the second page in his lists', s => JSON.stringify(s.pages) === JSON.stringify(bothPages) &&
      JSON.stringify(s.byTag) === JSON.stringify(everyTag))
    await openFromList(bob, 'Guide')
    await waitFor(bob, 'Bob', 'tags', 'the second page in his editor', s => s.slug === 'guide' && s.input === 'guide')
    assert.equal((await shown(bob, 'title')).input, 'Guide')

    // A reload keeps the wiki: Bob's tab shows it again from its own storage, Ada gone.
    await ada.goto('about:blank')
    await bob.reload()
    const kept = await waitFor(bob, 'Bob, reloaded', 'title', 'the wiki as it was', s => s.slug === 'home' && s.input === 'Home, by Ada' &&
      JSON.stringify(s.pages) === JSON.stringify(bothPages) && JSON.stringify(s.byTag) === JSON.stringify(everyTag))
    assert.equal(kept.conflicted, false)
    await bob.bringToFront()
    await bob.screenshot({path: `${fileURLToPath(RESULTS)}wiki-reloaded.png`, fullPage: true})
    assert.deepEqual(pageErrors, [])
  } finally {
    await Promise.all(contexts.map(context => context.close()))
  }
})

test('a writer of the open log with hostile KV writes neither stops the wiki\'s view nor floods it', {timeout: 120_000}, async () => {
  const room = `e2e-wiki-${randomBytes(4).toString('hex')}`
  const pageErrors: string[] = []
  const context = await browser.browser.createBrowserContext()
  try {
    const page = await context.newPage()
    collectPageErrors(page, 'the wiki', hub.url, pageErrors)
    await page.evaluateOnNewDocument(() => {
      const w = window as unknown as {__errors: string[]}
      w.__errors = []
      addEventListener('p2p-error', event => w.__errors.push((event as Event & {detail: {error: {code: string}}}).detail.error.code))
    })
    await page.goto(wikiAddress(room))
    await edit(page, 'title', 'Home')
    await waitFor(page, 'the wiki', 'title', 'its page', s => JSON.stringify(s.pages) === JSON.stringify(['Home | ']))

    // What anyone with the link may append, concurrent with everything (no heads): a tag
    // longer than a view key may be, 500 tags, a write the KV skips as malformed, a title that is no text.
    await page.evaluate(async () => {
      const log = document.querySelector('p2p-log')!.log!
      await log.append({kv: 'put', key: 'page:home:tags', value: `${'x'.repeat(2000)}, ok`, heads: []})
      await log.append({kv: 'put', key: 'page:home:tags', value: Array.from({length: 500}, (_, i) => `t${String(i).padStart(3, '0')}`).join(','), heads: []})
      await log.append({kv: 'put', key: 'page:home:title', value: 'not a KV write', heads: ['not a hash']})
      await log.append({kv: 'put', key: 'page:home:title', value: {not: 'text'}, heads: []})
    })
    // The view goes on: the long tag left out, 20 of the 500, the malformed write not counted.
    const twenty = Array.from({length: 20}, (_, i) => `t${String(i).padStart(3, '0')} | Home`)
    await waitFor(page, 'the wiki', 'title', 'the bounded tags', s => JSON.stringify(s.byTag) === JSON.stringify(['ok | Home', ...twenty]))

    // And follows an honest edit that merges them all.
    await edit(page, 'tags', 'start')
    await edit(page, 'title', 'Home again')
    await waitFor(page, 'the wiki', 'title', 'the honest edit', s => JSON.stringify(s.byTag) === JSON.stringify(['start | Home again']) &&
      JSON.stringify(s.pages) === JSON.stringify(['Home again | start']))
    // The KV reported the malformed write it skipped; the view failed at nothing.
    assert.deepEqual(await page.evaluate(() => (window as unknown as {__errors: string[]}).__errors), ['ERR_MALFORMED_MESSAGE'])
    assert.deepEqual(pageErrors, [])
  } finally {
    await context.close()
  }
})
