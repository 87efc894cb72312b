// The README and docs/ point only at what is in the repository: every relative link
// resolves to a file or folder here (and its #anchor to a heading of that file), and
// every path they name under the repository's own folders exists. Links to other
// sites are not followed: nothing in the tests leaves the machine.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {existsSync, readFileSync, readdirSync, statSync} from 'node:fs'
import {dirname, join, relative} from 'node:path'
import {fileURLToPath} from 'node:url'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const DOCS = ['README.md', 'CHANGELOG.md', ...readdirSync(join(ROOT, 'docs')).filter(name => name.endsWith('.md')).sort().map(name => `docs/${name}`)]

/** The repository's own folders: a path under one of them, named in prose, must exist. */
const OWN_FOLDERS = ['src', 'test', 'docs', 'scripts', 'demo', 'bench', 'stories']

/** Prose only: fenced code shows commands and markup, not references. */
function prose(markdown: string): string {
  return markdown.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, '')
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to dashes, repeats numbered. */
function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>()
  const result = new Set<string>()
  for (const [, heading] of prose(markdown).matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)) {
    const base = heading.toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, '').trim().replace(/\s/g, '-')
    const count = seen.get(base) ?? 0
    seen.set(base, count + 1)
    result.add(count === 0 ? base : `${base}-${count}`)
  }
  return result
}

/** Relative link targets of a markdown file: `[text](target)` and `[name]: target`. */
function links(markdown: string): string[] {
  const text = prose(markdown)
  const inline = [...text.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)].map(m => m[1])
  const defined = [...text.matchAll(/^\s*\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+"[^"]*")?\s*$/gm)].map(m => m[1])
  return [...inline, ...defined].filter(target => !/^[a-z][a-z0-9+.-]*:/i.test(target))
}

/** What a link points at that is not there, or undefined when it resolves. */
function broken(from: string, target: string): string | undefined {
  const [path, anchor] = target.split('#') as [string, string | undefined]
  const file = path === '' ? join(ROOT, from) : join(ROOT, dirname(from), decodeURIComponent(path))
  if (!existsSync(file)) return `${relative(ROOT, file)} does not exist`
  if (anchor === undefined || anchor === '') return undefined
  if (!statSync(file).isFile() || !file.endsWith('.md')) return `an anchor into ${relative(ROOT, file)}, which has no headings`
  if (!anchors(readFileSync(file, 'utf8')).has(anchor)) return `${relative(ROOT, file)} has no heading #${anchor}`
  return undefined
}

test('every relative link in README.md and docs/*.md resolves to a file here, and its anchor to a heading', () => {
  const failures: string[] = []
  let checked = 0
  for (const doc of DOCS) {
    for (const target of links(readFileSync(join(ROOT, doc), 'utf8'))) {
      checked++
      const why = broken(doc, target)
      if (why) failures.push(`${doc}: (${target}): ${why}`)
    }
  }
  assert.deepEqual(failures, [])
  // The README links into docs/ in several places: finding none means the parser broke.
  assert.ok(checked >= 10, `only ${checked} links found`)
})

test('every path the README and docs name under the repository\'s folders exists', () => {
  const failures: string[] = []
  const pattern = new RegExp(`(?<![\\w/.-])((?:${OWN_FOLDERS.join('|')})/[\\w./-]*\\w)`, 'g')
  let checked = 0
  for (const doc of DOCS) {
    // A pattern stops the match at its first placeholder (src/elements/<tag>/ checks src/elements).
    for (const [, path] of prose(readFileSync(join(ROOT, doc), 'utf8')).matchAll(pattern)) {
      // What npm installs (bench/node_modules/…) is not in a clean clone until an install.
      if (path.split('/').includes('node_modules')) continue
      checked++
      if (!existsSync(join(ROOT, path))) failures.push(`${doc}: ${path} does not exist`)
    }
  }
  assert.deepEqual(failures, [])
  assert.ok(checked >= 20, `only ${checked} paths found`)
})

/** Links that leave the repository: any URL with a scheme, loopback examples aside. */
function outsideLinks(markdown: string): string[] {
  const text = prose(markdown)
  const targets = [
    ...[...text.matchAll(/\]\(\s*<?([^)\s>]+)>?/g)].map(m => m[1]),
    ...[...text.matchAll(/^\s*\[[^\]]+\]:\s*<?(\S+?)>?\s*$/gm)].map(m => m[1]),
    ...[...text.matchAll(/<(https?:\/\/[^>\s]+)>/g)].map(m => m[1]),
  ]
  return targets.filter(target => /^[a-z][a-z0-9+.-]*:/i.test(target) && !/^https?:\/\/(127\.\d+\.\d+\.\d+|localhost|\[::1\])([:/]|$)/.test(target))
}

test('README.md, CHANGELOG.md and docs/*.md link to no other site', () => {
  const failures = DOCS.flatMap(doc => outsideLinks(readFileSync(join(ROOT, doc), 'utf8')).map(target => `${doc}: ${target}`))
  assert.deepEqual(failures, [])
  assert.deepEqual(outsideLinks('[a](https://example.org/x) [b](http://127.0.0.1:9000/) <https://example.net> [c](docs/hub.md)'), ['https://example.org/x', 'https://example.net'])
})

test('the link checker itself: a missing file, a missing anchor and a good anchor', () => {
  assert.match(broken('README.md', 'docs/no-such-file.md') ?? '', /does not exist/)
  assert.match(broken('README.md', 'docs/markup.md#no-such-heading') ?? '', /has no heading/)
  assert.equal(broken('README.md', 'docs/markup.md#entry-points'), undefined)
  assert.deepEqual([...anchors('# The swarm’s state\n## `<p2p-feed>`\n## Notes\n## Notes\n')], ['the-swarms-state', 'p2p-feed', 'notes', 'notes-1'])
})
