import {after, before} from 'node:test'
import {startHubProcess, type HubProcess} from '../../scripts/hub-process.js'
import {launchChromium, startDemoServer, type LaunchedChromium} from '../../scripts/browser.js'
import type {DemoServer} from '../../scripts/demo-server.js'
import type {Page} from 'puppeteer-core'

/**
 * What a person meets: a hub process, the demo server and the system Chromium,
 * started one at a time so whatever did start is closed if a later one fails.
 */
export async function startDemoStack({hubArgs = []}: {hubArgs?: string[]} = {}): Promise<{hub: HubProcess, demo: DemoServer, chromium: LaunchedChromium, close(): Promise<void>}> {
  const started: Array<{close(): Promise<void>}> = []
  const close = async () => { await Promise.all(started.map(s => s.close())) }
  try {
    const hub = await startHubProcess({args: hubArgs})
    started.push(hub)
    const demo = await startDemoServer()
    started.push(demo)
    const chromium = await launchChromium()
    started.push(chromium)
    return {hub, demo, chromium, close}
  } catch (err) {
    await close()
    throw err
  }
}

export interface DemoStack {
  hub: HubProcess
  demo: DemoServer
  chromium: LaunchedChromium
}

/**
 * For a test file: the demo stack started before its tests and closed after them.
 * Its fields are there once the file's tests run.
 */
export function useDemoStack(): DemoStack {
  const stack = {} as DemoStack
  let close: (() => Promise<void>) | undefined
  before(async () => {
    const started = await startDemoStack()
    close = started.close
    Object.assign(stack, started)
  })
  after(async () => {
    await close?.()
  })
  return stack
}

/** Rows of the page's <p2p-peers> list, read through its shadow root by their parts. */
export function peerRows(page: Page): Promise<Array<{state: string | null, key: string | null}>> {
  return page.evaluate(() => {
    const rows = document.querySelector('p2p-peers')?.shadowRoot?.querySelectorAll('[part~="peer"]') ?? []
    return [...rows].map(row => ({state: row.getAttribute('data-state'), key: row.getAttribute('data-key')}))
  })
}

/** Waits, polling the DOM, until the page lists exactly one peer and it is connected (any browser puppeteer drives). */
export async function waitForOneConnectedPeer(page: Page, name: string, timeout: number): Promise<void> {
  try {
    await page.waitForFunction(() => {
      const root = document.querySelector('p2p-peers')?.shadowRoot
      return root?.querySelectorAll('[part~="peer"]').length === 1 &&
        root.querySelectorAll('[part~="peer-connected"]').length === 1
    }, {timeout, polling: 100})
  } catch (err) {
    throw new Error(`${name} did not show one connected peer; it shows ${JSON.stringify(await peerRows(page))}`, {cause: err})
  }
}
