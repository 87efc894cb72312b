// Browser tests run in the system Chromium (no downloaded browser), with a real hub
// process started beside the test server; pages learn its URL from window.__P2P_HUB__.
import {chromeLauncher} from '@web/test-runner-chrome'
import {prebundlePlugin, typescriptPlugin, CHROMIUM_ARGS, CHROMIUM_PATH} from './scripts/dev-plugins.js'
import {startHubProcess} from './scripts/hub-process.js'

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

export default {
  files: ['test/browser/**/*.test.ts'],
  nodeResolve: {exportConditions: ['browser', 'production']},
  hostname: '127.0.0.2',
  concurrency: 1,
  testFramework: {config: {timeout: 30000}},
  testsFinishTimeout: 600000,
  browsers: [chromeLauncher({launchOptions: {executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS}})],
  plugins: [hubPlugin, prebundlePlugin(), typescriptPlugin()],
  testRunnerHtml: testFramework => `<!doctype html><html><body>
    <script>window.__P2P_HUB__ = ${JSON.stringify(hub?.url ?? '')}</script>
    <script type="module" src="${testFramework}"></script>
  </body></html>`,
}
