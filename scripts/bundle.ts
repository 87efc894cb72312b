// The script-tag build, for pages that load the kit with a plain <script type="module">
// and no build step: dist/p2p-elements.min.js holds every element, and
// dist/browser/<tag>.js registers one element, sharing chunks (dist/browser/chunks)
// with the others, so a page loads the code of the elements it uses and no more.
// `tsc -p tsconfig.build.json` emits the per-module dist/ files and typings before this runs.
import {mkdir, writeFile} from 'node:fs/promises'
import {dirname, relative} from 'node:path'
import {fileURLToPath} from 'node:url'
import {BUDGET, CHAT_PAGE, ELEMENT_TAGS, ROOT, buildKit, kib, pageFiles, pageGzip, type BuiltFile} from './kit-build.js'

const outdir = fileURLToPath(new URL('../dist', import.meta.url))
const {elements, kit, outputFiles} = await buildKit(outdir)
for (const file of outputFiles) {
  await mkdir(dirname(file.path), {recursive: true})
  await writeFile(file.path, file.contents)
}

// Size as served: what a page downloads is the gzip figure, so print both.
const line = (name: string, file: BuiltFile) => `  ${name.padEnd(44)} ${kib(file.minified).padStart(10)} minified ${kib(file.gzip).padStart(10)} gzip`
console.log('Script-tag files:')
console.log(line(relative(ROOT, `${outdir}/p2p-elements.min.js`), kit))
for (const file of [...elements.values()].sort((a, b) => a.name.localeCompare(b.name))) {
  console.log(line(relative(ROOT, `${outdir}/browser/${file.name}`), file))
}
const chat = pageGzip(pageFiles(elements, CHAT_PAGE))
const each = pageGzip(pageFiles(elements, ELEMENT_TAGS))
console.log('Pages (gzip):')
console.log(`  chat page (${CHAT_PAGE.join(', ')}): ${kib(chat)} (budget ${kib(BUDGET.chatPage)})`)
console.log(`  whole kit (p2p-elements.min.js): ${kib(kit.gzip)} (budget ${kib(BUDGET.wholeKit)}); every element file with its chunks: ${kib(each)}`)
