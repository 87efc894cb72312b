// What the Chromium and Firefox browser-test configs share: the test files, the dev
// server on loopback, a real hub process and loopback coturns started beside the test
// server, and the page that tells tests where they are (window.__P2P_HUB__ for the
// hub's URL, window.__P2P_TURN__ for the TURN servers). Each config adds its browser.
import {randomBytes} from 'node:crypto'
import {prebundlePlugin, typescriptPlugin} from './dev-plugins.js'
import {startHubProcess} from './hub-process.js'
import {startTurnProcess} from './turn-process.js'
import {tsImport} from 'tsx/esm/api'

// The hub's own credential math (one copy), loaded through tsx as the hub process is.
const {turnCredentials} = await tsImport('../src/server/ice.ts', import.meta.url)
const now = () => Math.floor(Date.now() / 1000)

let hub

const hubPlugin = {
  name: 'p2p-hub-process',
  async serverStart() {
    hub = await startHubProcess({args: ['--rate-limit', '100000']})
  },
  async serverStop() {
    await hub?.close()
  },
}

// Two coturns: one with a long-term credential, one with TURN REST API credentials
// (coturn takes one mode per server), and a second hub process that hands out the
// latter's credentials on GET /v1/ice. Pages get `{longTerm, rest: {valid, expired},
// iceHub}`, or `{error}` when turnserver would not start: that fails the TURN tests
// saying why, not the whole run.
/** @type {{close(): Promise<void>}[]} */
const turnServers = []
let turnInfo
const turnPlugin = {
  name: 'p2p-turn-process',
  async serverStart() {
    try {
      const secret = randomBytes(16).toString('hex')
      // One after the other, so that one failing leaves the other in the list to close.
      const longTerm = await startTurnProcess()
      turnServers.push(longTerm)
      const rest = await startTurnProcess({secret})
      turnServers.push(rest)
      const iceHub = await startHubProcess({args: ['--rate-limit', '100000', '--turn', rest.urls, '--turn-secret', secret, '--turn-ttl', '600']})
      turnServers.push(iceHub)
      turnInfo = {
        iceHub: iceHub.url,
        longTerm: {urls: longTerm.urls, username: longTerm.username, credential: longTerm.credential},
        rest: {
          valid: {urls: rest.urls, ...turnCredentials(secret, 'alice', now() + 12 * 3600)},
          expired: {urls: rest.urls, ...turnCredentials(secret, 'bob', now() - 60)},
        },
      }
    } catch (err) {
      turnInfo = {error: err.message}
      console.warn(`TURN tests will fail: ${err.message}`)
    }
  },
  async serverStop() {
    await Promise.all(turnServers.map(t => t.close()))
  },
}

/** The browser-test config without `browsers`, which each config sets for its browser. */
export const sharedConfig = {
  files: ['test/browser/**/*.test.ts'],
  nodeResolve: {exportConditions: ['browser', 'production']},
  hostname: '127.0.0.2',
  concurrency: 1,
  testFramework: {config: {timeout: 30000}},
  testsFinishTimeout: 600000,
  plugins: [hubPlugin, turnPlugin, prebundlePlugin(), typescriptPlugin()],
  testRunnerHtml: testFramework => `<!doctype html><html><body>
    <script>window.__P2P_HUB__ = ${JSON.stringify(hub?.url ?? '')}
      window.__P2P_TURN__ = ${JSON.stringify(turnInfo ?? {error: 'the TURN plugin did not run'})}</script>
    <script type="module" src="${testFramework}"></script>
  </body></html>`,
}
