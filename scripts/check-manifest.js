// `npm run check:manifest`: custom-elements.json is generated but committed (editors,
// Storybook and other tools read it from the package), so CI regenerates it in memory
// and fails when the committed file no longer matches the sources.
import {readFile} from 'node:fs/promises'
import {fileURLToPath} from 'node:url'
import {cli} from '@custom-elements-manifest/analyzer/cli.js'

const root = fileURLToPath(new URL('..', import.meta.url))
const committedPath = fileURLToPath(new URL('../custom-elements.json', import.meta.url))

// The analyzer reads custom-elements-manifest.config.js and package.json from the
// working directory; noWrite keeps the fresh manifest in memory, so nothing in the
// tree changes and no temporary directory is needed.
process.chdir(root)
const manifest = await cli({argv: ['analyze', '--quiet'], cwd: root, noWrite: true})
const fresh = `${JSON.stringify(manifest, null, 2)}\n`
const committed = await readFile(committedPath, 'utf8').catch(err => {
  if (err.code === 'ENOENT') return null
  throw err
})

if (committed === fresh) {
  console.log('custom-elements.json is up to date')
} else {
  console.error('custom-elements.json is stale: run npm run analyze')
  if (committed === null) {
    console.error('  (the file does not exist)')
  } else {
    for (const line of moduleDifferences(JSON.parse(committed), manifest)) console.error(`  ${line}`)
  }
  process.exitCode = 1
}

/** Which modules were added, removed or changed: enough to see what went stale. */
function moduleDifferences(before, after) {
  const byPath = manifest => new Map((manifest.modules ?? []).map(m => [m.path, JSON.stringify(m)]))
  const old = byPath(before)
  const now = byPath(after)
  const lines = []
  for (const [path, text] of now) {
    if (!old.has(path)) lines.push(`added:   ${path}`)
    else if (old.get(path) !== text) lines.push(`changed: ${path}`)
  }
  for (const path of old.keys()) if (!now.has(path)) lines.push(`removed: ${path}`)
  if (lines.length === 0) lines.push('same modules, different header or formatting')
  return lines
}
