import {until} from '../shared/until.js'
import {expect, fixture, html, nextFrame, oneEvent} from '@open-wc/testing'
import '../../src/index.js'
import type {P2PFeedElement} from '../../src/elements/p2p-feed/p2p-feed.js'
import {P2PErrorEvent} from '../../src/events/error-event.js'
import {MemorySource, type TestSourceElement} from './helpers/memory-source.js'

declare global {
  interface Window {
    __feedPwned?: number
  }
}

const CHAT = html`<template><p class="msg"><b data-field="author"></b> <span data-field="text"></span></p></template>`

/** A feed inside a source element; `template` is the feed's content (a <template>, or nothing). */
async function mount(template: unknown = CHAT, {limit = 100, height = 0, key = ''} = {}) {
  const root = await fixture<TestSourceElement>(html`
    <test-source>
      <p2p-feed limit=${limit} data-key=${key} style=${height ? `height: ${height}px` : ''}>${template}</p2p-feed>
    </test-source>`)
  const source = root.source as MemorySource
  const feed = root.querySelector('p2p-feed')!
  await feed.updateComplete
  return {root, source, feed}
}

/** Delivers an item and waits for the feed to render it. */
async function receive(feed: P2PFeedElement, source: MemorySource, value: unknown, fields = {}) {
  const item = source.receive(value, fields)
  await feed.updateComplete
  return item
}

function rows(feed: P2PFeedElement): HTMLElement[] {
  return [...feed.children].filter((c): c is HTMLElement => !(c instanceof HTMLTemplateElement))
}

function atBottom(feed: P2PFeedElement): boolean {
  return feed.scrollHeight - feed.scrollTop - feed.clientHeight <= 1
}

/** Sets the scroll position the way a reader does, and waits until the feed has heard of it. */
async function scrollTo(feed: P2PFeedElement, top: number) {
  const heard = oneEvent(feed, 'scroll')
  feed.scrollTop = top
  await heard
}

describe('<p2p-feed>', () => {
  it('renders each item through the template, fields as text, newest at the bottom', async () => {
    const {source, feed} = await mount()
    await receive(feed, source, {text: 'first'})
    await receive(feed, source, {text: 'second'})
    await receive(feed, source, {text: 'third'})
    const shown = rows(feed)
    expect(shown.map(r => r.querySelector('[data-field=text]')!.textContent)).to.deep.equal(['first', 'second', 'third'])
    expect(shown.every(r => r.classList.contains('msg'))).to.equal(true)
    expect(feed.size).to.equal(3)
  })

  it('shows markup from a peer as text: no element is created and no handler runs', async () => {
    const {source, feed} = await mount()
    const hostile = '<img src=x onerror="window.__feedPwned = 1"><script>window.__feedPwned = 2</script>'
    await receive(feed, source, {text: hostile})
    const [row] = rows(feed)
    expect(row.querySelector('[data-field=text]')!.textContent).to.equal(hostile)
    expect(feed.querySelector('img, script')).to.equal(null)
    // The sentinel: an image of ours, made after the item rendered, fails to load the same
    // URL; an <img src=x> from the item would have failed and run its handler before it.
    const probe = document.createElement('img')
    await new Promise(resolve => {
      probe.onerror = resolve
      probe.src = 'x'
    })
    expect(window.__feedPwned).to.equal(undefined)
  })

  it('takes the author, time and id from the item, never from its value', async () => {
    const {source, feed} = await mount(html`<template><p><b data-field="author"></b><time data-field="time"></time><i data-field="id"></i></p></template>`)
    const author = 'c0ffee00'.repeat(8)
    const item = await receive(feed, source, {author: 'forged', time: 'forged', id: 'forged'}, {author, receivedAt: Date.UTC(2024, 0, 2, 3, 4)})
    const [row] = rows(feed)
    expect(row.querySelector('b')!.textContent).to.equal('c0ffee00')
    const time = row.querySelector('time')!
    expect(time.getAttribute('datetime')).to.equal('2024-01-02T03:04:00.000Z')
    expect(time.textContent).to.not.equal('forged')
    expect(time.textContent).to.match(/\d/)
    expect(row.querySelector('i')!.textContent).to.equal(item.id)
  })

  it('shows the time alone for an item of today, the date too for an older one', async () => {
    const {source, feed} = await mount(html`<template><p><time data-field="time"></time></p></template>`)
    const now = new Date()
    const noon = new Date(now.getFullYear(), now.getMonth(), now.getDate(), 12, 34)
    const older = new Date(now.getFullYear() - 2, now.getMonth(), now.getDate(), 12, 34)
    await receive(feed, source, {}, {receivedAt: noon.getTime()})
    await receive(feed, source, {}, {receivedAt: older.getTime()})
    const [today, before] = rows(feed).map(r => r.querySelector('time')!.textContent)
    expect(today).to.equal(new Intl.DateTimeFormat(undefined, {hour: '2-digit', minute: '2-digit'}).format(noon))
    expect(before).to.equal(new Intl.DateTimeFormat(undefined, {dateStyle: 'medium', timeStyle: 'short'}).format(older))
  })

  it('reads nested paths, but only the value\'s own fields', async () => {
    const {source, feed} = await mount(html`<template><p><b data-field="user.name"></b><i data-field="constructor"></i><u data-field="tags"></u></p></template>`)
    await receive(feed, source, {user: {name: 'ada'}, tags: ['a', 'b']})
    const [row] = rows(feed)
    expect(row.querySelector('b')!.textContent).to.equal('ada')
    expect(row.querySelector('i')!.textContent).to.equal('')
    expect(row.querySelector('u')!.textContent).to.equal('a, b')
  })

  it('sets URL attributes only for http:, https: and blob: URLs', async () => {
    const {source, feed} = await mount(html`<template><p><a data-field="href:url text"></a><img data-field="src:url" alt=""></p></template>`)
    const hostile = ['javascript:window.__feedPwned = 3', 'JavaScript:alert(1)', 'java\tscript:alert(1)', ' javascript:alert(1)',
      'data:text/html,<script>alert(1)</script>', 'vbscript:msgbox(1)']
    for (const url of hostile) await receive(feed, source, {url, text: url})
    for (const row of rows(feed)) {
      expect(row.querySelector('a')!.hasAttribute('href'), row.textContent!).to.equal(false)
      expect(row.querySelector('img')!.hasAttribute('src'), row.textContent!).to.equal(false)
    }
    const blob = URL.createObjectURL(new Blob(['x']))
    for (const url of ['https://example.org/a?b=c', 'http://example.org/', blob]) await receive(feed, source, {url})
    const safe = rows(feed).slice(hostile.length)
    expect(safe.map(r => r.querySelector('a')!.getAttribute('href'))).to.deep.equal(['https://example.org/a?b=c', 'http://example.org/', blob])
    URL.revokeObjectURL(blob)
  })

  it('never sets on* handlers, srcdoc, style, id or name, whatever the template asks', async () => {
    const {source, feed} = await mount(html`<template><p><button data-field="onclick:code OnMouseOver:code style:code id:code name:code title:code">x</button><iframe data-field="srcdoc:code"></iframe></p></template>`)
    await receive(feed, source, {code: 'window.__feedPwned = 4'})
    const [row] = rows(feed)
    const button = row.querySelector('button')!
    expect(button.getAttributeNames().sort()).to.deep.equal(['data-field', 'title'])
    expect(button.title).to.equal('window.__feedPwned = 4')
    expect(row.querySelector('iframe')!.hasAttribute('srcdoc')).to.equal(false)
    button.click()
    expect(window.__feedPwned).to.equal(undefined)
  })

  it('sets boolean attributes from booleans and removes them when the field is absent', async () => {
    const {source, feed} = await mount(html`<template><p data-key="slug" data-field="hidden:done title:note"></p></template>`)
    await receive(feed, source, {slug: 's', done: true, note: 'n'})
    const [row] = rows(feed)
    expect(row.hasAttribute('hidden')).to.equal(true)
    expect(row.title).to.equal('n')
    await receive(feed, source, {slug: 's', done: false})
    expect(rows(feed)[0]).to.equal(row)
    expect(row.hasAttribute('hidden')).to.equal(false)
    expect(row.hasAttribute('title')).to.equal(false)
  })

  it('keeps only the last `limit` items', async () => {
    const {source, feed} = await mount(CHAT, {limit: 3})
    for (let i = 1; i <= 5; i++) await receive(feed, source, {text: `m${i}`})
    expect(rows(feed).map(r => r.textContent!.trim())).to.deep.equal(['f00dfeed m3', 'f00dfeed m4', 'f00dfeed m5'])
    feed.limit = 2
    await feed.updateComplete
    expect(rows(feed).map(r => r.querySelector('span')!.textContent)).to.deep.equal(['m4', 'm5'])
  })

  it('patches an item with the same data-key in place, reusing its element', async () => {
    const {source, feed} = await mount(CHAT, {key: 'slug'})
    await receive(feed, source, {slug: 'a', text: 'draft'})
    await receive(feed, source, {slug: 'b', text: 'other'})
    const [first] = rows(feed)
    await receive(feed, source, {slug: 'a', text: 'final'})
    expect(rows(feed).length).to.equal(2)
    expect(rows(feed)[0]).to.equal(first)
    expect(first.querySelector('span')!.textContent).to.equal('final')
  })

  it('scopes keys to the author: another peer cannot replace an item', async () => {
    const {source, feed} = await mount(CHAT, {key: 'slug'})
    await receive(feed, source, {slug: 'a', text: 'mine'}, {author: '11'.repeat(32)})
    await receive(feed, source, {slug: 'a', text: 'spoof'}, {author: '22'.repeat(32)})
    expect(rows(feed).map(r => r.querySelector('span')!.textContent)).to.deep.equal(['mine', 'spoof'])
  })

  it('reads data-key from the template root too', async () => {
    const {source, feed} = await mount(html`<template><p data-key="slug"><span data-field="text"></span></p></template>`)
    await receive(feed, source, {slug: 'a', text: '1'})
    const [row] = rows(feed)
    await receive(feed, source, {slug: 'a', text: '2'})
    expect(rows(feed)).to.deep.equal([row])
    expect(row.textContent).to.equal('2')
  })

  it('marks the items this peer published with data-local', async () => {
    const {source, feed} = await mount()
    await source.publish({text: 'mine'})
    await receive(feed, source, {text: 'theirs'})
    await feed.updateComplete
    expect(rows(feed).map(r => r.hasAttribute('data-local'))).to.deep.equal([true, false])
  })

  it('renders the items a source already has, and starts over when the source changes', async () => {
    const {root, source, feed} = await mount()
    await receive(feed, source, {text: 'old'})
    const next = new MemorySource()
    next.receive({text: 'earlier'})
    next.receive({text: 'later'})
    root.source = next
    await feed.updateComplete
    expect(feed.source).to.equal(next)
    expect(rows(feed).map(r => r.querySelector('span')!.textContent)).to.deep.equal(['earlier', 'later'])
    expect(source.listenerCount).to.equal(0)
    await receive(feed, next, {text: 'new'})
    expect(rows(feed).length).to.equal(3)
  })

  it('stops listening when removed and renders again when put back', async () => {
    const {root, source, feed} = await mount()
    expect(source.listenerCount).to.equal(1)
    feed.remove()
    expect(source.listenerCount).to.equal(0)
    source.receive({text: 'while away'})
    root.append(feed)
    await feed.updateComplete
    expect(source.listenerCount).to.equal(1)
    expect(rows(feed).map(r => r.querySelector('span')!.textContent)).to.deep.equal(['while away'])
  })

  it('clones with importNode, so custom elements in the template upgrade', async () => {
    if (!customElements.get('feed-test-badge')) {
      customElements.define('feed-test-badge', class extends HTMLElement {
        upgraded = true
      })
    }
    const {source, feed} = await mount(html`<template><p><feed-test-badge data-field="text"></feed-test-badge></p></template>`)
    await receive(feed, source, {text: 'hi'})
    const badge = feed.querySelector('feed-test-badge') as HTMLElement & {upgraded?: boolean}
    expect(badge.upgraded).to.equal(true)
    expect(badge.textContent).to.equal('hi')
  })

  it('renders author and text without a template', async () => {
    const {source, feed} = await mount(null)
    await receive(feed, source, {name: 'ada', text: '<b>hi</b>'})
    await receive(feed, source, {score: 3})
    const [chat, other] = rows(feed)
    expect(chat.querySelector('b')!.textContent).to.equal('f00dfeed')
    expect(chat.querySelector('time')!.hasAttribute('datetime')).to.equal(true)
    expect(chat.textContent).to.contain('ada: <b>hi</b>')
    expect(other.textContent).to.contain('{"score":3}')
  })

  it('renders again with a template added after the first render', async () => {
    const {source, feed} = await mount(null)
    await receive(feed, source, {text: 'hello'})
    const template = document.createElement('template')
    template.innerHTML = '<p class="late"><span data-field="text"></span></p>'
    feed.prepend(template)
    // The observer reports at the end of this task's microtasks.
    await new Promise(resolve => setTimeout(resolve))
    await feed.updateComplete
    expect(rows(feed).map(r => r.className)).to.deep.equal(['late'])
  })

  it('reports a template with more than one root element, and uses the first', async () => {
    const root = await fixture<TestSourceElement>(html`<test-source></test-source>`)
    const feed = document.createElement('p2p-feed')
    feed.innerHTML = '<template><p class="one"></p><p class="two"></p></template>'
    const error = oneEvent(root, 'p2p-error') as Promise<P2PErrorEvent>
    root.append(feed)
    expect((await error).detail.error.code).to.equal('ERR_INVALID_ARGUMENT')
    await (root.source as MemorySource).publish({text: 'x'})
    await feed.updateComplete
    expect(rows(feed).map(r => r.className)).to.deep.equal(['one'])
  })

  it('follows new items while the reader is at the bottom', async () => {
    const {source, feed} = await mount(CHAT, {height: 120})
    for (let i = 0; i < 30; i++) source.receive({text: `line ${i}`})
    await feed.updateComplete
    expect(feed.scrollHeight).to.be.greaterThan(feed.clientHeight)
    expect(atBottom(feed)).to.equal(true)
    for (let i = 0; i < 5; i++) await receive(feed, source, {text: `more ${i}`})
    expect(atBottom(feed)).to.equal(true)
  })

  it('keeps the reader\'s place when they scrolled up, even as old items are trimmed', async () => {
    const {source, feed} = await mount(CHAT, {height: 120, limit: 40})
    for (let i = 0; i < 40; i++) source.receive({text: `line ${i}`})
    await feed.updateComplete
    // Far enough down that the trimmed items fit above the reader's place.
    await scrollTo(feed, 400)
    const reading = rows(feed).find(r => r.getBoundingClientRect().top >= feed.getBoundingClientRect().top)!
    const before = reading.getBoundingClientRect().top
    // Appended below the view (and one trimmed above it): nothing moves.
    await receive(feed, source, {text: 'new below'})
    expect(reading.getBoundingClientRect().top).to.equal(before)
    // Five more push five old items out at the top: the text being read stays where it was.
    for (let i = 0; i < 5; i++) source.receive({text: `new ${i}`})
    await feed.updateComplete
    expect(rows(feed).length).to.equal(40)
    expect(reading.isConnected).to.equal(true)
    expect(Math.abs(reading.getBoundingClientRect().top - before)).to.be.lessThan(1)
    expect(atBottom(feed)).to.equal(false)
    // Back at the bottom, it follows again.
    await scrollTo(feed, feed.scrollHeight)
    await receive(feed, source, {text: 'followed'})
    expect(atBottom(feed)).to.equal(true)
  })

  it('keeps a reader at the bottom there when an image in an item loads', async () => {
    const {source, feed} = await mount(html`<template><p><img data-field="src:url" alt=""></p></template>`, {height: 120})
    for (let i = 0; i < 10; i++) source.receive({})
    const canvas = document.createElement('canvas')
    canvas.width = 10
    canvas.height = 400
    const blob = await new Promise<Blob>(resolve => canvas.toBlob(b => resolve(b!)))
    const url = URL.createObjectURL(blob)
    await receive(feed, source, {url})
    const img = feed.querySelector<HTMLImageElement>('img[src]')!
    if (!img.complete) await oneEvent(img, 'load')
    await nextFrame()
    expect(img.getBoundingClientRect().height).to.equal(400)
    // The feed follows the growth from a resize observer, which runs after this
    // frame's callbacks: wait for the outcome, not for a number of frames.
    // The bound is the shared one of test/shared/until.ts (30 s): a loaded machine delays frames, it does not change the outcome.
    await until(() => atBottom(feed), 'the feed to follow the image to the bottom')
    URL.revokeObjectURL(url)
  })

  it('shows an empty state until the first item, and a slotted one if given', async () => {
    const {source, feed} = await mount()
    const empty = feed.shadowRoot!.querySelector<HTMLElement>('[part=empty]')!
    expect(empty.hidden).to.equal(false)
    expect(empty.textContent).to.contain('No messages yet.')
    await receive(feed, source, {text: 'hi'})
    expect(empty.hidden).to.equal(true)

    const custom = await fixture<TestSourceElement>(html`<test-source><p2p-feed><p slot="empty">Say hello</p></p2p-feed></test-source>`)
    const slot = custom.querySelector('p2p-feed')!.shadowRoot!.querySelector<HTMLSlotElement>('slot[name=empty]')!
    expect(slot.assignedElements()[0].textContent).to.equal('Say hello')
  })

  it('is an accessible, focusable log that announces additions politely', async () => {
    const {source, feed} = await mount()
    expect(feed.getAttribute('role')).to.equal('log')
    expect(feed.getAttribute('aria-live')).to.equal('polite')
    expect(feed.tabIndex).to.equal(0)
    await expect(feed).to.be.accessible()
    await receive(feed, source, {text: 'hi'})
    await expect(feed).to.be.accessible()
  })

  it('leaves the page\'s own role and label alone', async () => {
    const root = await fixture<TestSourceElement>(html`<test-source><p2p-feed role="feed" aria-label="News"></p2p-feed></test-source>`)
    const feed = root.querySelector('p2p-feed')!
    expect(feed.getAttribute('role')).to.equal('feed')
    expect(feed.getAttribute('aria-label')).to.equal('News')
  })
})
