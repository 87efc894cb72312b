// The wiki demo's script: the app's own view of the log (its pages and their tags),
// the share link, and which page the editor shows. Loaded after the kit.
import {defineView, readValue} from './p2p-elements.js'

const hex = bytes => Array.from(bytes, b => b.toString(16).padStart(2, '0')).join('')
const HASH = /^[0-9a-f]{64}$/
// Anyone with the link writes the log: a value's tags are bounded, as the view's keys
// are made of them (a key past the view's limit would stop the view for everyone).
const tagsOf = value => typeof value === 'string'
  ? value.split(',').map(tag => tag.trim()).filter(tag => tag && tag.length <= 40).slice(0, 20)
  : []

/**
 * A page's title and tags as a list shows them: every current value of its keys
 * (`heads` of one key given, as this write leaves it), siblings included.
 */
async function pageOf(view, slug, key, heads) {
  const values = async field => {
    const current = `page:${slug}:${field}` === key ? heads : await view.get(`h!page:${slug}:${field}`) ?? {}
    return Object.keys(current).sort().map(hash => current[hash])
  }
  const titles = (await values('title')).filter(title => typeof title === 'string' && title !== '')
  return {slug, title: titles.join(' / '), tags: [...new Set((await values('tags')).flatMap(tagsOf))].sort()}
}

// Rows: p!<slug> (the page list), t!<tag>!<slug> (pages by tag), and h!<key>, each
// title and tags key's current writes by hash, kept as the KV keeps them: a write
// replaces the heads it names, so two concurrent writes both count until one merges them.
defineView({
  name: 'wiki',
  // 2: tags bounded, malformed writes skipped.
  version: 2,
  async map(entry, view) {
    let op
    try { op = readValue(entry) } catch { return }
    const match = /^page:([^:!]{1,100}):(title|tags)$/.exec(op?.key)
    // What the KV skips as malformed, skipped here too, so both read the same writes.
    if (!match || (op.kv !== 'put' && op.kv !== 'del') || (op.kv === 'put') !== ('value' in op) || !Array.isArray(op.heads) ||
      op.heads.length > 64 || !op.heads.every(hash => HASH.test(hash)) || new Set(op.heads).size !== op.heads.length) return
    const slug = match[1]
    const heads = {...await view.get(`h!${op.key}`)}
    for (const hash of op.heads) delete heads[hash]
    if (op.kv === 'put') heads[hex(entry.hash)] = op.value
    const before = await pageOf(view, slug)
    const after = await pageOf(view, slug, op.key, heads)
    const rows = [Object.keys(heads).length ? {type: 'put', key: `h!${op.key}`, value: heads} : {type: 'del', key: `h!${op.key}`}]
    for (const tag of before.tags) if (!after.tags.includes(tag)) rows.push({type: 'del', key: `t!${tag}!${slug}`})
    for (const tag of after.tags) rows.push({type: 'put', key: `t!${tag}!${slug}`, value: {tag, slug, title: after.title}})
    rows.push(after.title || after.tags.length ? {type: 'put', key: `p!${slug}`, value: after} : {type: 'del', key: `p!${slug}`})
    return rows
  },
})

// The share link: this page's address and the wiki's key. Asked of <p2p-log> by the
// context protocol, so it follows the log as it opens (and reopens).
const share = document.querySelector('#share')
share.dispatchEvent(Object.assign(new Event('context-request', {bubbles: true, composed: true}), {
  context: Symbol.for('p2p-elements/log'),
  contextTarget: share,
  subscribe: true,
  callback: log => { share.href = log ? `${location.href.split('#')[0]}#${log.address}` : '' },
}))

// The editor shows the page named in its field; a page in a list opens it there.
const slug = document.querySelector('#slug')
const edit = name => {
  slug.value = name
  for (const field of ['title', 'tags', 'body']) document.querySelector(`p2p-kv-value.${field}`).setAttribute('key', `page:${name}:${field}`)
}
slug.addEventListener('change', () => edit(slug.value.trim().toLowerCase().replace(/[^a-z0-9-]+/g, '-') || 'home'))
document.addEventListener('click', event => {
  const page = event.target.closest?.('[data-slug]')
  if (page) edit(page.dataset.slug)
})
