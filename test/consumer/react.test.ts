// The kit in a React 19 app, as a React user writes one: JSX with the kit's generated
// types (p2p-elements/react) checked by tsc, bundled with esbuild, two tabs in Chromium
// against a real hub process. React 19 sets props that are element properties as
// properties (maxPeers), and listens for `on<event>` props on custom elements.
import {after, before, test} from 'node:test'
import assert from 'node:assert/strict'
import {execFile} from 'node:child_process'
import {randomBytes} from 'node:crypto'
import {join} from 'node:path'
import {promisify} from 'node:util'
import {INSTALL_TIMEOUT, REPO, bundleApp, createApp, publish, serveApp, waitForFeed, waitForGossipLink, writeFiles, type App, type AppStack} from './helpers.js'

const run = promisify(execFile)
const TSC = join(REPO, 'node_modules/.bin/tsc')

const TSCONFIG = {
  compilerOptions: {
    target: 'ES2022',
    module: 'ESNext',
    moduleResolution: 'Bundler',
    jsx: 'react-jsx',
    lib: ['ES2022', 'DOM', 'DOM.Iterable'],
    types: ['p2p-elements/react'],
    strict: true,
    noEmit: true,
    skipLibCheck: true,
  },
}

// The app's own template in JSX (React builds it with createElement: its children land
// on the element, not in its content); maxPeers is a property; the connect event counts
// peers in React state, rendered where the test can read it.
const APP = `import {useState} from 'react'
import {createRoot} from 'react-dom/client'
import 'p2p-elements'

function App({hub, room}: {hub: string, room: string}) {
  const [peers, setPeers] = useState<string[]>([])
  return (
    <p2p-swarm hub={hub} room={room} maxPeers={4}
      onp2p-peer-connect={event => setPeers(keys => [...keys, event.detail.publicKey])}>
      <p2p-peers></p2p-peers>
      <p2p-gossip topic="chat">
        <p2p-feed limit={50}>
          <template><p className="msg"><b data-field="author"></b> <span data-field="text"></span></p></template>
        </p2p-feed>
      </p2p-gossip>
      <output id="peers">{peers.length}</output>
    </p2p-swarm>
  )
}

const query = new URLSearchParams(location.search)
createRoot(document.getElementById('root')!).render(<App hub={query.get('hub')!} room={query.get('room')!} />)
`

// What tsc must refuse: a misspelt attribute, and a property of the wrong type.
const MISTAKES = `import 'p2p-elements'

export const misspelt = <p2p-swarm hbu="http://127.0.0.1:1" room="r"></p2p-swarm>
export const wrongType = <p2p-swarm maxPeers="four"></p2p-swarm>
`

let app: App
let stack: AppStack

before(async () => {
  app = await createApp('react', ['react@19', 'react-dom@19', '@types/react@19', '@types/react-dom@19'])
  await writeFiles(app.dir, {
    'tsconfig.json': JSON.stringify({...TSCONFIG, include: ['src/app.tsx']}),
    'tsconfig.mistakes.json': JSON.stringify({...TSCONFIG, include: ['src/mistakes.tsx']}),
    'src/app.tsx': APP,
    'src/mistakes.tsx': MISTAKES,
    'public/index.html': '<!doctype html><meta charset="utf-8"><title>react consumer</title><div id="root"></div><script type="module" src="./app.js"></script>\n',
  })
  await bundleApp(app, {
    entryPoints: ['src/app.tsx'],
    jsx: 'automatic',
    define: {'process.env.NODE_ENV': '"production"'},
  })
  stack = await serveApp(app)
}, {timeout: INSTALL_TIMEOUT})

after(async () => {
  await stack?.close()
  await app?.remove()
})

/** tsc over one of the app's projects: its exit code and what it printed. */
async function typecheck(project: string): Promise<{code: number, output: string}> {
  try {
    const {stdout} = await run(TSC, ['-p', project], {cwd: app.dir})
    return {code: 0, output: stdout}
  } catch (err) {
    const {code, stdout} = err as {code: number, stdout: string}
    return {code, output: stdout}
  }
}

test('tsc accepts the app\'s JSX with the kit\'s generated React types', async () => {
  const {code, output} = await typecheck('tsconfig.json')
  assert.equal(code, 0, output)
})

test('tsc refuses a misspelt attribute and a property of the wrong type', async () => {
  const {code, output} = await typecheck('tsconfig.mistakes.json')
  assert.notEqual(code, 0)
  const errors = output.split(/\n(?=\S)/).filter(e => e.includes('error TS'))
  assert.equal(errors.length, 2, output)
  assert.match(errors[0], /^src\/mistakes\.tsx\(3,[^]*'hbu'/)
  assert.match(errors[1], /^src\/mistakes\.tsx\(4,.*'string' is not assignable to type 'number'/)
})

test('two tabs of the React app: maxPeers set as a property, the connect event heard, a message shown through the app\'s template', async () => {
  const room = `consumer-react-${randomBytes(4).toString('hex')}`
  const [a, b] = await Promise.all([stack.open('index.html', room, 'first tab'), stack.open('index.html', room, 'second tab')])
  await Promise.all([waitForGossipLink(a, 'first tab'), waitForGossipLink(b, 'second tab')])
  for (const tab of [a, b]) {
    // React state that only the p2p-peer-connect listener updates (once per connection:
    // a reconnection after a glare counts again).
    await tab.waitForFunction(() => Number(document.getElementById('peers')?.textContent) >= 1, {polling: 100})
    // The property, not an attribute: React 19 sets what the element has as a property.
    assert.deepEqual(await tab.$eval('p2p-swarm', el => [(el as HTMLElement & {maxPeers: number}).maxPeers, el.hasAttribute('maxpeers')]), [4, false])
  }
  await publish(a, 'hello from React')
  // Rows are the feed's children; the template's own children (JSX puts them on the
  // element) match \`p2p-feed .msg\` too, but are never shown.
  await waitForFeed(b, 'p2p-feed > .msg span', ['hello from React'], 'second tab')
  await waitForFeed(a, 'p2p-feed > .msg span', ['hello from React'], 'first tab')
  assert.equal(await b.$eval('p2p-feed > .msg b', el => el.textContent?.length), 8)
  await Promise.all([a.close(), b.close()])
  assert.deepEqual(stack.errors, [])
})
