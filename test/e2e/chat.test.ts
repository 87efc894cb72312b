// The chat demo as people use it: a real hub process, the demo server, and two tabs of
// the browser under test (P2P_BROWSER) that type into demo/chat.html and must both show every message.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {mkdir} from 'node:fs/promises'
import {randomBytes} from 'node:crypto'
import {fileURLToPath} from 'node:url'
import type {Page} from 'puppeteer-core'
import {collectPageErrors, useDemoStack} from './helpers.js'

const RESULTS = new URL('../../test-results/', import.meta.url)
const TIMEOUT = 30_000

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
 * Waits until the tab's gossip router is linked to the other tab over its one connection,
 * with no second attempt pending (a glare's, whose winner would replace the link under a
 * message being typed: gossip has no history to send again), so nothing typed is sent to nobody.
 */
async function waitForLink(page: Page, name: string) {
  try {
    await page.waitForFunction(() => {
      const stats = document.querySelector('p2p-swarm')?.swarm?.stats
      return stats?.connected === 1 && stats.connecting === 0 && document.querySelector('p2p-gossip')?.gossip?.stats.links === 1
    }, {timeout: TIMEOUT, polling: 100})
  } catch (err) {
    throw new Error(`${name} never linked its gossip to the other tab`, {cause: err})
  }
}

/** Types as a person does: click the field, type, press Enter. */
async function say(page: Page, text: string) {
  // A click waits for the tab to paint, and background tabs do not paint.
  await page.bringToFront()
  await page.click('input[name="text"]')
  await page.keyboard.type(text)
  await page.keyboard.press('Enter')
}

test('two tabs of the chat demo see what either one types', async () => {
  const room = `e2e-chat-${randomBytes(4).toString('hex')}`
  const address = `${stack.demo.url}/chat.html?hub=${encodeURIComponent(stack.hub.url)}&room=${room}`
  const pageErrors: string[] = []
  const open = async (name: string) => {
    const page = await stack.browser.newPage()
    collectPageErrors(page, name, stack.hub.url, pageErrors)
    await page.setViewport({width: 800, height: 900})
    await page.goto(address)
    return page
  }
  const [ada, bob] = await Promise.all([open('first tab'), open('second tab')])
  await Promise.all([waitForLink(ada, 'first tab'), waitForLink(bob, 'second tab')])

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
  // the keys are each sender's own, and markup arrived as text.
  const ownKey = (page: Page) => page.evaluate(() => document.querySelector('p2p-swarm')?.swarm?.publicKey.slice(0, 8))
  const [adaKey, bobKey] = await Promise.all([ownKey(ada), ownKey(bob)])
  assert.deepEqual(await messages(bob), [
    {name: 'Ada', author: adaKey, text: 'hello from the first tab', local: false},
    {name: '', author: bobKey, text: 'and hello back <b>not bold</b>', local: true},
  ])
  assert.equal(await ada.$eval('input[name="name"]', el => (el as HTMLInputElement).value), 'Ada')
  assert.equal(await ada.$eval('input[name="text"]', el => (el as HTMLInputElement).value), '')
  assert.equal(await ada.$$eval('p2p-feed b', els => els.length), 0)
  assert.deepEqual(pageErrors, [])

  await mkdir(RESULTS, {recursive: true})
  // A screenshot waits for a frame, which only the tab in front paints.
  for (const [page, name] of [[ada, 'chat-first-tab'], [bob, 'chat-second-tab']] as const) {
    await page.bringToFront()
    await page.screenshot({path: `${fileURLToPath(RESULTS)}${name}.png`})
  }
})
