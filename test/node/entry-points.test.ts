// Every element has an entry of its own: the package exports it with its types, and the
// script-tag file for it, loaded alone in a fresh Chromium page, defines that element
// and no other. The built files are served from memory through request interception,
// so the page loads them by URL as a page on a static host would, and nothing is listening.
// The root's API is pinned here, so a name added to it shows up in review, and no name
// means two things across the package's entries.
import {test, before, after} from 'node:test'
import assert from 'node:assert/strict'
import {readFile, readdir} from 'node:fs/promises'
import {join} from 'node:path'
import {pathToFileURL} from 'node:url'
import type {Page} from 'puppeteer-core'
import {launchChromium, type LaunchedChromium} from '../../scripts/browser.js'
import {ALL_IN_ONE, CHAT_PAGE, ELEMENT_TAGS, ROOT, buildKit, type KitBuild} from '../../scripts/kit-build.js'

// A loopback address no server listens on: every request to it is answered by the test.
const ORIGIN = 'http://127.0.0.2:9'
const OUTDIR = join(ROOT, 'dist')

let chromium: LaunchedChromium
let kit: KitBuild
let served: Map<string, Uint8Array>

before(async () => {
  kit = await buildKit(OUTDIR)
  served = new Map(kit.outputFiles.map(file => [file.path.slice(OUTDIR.length), file.contents]))
  chromium = await launchChromium()
})

after(async () => {
  await chromium?.close()
})

/** A fresh page of the in-memory origin; what it loads is served from the build. */
async function freshPage(): Promise<Page> {
  const context = await chromium.browser.createBrowserContext()
  const page = await context.newPage()
  await page.setRequestInterception(true)
  page.on('request', request => {
    const path = new URL(request.url()).pathname
    const body = path === '/' ? '<!doctype html><title>entry</title>' : served.get(path)
    if (body === undefined) void request.respond({status: 404, body: ''})
    else void request.respond({status: 200, contentType: path === '/' ? 'text/html' : 'text/javascript', body: Buffer.from(body)})
  })
  await page.goto(`${ORIGIN}/`)
  return page
}

/** Loads `path` as a module in a fresh page and answers which of the kit's tags are then defined. */
async function definedAfterLoading(path: string): Promise<string[]> {
  const page = await freshPage()
  try {
    return await page.evaluate(async (url, tags) => {
      await import(url)
      return tags.filter(tag => customElements.get(tag) !== undefined)
    }, `${ORIGIN}${path}`, [...ELEMENT_TAGS])
  } finally {
    await page.browserContext().close()
  }
}

test('every element in src/elements has an entry of its own, which alone registers it', async () => {
  const classes = new Map<string, string>()
  for (const dir of await readdir(join(ROOT, 'src/elements'), {recursive: true})) {
    if (!dir.endsWith('.ts')) continue
    const source = await readFile(join(ROOT, 'src/elements', dir), 'utf8')
    // A class module registers nothing: the script-tag core carries <p2p-swarm>'s class, and
    // loading the core must define no element.
    assert.doesNotMatch(source, /customElements\.define\(/, `src/elements/${dir} registers an element`)
    for (const m of source.matchAll(/export class (\w+) extends LitElement/g)) classes.set(m[1], dir)
  }
  const registered: string[] = []
  for (const tag of ELEMENT_TAGS) {
    const source = await readFile(join(ROOT, `src/${tag}.ts`), 'utf8')
    const define = source.match(/customElements\.define\('([^']+)', (\w+)\)/)
    assert.ok(define, `src/${tag}.ts registers its element`)
    assert.equal(define[1], tag)
    assert.equal(classes.get(define[2]), `${tag}/${tag}.ts`, `src/${tag}.ts registers the class of src/elements/${tag}/${tag}.ts`)
    assert.match(source, new RegExp(`import \\{${define[2]}\\} from './elements/${tag}/${tag}.js'`), `src/${tag}.ts imports its element`)
    registered.push(define[2])
  }
  assert.deepEqual(registered.sort(), [...classes.keys()].sort(), 'every element class has an entry')
})

test('package.json exports each element entry with its types', async () => {
  const {exports} = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8'))
  for (const tag of ELEMENT_TAGS) {
    assert.deepEqual(exports[`./${tag}.js`], {types: `./dist/${tag}.d.ts`, import: `./dist/${tag}.js`}, tag)
  }
})

test('bundlers keep every file that registers elements: package.json lists it under sideEffects', async () => {
  const {sideEffects} = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as {sideEffects: string[]}
  const patterns = sideEffects.map(glob => new RegExp(`^${glob.replace(/[.]/g, '\\.').replace(/\*\*/g, '\0').replace(/\*/g, '[^/]*').replace(/\0/g, '.*')}$`))
  const registering = [
    './dist/index.js', ...ELEMENT_TAGS.map(tag => `./dist/${tag}.js`),
    `./dist/${ALL_IN_ONE}`, './dist/chunks/chunk-X.js', ...ELEMENT_TAGS.map(tag => `./dist/browser/${tag}.js`), './dist/browser/chunks/chunk-X.js',
  ]
  for (const path of registering) assert.ok(patterns.some(pattern => pattern.test(path)), `${path} is not under sideEffects`)
  // A bundler may drop what is not listed: the rest of the core, with nothing to register.
  assert.ok(!patterns.some(pattern => pattern.test('./dist/core/swarm/swarm.js')))
})

for (const tag of ELEMENT_TAGS) {
  test(`the script-tag file for <${tag}>, loaded alone, defines <${tag}> and no other element`, async () => {
    assert.deepEqual(await definedAfterLoading(`/browser/${tag}.js`), [tag])
  })
}

test('the chat elements\' script-tag files on one page run Lit once', async () => {
  // The files are built in layers (a core file, the elements beside it): a module
  // bundled on both sides would run twice, and Lit counts its copies.
  const page = await freshPage()
  try {
    const copies = await page.evaluate(async urls => {
      for (const url of urls) await import(url)
      const lit = globalThis as unknown as Record<string, unknown[] | undefined>
      return [lit.litHtmlVersions?.length, lit.reactiveElementVersions?.length, lit.litElementVersions?.length]
    }, CHAT_PAGE.map(tag => `${ORIGIN}/browser/${tag}.js`))
    assert.deepEqual(copies, [1, 1, 1])
  } finally {
    await page.browserContext().close()
  }
})

test('the all-in-one script-tag file defines every element', async () => {
  assert.deepEqual(await definedAfterLoading(`/${ALL_IN_ONE}`), [...ELEMENT_TAGS])
})

/** Whether a file drop in a room, from the files at `paths`, opens its storage (loaded on demand, from a chunk). */
async function fileDropOpensStorage(paths: string[]): Promise<void> {
  const page = await freshPage()
  try {
    await page.evaluate(async urls => {
      for (const url of urls) await import(url)
      // The hub is this origin too: it answers 404, so the swarm exists but meets no one
      // (and reports that; only the file drop's own errors count here).
      document.body.innerHTML = `<p2p-swarm hub="${location.origin}" room="entry"><p2p-file-drop></p2p-file-drop></p2p-swarm>`
      const errors: string[] = (globalThis as unknown as {errors: string[]}).errors = []
      document.querySelector('p2p-file-drop')!.addEventListener('p2p-error', event => errors.push(event.detail.error.message))
    }, paths.map(path => `${ORIGIN}${path}`))
    // The drop zone is enabled once the storage is open; a storage that fails to load or
    // open is reported (p2p-error) and leaves it disabled.
    const errors = await page.waitForFunction(() => {
      const zone = document.querySelector('p2p-file-drop')?.shadowRoot?.querySelector<HTMLButtonElement>('[part~="drop-zone"]')
      const {errors} = globalThis as unknown as {errors: string[]}
      return (zone?.disabled === false || errors.length > 0) && errors
    }, {timeout: 20_000, polling: 50})
    assert.deepEqual(await errors.jsonValue(), [], paths.join(' + '))
  } finally {
    await page.browserContext().close()
  }
}

test('the file drop of either script-tag build loads its storage and opens it', async () => {
  await fileDropOpensStorage(['/browser/p2p-swarm.js', '/browser/p2p-file-drop.js'])
  await fileDropOpensStorage([`/${ALL_IN_ONE}`])
})

// What `import … from 'p2p-elements'` offers at run time (its types come on top).
const ROOT_API = [
  'ChunkStore', 'DhtReadyEvent', 'EntryKind', 'FileAddEvent', 'FileCompleteEvent', 'FileProgressEvent', 'FileShare', 'Gossip',
  'GossipMessageEvent', 'GossipSource', 'HubClient', 'KV', 'KeyPairIdentity', 'KvChangeEvent', 'Log', 'LogAppendEvent', 'LogConflictEvent',
  'LogPeer', 'LogProgressEvent', 'MirrorStatusEvent', 'P2PDhtElement', 'P2PError', 'P2PErrorEvent', 'P2PFeedElement', 'P2PFileDropElement', 'P2PGossipElement',
  'P2PKVElement', 'P2PKvValueElement', 'P2PLogElement', 'P2PMirrorControlElement', 'P2PPeersElement', 'P2PSwarmElement', 'P2PViewElement', 'PeerConnectEvent', 'PeerDisconnectEvent', 'PeerReconnectEvent',
  'Swarm', 'View', 'ViewProgressEvent', 'attachGossip', 'attachLog', 'createIdentity', 'defineView', 'exportIdentity', 'importIdentity', 'kvContext', 'logContext',
  'logProtocol', 'pageIdentity', 'pageLogIdentity', 'readValue', 'setPageIdentity', 'sourceContext', 'swarmContext',
]

/** Every entry package.json exports with code (not the type-only ones), as its source module: `./dist/x/index.js` is src/x/index.ts. */
async function sourceEntries(): Promise<Map<string, string>> {
  const {exports} = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as {exports: Record<string, string | {import?: string}>}
  const entries = new Map<string, string>()
  for (const [name, target] of Object.entries(exports)) {
    if (typeof target === 'string' || target.import === undefined) continue
    entries.set(name, join(ROOT, target.import!.replace(/^\.\/dist\//, 'src/').replace(/\.js$/, '.ts')))
  }
  return entries
}

test('the root entry exports what a user needs and nothing more', async () => {
  const root = await import(pathToFileURL((await sourceEntries()).get('.')!).href)
  assert.deepEqual(Object.keys(root).sort(), ROOT_API)
})

test('no name is exported by two entries with different values', async () => {
  const seen = new Map<string, {entry: string, value: unknown}>()
  for (const [entry, source] of await sourceEntries()) {
    const module = await import(pathToFileURL(source).href) as Record<string, unknown>
    for (const [name, value] of Object.entries(module)) {
      const first = seen.get(name)
      if (!first) seen.set(name, {entry, value})
      else assert.equal(value, first.value, `${name} in ${entry} is not ${name} in ${first.entry}`)
    }
  }
  assert.ok(seen.has('pageStreams') && seen.has('P2PSwarmElement'), 'the protocol and element entries were read')
})
