// Dev-server and test-runner plugins shared by `npm start`, `npm test` and the benchmarks.
//
// Several dependencies (tweetnacl, browser-level's, and streamx/debug/err-code under the
// simple-peer that the swarm test runs as a foreign app) are CommonJS, which a browser cannot import as ES modules and which @web/dev-server serves
// as-is. This plugin does what Vite's dependency pre-bundling does: each listed bare
// specifier resolves to a virtual path, answered with an esbuild ESM bundle built once.
// Dynamic imports resolve the same way: identity.ts fetches tweetnacl with import() only
// where WebCrypto lacks Ed25519 (test/browser/identity.test.ts forces that path).
import {createRequire} from 'node:module'
import {build} from 'esbuild'
import {esbuildPlugin} from '@web/dev-server-esbuild'
import {fileURLToPath} from 'node:url'

const require = createRequire(import.meta.url)
const root = fileURLToPath(new URL('..', import.meta.url))

/** The kit's own CommonJS dependencies, served as pre-built ESM bundles. */
export const PREBUNDLED = ['tweetnacl', 'browser-level']

/**
 * Dev dependencies that browser tests run beside the kit: simple-peer, as the
 * foreign app the swarm test tells apart and the WebRTC driver's interop test
 * connects to. The kit itself never imports them.
 */
export const TEST_PREBUNDLED = ['@thaunknown/simple-peer/lite.js']

const PREFIX = '/__prebundled__/'

function entryFor(specifier) {
  let mod
  try {
    mod = require(specifier)
  } catch {
    mod = null // an ES module: require() cannot load it on Node 20
  }
  if (mod && typeof mod === 'object' || typeof mod === 'function') {
    const keys = Object.keys(mod).filter(k => /^[A-Za-z_$][\w$]*$/.test(k) && k !== 'default')
    return `import m from ${JSON.stringify(specifier)}; export default m;` +
      (keys.length ? ` export const {${keys.join(', ')}} = m;` : '')
  }
  return `export * from ${JSON.stringify(specifier)}; export {default} from ${JSON.stringify(specifier)};`
}

export function prebundlePlugin(specifiers = [...PREBUNDLED, ...TEST_PREBUNDLED]) {
  const cache = new Map()
  return {
    name: 'p2p-prebundle',
    resolveImport({source}) {
      if (specifiers.includes(source)) return PREFIX + encodeURIComponent(source) + '.js'
    },
    async serve(context) {
      if (!context.path.startsWith(PREFIX)) return
      const specifier = decodeURIComponent(context.path.slice(PREFIX.length, -3))
      if (!specifiers.includes(specifier)) return
      if (!cache.has(specifier)) {
        cache.set(specifier, build({
          stdin: {contents: entryFor(specifier), resolveDir: root, loader: 'js'},
          bundle: true, format: 'esm', platform: 'browser', write: false, logLevel: 'silent',
          define: {global: 'globalThis', 'process.env.NODE_DEBUG': 'undefined'},
        }).then(r => r.outputFiles[0].text))
      }
      return {body: await cache.get(specifier), type: 'js'}
    },
  }
}

/** TypeScript through esbuild, with the project's decorator settings. */
export function typescriptPlugin() {
  return esbuildPlugin({ts: true, target: 'es2022', tsconfig: fileURLToPath(new URL('../tsconfig.json', import.meta.url))})
}

/** Chromium flags for a closed network (see TOOLCHAIN.md): nothing leaves the machine. */
export const CHROMIUM_ARGS = [
  '--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--disable-features=WebRtcHideLocalIpsWithMdns',
  '--disable-background-timer-throttling', '--disable-renderer-backgrounding',
]

export const CHROMIUM_PATH = process.env.CHROME_PATH ?? '/usr/bin/chromium'
