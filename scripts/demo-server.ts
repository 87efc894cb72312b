// The demo server: esbuild bundles src/index.ts in memory and serves it as
// /p2p-elements.js beside the files of demo/. It binds 127.0.0.1 only, on Linux and
// macOS alike (@web/dev-server would bind every interface for that host name).
// `npm start` and the end-to-end tests both use it, so the tests run what people see.
import {context} from 'esbuild'
import {fileURLToPath} from 'node:url'
import {ENTRY, PROTOCOL_ENTRY, kitBuildOptions} from './kit-build.js'

const DEMO_DIR = fileURLToPath(new URL('../demo', import.meta.url))

export interface DemoServerOptions {
  /** Port to listen on; by default esbuild picks a free one, preferring 8000–8009. */
  port?: number
  /** Rebuild when a source file changes, for `npm start`; tests build once. */
  watch?: boolean
}

export interface DemoServer {
  /** Origin of the demo, without a trailing slash: `http://127.0.0.1:8000`. */
  url: string
  close(): Promise<void>
}

export async function startDemoServer({port, watch = false}: DemoServerOptions = {}): Promise<DemoServer> {
  const ctx = await context({
    ...kitBuildOptions(),
    // /protocol.js is for tests that read the page's own singletons (the hub streams a
    // tab leads): split, so both entries share the one instance the page runs.
    entryPoints: [{in: ENTRY, out: 'p2p-elements'}, {in: PROTOCOL_ENTRY, out: 'protocol'}],
    splitting: true,
    // The output lives in memory only; outdir just places it at /p2p-elements.js.
    outdir: DEMO_DIR,
    write: false,
    sourcemap: 'linked',
  })
  try {
    if (watch) await ctx.watch()
    // Without watching, serve builds on the first request; building now instead turns
    // a compile error into a rejected promise the caller sees.
    else await ctx.rebuild()
    const {port: bound} = await ctx.serve({host: '127.0.0.1', port, servedir: DEMO_DIR})
    return {url: `http://127.0.0.1:${bound}`, close: () => ctx.dispose()}
  } catch (err) {
    await ctx.dispose()
    throw err
  }
}
