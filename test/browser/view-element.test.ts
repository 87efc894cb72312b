// <p2p-view> in a real page: a <p2p-log> in a <p2p-swarm> on the test hub, the log and
// the view's rows in real IndexedDB (browser-level).
import {expect, fixture, html} from '@open-wc/testing'
import '../../src/index.js'
import {defineView} from '../../src/index.js'
import type {P2PSwarmElement} from '../../src/elements/p2p-swarm/p2p-swarm.js'
import type {P2PLogElement} from '../../src/elements/p2p-log/p2p-log.js'
import type {P2PViewElement} from '../../src/elements/p2p-view/p2p-view.js'
import type {P2PError} from '../../src/core/errors.js'
import type {ViewDefinition} from '../../src/core/views/view.js'
import type {ViewProgressEvent} from '../../src/events/view-events.js'
import {KeyPairIdentity} from '../../src/core/crypto/seed-identity.js'
import {readValue, type Entry} from '../../src/core/log/entry.js'
import {freshRoom, hubUrl} from './helpers/swarm.js'
import {until} from '../shared/until.js'

let names = 0
/** A view name no other test uses: definitions are the page's. */
const fresh = (prefix: string) => `${prefix}-${++names}-${Math.random().toString(36).slice(2, 8)}`

/** Pages: an entry {slug, title, url?, gone?} puts the row page:<slug> = {title, url}, or deletes it when gone. */
function pages(name: string, version = 1): ViewDefinition {
  return {
    name,
    version,
    map(entry: Entry) {
      const v = readValue(entry) as {slug?: string, title?: unknown, url?: unknown, gone?: boolean, count?: number}
      if (typeof v?.slug !== 'string') return []
      const key = `page:${v.slug}`
      if (v.gone) return [{type: 'del', key}]
      if (v.count !== undefined) return [{type: 'put', key, value: v.count}]
      return [{type: 'put', key, value: {title: v.title, url: v.url}}]
    },
  }
}

async function open(view: ReturnType<typeof html>): Promise<{log: P2PLogElement, view: P2PViewElement}> {
  const swarm = await fixture<P2PSwarmElement>(html`
    <p2p-swarm hub=${hubUrl()} room=${freshRoom('view')}>
      <p2p-log name="wiki" .identity=${new KeyPairIdentity()}>${view}</p2p-log>
    </p2p-swarm>`)
  await swarm.updateComplete
  const log = swarm.querySelector('p2p-log')!
  await log.updateComplete
  return {log, view: swarm.querySelector('p2p-view')!}
}

const titles = (view: P2PViewElement) => [...view.querySelectorAll('li')].map(li => li.querySelector('.title')!.textContent)
const keys = (view: P2PViewElement) => [...view.querySelectorAll('li')].map(li => li.querySelector('.key')!.textContent)

const TEMPLATE = html`<template><li><span class="key" data-field="key"></span> <a class="title" data-field="href:url title"></a></li></template>`

describe('<p2p-view>', function () {
  this.timeout(60_000)

  it('renders the rows of a view defined after it connected, in key order, through its template', async () => {
    const name = fresh('pages')
    const {log, view} = await open(html`<p2p-view name=${name}>${TEMPLATE}</p2p-view>`)
    await log.log!.append([{slug: 'b', title: 'Bee', url: 'https://example.test/b'}, {slug: 'a', title: 'Ay'}, {other: true}])
    expect(view.size).to.equal(0)
    defineView(pages(name))
    await until(() => view.size === 2, 'two rows')
    expect(keys(view)).to.deep.equal(['page:a', 'page:b'])
    expect(titles(view)).to.deep.equal(['Ay', 'Bee'])
    const [ay, bee] = view.querySelectorAll('a')
    expect(bee.getAttribute('href')).to.equal('https://example.test/b')
    expect(ay.hasAttribute('href')).to.equal(false)
    // The log's own first entry (its Init) is folded too, and makes no row.
    expect([view.indexed, view.total, view.indexing]).to.deep.equal([log.log!.length, log.log!.length, false])
  })

  it('patches rows in place from the live query: a row that enters takes its place, a change keeps the node, a row that leaves is removed', async () => {
    const {log, view} = await open(html`<p2p-view .definition=${pages(fresh('live'))}>${TEMPLATE}</p2p-view>`)
    await log.log!.append([{slug: 'a', title: 'A'}, {slug: 'c', title: 'C'}])
    await until(() => view.size === 2, 'two rows')
    const [a, c] = view.querySelectorAll('li')
    await log.log!.append({slug: 'b', title: 'B'})
    await until(() => view.size === 3, 'b entered')
    expect(titles(view)).to.deep.equal(['A', 'B', 'C'])
    await log.log!.append({slug: 'a', title: 'A, edited'})
    await until(() => titles(view)[0] === 'A, edited', 'a changed')
    expect(view.querySelectorAll('li')[0]).to.equal(a)
    await log.log!.append({slug: 'b', gone: true})
    await until(() => view.size === 2, 'b left')
    expect(titles(view)).to.deep.equal(['A, edited', 'C'])
    expect([...view.querySelectorAll('li')]).to.deep.equal([a, c])
  })

  it('shows a live range given by gt/gte/lt/lte, reversed with reverse, and at most limit rows', async () => {
    const definition = pages(fresh('range'))
    const {log, view} = await open(html`<p2p-view .definition=${definition} gte="page:b" lt="page:e" reverse limit="2">${TEMPLATE}</p2p-view>`)
    await log.log!.append(['a', 'b', 'c', 'd', 'e'].map(slug => ({slug, title: slug.toUpperCase()})))
    await until(() => view.size === 2 && view.indexed === log.log!.length, 'two rows of the range')
    expect(titles(view)).to.deep.equal(['D', 'C'])
    view.limit = 10
    await view.updateComplete
    expect(titles(view)).to.deep.equal(['D', 'C', 'B'])
    view.reverse = false
    view.lte = 'page:e'
    view.lt = undefined
    await until(() => titles(view).join() === 'B,C,D,E', 'the new range')
    // A row entering the range live, at its place.
    await log.log!.append({slug: 'bb', title: 'BB'})
    await until(() => view.size === 5, 'bb entered')
    expect(titles(view)).to.deep.equal(['B', 'BB', 'C', 'D', 'E'])
  })

  it('a row value that is not an object binds as value; without a template rows show key and value', async () => {
    const definition = pages(fresh('count'))
    const {log, view} = await open(html`<p2p-view .definition=${definition}><template><li><b data-field="key"></b>=<i data-field="value"></i></li></template></p2p-view>`)
    await log.log!.append({slug: 'x', count: 7})
    await until(() => view.size === 1, 'one row')
    expect(view.querySelector('li')!.textContent).to.equal('page:x=7')
    view.querySelector('template')!.remove()
    await until(() => view.querySelector('p.p2p-view-row') !== null, 'the default row')
    expect(view.querySelector('p.p2p-view-row')!.textContent).to.equal('page:x 7')
  })

  it('says it is indexing while the view is behind the log, fires p2p-view-progress, and clears it once caught up', async () => {
    let open_!: () => void
    const gate = new Promise<void>(resolve => { open_ = resolve })
    // The log's Init goes through; the pages wait at the gate.
    const definition: ViewDefinition = {...pages(fresh('slow')), map: async (entry: Entry) => {
      if ((readValue(entry) as {slug?: string})?.slug) await gate
      return pages('x').map(entry, {get: async () => undefined})
    }}
    const {log, view} = await open(html`<p2p-view .definition=${definition}>${TEMPLATE}</p2p-view>`)
    await until(() => view.indexed === log.log!.length && !view.hasAttribute('indexing'), 'the Init folded')
    const progress: Array<{indexed: number, total: number}> = []
    view.addEventListener('p2p-view-progress', (event: ViewProgressEvent) => progress.push(event.detail))
    await log.log!.append([{slug: 'a', title: 'A'}, {slug: 'b', title: 'B'}])
    await until(() => view.hasAttribute('indexing'), 'the indexing attribute')
    expect([view.indexed, view.total]).to.deep.equal([log.log!.length - 2, log.log!.length])
    open_()
    await until(() => !view.hasAttribute('indexing'), 'caught up')
    expect(progress.at(-1)).to.deep.equal({indexed: log.log!.length, total: log.log!.length})
    await until(() => view.size === 2, 'the rows')
  })

  it('a map that throws is a p2p-error ERR_VIEW_FAILED; a second definition of an open name is ERR_INVALID_ARGUMENT', async () => {
    const name = fresh('broken')
    const {log, view} = await open(html`<p2p-view .definition=${{name, version: 1, map: () => { throw new Error('boom') }}}></p2p-view>`)
    const errors: P2PError[] = []
    log.addEventListener('p2p-error', event => errors.push(event.detail.error))
    await log.log!.append({slug: 'a'})
    await until(() => errors.length > 0, 'the failure')
    expect(errors[0].code).to.equal('ERR_VIEW_FAILED')
    expect(view.size).to.equal(0)
    const other = document.createElement('p2p-view')
    other.definition = pages(name)
    log.append(other)
    await until(() => errors.length > 1, 'the clash')
    expect(errors[1].code).to.equal('ERR_INVALID_ARGUMENT')
  })

  it('two <p2p-view>s on one log, one map throwing at an entry: that one fires p2p-error from itself, the other renders every row and follows live', async () => {
    const good = pages(fresh('good'))
    const bad: ViewDefinition = {...pages(fresh('bad')), map: entry => {
      if ((readValue(entry) as {slug?: string}).slug === 'b') throw new Error('boom at b')
      return good.map(entry, undefined as never)
    }}
    const {log} = await open(html`
      <p2p-view id="good" .definition=${good}>${TEMPLATE}</p2p-view>
      <p2p-view id="bad" .definition=${bad}>${TEMPLATE}</p2p-view>`)
    const [goodView, badView] = [log.querySelector<P2PViewElement>('#good')!, log.querySelector<P2PViewElement>('#bad')!]
    const errors: Array<{code: string, from: string}> = []
    log.addEventListener('p2p-error', event => errors.push({code: event.detail.error.code, from: (event.target as HTMLElement).id}))
    await log.log!.append({slug: 'a', title: 'A'})
    await until(() => badView.size === 1 && goodView.size === 1, 'both views\' first row')
    await log.log!.append([{slug: 'b', title: 'B'}, {slug: 'c', title: 'C'}])
    await until(() => errors.length > 0 && goodView.size === 3, 'the failure, and the good view\'s rows')
    expect(errors).to.deep.equal([{code: 'ERR_VIEW_FAILED', from: 'bad'}])
    expect(titles(goodView)).to.deep.equal(['A', 'B', 'C'])
    // What the failing view wrote before stays, and it folds nothing more.
    expect(titles(badView)).to.deep.equal(['A'])
    await log.log!.append({slug: 'd', title: 'D'})
    await until(() => goodView.size === 4, 'the good view live')
    expect(titles(badView)).to.deep.equal(['A'])
    expect(errors).to.have.length(1)
  })

  it('renders hostile row values as text and sets no javascript: URL', async () => {
    const {log, view} = await open(html`<p2p-view .definition=${pages(fresh('hostile'))}>${TEMPLATE}</p2p-view>`)
    const attack = '<img src=x onerror="window.__pwned = true">'
    await log.log!.append({slug: 'x', title: attack, url: 'javascript:window.__pwned=true'})
    await until(() => view.size === 1, 'the row')
    const link = view.querySelector('a')!
    expect(link.textContent).to.equal(attack)
    expect(link.querySelector('img')).to.equal(null)
    expect(link.hasAttribute('href')).to.equal(false)
    expect((window as {__pwned?: boolean}).__pwned).to.equal(undefined)
  })

  it('moved in the DOM, lets its view go and opens it again, then follows the log live', async () => {
    const {log, view} = await open(html`<p2p-view .definition=${pages(fresh('moved'))}>${TEMPLATE}</p2p-view>`)
    await log.log!.append({slug: 'a', title: 'A'})
    await until(() => view.size === 1, 'the row')
    const holder = document.createElement('div')
    log.append(holder)
    holder.append(view)
    await view.updateComplete
    await log.log!.append({slug: 'b', title: 'B'})
    await until(() => view.size === 2, 'the live row after the move')
    expect(titles(view)).to.deep.equal(['A', 'B'])
  })
})
