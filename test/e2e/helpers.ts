import {after, before} from 'node:test'
import type {Browser, BrowserContext, Page} from 'puppeteer-core'
import {startHubProcess, type HubProcess} from '../../scripts/hub-process.js'
import {launchChromium, startDemoServer, startTestServer, type LaunchedChromium, type TestServer} from '../../scripts/browser.js'
import {launchFirefox} from '../../scripts/firefox.js'
import type {DemoServer} from '../../scripts/demo-server.js'
import type {SwarmElementApi} from './pages/swarm-element-page.js'

export type BrowserName = 'chromium' | 'firefox'

/**
 * The browser the demo tests drive: P2P_BROWSER=firefox runs them in Firefox ESR,
 * anything else is refused; unset, the system Chromium.
 */
export const BROWSER: BrowserName = browserFromEnv(process.env.P2P_BROWSER)

function browserFromEnv(name: string | undefined): BrowserName {
  if (name === undefined || name === '' || name === 'chromium') return 'chromium'
  if (name === 'firefox') return 'firefox'
  // A typo would otherwise run the Chromium tests a second time and look like a pass.
  throw new Error(`P2P_BROWSER must be chromium or firefox, not ${JSON.stringify(name)}`)
}

const launchers: Record<BrowserName, () => Promise<LaunchedChromium>> = {chromium: launchChromium, firefox: launchFirefox}

export interface DemoStack {
  hub: HubProcess
  demo: DemoServer
  /** The browser named by P2P_BROWSER, with a fresh profile. */
  browser: Browser
}

/**
 * What a person meets: a hub process, the demo server and a browser (BROWSER),
 * started one at a time so whatever did start is closed if a later one fails.
 */
export async function startDemoStack({hubArgs = []}: {hubArgs?: string[]} = {}): Promise<DemoStack & {close(): Promise<void>}> {
  const started: Array<{close(): Promise<void>}> = []
  const close = async () => { await Promise.all(started.map(s => s.close())) }
  try {
    const hub = await startHubProcess({args: hubArgs})
    started.push(hub)
    const demo = await startDemoServer()
    started.push(demo)
    const launched = await launchers[BROWSER]()
    started.push(launched)
    return {hub, demo, browser: launched.browser, close}
  } catch (err) {
    await close()
    throw err
  }
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

export interface TestPage {
  hub: HubProcess
  server: TestServer
  /** A Chromium page on `path` of the test server, once its `p2pTest` API is there. */
  page: Page
}

/**
 * A hub process, the test server and one Chromium page on `path` (a page of
 * test/e2e/pages exposing `window.p2pTest`), for the tests of a file; its
 * `p2pTest.stop()` is called before all of it closes.
 */
export function useTestPage(path: string): TestPage {
  const stack = {} as TestPage
  let chromium: LaunchedChromium | undefined
  before(async () => {
    stack.hub = await startHubProcess()
    stack.server = await startTestServer()
    chromium = await launchChromium()
    stack.page = await chromium.browser.newPage()
    await stack.page.goto(`${stack.server.url}${path}`)
    await stack.page.waitForFunction(() => 'p2pTest' in window)
  })
  after(async () => {
    await stack.page?.evaluate(() => (window as unknown as {p2pTest: {stop(): Promise<void>}}).p2pTest.stop()).catch(() => {})
    await chromium?.close()
    await stack.server?.close()
    await stack.hub?.close()
  })
  return stack
}

export interface ChromiumHubs {
  hubs: HubProcess[]
  server: TestServer
  chromium: LaunchedChromium
  /** Browser contexts made with `context()`, in order. */
  contexts: BrowserContext[]
  /** A new browser context: its own storage, so its pages have keys of their own. */
  context(): Promise<BrowserContext>
}

/**
 * For a test file: `count` hub processes, the test server and Chromium, started
 * before its tests; after them, every context made, then all of it, closed (a
 * hub a test stopped already is closed again harmlessly).
 */
export function useChromiumHubs(count: number): ChromiumHubs {
  const stack = {contexts: [] as BrowserContext[]} as ChromiumHubs
  stack.context = async () => {
    const context = await stack.chromium.browser.createBrowserContext()
    stack.contexts.push(context)
    return context
  }
  before(async () => {
    stack.hubs = await Promise.all(Array.from({length: count}, () => startHubProcess()))
    stack.server = await startTestServer()
    stack.chromium = await launchChromium()
  })
  after(async () => {
    for (const context of stack.contexts) await context.close().catch(() => {})
    await stack.chromium?.close()
    await stack.server?.close()
    await Promise.all((stack.hubs ?? []).map(hub => hub.close()))
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

/**
 * Whether a page error is one of Firefox's own notices of what a page may do in normal
 * work, which Chromium does not report: a stream to `hub` closed before its first byte,
 * which Firefox logs as a failed CORS request (checked alone: open one on signalhub's
 * server, close it a second later; a tab leading the origin's stream replaces it
 * whenever another tab adds channels); and a connection whose ICE failed, which it
 * logs with advice to add a STUN server (a glare's abandoned attempt, among twelve tabs).
 */
export function isFirefoxNotice(message: string, hub: string): boolean {
  if (message === 'WebRTC: ICE failed, add a STUN server and see about:webrtc for more details') return true
  return message.startsWith(`Cross-Origin Request Blocked: The Same Origin Policy disallows reading the remote resource at ${hub}/v1/`) &&
    message.includes('(Reason: CORS request did not succeed). Status code: (null).')
}

/** Collects the page's errors into `errors` as `<name>: <message>`, less Firefox's notices (isFirefoxNotice). */
export function collectPageErrors(page: Page, name: string, hub: string, errors: string[]): void {
  page.on('pageerror', err => {
    const message = (err as Error).message
    if (!isFirefoxNotice(message, hub)) errors.push(`${name}: ${message}`)
  })
}

/**
 * A page of `url` in a browser context of its own (its own storage, so its own page key),
 * once its `window.p2pTest` API is there; `close()` closes the context.
 */
export async function openOwnContext(browser: Browser, url: string): Promise<{page: Page, close(): Promise<void>}> {
  const context = await browser.createBrowserContext()
  return {page: await openTestPage(context, url), close: () => context.close()}
}

/** A new tab of `context` at `url`, once its test API (`window[global]`: `p2pTest`, or `p2pElement`) is there. */
export async function openTestPage(context: BrowserContext, url: string, global = 'p2pTest'): Promise<Page> {
  const page = await context.newPage()
  await page.goto(url)
  await page.waitForFunction(name => name in window, {}, global)
  return page
}

/** Calls the page's `p2pTest[name](...args)`, typed by the page's API `Api`. */
export function callTestApi<Api extends Record<string, (...args: never[]) => unknown>, K extends keyof Api & string>(
  page: Page, name: K, ...args: Parameters<Api[K]>
): Promise<Awaited<ReturnType<Api[K]>>> {
  return page.evaluate((n, a) => (window as unknown as {p2pTest: Record<string, (...x: unknown[]) => unknown>}).p2pTest[n](...a), name, args) as never
}

/** Calls `p2pElement[name](...args)` on the `<p2p-swarm>` element page (test/e2e/pages/swarm-element-page.ts). */
export function callElementApi<K extends keyof SwarmElementApi & string>(
  page: Page, name: K, ...args: Parameters<SwarmElementApi[K]>
): Promise<Awaited<ReturnType<SwarmElementApi[K]>>> {
  return page.evaluate((n, a) => (window as unknown as {p2pElement: Record<string, (...x: unknown[]) => unknown>}).p2pElement[n](...a), name, args) as never
}
