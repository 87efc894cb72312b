// What a page pays for, read from the script-tag build made in memory (a size is not a
// timing: it does not change with the machine's load). Storage and Node polyfills load
// only with the file drop, and on demand, never with a page's first files.
import {test, before} from 'node:test'
import assert from 'node:assert/strict'
import {join} from 'node:path'
import {
  ALL_IN_ONE, BUDGET, CHAT_PAGE, ELEMENT_TAGS, ROOT, buildKit, elementFiles, kib, pageFiles, pageGzip, type BuiltFile, type KitBuild,
} from '../../scripts/kit-build.js'

// abstract-level and browser-level, and what they pull in: `buffer` and `events` are
// Node's modules made over for browsers, which nothing else in the kit needs. Matched
// anywhere in a path: esbuild names a symlinked node_modules by where it points.
const STORAGE = /(^|\/)node_modules\/(abstract-level|browser-level|level-transcoder|buffer|events)\//

let kit: KitBuild

before(async () => {
  kit = await buildKit(join(ROOT, 'dist'))
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

test('only the file drop ever loads storage, on demand', () => {
  for (const tag of ELEMENT_TAGS.filter(tag => tag !== 'p2p-file-drop')) {
    assert.deepEqual(storageIn(reachable(kit.elements, elementFiles([tag]))), [], `<${tag}>`)
  }
  // The check above would pass with storage built out of the kit altogether.
  assert.notDeepEqual(storageIn(reachable(kit.elements, elementFiles(['p2p-file-drop']))), [])
})

test('the whole kit stays within its budget', () => {
  const kitGzip = pageGzip(pageFiles(kit.allInOne, [ALL_IN_ONE]))
  assert.ok(kitGzip <= BUDGET.wholeKit, `${ALL_IN_ONE}: ${kib(kitGzip)} gzip, over the budget of ${BUDGET.wholeKit / 1000} KB (npm run build lists what is in it)`)
})
