// Lit's css`…` and html`…` templates reach every page as written: indentation, line
// breaks, spaces around CSS punctuation (the peer list's styles alone were 1,613 bytes).
// This minifies their static parts in JavaScript or TypeScript source, for the kit's
// builds (an esbuild plugin) and for the tsc output in dist/ that apps bundle, so both
// ship the same bytes. Only whitespace goes, and a `;` before a `}` in CSS. A run of
// whitespace keeps its line breaks, so every line of the file stays where it was and
// sourcemaps still point at the right line.
import type {Plugin} from 'esbuild'
import {readFile, readdir, writeFile} from 'node:fs/promises'
import {join} from 'node:path'

type Tag = 'css' | 'html'

/** The static parts of a tagged template: [start, end) offsets in the source, in order. */
interface Template {
  tag: Tag
  parts: Array<[number, number]>
}

// Where a `/` starts a regular expression rather than a division: after these characters
// and keywords. Enough for the kit's own code, which the tests run it over.
const BEFORE_REGEX = new Set('(,=:[!&|?{};+-*%<>~^')
const KEYWORDS_BEFORE_REGEX = new Set(['return', 'typeof', 'case', 'do', 'else', 'in', 'of', 'new', 'delete', 'void', 'throw', 'yield', 'await'])
const IDENTIFIER = /[\w$]/

/** Every css`…` and html`…` template in `source`, nested ones included. */
function findTemplates(source: string): Template[] {
  const found: Template[] = []
  let i = 0
  const skipQuoted = (quote: string) => {
    for (i++; i < source.length && source[i] !== quote; i++) if (source[i] === '\\') i++
    i++
  }
  // From just after the opening backtick; leaves i after the closing one.
  const template = (tag: Tag | undefined) => {
    const parts: Array<[number, number]> = []
    let start = i
    while (i < source.length) {
      const c = source[i]
      if (c === '\\') i += 2
      else if (c === '`') {
        parts.push([start, i++])
        break
      } else if (c === '$' && source[i + 1] === '{') {
        parts.push([start, i])
        i += 2
        code(true)
        start = ++i
      } else i++
    }
    if (tag !== undefined) found.push({tag, parts})
  }
  // Code up to the end, or (inside `${…}`) up to its closing brace, left at i.
  const code = (inExpression: boolean) => {
    let depth = 0
    let prevChar: string | undefined
    let prevWord: string | undefined
    while (i < source.length) {
      const c = source[i]
      if (/\s/.test(c)) { i++; continue }
      if (c === '/' && source[i + 1] === '/') { i = source.indexOf('\n', i); if (i < 0) i = source.length; continue }
      if (c === '/' && source[i + 1] === '*') { i = source.indexOf('*/', i + 2) + 2; if (i < 2) i = source.length; continue }
      let word: string | undefined
      if (c === '"' || c === "'") skipQuoted(c)
      else if (c === '`') {
        i++
        template(prevWord === 'css' || prevWord === 'html' ? prevWord : undefined)
      } else if (c === '/' && (prevChar === undefined || BEFORE_REGEX.has(prevChar) || KEYWORDS_BEFORE_REGEX.has(prevWord ?? ''))) {
        let inClass = false
        for (i++; i < source.length && (inClass || source[i] !== '/'); i++) {
          if (source[i] === '\\') i++
          else if (source[i] === '[') inClass = true
          else if (source[i] === ']') inClass = false
        }
        i++
      } else if (IDENTIFIER.test(c)) {
        const start = i
        while (i < source.length && IDENTIFIER.test(source[i])) i++
        // A property named css or html (`lit.html`) is a tag too; a longer name is not.
        word = source.slice(start, i)
      } else {
        if (c === '{') depth++
        else if (c === '}') {
          if (depth === 0 && inExpression) return
          depth--
        }
        i++
      }
      prevWord = word
      prevChar = word === undefined ? c : 'a'
    }
  }
  code(false)
  return found
}

const WHITESPACE = /^[ \t\n\r\f]+/
/** A run of whitespace as it stays: its line breaks, or one space, or nothing where `drop`. */
const squeeze = (run: string, drop: boolean) => run.includes('\n') ? '\n'.repeat(run.split('\n').length - 1) : drop ? '' : ' '

// CSS punctuation that needs no whitespace on either side. Not `:` (`a :hover` is not
// `a:hover`), only after it.
const CSS_TIGHT = new Set('{};,>')

/** One static part of a css template; `first` and `last` say whether it starts or ends the template. */
function minifyCss(text: string, first: boolean, last: boolean): string {
  let out = ''
  let i = 0
  while (i < text.length) {
    const c = text[i]
    const run = WHITESPACE.exec(text.slice(i))?.[0]
    if (run !== undefined) {
      const before = out.at(-1)
      const after = text[i + run.length]
      const atEdge = (first && out === '') || (last && after === undefined)
      out += squeeze(run, atEdge || CSS_TIGHT.has(before ?? '') || before === ':' || CSS_TIGHT.has(after ?? ''))
      i += run.length
    } else if (c === '\\') {
      out += text.slice(i, i + 2)
      i += 2
    } else if (c === '"' || c === "'") {
      let end = i + 1
      for (; end < text.length && text[end] !== c; end++) if (text[end] === '\\') end++
      out += text.slice(i, end + 1)
      i = end + 1
    } else if (c === '/' && text[i + 1] === '*') {
      const end = text.indexOf('*/', i + 2)
      const stop = end < 0 ? text.length : end + 2
      out += text.slice(i, stop)
      i = stop
    } else if (c === '}' && out.trimEnd().endsWith(';')) {
      // The last declaration of a block needs no `;` (line breaks after it stay).
      const trimmed = out.trimEnd()
      out = trimmed.slice(0, -1) + out.slice(trimmed.length) + c
      i++
    } else {
      out += c
      i++
    }
  }
  return out
}

/** Where an html template's scan is at the end of a static part: the next part goes on from there. */
interface HtmlState {
  mode: 'text' | 'tag' | 'quoted' | 'comment' | 'raw'
  /** What ends the quoted value or comment being read: its quote, or `-->`. */
  until: string
  /** The name of the element whose tag is being read, if its text is kept as written (RAW_ELEMENTS). */
  raw: string
}

// Elements whose text is shown or read as written.
const RAW_ELEMENTS = /^<(pre|textarea|script|style)[\s>/]/i

/** One static part of an html template; whitespace in text and between attributes becomes one space (or its line breaks). */
function minifyHtml(text: string, state: HtmlState): string {
  let out = ''
  let i = 0
  while (i < text.length) {
    const c = text[i]
    if (state.mode === 'quoted' || state.mode === 'comment' || state.mode === 'raw') {
      const end = state.mode === 'raw' ? text.toLowerCase().indexOf(`</${state.raw}`, i) : text.indexOf(state.until, i)
      const stop = end < 0 ? text.length : end + (state.mode === 'raw' ? 0 : state.until.length)
      out += text.slice(i, stop)
      i = stop
      if (end >= 0) state.mode = state.mode === 'quoted' ? 'tag' : 'text'
      continue
    }
    const run = WHITESPACE.exec(text.slice(i))?.[0]
    if (run !== undefined) {
      out += squeeze(run, false)
      i += run.length
    } else if (c === '\\') {
      out += text.slice(i, i + 2)
      i += 2
    } else if (state.mode === 'text' && text.startsWith('<!--', i)) {
      out += '<!--'
      i += 4
      state.mode = 'comment'
      state.until = '-->'
    } else if (state.mode === 'text' && c === '<' && /[a-zA-Z/]/.test(text[i + 1] ?? '')) {
      const raw = RAW_ELEMENTS.exec(text.slice(i))
      state.mode = 'tag'
      state.raw = raw?.[1].toLowerCase() ?? ''
      out += c
      i++
    } else if (state.mode === 'tag' && (c === '"' || c === "'")) {
      out += c
      i++
      state.mode = 'quoted'
      state.until = c
    } else if (state.mode === 'tag' && c === '>') {
      out += c
      i++
      state.mode = state.raw === '' ? 'text' : 'raw'
    } else {
      out += c
      i++
    }
  }
  return out
}

/** `source` with the static parts of its css`…` and html`…` templates minified; the rest unchanged. */
export function minifyTemplates(source: string): string {
  const edits: Array<{start: number, end: number, text: string}> = []
  for (const {tag, parts} of findTemplates(source)) {
    const state: HtmlState = {mode: 'text', until: '', raw: ''}
    parts.forEach(([start, end], n) => {
      const text = source.slice(start, end)
      edits.push({start, end, text: tag === 'css' ? minifyCss(text, n === 0, n === parts.length - 1) : minifyHtml(text, state)})
    })
  }
  edits.sort((a, b) => a.start - b.start)
  let out = ''
  let at = 0
  for (const {start, end, text} of edits) {
    out += source.slice(at, start) + text
    at = end
  }
  return out + source.slice(at)
}

/** Has `source` a template this minifies? A quick test before scanning. */
const mayHold = (source: string) => /\b(css|html)\s*`/.test(source)

/** An esbuild plugin minifying the templates of the kit's own source files as they load. */
export function minifyTemplatesPlugin(root: string): Plugin {
  const filter = new RegExp(`^${root.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/?src/.*\\.ts$`)
  return {
    name: 'minify-templates',
    setup(build) {
      build.onLoad({filter}, async args => {
        const source = await readFile(args.path, 'utf8')
        if (!mayHold(source)) return undefined
        return {contents: minifyTemplates(source), loader: 'ts'}
      })
    },
  }
}

/** Minifies the templates of every .js file under `dir` in place (the tsc output an app bundles). */
export async function minifyTemplatesIn(dir: string): Promise<void> {
  for (const entry of await readdir(dir, {withFileTypes: true, recursive: true})) {
    if (!entry.isFile() || !entry.name.endsWith('.js')) continue
    const path = join(entry.parentPath, entry.name)
    const source = await readFile(path, 'utf8')
    if (mayHold(source)) await writeFile(path, minifyTemplates(source))
  }
}
