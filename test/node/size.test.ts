// What a page pays for, read from the script-tag build made in memory (a size is not a
// timing: it does not change with the machine's load). Storage and Node polyfills load
// only with the file drop, and on demand, never with a page's first files.
import {test, before} from 'node:test'
import assert from 'node:assert/strict'
import {join} from 'node:path'
import {
  ALL_IN_ONE, BUDGET, CHAT_PAGE, ELEMENT_TAGS, ROOT, buildKit, elementFiles, kib, oneBundleGzip, pageFiles, pageGzip, type BuiltFile, type KitBuild,
} from '../../scripts/kit-build.js'

// abstract-level and browser-level, and what they pull in: `buffer` and `events` are
// Node's modules made over for browsers, which nothing else in the kit needs. Matched
// anywhere in a path: esbuild names a symlinked node_modules by where it points.
const STORAGE = /(^|\/)node_modules\/(abstract-level|browser-level|level-transcoder|buffer|events)\//

let kit: KitBuild
let chatBundled: number

before(async () => {
  kit = await buildKit(join(ROOT, 'dist'))
  chatBundled = await oneBundleGzip(CHAT_PAGE)
})

/** Every file `entries` may ever load, on demand included. */
function reachable(files: Map<string, BuiltFile>, entries: string[]): BuiltFile[] {
  const seen = new Map<string, BuiltFile>()
  const visit = (name: string) => {
    if (seen.has(name)) return
    const file = files.get(name)!
    seen.set(name, file)
    ;[...file.imports, ...file.lazy].forEach(visit)
  }
  entries.forEach(visit)
  return [...seen.values()]
}

const storageIn = (files: BuiltFile[]) => files.flatMap(file => file.inputs.filter(input => STORAGE.test(input)))

test('no page loads storage or a Node polyfill with its first files', () => {
  for (const tag of ELEMENT_TAGS) assert.deepEqual(storageIn(pageFiles(kit.elements, elementFiles([tag]))), [], `<${tag}>`)
  assert.deepEqual(storageIn(pageFiles(kit.elements, elementFiles(CHAT_PAGE))), [], 'the chat page')
  assert.deepEqual(storageIn(pageFiles(kit.allInOne, [ALL_IN_ONE])), [], ALL_IN_ONE)
})

test('only the file drop, the log and the mirror control (an owner\'s page opens the mirror\'s log) ever load storage, on demand', () => {
  const storing: string[] = ['p2p-file-drop', 'p2p-log', 'p2p-mirror-control']
  for (const tag of ELEMENT_TAGS.filter(tag => !storing.includes(tag))) {
    assert.deepEqual(storageIn(reachable(kit.elements, elementFiles([tag]))), [], `<${tag}>`)
  }
  // The check above would pass with storage built out of the kit altogether.
  for (const tag of storing) assert.notDeepEqual(storageIn(reachable(kit.elements, elementFiles([tag as typeof ELEMENT_TAGS[number]]))), [], `<${tag}>`)
})

test('what <p2p-log> adds to a page with a swarm, before what it loads on demand', t => {
  const withSwarm = pageGzip(pageFiles(kit.elements, elementFiles(['p2p-swarm'])))
  const withLog = pageGzip(pageFiles(kit.elements, elementFiles(['p2p-swarm', 'p2p-log'])))
  t.diagnostic(`<p2p-log>: ${kib(withLog - withSwarm)} gzip over <p2p-swarm> alone (${kib(withLog)} in all)`)
  assert.ok(withLog > withSwarm)
})

test('the whole kit stays within its budget', () => {
  const kitGzip = pageGzip(pageFiles(kit.allInOne, [ALL_IN_ONE]))
  assert.ok(kitGzip <= BUDGET.wholeKit, `${ALL_IN_ONE}: ${kib(kitGzip)} gzip, over the budget of ${BUDGET.wholeKit / 1000} KB (npm run build lists what is in it)`)
})

// What splitting into files costs a chat page: each file gzipped on its own, and the
// import and export lists that tie them. It was 5.8 KB over one bundle (21 files, from
// esbuild's splitting alone) before the elements were built on one core file, 2.7 KB after,
// 1.3 KB once terser ran over the script-tag files (the one bundle is esbuild's alone),
// 0.9 KB once the small chunks the elements share went into the core file (6 files, not 9),
// 0.4 KB once Lit's licence notices went beside the files, 0.1 KB once <p2p-swarm>'s class
// joined the core (its entry alone registers it), none once the feed's template bindings
// went into its own file instead of a chunk it shared with its on-demand renderer (5 files).
const FILES_OVERHEAD = 100

test('the chat page from the script-tag files costs little more than bundled in one file', () => {
  const files = pageFiles(kit.elements, elementFiles(CHAT_PAGE))
  const overhead = pageGzip(files) - chatBundled
  assert.ok(overhead <= FILES_OVERHEAD, `${files.length} files, ${kib(overhead)} over one bundle (${kib(chatBundled)}): ${files.map(file => file.name).join(', ')}`)
})

test('the chat page from the script-tag files stays within its budget', () => {
  const chat = pageGzip(pageFiles(kit.elements, elementFiles(CHAT_PAGE)))
  assert.ok(chat <= BUDGET.chatPage, `chat page from the script-tag files: ${kib(chat)} gzip, over the budget of ${BUDGET.chatPage / 1000} KB (npm run build lists the files)`)
})

test('the chat page bundled in one file stays within its budget', () => {
  assert.ok(chatBundled <= BUDGET.chatPage, `chat page bundled in one file: ${kib(chatBundled)} gzip, over the budget of ${BUDGET.chatPage / 1000} KB`)
})
