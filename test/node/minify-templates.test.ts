// The template minifier of the kit's builds (scripts/minify-templates.ts): what it takes out
// of css`…` and html`…` templates, and everything it must leave as it is.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {mkdtemp, mkdir, readFile, readdir, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {transform} from 'esbuild'
import {minifyTemplates, minifyTemplatesIn} from '../../scripts/minify-templates.js'
import {ROOT} from '../../scripts/kit-build.js'

const lines = (text: string) => text.split('\n').length

test('css: whitespace collapses and goes around braces, semicolons, commas and child combinators; the last semicolon of a block goes', () => {
  const source = 'const s = css`\n  :host {\n    display: block;\n    font: 14px/1.4 system-ui, sans-serif;\n  }\n  ul  >  li , a { color : red }\n`'
  assert.equal(minifyTemplates(source), 'const s = css`\n:host{\ndisplay:block;\nfont:14px/1.4 system-ui,sans-serif\n}\nul>li,a{color :red}\n`')
})

test('css: a space before a colon stays (a descendant\'s pseudo-class), so do strings, escapes and comments', () => {
  const source = 'css`.row :hover { content: "a ,  b ;" }  .x::after { content: \'\\\\2014  \' }  /* keep  this */ p { margin: 0 }`'
  assert.equal(minifyTemplates(source), 'css`.row :hover{content:"a ,  b ;"}.x::after{content:\'\\\\2014  \'}/* keep  this */ p{margin:0}`')
})

test('css: whitespace beside an expression stays a space where it separates values', () => {
  const source = 'css`\n  .a { margin: ${x}  ${y}; }\n  ${sel} > b { color: ${c} }\n`'
  assert.equal(minifyTemplates(source), 'css`\n.a{margin:${x} ${y}}\n${sel}>b{color:${c}}\n`')
})

test('html: whitespace between tags and attributes collapses to one space or its line breaks, never removed', () => {
  const source = 'html`\n    <p part="a"   id="b">\n      <span>${n}   peers</span>  <b>x</b>\n    </p>`'
  assert.equal(minifyTemplates(source), 'html`\n<p part="a" id="b">\n<span>${n} peers</span> <b>x</b>\n</p>`')
})

test('html: attribute values, comments, <pre>, <textarea> and the text between two expressions keep their whitespace', () => {
  const source = 'html`<a title="two  spaces" style="x:  ${v}  y" data-x=\'a  b\'>${a} ${b}</a><!--  a  comment  --><pre>  keep\n   this  </pre><TEXTAREA>  and  this</textarea>  <i>  x</i>`'
  assert.equal(minifyTemplates(source), 'html`<a title="two  spaces" style="x:  ${v}  y" data-x=\'a  b\'>${a} ${b}</a><!--  a  comment  --><pre>  keep\n   this  </pre><TEXTAREA>  and  this</textarea> <i> x</i>`')
})

test('nested templates, in either order, are each minified by their own tag; other templates and strings are not', () => {
  const source = [
    'const t = html`<ul>  ${items.map(i => html`<li>  ${i}  </li>`)}  </ul>`',
    'const u = `plain  ${css}  text`',
    'const s = "html`  not a template  `"',
    '// html`  in a comment  `',
    '/* css`  in a comment  ` */',
    'const r = /`  a regex with a backtick  `/g, d = a / b / c',
    'const k = css`a  { b: c }`',
  ].join('\n')
  assert.equal(minifyTemplates(source), [
    'const t = html`<ul> ${items.map(i => html`<li> ${i} </li>`)} </ul>`',
    'const u = `plain  ${css}  text`',
    'const s = "html`  not a template  `"',
    '// html`  in a comment  `',
    '/* css`  in a comment  ` */',
    'const r = /`  a regex with a backtick  `/g, d = a / b / c',
    'const k = css`a{b:c}`',
  ].join('\n'))
})

test('an escaped backtick or dollar sign does not end a template or open an expression', () => {
  const source = 'html`<p>a  \\`  b  \\${ c }  d</p>`'
  assert.equal(minifyTemplates(source), 'html`<p>a \\` b \\${ c } d</p>`')
})

test('every source file of the kit still parses, on the same number of lines, and only its templates change', async () => {
  const files = (await readdir(join(ROOT, 'src'), {recursive: true})).filter(name => name.endsWith('.ts') && !name.endsWith('.d.ts'))
  let changed = 0
  for (const name of files) {
    const source = await readFile(join(ROOT, 'src', name), 'utf8')
    const minified = minifyTemplates(source)
    if (minified === source) continue
    changed++
    assert.equal(lines(minified), lines(source), name)
    await transform(minified, {loader: 'ts'})
    // Only whitespace goes, and the semicolons that end CSS blocks.
    const bare = (text: string) => text.replace(/[\s;]/g, '')
    assert.equal(bare(minified), bare(source), name)
  }
  // The elements' styles and templates are there to minify.
  assert.ok(changed >= 5, `${changed} files changed`)
})

test('in a directory of tsc output, every .js file is minified in place, and nothing else', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'minify-templates-'))
  try {
    await mkdir(join(dir, 'elements/x'), {recursive: true})
    const source = 'export const s = css`\n  :host { display: block; }\n`\n'
    await writeFile(join(dir, 'elements/x/x.styles.js'), source)
    await writeFile(join(dir, 'elements/x/x.styles.d.ts'), source)
    await minifyTemplatesIn(dir)
    assert.equal(await readFile(join(dir, 'elements/x/x.styles.js'), 'utf8'), 'export const s = css`\n:host{display:block}\n`\n')
    assert.equal(await readFile(join(dir, 'elements/x/x.styles.d.ts'), 'utf8'), source)
  } finally {
    await rm(dir, {recursive: true, force: true})
  }
})
