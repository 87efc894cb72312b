// Storybook as a user opens it: `storybook build` offline with telemetry off into a
// temporary directory (with STORYBOOK_HUB pointing the stories at a real hub process),
// the output served on loopback, and its stories loaded in the system Chromium.
import {after, before, test} from 'node:test'
import assert from 'node:assert/strict'
import {execFile} from 'node:child_process'
import {mkdtemp, readFile, readdir, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {promisify} from 'node:util'
import {context, type BuildContext} from 'esbuild'
import type {Page} from 'puppeteer-core'
import {startHubProcess, type HubProcess} from '../../scripts/hub-process.js'
import {launchChromium, type LaunchedChromium} from '../../scripts/browser.js'
import {ROOT} from '../../scripts/kit-build.js'

const TIMEOUT = 30_000

let hub: HubProcess
let dir: string
let server: BuildContext
let url: string
let chromium: LaunchedChromium

before(async () => {
  hub = await startHubProcess()
  dir = await mkdtemp(join(tmpdir(), 'p2p-elements-storybook-'))
  await promisify(execFile)(join(ROOT, 'node_modules/.bin/storybook'), ['build', '--disable-telemetry', '--quiet', '-o', dir], {
    cwd: ROOT,
    env: {...process.env, STORYBOOK_DISABLE_TELEMETRY: '1', STORYBOOK_HUB: hub.url},
    maxBuffer: 16 * 1024 * 1024,
  })
  // esbuild with no entry points is a plain static file server.
  server = await context({})
  const {port} = await server.serve({host: '127.0.0.1', servedir: dir})
  url = `http://127.0.0.1:${port}`
  chromium = await launchChromium()
})

after(async () => {
  await Promise.all([chromium?.close(), server?.dispose(), hub?.close()])
  if (dir) await rm(dir, {recursive: true, force: true})
})

/** Opens one story alone, as Storybook's canvas does. */
async function openStory(id: string): Promise<Page> {
  const page = await chromium.browser.newPage()
  await page.goto(`${url}/iframe.html?id=${id}&viewMode=story`)
  return page
}

/** Text of an element's shadow root (the first match of `selector`), once `ready` holds for it. */
async function shadowTextWhen(page: Page, selector: string, ready: string, what: string): Promise<string> {
  const read = () => page.evaluate(s => document.querySelector(s)?.shadowRoot?.textContent?.replace(/\s+/g, ' ').trim() ?? null, selector)
  try {
    await page.waitForFunction(`(${ready})(document.querySelector(${JSON.stringify(selector)}))`, {timeout: TIMEOUT, polling: 100})
  } catch (err) {
    throw new Error(`${what}: it shows ${JSON.stringify(await read())}`, {cause: err})
  }
  return (await read())!
}

/**
 * Names of members the element sources keep to themselves: `#private` ones and those
 * declared `private` or `protected`. Read from the sources, not from the manifest, so a
 * manifest that lists them is caught.
 */
async function privateMembers(): Promise<Map<string, Set<string>>> {
  const byTag = new Map<string, Set<string>>()
  const elements = join(ROOT, 'src/elements')
  for (const tag of (await readdir(elements)).filter(name => name.startsWith('p2p-'))) {
    const source = await readFile(join(elements, tag, `${tag}.ts`), 'utf8')
    const names = new Set([...source.matchAll(/#\w+/g)].map(m => m[0]))
    for (const m of source.matchAll(/^\s*(?:@\w+\([^)]*\)\s*)*(?:private|protected)\s+(?:(?:readonly|override|static|async|get|set)\s+)*(\w+)/gm)) names.add(m[1])
    byTag.set(tag, names)
  }
  return byTag
}

/** Each element's attributes, as the committed manifest (the one Storybook reads) lists them. */
async function manifestAttributes(): Promise<Map<string, string[]>> {
  const manifest = JSON.parse(await readFile(join(ROOT, 'custom-elements.json'), 'utf8')) as
    {modules: Array<{declarations?: Array<{tagName?: string, attributes?: Array<{name: string}>}>}>}
  const byTag = new Map<string, string[]>()
  for (const decl of manifest.modules.flatMap(m => m.declarations ?? [])) {
    if (decl.tagName) byTag.set(decl.tagName, (decl.attributes ?? []).map(a => a.name))
  }
  return byTag
}

test('the built index lists a story for each state worth seeing', async () => {
  const index = JSON.parse(await readFile(join(dir, 'index.json'), 'utf8')) as {entries: Record<string, {type: string}>}
  const stories = Object.keys(index.entries).filter(id => index.entries[id].type === 'story')
  for (const id of [
    'elements-p2p-swarm--empty-room', 'elements-p2p-swarm--with-peers', 'elements-p2p-swarm--hub-unreachable',
    'elements-p2p-peers--empty-room', 'elements-p2p-peers--with-peers', 'elements-p2p-peers--hub-unreachable',
    'elements-p2p-peers--connecting', 'elements-p2p-peers--offline',
    'elements-p2p-file-drop--two-peers-sharing', 'elements-p2p-file-drop--with-files',
    'elements-p2p-gossip--two-peers-chatting', 'elements-p2p-feed--chat-template',
    'elements-p2p-mirror-control--kept-logs-and-files', 'elements-p2p-mirror-control--owner',
    'elements-p2p-dht--three-nodes', 'elements-p2p-dht--not-in-a-room',
  ]) assert.ok(stories.includes(id), `${id} is not in the built index: ${stories.join(', ')}`)
})

test('no control of any element is a private member', async () => {
  const hidden = await privateMembers()
  const attributes = await manifestAttributes()
  const page = await openStory('elements-p2p-swarm--hub-unreachable')
  try {
    await page.waitForFunction(() => (window as {__STORYBOOK_PREVIEW__?: {storyStoreValue?: unknown}}).__STORYBOOK_PREVIEW__?.storyStoreValue, {timeout: TIMEOUT})
    const index = JSON.parse(await readFile(join(dir, 'index.json'), 'utf8')) as {entries: Record<string, {type: string, title: string}>}
    for (const tag of hidden.keys()) {
      const id = Object.keys(index.entries).find(id => index.entries[id].type === 'story' && index.entries[id].title === `Elements/${tag}`)
      assert.ok(id, `no story for ${tag}`)
      const controls = await page.evaluate(async storyId => {
        const preview = (window as unknown as {__STORYBOOK_PREVIEW__: {loadStory(o: {storyId: string}): Promise<{argTypes: Record<string, unknown>}>}}).__STORYBOOK_PREVIEW__
        return Object.keys((await preview.loadStory({storyId})).argTypes)
      }, id)
      // The element's attributes are there: the controls did come from the manifest.
      for (const attribute of attributes.get(tag) ?? []) assert.ok(controls.includes(attribute), `${tag} has no control for ${attribute}: ${controls.join(', ')}`)
      const leaked = controls.filter(name => name.startsWith('#') || hidden.get(tag)!.has(name))
      assert.deepEqual(leaked, [], `${tag}'s controls list private members`)
    }
  } finally {
    await page.close()
  }
})

test('p2p-swarm HubUnreachable: the swarm reflects hub-unreachable and the list says so', async () => {
  const page = await openStory('elements-p2p-swarm--hub-unreachable')
  try {
    await page.waitForSelector('p2p-swarm[state="hub-unreachable"]', {timeout: TIMEOUT})
    const text = await shadowTextWhen(page, 'p2p-peers', 'el => /reach the hub/i.test(el?.shadowRoot?.textContent ?? "")', 'the list does not say the hub is unreachable')
    assert.match(text, /reach the hub/i)
  } finally {
    await page.close()
  }
})

test('p2p-swarm EmptyRoom: online against the hub, waiting for peers', async () => {
  const page = await openStory('elements-p2p-swarm--empty-room')
  try {
    await page.waitForSelector('p2p-swarm[state="online"]', {timeout: TIMEOUT})
    const text = await shadowTextWhen(page, 'p2p-peers', 'el => /waiting for peers/i.test(el?.shadowRoot?.textContent ?? "")', 'the list is not waiting for peers')
    assert.match(text, /waiting for peers/i)
  } finally {
    await page.close()
  }
})

test('p2p-swarm WithPeers: the two swarms of the story connect and each lists the other', async () => {
  const page = await openStory('elements-p2p-swarm--with-peers')
  try {
    const listed = () => page.evaluate(() => [...document.querySelectorAll('p2p-peers')].map(list =>
      [...list.shadowRoot?.querySelectorAll('[part~="peer-connected"]') ?? []].map(row => row.getAttribute('data-key'))))
    try {
      await page.waitForFunction(() => {
        const lists = [...document.querySelectorAll('p2p-peers')]
        return lists.length === 2 && lists.every(list => list.shadowRoot?.querySelectorAll('[part~="peer-connected"]').length === 1)
      }, {timeout: TIMEOUT, polling: 100})
    } catch (err) {
      throw new Error(`the two lists show ${JSON.stringify(await listed())}`, {cause: err})
    }
    const [alice, bob] = await listed()
    const keys = await page.evaluate(() => [...document.querySelectorAll('p2p-swarm')].map(s => (s as unknown as {swarm: {publicKey: string}}).swarm.publicKey))
    assert.deepEqual([alice[0], bob[0]], [keys[1], keys[0]])
  } finally {
    await page.close()
  }
})

test('p2p-file-drop WithFiles: Bob lists the two files Alice shares', async () => {
  const page = await openStory('elements-p2p-file-drop--with-files')
  try {
    const files = () => page.evaluate(() => [...document.querySelector('p2p-file-drop[data-peer="Bob"]')?.shadowRoot?.querySelectorAll('[part~="name"]') ?? []]
      .map(name => name.textContent).sort())
    try {
      await page.waitForFunction(() => document.querySelector('p2p-file-drop[data-peer="Bob"]')?.shadowRoot?.querySelectorAll('[part~="file"]').length === 2,
        {timeout: TIMEOUT, polling: 100})
    } catch (err) {
      throw new Error(`Bob lists ${JSON.stringify(await files())}`, {cause: err})
    }
    assert.deepEqual(await files(), ['drawing.png', 'minutes.txt'])
  } finally {
    await page.close()
  }
})

test('p2p-mirror-control KeptLogsAndFiles: the element shows what the stand-in mirror keeps, each state in words, and the refused request; no form', async () => {
  const page = await openStory('elements-p2p-mirror-control--kept-logs-and-files')
  try {
    const text = await shadowTextWhen(page, 'p2p-mirror-control', 'el => /over quota/.test(el?.shadowRoot?.textContent ?? "") && /minutes\\.pdf/.test(el.shadowRoot.textContent)',
      'the element does not show the mirror\'s status')
    assert.match(text, /connected/)
    assert.match(text, /aaaaaaaa in sync 301 \(301\)/)
    assert.match(text, /bbbbbbbb 3 behind 120 \(123\)/)
    assert.match(text, /cccccccc over quota 900 \(1500\)/)
    assert.match(text, /minutes\.pdf complete 6 of 6/)
    assert.match(text, /Refused log eeeeeeee: over quota/)
    assert.equal(await page.evaluate(() => document.querySelector('p2p-mirror-control')!.shadowRoot!.querySelector('form') !== null), false)
  } finally {
    await page.close()
  }
})

test('p2p-mirror-control Owner: the owner asks for a log through the form, and the stand-in mirror keeps it', async () => {
  const page = await openStory('elements-p2p-mirror-control--owner')
  try {
    await shadowTextWhen(page, 'p2p-mirror-control', 'el => el?.shadowRoot?.querySelector("[part~=add] button")?.disabled === false', 'the owner\'s form is not ready')
    const asked = 'f0'.repeat(32)
    await page.evaluate(id => {
      const form = document.querySelector('p2p-mirror-control')!.shadowRoot!.querySelector('form')!
      form.querySelector('input')!.value = id
      form.querySelector('button')!.click()
    }, asked)
    const text = await shadowTextWhen(page, 'p2p-mirror-control', `el => !!el?.shadowRoot?.querySelector('[part~=row][data-id="${asked}"] [part~=remove]')`,
      'the asked-for log is not shown with a Remove button')
    assert.match(text, /f0f0f0f0 no peer has it 0 \(–\) an owner Remove/)
  } finally {
    await page.close()
  }
})
