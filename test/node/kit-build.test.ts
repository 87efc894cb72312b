// The script-tag build's output as served: terser runs over every file it writes, and
// what it writes must still map back to the sources and link up.
import {test, before} from 'node:test'
import assert from 'node:assert/strict'
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {gzipSync} from 'node:zlib'
import {TraceMap, originalPositionFor} from '@jridgewell/trace-mapping'
import {ALL_IN_ONE, CORE_FILE, ELEMENT_TAGS, FOLD_LIMIT, ROOT, buildKit, elementFiles, pageFiles, type KitBuild} from '../../scripts/kit-build.js'

const OUTDIR = join(ROOT, 'dist')
let kit: KitBuild
const bytes = (name: string) => {
  const file = kit.outputFiles.find(file => file.path === join(OUTDIR, name))
  assert.ok(file, `the build writes ${name}`)
  return file.contents
}
const written = (name: string) => new TextDecoder().decode(bytes(name))

before(async () => { kit = await buildKit(OUTDIR) })

test('the all-in-one file links its sourcemap, which leads from its final bytes back to the sources', () => {
  const code = written(ALL_IN_ONE)
  assert.match(code, new RegExp(`//# sourceMappingURL=${ALL_IN_ONE.replace(/\./g, '\\.')}\\.map\\s*$`))
  const map = new TraceMap(written(`${ALL_IN_ONE}.map`))
  // A literal that appears once in the sources, in a file of its own.
  const at = code.indexOf('"p2p-peers"')
  assert.notEqual(at, -1)
  const lines = code.slice(0, at).split('\n')
  const original = originalPositionFor(map, {line: lines.length, column: lines.at(-1)!.length})
  assert.match(original.source ?? '', /src\/p2p-peers\.ts$/)
  const source = readFileSync(join(ROOT, 'src/p2p-peers.ts'), 'utf8').split('\n')
  assert.equal(original.line, source.findIndex(line => line.includes("customElements.define('p2p-peers'")) + 1)
})

test('no script-tag file holds the indentation of a css or html template', () => {
  // Terser writes no line breaks of its own: the only ones left are in template literals.
  for (const [dir, files] of [['browser', kit.elements], ['', kit.allInOne]] as const) {
    for (const file of files.values()) {
      const code = written(join(dir, file.name))
      const indented = /.{0,40}\n[ \t]+.{0,40}/.exec(code)
      assert.equal(indented, null, `${file.name}: ${JSON.stringify(indented?.[0])}`)
    }
  }
})

test('no page loads a small chunk that two elements share: it is in the core file', () => {
  const users = new Map<string, number>()
  for (const tag of ELEMENT_TAGS) {
    for (const file of pageFiles(kit.elements, elementFiles([tag]))) users.set(file.name, (users.get(file.name) ?? 0) + 1)
  }
  // FOLD_LIMIT counts esbuild's bytes; terser takes a few percent more off.
  const small = [...kit.elements.values()].filter(file => file.name !== CORE_FILE && file.name.startsWith('chunks/') &&
    (users.get(file.name) ?? 0) >= 2 && file.minified < FOLD_LIMIT * 0.75)
  assert.deepEqual(small.map(file => `${file.name} (${file.minified} bytes: ${file.inputs.join(', ')})`), [])
})

test('every file written is sized as written', () => {
  for (const [dir, files] of [['browser', kit.elements], ['', kit.allInOne]] as const) {
    for (const file of files.values()) {
      const contents = bytes(join(dir, file.name))
      assert.equal(contents.length, file.minified, file.name)
      assert.equal(gzipSync(contents, {level: 9}).length, file.gzip, file.name)
    }
  }
})

// A Lit module that carries a licence notice, and its name in a LEGAL.txt (esbuild names
// a module by its path in its package, e.g. `lit-html/lit-html.js`).
const LIT_MODULE = /(?:^|\/)node_modules\/((?:lit|lit-html|lit-element|@lit\/[^/]+)\/.*)$/

test('no script-tag file carries a licence comment: the notices of the Lit it bundles are in the LEGAL.txt beside it', () => {
  let noticed = 0
  for (const [dir, files] of [['browser', kit.elements], ['', kit.allInOne]] as const) {
    for (const file of files.values()) {
      const name = join(dir, file.name)
      assert.doesNotMatch(written(name), /\/\*!|@license|@preserve|license information/i, name)
      const modules = file.inputs.flatMap(input => {
        const module = LIT_MODULE.exec(input)?.[1]
        return module !== undefined && readFileSync(join(ROOT, input), 'utf8').includes('@license') ? [module] : []
      })
      if (modules.length === 0) continue
      const legal = written(`${name}.LEGAL.txt`)
      assert.match(legal, /Copyright \d{4} Google LLC\s+\* SPDX-License-Identifier: BSD-3-Clause/, `${name}.LEGAL.txt`)
      for (const module of modules) assert.ok(legal.includes(`\n${module}:`), `${name}.LEGAL.txt names ${module}`)
      noticed += 1
    }
  }
  // The core file, the all-in-one file and the chunk of Lit's directives, at least: the check above would pass with none.
  assert.ok(noticed >= 3, `${noticed} files bundle Lit`)
})
