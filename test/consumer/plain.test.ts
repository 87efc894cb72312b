// The kit as a user without a framework gets it: packed, installed into a fresh app,
// and used from a page bundled with esbuild (the root entry and the per-element
// entries) and from a plain <script type="module"> loading the file in node_modules.
import {after, before, test} from 'node:test'
import assert from 'node:assert/strict'
import {randomBytes} from 'node:crypto'
import {readFile, readdir} from 'node:fs/promises'
import {join} from 'node:path'
import {INSTALL_TIMEOUT, bundleApp, createApp, installFindings, publish, serveApp, waitForFeed, waitForGossipLink, writeFiles, type App, type AppStack} from './helpers.js'

/** A chat page; a classic script sets the hub and room from the query before the kit's module runs. */
const page = (script: string) => `<!doctype html>
<html><head><meta charset="utf-8"><title>consumer</title></head><body>
<p2p-swarm>
  <p2p-peers></p2p-peers>
  <p2p-gossip topic="chat">
    <p2p-feed><template><p class="msg"><span data-field="text"></span></p></template></p2p-feed>
  </p2p-gossip>
</p2p-swarm>
<script>
  const query = new URLSearchParams(location.search)
  const swarm = document.querySelector('p2p-swarm')
  swarm.setAttribute('hub', query.get('hub'))
  swarm.setAttribute('room', query.get('room'))
</script>
${script}
</body></html>
`

let app: App
let stack: AppStack

before(async () => {
  app = await createApp('plain')
  await writeFiles(app.dir, {
    'src/all.js': `import 'p2p-elements'\n`,
    'src/each.js': ['p2p-swarm', 'p2p-peers', 'p2p-gossip', 'p2p-feed'].map(tag => `import 'p2p-elements/${tag}.js'\n`).join(''),
    'public/all.html': page('<script type="module" src="./all.js"></script>'),
    'public/each.html': page('<script type="module" src="./each.js"></script>'),
    'public/script-tag.html': page('<script type="module" src="/node_modules/p2p-elements/dist/p2p-elements.min.js"></script>'),
    'public/script-tags.html': page(['p2p-swarm', 'p2p-peers', 'p2p-gossip', 'p2p-feed'].map(tag => `<script type="module" src="/node_modules/p2p-elements/dist/browser/${tag}.js"></script>`).join('\n')),
  })
  await bundleApp(app, {
    entryPoints: ['src/all.js', 'src/each.js'],
  })
  stack = await serveApp(app)
}, {timeout: INSTALL_TIMEOUT})

after(async () => {
  await stack?.close()
  await app?.remove()
})

/** Two pages in one room: once linked, what one publishes shows in the other's feed through its template. */
async function exchange(first: string, second: string) {
  const room = `consumer-${randomBytes(4).toString('hex')}`
  const [a, b] = await Promise.all([stack.open(first, room), stack.open(second, room)])
  await Promise.all([waitForGossipLink(a, first), waitForGossipLink(b, second)])
  await publish(a, `hello from ${first}`)
  await waitForFeed(b, 'p2p-feed > .msg span', [`hello from ${first}`], second)
  await publish(b, `hello from ${second}`)
  await waitForFeed(a, 'p2p-feed > .msg span', [`hello from ${first}`, `hello from ${second}`], first)
  await Promise.all([a.close(), b.close()])
  assert.deepEqual(stack.errors, [])
}

test('installing the kit runs no install script and brings no native binary', async () => {
  assert.deepEqual(await installFindings(app.dir), [])
})

test('the package ships the licence notices of the Lit bundled in the script-tag files, beside them', async () => {
  // The all-in-one build in dist/ and the per-element one in dist/browser/, each with its chunks/.
  for (const build of ['dist', 'dist/browser']) {
    const dirs = [build, `${build}/chunks`].map(dir => join(app.dir, 'node_modules/p2p-elements', dir))
    const names = (await Promise.all(dirs.map(async dir => (await readdir(dir)).map(name => join(dir, name))))).flat()
    const legal = (await Promise.all(names.filter(name => name.endsWith('.js.LEGAL.txt')).map(name => readFile(name, 'utf8')))).join('\n')
    assert.match(legal, /\nlit-html\/lit-html\.js:\n/, build)
    assert.match(legal, /Copyright \d{4} Google LLC\s+\* SPDX-License-Identifier: BSD-3-Clause/, build)
  }
})

test('a page bundled from the root entry and one from the per-element entries meet and gossip', async () => {
  await exchange('all.html', 'each.html')
})

test('a page loading dist/p2p-elements.min.js from node_modules with a script tag meets a bundled one', async () => {
  await exchange('script-tag.html', 'each.html')
})

test('a page loading each element\'s file from dist/browser with a script tag meets a bundled one', async () => {
  await exchange('script-tags.html', 'all.html')
})
