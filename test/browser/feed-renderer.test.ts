import {expect, fixture, html, oneEvent} from '@open-wc/testing'
import '../../src/index.js'
import {loaders, type P2PFeedElement} from '../../src/elements/p2p-feed/p2p-feed.js'
import type {P2PErrorEvent} from '../../src/events/error-event.js'
import {until} from '../shared/until.js'
import {MemorySource, type TestSourceElement} from './helpers/memory-source.js'

/**
 * The code behind a `template` function (feed-renderer.ts) loads the first time a feed
 * is given one. The page keeps it once loaded, so these tests run in order: the failed
 * load, then the held one, then feeds that find it in.
 */

const load = loaders.renderer
let calls = 0
loaders.renderer = () => {
  calls++
  return load()
}

/** A feed in a source, connected without waiting for its first update. */
async function mount(setup: (feed: P2PFeedElement) => void) {
  const root = await fixture<TestSourceElement>(html`<test-source></test-source>`)
  const feed = document.createElement('p2p-feed')
  setup(feed)
  root.append(feed)
  return {root, source: root.source as MemorySource, feed}
}

const rows = (feed: P2PFeedElement) => [...feed.children].filter(c => !(c instanceof HTMLTemplateElement))

function byFunction(item: {value: unknown}): Element {
  const p = document.createElement('p')
  p.className = 'fn'
  p.textContent = (item.value as {text: string}).text
  return p
}

describe('<p2p-feed> loads the code of a template function when it is given one', () => {
  afterEach(() => {
    loaders.renderer = () => {
      calls++
      return load()
    }
  })

  it('a feed of markup never loads it: a <template> child, a <template> property, none at all', async () => {
    const child = await mount(feed => { feed.innerHTML = '<template><p class="m"><span data-field="text"></span></p></template>' })
    const property = await mount(feed => { feed.template = document.createElement('template') })
    const none = await mount(() => {})
    for (const {feed, source} of [child, property, none]) {
      source.receive({text: 'x'})
      await feed.updateComplete
    }
    expect(rows(child.feed).map(r => r.className)).to.deep.equal(['m'])
    expect(rows(none.feed).map(r => r.className)).to.deep.equal(['p2p-feed-item'])
    expect(calls).to.equal(0)
  })

  it('code that cannot load is reported (ERR_CONNECTION_FAILED, the cause kept), items show the default row; a later template loads it again, items waiting meanwhile', async () => {
    const offline = new Error('the network went away')
    loaders.renderer = () => Promise.reject(offline)
    const {root, source, feed} = await mount(feed => { feed.template = byFunction })
    const error = oneEvent(root, 'p2p-error') as Promise<P2PErrorEvent>
    source.receive({text: 'early'})
    const {detail} = await error
    expect(detail.error.code).to.equal('ERR_CONNECTION_FAILED')
    expect(detail.error.cause).to.equal(offline)
    await feed.updateComplete
    expect(rows(feed).map(r => `${r.className}:${r.textContent}`)).to.have.length(1)
    expect(rows(feed)[0].className).to.equal('p2p-feed-item')

    // A later template loads it again (the failure is not kept); items that arrive meanwhile
    // wait, then render through the function in order, none by the default row.
    let release!: () => void
    const held = new Promise<void>(resolve => { release = resolve })
    loaders.renderer = () => held.then(load)
    feed.template = item => byFunction(item)
    source.receive({text: 'a'})
    source.receive({text: 'b'})
    // Each item asked for an update: once none is pending, the feed has seen both.
    await until(() => !feed.isUpdatePending, 'the feed taking in the items')
    expect(rows(feed).map(r => r.textContent), 'nothing new is rendered before the code is in').to.have.length(1)
    release()
    await feed.updateComplete
    expect(rows(feed).map(r => `${r.className}:${r.textContent}`)).to.deep.equal(['fn:early', 'fn:a', 'fn:b'])
  })

  it('once in, another feed renders through its function without loading it again', async () => {
    calls = 0
    const {source, feed} = await mount(feed => { feed.template = byFunction })
    source.receive({text: 'c'})
    await feed.updateComplete
    expect(rows(feed).map(r => `${r.className}:${r.textContent}`)).to.deep.equal(['fn:c'])
    expect(calls).to.equal(0)
  })
})
