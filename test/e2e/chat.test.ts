// The chat demo as people use it: a real hub process, the demo server, and tabs of the
// browser under test (P2P_BROWSER) that type into demo/chat.html. Its messages are
// signed logs kept in IndexedDB (<p2p-log name="chat">): every tab shows every message,
// a tab that opens later gets them from whoever has them, and a reload keeps them.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {mkdir} from 'node:fs/promises'
import {randomBytes} from 'node:crypto'
import {fileURLToPath} from 'node:url'
import type {BrowserContext, Page} from 'puppeteer-core'
import {collectPageErrors, useDemoStack} from './helpers.js'

const RESULTS = new URL('../../test-results/', import.meta.url)
const TIMEOUT = 60_000

const stack = useDemoStack()

interface Shown {
  name: string
  author: string
  text: string
  local: boolean
}

/** The messages a tab's feed shows, read from the light DOM the template rendered. */
function messages(page: Page): Promise<Shown[]> {
  return page.evaluate(() => [...document.querySelectorAll('p2p-feed .message')].map(m => ({
    name: m.querySelector('.name')?.textContent ?? '',
    author: m.querySelector('.key')?.textContent ?? '',
    text: m.querySelector('.text')?.textContent ?? '',
    local: m.hasAttribute('data-local'),
  })))
}

async function waitForMessages(page: Page, texts: string[], name: string) {
  try {
    await page.waitForFunction((expected: string[]) => {
      const shown = [...document.querySelectorAll('p2p-feed .message .text')].map(t => t.textContent)
      return JSON.stringify(shown) === JSON.stringify(expected)
    }, {timeout: TIMEOUT, polling: 100}, texts)
  } catch (err) {
    throw new Error(`${name} did not show ${JSON.stringify(texts)}; it shows ${JSON.stringify(await messages(page))}`, {cause: err})
  }
}

/**
 * Types as a person does: click the field, type, press Enter. First waits for the
 * tab's log to be open: a form sent before that keeps its text and says so (p2p-error).
 */
async function say(page: Page, text: string) {
  await page.waitForFunction(() => document.querySelector('p2p-log')?.source !== undefined, {timeout: TIMEOUT, polling: 100}).catch(async err => {
    const state = await page.evaluate(() => ({
      swarm: document.querySelector('p2p-swarm')?.getAttribute('state'),
      log: document.querySelector('p2p-log')?.log?.address.slice(0, 8) ?? null,
      errors: (window as unknown as SyncWindow).__errors,
    }))
    throw new Error(`the log of the tab to type '${text}' in never opened: ${JSON.stringify(state)}`, {cause: err})
  })
  // A click waits for the tab to paint, and background tabs do not paint.
  await page.bringToFront()
  await page.click('input[name="text"]')
  await page.keyboard.type(text)
  await page.keyboard.press('Enter')
}

/** The first 8 hex characters of the key of the log this tab writes, as the feed shows an author. */
function ownKey(page: Page): Promise<string> {
  return page.evaluate(() => document.querySelector('p2p-log')!.log!.address.slice(0, 8))
}

type SyncWindow = Window & {__syncText: (log: Element) => string, __syncShown: string[], __errors: string[]}

/**
 * Makes the page able to say what its sync line (<p2p-log>'s ::before, whose text CSS
 * makes of the behind and synced attributes) shows as plain text, and records each text
 * it shows as those attributes change (window.__syncShown), from the page's first script
 * on, so a test can ask what a person saw. Firefox's computed `content` keeps attr()
 * unresolved and Chromium's resolves it: both come out as the same text. The page's
 * p2p-error messages go to window.__errors, for a failure to name.
 */
async function recordSyncLine(page: Page): Promise<void> {
  await page.evaluateOnNewDocument(() => {
    const w = window as unknown as SyncWindow
    w.__syncText = log => {
      const content = getComputedStyle(log, '::before').content
        .replace(/attr\(([\w-]+)\)/g, (_all, name: string) => JSON.stringify(log.getAttribute(name) ?? ''))
      return [...content.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map(m => m[1]).join('')
    }
    w.__syncShown = []
    w.__errors = []
    addEventListener('p2p-error', event => w.__errors.push((event as Event & {detail: {error: Error}}).detail.error.message))
    new MutationObserver(records => {
      const log = records.find(r => (r.target as Element).localName === 'p2p-log')?.target as Element | undefined
      if (log) w.__syncShown.push(w.__syncText(log))
    }).observe(document, {subtree: true, attributes: true, attributeFilter: ['behind', 'synced']})
  })
}

/** What the sync line says now. */
function syncText(page: Page): Promise<string> {
  return page.evaluate(() => (window as unknown as SyncWindow).__syncText(document.querySelector('p2p-log')!))
}

function shownSyncLines(page: Page): Promise<string[]> {
  return page.evaluate(() => (window as unknown as SyncWindow).__syncShown)
}

function waitForSynced(page: Page, name: string): Promise<unknown> {
  return page.waitForSelector('p2p-log[synced]', {timeout: TIMEOUT}).catch(async err => {
    throw new Error(`${name} never showed itself synced: ${await syncText(page)}`, {cause: err})
  })
}

function chatAddress(room: string): string {
  return `${stack.demo.url}/chat.html?hub=${encodeURIComponent(stack.hub.url)}&room=${room}`
}

test('two tabs of the chat demo see what either one types', async () => {
  const room = `e2e-chat-${randomBytes(4).toString('hex')}`
  const pageErrors: string[] = []
  const open = async (name: string) => {
    const page = await stack.browser.newPage()
    collectPageErrors(page, name, stack.hub.url, pageErrors)
    await recordSyncLine(page)
    await page.setViewport({width: 800, height: 900})
    await page.goto(chatAddress(room))
    return page
  }
  const [ada, bob] = await Promise.all([open('first tab'), open('second tab')])

  await ada.bringToFront()
  await ada.type('input[name="name"]', 'Ada')
  await say(ada, 'hello from the first tab')
  await Promise.all([
    waitForMessages(ada, ['hello from the first tab'], 'first tab'),
    waitForMessages(bob, ['hello from the first tab'], 'second tab'),
  ])
  await say(bob, 'and hello back <b>not bold</b>')
  const both = ['hello from the first tab', 'and hello back <b>not bold</b>']
  await Promise.all([waitForMessages(ada, both, 'first tab'), waitForMessages(bob, both, 'second tab')])

  // Names and keys as the other tab sees them: Ada's name was kept for her next message,
  // the keys are each writer's own (two tabs of one browser write two logs), and markup arrived as text.
  const [adaKey, bobKey] = await Promise.all([ownKey(ada), ownKey(bob)])
  assert.notEqual(adaKey, bobKey)
  assert.deepEqual(await messages(bob), [
    {name: 'Ada', author: adaKey, text: 'hello from the first tab', local: false},
    {name: '', author: bobKey, text: 'and hello back <b>not bold</b>', local: true},
  ])
  assert.equal(await ada.$eval('input[name="name"]', el => (el as HTMLInputElement).value), 'Ada')
  assert.equal(await ada.$eval('input[name="text"]', el => (el as HTMLInputElement).value), '')
  assert.equal(await ada.$$eval('p2p-feed b', els => els.length), 0)
  await Promise.all([waitForSynced(ada, 'first tab'), waitForSynced(bob, 'second tab')])
  assert.deepEqual(await Promise.all([syncText(ada), syncText(bob)]), ['Up to date', 'Up to date'])
  assert.deepEqual(pageErrors, [])

  await mkdir(RESULTS, {recursive: true})
  // A screenshot waits for a frame, which only the tab in front paints.
  for (const [page, name] of [[ada, 'chat-first-tab'], [bob, 'chat-second-tab']] as const) {
    await page.bringToFront()
    await page.screenshot({path: `${fileURLToPath(RESULTS)}${name}.png`})
  }
  await Promise.all([ada.close(), bob.close()])
})

test('a message outlives its tab: tabs that open later get it from whoever has it, and a reload keeps the history', async () => {
  const room = `e2e-chat-${randomBytes(4).toString('hex')}`
  const pageErrors: string[] = []
  // Three people, each a browser profile of their own (their own IndexedDB).
  const contexts: BrowserContext[] = []
  const person = async () => {
    const context = await stack.browser.createBrowserContext()
    contexts.push(context)
    return context
  }
  const open = async (context: BrowserContext, name: string) => {
    const page = await context.newPage()
    collectPageErrors(page, name, stack.hub.url, pageErrors)
    await recordSyncLine(page)
    await page.setViewport({width: 800, height: 900})
    await page.goto(chatAddress(room))
    return page
  }
  try {
    const [adaProfile, bobProfile, cyProfile] = [await person(), await person(), await person()]

    // Ada writes alone, then leaves.
    let ada = await open(adaProfile, 'Ada')
    await ada.type('input[name="name"]', 'Ada')
    await say(ada, 'written while alone')
    await waitForMessages(ada, ['written while alone'], 'Ada')
    const adaKey = await ownKey(ada)
    await ada.close()

    // Bob comes later, while nobody holds Ada's message, and writes.
    const bob = await open(bobProfile, 'Bob')
    await say(bob, 'Bob was here')
    await waitForMessages(bob, ['Bob was here'], 'Bob')

    // Ada returns: her tab shows her history from its own storage, and it reaches Bob; Bob's reaches her.
    ada = await open(adaProfile, 'Ada, back')
    const history = ['written while alone', 'Bob was here']
    await Promise.all([waitForMessages(ada, history, 'Ada, back'), waitForMessages(bob, history, 'Bob')])
    assert.equal(await ownKey(ada), adaKey, 'Ada writes the same log after coming back')
    await ada.close()

    // Cy comes while Ada is away: Bob passes on Ada's message as well as his own.
    const cy = await open(cyProfile, 'Cy')
    await waitForMessages(cy, history, 'Cy')
    const shown = await messages(cy)
    assert.deepEqual(shown.map(m => [m.name, m.author, m.local]), [['Ada', adaKey, false], ['', await ownKey(bob), false]])
    await waitForSynced(cy, 'Cy')
    // On the way, the sync line said how far behind Cy was, then that it was up to date.
    const lines = await shownSyncLines(cy)
    assert.ok(lines.some(line => /^\d+ entr(y|ies) behind, syncing…$/.test(line)), `Cy's sync line showed ${JSON.stringify(lines)}`)
    assert.equal(await syncText(cy), 'Up to date')

    // Everyone else leaves and Cy reloads: the history is in Cy's own storage.
    await bob.close()
    await cy.reload()
    await waitForMessages(cy, history, 'Cy, reloaded alone')
    assert.deepEqual(pageErrors, [])
    await cy.close()
  } finally {
    await Promise.all(contexts.map(context => context.close()))
  }
})
