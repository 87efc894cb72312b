// The kit in a Vue 3 app: Vue's runtime + compiler build with p2p-* as custom elements,
// the per-element entries, bundled with esbuild, two tabs in Chromium against a real
// hub process; and the generated GlobalComponents types (p2p-elements/vue) checked by vue-tsc.
import {after, before, test} from 'node:test'
import assert from 'node:assert/strict'
import {execFile} from 'node:child_process'
import {randomBytes} from 'node:crypto'
import {join} from 'node:path'
import {promisify} from 'node:util'
import {INSTALL_TIMEOUT, bundleApp, createApp, publish, serveApp, waitForFeed, waitForGossipLink, writeFiles, type App, type AppStack} from './helpers.js'

const run = promisify(execFile)

// `.maxPeers` sets the swarm's property; `:limit` on the feed is an attribute (Vue sets
// a kebab or unknown name on a custom element as an attribute), which the element
// converts to its number property. The template is the app's own, which Vue builds
// with createElement (children on the element).
const APP = `import {createApp, ref} from 'vue/dist/vue.esm-bundler.js'
import 'p2p-elements/p2p-swarm.js'
import 'p2p-elements/p2p-peers.js'
import 'p2p-elements/p2p-gossip.js'
import 'p2p-elements/p2p-feed.js'

const query = new URLSearchParams(location.search)
const app = createApp({
  setup() {
    const peers = ref(0)
    const messages = ref([])
    return {
      hub: query.get('hub'),
      room: query.get('room'),
      peers,
      messages,
      onConnect: () => peers.value++,
      onMessage: event => messages.value.push(event.detail.item.value.text),
    }
  },
  template: \`
    <p2p-swarm :hub="hub" :room="room" .maxPeers="4" @p2p-peer-connect="onConnect">
      <p2p-peers></p2p-peers>
      <p2p-gossip topic="chat" @p2p-gossip-message="onMessage">
        <p2p-feed :limit="50">
          <template><p class="msg"><b data-field="author"></b> <span data-field="text"></span></p></template>
        </p2p-feed>
      </p2p-gossip>
      <output id="peers">{{ peers }}</output>
      <output id="messages">{{ messages.join('|') }}</output>
    </p2p-swarm>\`,
})
app.config.compilerOptions.isCustomElement = tag => tag.startsWith('p2p-')
app.mount('#app')
`

// Single-file components as Vue's type checker (vue-tsc) reads them with the generated
// GlobalComponents: props and listeners typed in templates, and the mistakes refused.
const GOOD_SFC = `<script setup lang="ts">
import {ref} from 'vue'
const hub = 'http://127.0.0.1:1'
const peers = ref<string[]>([])
const texts = ref<unknown[]>([])
</script>
<template>
  <p2p-swarm :hub="hub" room="r" :max-peers="4" @p2p-peer-connect="e => peers.push(e.detail.publicKey)">
    <p2p-gossip topic="chat" @p2p-gossip-message="e => texts.push(e.detail.item.value)"></p2p-gossip>
  </p2p-swarm>
</template>
`
const BAD_SFC = `<template>
  <p2p-swarm :max-peers="'four'" @p2p-peer-connect="e => e.detail.nope"></p2p-swarm>
</template>
`

let app: App
let stack: AppStack

before(async () => {
  app = await createApp('vue', ['vue@3', 'vue-tsc@3', 'typescript@5'])
  await writeFiles(app.dir, {
    'tsconfig.json': tsconfig('src/Good.vue'),
    'tsconfig.bad.json': tsconfig('src/Bad.vue'),
    'src/app.js': APP,
    'src/Good.vue': GOOD_SFC,
    'src/Bad.vue': BAD_SFC,
    'public/index.html': '<!doctype html><meta charset="utf-8"><title>vue consumer</title><div id="app"></div><script type="module" src="./app.js"></script>\n',
  })
  await bundleApp(app, {
    entryPoints: ['src/app.js'],
    // The flags Vue's esm-bundler build expects its bundler to define.
    define: {
      '__VUE_OPTIONS_API__': 'true',
      '__VUE_PROD_DEVTOOLS__': 'false',
      '__VUE_PROD_HYDRATION_MISMATCH_DETAILS__': 'false',
      'process.env.NODE_ENV': '"production"',
    },
  })
  stack = await serveApp(app)
}, {timeout: INSTALL_TIMEOUT})

after(async () => {
  await stack?.close()
  await app?.remove()
})

function tsconfig(file: string): string {
  return JSON.stringify({
    compilerOptions: {
      target: 'ES2022', module: 'ESNext', moduleResolution: 'Bundler', lib: ['ES2022', 'DOM', 'DOM.Iterable'],
      types: ['p2p-elements/vue'], strict: true, noEmit: true, skipLibCheck: true,
    },
    include: [file],
  })
}

/** vue-tsc over one of the app's projects: what it printed ('' when it passed). */
function vueTsc(project: string): Promise<string> {
  return run(join(app.dir, 'node_modules/.bin/vue-tsc'), ['-p', project], {cwd: app.dir})
    .then(() => '', (err: {stdout?: string}) => err.stdout || String(err))
}

test('vue-tsc checks templates against the kit\'s generated GlobalComponents: typed props and listeners', async () => {
  assert.equal(await vueTsc('tsconfig.json'), '')
})

test('vue-tsc refuses a property of the wrong type and a detail the event does not have', async () => {
  const errors = (await vueTsc('tsconfig.bad.json')).split('\n').filter(line => line.includes('error TS'))
  assert.equal(errors.length, 2, errors.join('\n'))
  assert.match(errors[0], /Bad\.vue\(2,.*'string' is not assignable to type 'number'/)
  assert.match(errors[1], /Bad\.vue\(2,.*'nope' does not exist on type 'PeerEventDetail'/)
})

test('two tabs of the Vue app: .maxPeers and :limit set, @p2p-peer-connect and @p2p-gossip-message heard, a message shown through the app\'s template', async () => {
  const room = `consumer-vue-${randomBytes(4).toString('hex')}`
  const [a, b] = await Promise.all([stack.open('index.html', room, 'first tab'), stack.open('index.html', room, 'second tab')])
  await Promise.all([waitForGossipLink(a, 'first tab'), waitForGossipLink(b, 'second tab')])
  for (const tab of [a, b]) {
    await tab.waitForFunction(() => Number(document.getElementById('peers')?.textContent) >= 1, {polling: 100})
    assert.deepEqual(await tab.$eval('p2p-swarm', el => [(el as HTMLElement & {maxPeers: number}).maxPeers, el.hasAttribute('max-peers')]), [4, false])
    assert.equal(await tab.$eval('p2p-feed', el => (el as HTMLElement & {limit: number}).limit), 50)
  }
  await publish(a, 'hello from Vue')
  await waitForFeed(b, 'p2p-feed > .msg span', ['hello from Vue'], 'second tab')
  await b.waitForFunction(() => document.getElementById('messages')?.textContent === 'hello from Vue', {polling: 100})
  await waitForFeed(a, 'p2p-feed > .msg span', ['hello from Vue'], 'first tab')
  await Promise.all([a.close(), b.close()])
  assert.deepEqual(stack.errors, [])
})
