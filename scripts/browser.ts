// What end-to-end tests and benchmarks need to drive real pages: the system Chromium
// with a throw-away profile, the demo server, and a test server for pages that import
// the TypeScript sources directly. Everything binds loopback only.
import {mkdtemp, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import type {AddressInfo} from 'node:net'
import puppeteer, {type Browser, type LaunchOptions} from 'puppeteer-core'
import {startDevServer} from '@web/dev-server'
import {CHROMIUM_ARGS, CHROMIUM_PATH, prebundlePlugin, typescriptPlugin} from './dev-plugins.js'
import {ROOT} from './kit-build.js'

export {startDemoServer} from './demo-server.js'

export interface LaunchedChromium {
  browser: Browser
  /** Closes the browser and deletes its profile. */
  close(): Promise<void>
}

/**
 * Launches the system Chromium (CHROME_PATH, default /usr/bin/chromium) headless with
 * the project's closed-network flags. Each launch gets a fresh profile, so no state
 * (IndexedDB, localStorage, Web Locks) leaks from one run into the next.
 */
export function launchChromium(): Promise<LaunchedChromium> {
  return launchWithProfile('chromium', {executablePath: CHROMIUM_PATH, headless: true, args: CHROMIUM_ARGS})
}

/** Launches a browser puppeteer-core drives with a fresh profile of its own, deleted on close. */
export async function launchWithProfile(label: string, options: LaunchOptions): Promise<LaunchedChromium> {
  const userDataDir = await mkdtemp(join(tmpdir(), `p2p-elements-${label}-`))
  try {
    const browser = await puppeteer.launch({...options, userDataDir})
    return {
      browser,
      close: async () => {
        await browser.close()
        await rm(userDataDir, {recursive: true, force: true})
      },
    }
  } catch (err) {
    await rm(userDataDir, {recursive: true, force: true})
    throw err
  }
}

export interface TestServer {
  /** Origin serving the repository root, e.g. `http://127.0.0.2:41234`. */
  url: string
  close(): Promise<void>
}

/**
 * A @web/dev-server over the repository root, so pages such as bench/pages/*.html can
 * import src/*.ts: TypeScript and CommonJS dependencies are handled by the same
 * plugins as the browser tests use. It listens on 127.0.0.2, which dev-server binds as
 * given (it widens 'localhost' and '127.0.0.1' to every interface) and which Chromium
 * still treats as a secure context.
 */
export async function startTestServer(): Promise<TestServer> {
  const server = await startDevServer({
    config: {
      rootDir: ROOT,
      hostname: '127.0.0.2',
      port: 0,
      nodeResolve: {exportConditions: ['browser', 'production']},
      // The reload socket would only add traffic to measured pages.
      injectWebSocket: false,
      plugins: [prebundlePlugin(), typescriptPlugin()],
    },
    readCliArgs: false,
    readFileConfig: false,
    autoExitProcess: false,
    logStartMessage: false,
  })
  const {port} = server.server!.address() as AddressInfo
  return {url: `http://127.0.0.2:${port}`, close: () => server.stop().then(() => undefined)}
}
