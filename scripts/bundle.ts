// The script-tag build, for pages that load the kit with a plain <script type="module">
// and no build step: dist/p2p-elements.min.js holds every element, and
// dist/browser/<tag>.js registers one element, built on the core every element shares
// (dist/browser/chunks/core.js) and sharing chunks with the others (dist/browser/chunks),
// so a page loads the code of the elements it uses and no more. Every file is minified
// by esbuild, then by terser (kit-build.ts). Code
// loaded on demand by import() sits in chunks/ beside each (served with them). The licence
// notices of the code a file bundles (Lit's, for one) are in <file>.LEGAL.txt beside it.
// `tsc -p tsconfig.build.json` emits the per-module dist/ files and typings before this runs.
import {mkdir, rm, writeFile} from 'node:fs/promises'
import {dirname, join, relative} from 'node:path'
import {fileURLToPath} from 'node:url'
import {minifyTemplatesIn} from './minify-templates.js'
import {
  ALL_IN_ONE, BUDGET, CHAT_PAGE, ROOT, buildKit, elementFiles, kib, oneBundleGzip, pageFiles, pageGzip, type BuiltFile,
} from './kit-build.js'

const outdir = fileURLToPath(new URL('../dist', import.meta.url))
// Chunk names carry a hash: a previous build's would linger, and be packed. And tsc's
// output is what is left, for its templates to be minified as the script-tag files' are,
// so an app bundling the package ships the same bytes.
await Promise.all(['browser', 'chunks', ALL_IN_ONE, `${ALL_IN_ONE}.map`, `${ALL_IN_ONE}.LEGAL.txt`].map(path => rm(join(outdir, path), {recursive: true, force: true})))
await minifyTemplatesIn(outdir)
const {elements, allInOne, outputFiles} = await buildKit(outdir)
for (const file of outputFiles) {
  await mkdir(dirname(file.path), {recursive: true})
  await writeFile(file.path, file.contents)
}

// Size as served: what a page downloads is the gzip figure, so print both.
const line = (dir: string, file: BuiltFile) => {
  const lazy = file.lazy.length ? `  loads on demand: ${file.lazy.join(', ')}` : ''
  return `  ${relative(ROOT, join(dir, file.name)).padEnd(44)} ${kib(file.minified).padStart(10)} minified ${kib(file.gzip).padStart(10)} gzip${lazy}`
}
const byName = (a: BuiltFile, b: BuiltFile) => a.name.localeCompare(b.name)
console.log('Script-tag files:')
for (const file of [...allInOne.values()].sort(byName)) console.log(line(outdir, file))
for (const file of [...elements.values()].sort(byName)) console.log(line(join(outdir, 'browser'), file))

const chatFiles = pageFiles(elements, elementFiles(CHAT_PAGE))
const chat = pageGzip(chatFiles)
const chatBundled = await oneBundleGzip(CHAT_PAGE)
const kit = pageGzip(pageFiles(allInOne, [ALL_IN_ONE]))
const budget = (bytes: number, limit: number) => `budget ${limit / 1000} KB = ${kib(limit)}${bytes > limit ? `, over by ${kib(bytes - limit)}` : ''}`
console.log('Pages, gzip, without what loads on demand:')
console.log(`  chat page (${CHAT_PAGE.map(tag => `<${tag}>`).join(', ')}):`)
console.log(`    from the script-tag files (${chatFiles.length}): ${kib(chat)} (${budget(chat, BUDGET.chatPage)})`)
console.log(`    bundled with an app, in one file: ${kib(chatBundled)} (${budget(chatBundled, BUDGET.chatPage)})`)
console.log(`  whole kit (${ALL_IN_ONE}): ${kib(kit)} (${budget(kit, BUDGET.wholeKit)})`)
