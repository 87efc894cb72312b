// The script-tag build: src/index.ts and every dependency in one minified ES module,
// dist/p2p-elements.min.js, for pages that load the kit with a plain
// <script type="module"> and no build step. `tsc -p tsconfig.build.json` emits the
// per-module dist/ files and typings before this runs.
import {build} from 'esbuild'
import {readFile} from 'node:fs/promises'
import {gzipSync} from 'node:zlib'
import {relative} from 'node:path'
import {fileURLToPath} from 'node:url'
import {ENTRY, ROOT, kitBuildOptions} from './kit-build.js'

const outfile = fileURLToPath(new URL('../dist/p2p-elements.min.js', import.meta.url))

await build({
  ...kitBuildOptions(),
  entryPoints: [ENTRY],
  outfile,
  minify: true,
  sourcemap: 'linked',
})

// Size as served: what a page downloads is the gzip figure, so print both.
const code = await readFile(outfile)
const kib = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`
console.log(`${relative(ROOT, outfile)}: ${kib(code.length)} minified, ${kib(gzipSync(code, {level: 9}).length)} gzip`)
