// What the consumer tests share: the kit packed as npm publishes it, installed into a
// fresh app under os.tmpdir() as a user's `npm install` would (registry only, no
// overrides), bundled with esbuild, served from loopback and loaded in the system
// Chromium against a real hub process.
import {execFile} from 'node:child_process'
import {createReadStream} from 'node:fs'
import {mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile} from 'node:fs/promises'
import {createServer} from 'node:http'
import type {AddressInfo} from 'node:net'
import {tmpdir} from 'node:os'
import {extname, join, normalize, sep} from 'node:path'
import {promisify} from 'node:util'
import {fileURLToPath} from 'node:url'
import {build, type BuildOptions} from 'esbuild'
import type {Page} from 'puppeteer-core'
import {launchChromium} from '../../scripts/browser.js'
import {startHubProcess} from '../../scripts/hub-process.js'

const run = promisify(execFile)

export const REPO = fileURLToPath(new URL('../..', import.meta.url))

/** Long enough for a cold install on a busy machine; a hang guard, not a bound. */
export const INSTALL_TIMEOUT = 240_000

export interface App {
  dir: string
  /** Deletes the app. */
  remove(): Promise<void>
}

/**
 * A fresh app with the packed kit and `dependencies` installed. `npm pack` runs the
 * kit's prepack (the build), as publishing does; `npm run test:consumer` packs once for
 * all the files and names the tarball in P2P_KIT_TARBALL (scripts/test-consumer.ts), a
 * file run alone packs its own. Install scripts are not run: the app
 * needs none, and whether the kit's dependency tree would run any is what
 * `installFindings` reports. The npm cache is the user's, and `--prefer-offline` takes
 * what it holds, so only a cold cache goes to the registry.
 */
export async function createApp(label: string, dependencies: string[] = []): Promise<App> {
  const dir = await mkdtemp(join(tmpdir(), `p2p-elements-consumer-${label}-`))
  const remove = () => rm(dir, {recursive: true, force: true})
  try {
    await writeFile(join(dir, 'package.json'), `${JSON.stringify({name: `consumer-${label}`, private: true, type: 'module'}, null, 2)}\n`)
    const tarball = process.env.P2P_KIT_TARBALL ?? await pack(dir)
    await npm(['install', '--prefer-offline', '--ignore-scripts', '--no-audit', '--no-fund', tarball, ...dependencies], dir)
    return {dir, remove}
  } catch (err) {
    await remove()
    throw err
  }
}

/** Adds `dependencies` to an app, as its user's `npm install` would (same flags as createApp). */
export async function install(app: App, dependencies: string[]): Promise<void> {
  await npm(['install', '--prefer-offline', '--ignore-scripts', '--no-audit', '--no-fund', ...dependencies], app.dir)
}

/** The kit packed into `dir`, as publishing would; the tarball's path. */
async function pack(dir: string): Promise<string> {
  await npm(['pack', '--pack-destination', dir], REPO)
  return join(dir, (await readdir(dir)).find(name => name.endsWith('.tgz'))!)
}

/** Runs npm; a failure says what npm printed (a failed pack is most often the kit's build). */
async function npm(args: string[], cwd: string): Promise<void> {
  try {
    await run('npm', args, {cwd, maxBuffer: 64 << 20})
  } catch (err) {
    const {stdout = '', stderr = ''} = err as {stdout?: string, stderr?: string}
    const tail = (text: string) => text.trim().split('\n').slice(-30).join('\n')
    throw new Error(`npm ${args[0]} failed:\n${tail(stdout)}\n${tail(stderr)}`, {cause: err})
  }
}

interface LockPackage {
  dependencies?: Record<string, string>
  optionalDependencies?: Record<string, string>
  peerDependencies?: Record<string, string>
  hasInstallScript?: boolean
}

/**
 * What installing the kit would run or carry natively: each package in p2p-elements'
 * dependency tree (from the app's package-lock) that has an install script, and each
 * `*.node` file in those packages.
 */
export async function installFindings(appDir: string): Promise<string[]> {
  const lock = JSON.parse(await readFile(join(appDir, 'package-lock.json'), 'utf8')) as {packages: Record<string, LockPackage>}
  const packages = lock.packages
  const tree = new Set<string>()
  const visit = (path: string) => {
    if (tree.has(path)) return
    tree.add(path)
    const entry = packages[path]
    const names = Object.keys({...entry.dependencies, ...entry.optionalDependencies, ...entry.peerDependencies})
    for (const name of names) {
      const found = resolveInLock(packages, path, name)
      if (found) visit(found)
    }
  }
  visit('node_modules/p2p-elements')
  tree.delete('node_modules/p2p-elements')
  const findings: string[] = []
  for (const path of [...tree].sort()) {
    if (packages[path].hasInstallScript) findings.push(`${path} has an install script`)
    for (const binary of await nativeFiles(join(appDir, path))) findings.push(`${path} holds a native binary: ${binary}`)
  }
  return findings
}

/** Node's lookup: the nearest node_modules/<name> from `from` up to the app's root. */
function resolveInLock(packages: Record<string, LockPackage>, from: string, name: string): string | null {
  let base = from
  for (;;) {
    const candidate = `${base}/node_modules/${name}`
    if (packages[candidate]) return candidate
    const up = base.lastIndexOf('/node_modules/')
    if (up === -1) return packages[`node_modules/${name}`] ? `node_modules/${name}` : null
    base = base.slice(0, up)
  }
}

/** `*.node` files in a package, not descending into its own nested node_modules (they are packages of their own). */
async function nativeFiles(dir: string): Promise<string[]> {
  const found: string[] = []
  const entries = await readdir(dir, {withFileTypes: true}).catch(() => [])
  for (const entry of entries) {
    if (entry.isDirectory() && entry.name !== 'node_modules') found.push(...(await nativeFiles(join(dir, entry.name))).map(f => `${entry.name}/${f}`))
    else if (entry.isFile() && entry.name.endsWith('.node')) found.push(entry.name)
  }
  return found
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
}

export interface StaticServer {
  url: string
  close(): Promise<void>
}

/** Serves `root` (the app: its pages and its node_modules) on loopback. */
export async function serveStatic(root: string): Promise<StaticServer> {
  const server = createServer(async (req, res) => {
    const path = normalize(join(root, decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname)))
    const file = path.endsWith(sep) ? join(path, 'index.html') : path
    const info = file.startsWith(root) ? await stat(file).catch(() => null) : null
    if (!info?.isFile()) {
      res.writeHead(404).end()
      return
    }
    res.writeHead(200, {'content-type': TYPES[extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-store'})
    createReadStream(file).pipe(res)
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const {port} = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise(resolve => {
      server.closeAllConnections()
      server.close(() => resolve())
    }),
  }
}

/** Bundles the app's sources into its public/ folder with esbuild, as its own build would. */
export async function bundleApp(app: App, options: BuildOptions): Promise<void> {
  await build({absWorkingDir: app.dir, outdir: 'public', bundle: true, format: 'esm', platform: 'browser', logLevel: 'error', ...options})
}

export interface AppStack {
  /** Uncaught errors of every tab opened, `name: message`. */
  readonly errors: string[]
  /** Opens the app's `public/<path>` in a new tab, with the hub and `room` in its query. */
  open(path: string, room: string, name?: string): Promise<Page>
  close(): Promise<void>
}

/** The app served from loopback, a real hub process and the system Chromium to open its pages in. */
export async function serveApp(app: App): Promise<AppStack> {
  const [hub, chromium, server] = await Promise.all([startHubProcess(), launchChromium(), serveStatic(app.dir)])
  const errors: string[] = []
  return {
    errors,
    async open(path, room, name = path) {
      const tab = await chromium.browser.newPage()
      watchErrors(tab, name, errors)
      await tab.goto(`${server.url}/public/${path}?hub=${encodeURIComponent(hub.url)}&room=${room}`)
      return tab
    },
    async close() {
      await chromium.close()
      await Promise.all([hub.close(), server.close()])
    },
  }
}

/** Writes files into the app, making their folders. */
export async function writeFiles(dir: string, files: Record<string, string>): Promise<void> {
  for (const [name, text] of Object.entries(files)) {
    await mkdir(join(dir, name, '..'), {recursive: true})
    await writeFile(join(dir, name), text)
  }
}

/** Collects a page's uncaught errors, to assert there were none. */
export function watchErrors(page: Page, name: string, into: string[]): void {
  page.on('pageerror', err => into.push(`${name}: ${(err as Error).message}`))
}

/**
 * Waits until the page's gossip is linked to one other page (gossip keeps no history:
 * a message published before the link would reach nobody).
 */
export async function waitForGossipLink(page: Page, name: string, timeout = 60_000): Promise<void> {
  try {
    await page.waitForFunction(() => {
      const gossip = document.querySelector('p2p-gossip') as (Element & {gossip?: {stats: {links: number}}}) | null
      return gossip?.gossip?.stats.links === 1
    }, {timeout, polling: 100})
  } catch (err) {
    throw new Error(`${name} never linked its gossip to the other page`, {cause: err})
  }
}

/** Waits until the page's feed shows `texts` in the element `selector` of its rows. */
export async function waitForFeed(page: Page, selector: string, texts: string[], name: string, timeout = 30_000): Promise<void> {
  try {
    await page.waitForFunction((selector: string, expected: string[]) => {
      const shown = [...document.querySelectorAll(selector)].map(t => t.textContent)
      return JSON.stringify(shown) === JSON.stringify(expected)
    }, {timeout, polling: 100}, selector, texts)
  } catch (err) {
    const shown = await page.$$eval('p2p-feed > :not(template)', rows => rows.map(r => r.outerHTML))
    throw new Error(`${name} did not show ${JSON.stringify(texts)} in ${selector}; its feed holds ${JSON.stringify(shown)}`, {cause: err})
  }
}

/** Publishes `{text}` through the page's `<p2p-gossip>`. */
export function publish(page: Page, text: string): Promise<void> {
  return page.evaluate(text => {
    const gossip = document.querySelector('p2p-gossip') as Element & {source: {publish(value: unknown): Promise<void>}}
    return gossip.source.publish({text})
  }, text)
}
