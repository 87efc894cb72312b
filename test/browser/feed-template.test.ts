import {expect, fixture, html, oneEvent} from '@open-wc/testing'
import {html as litHtml} from 'lit'
import '../../src/index.js'
import type {P2PFeedElement} from '../../src/elements/p2p-feed/p2p-feed.js'
import type {P2PErrorEvent} from '../../src/events/error-event.js'
import {MemorySource, type TestSourceElement} from './helpers/memory-source.js'

/**
 * The forms an item template reaches `<p2p-feed>` in besides a parsed `<template>`:
 * the one React and Vue build (children on the element, an empty content fragment),
 * the `template` property (an element or a render function), and the unusable ones,
 * which are reported.
 */

/** A source with an empty feed in it, not yet rendered: `setup` runs before the feed connects. */
async function mount(setup: (feed: P2PFeedElement) => void = () => {}) {
  const root = await fixture<TestSourceElement>(html`<test-source></test-source>`)
  const source = root.source as MemorySource
  const feed = document.createElement('p2p-feed')
  setup(feed)
  root.append(feed)
  await feed.updateComplete
  return {root, source, feed}
}

/** Mounts a feed and resolves with the first p2p-error it fires while rendering. */
async function mountReporting(setup: (feed: P2PFeedElement) => void) {
  const root = await fixture<TestSourceElement>(html`<test-source></test-source>`)
  const source = root.source as MemorySource
  const feed = document.createElement('p2p-feed')
  setup(feed)
  const error = oneEvent(root, 'p2p-error') as Promise<P2PErrorEvent>
  root.append(feed)
  return {root, source, feed, error: (await error).detail.error}
}

/** A <template> built as React's and Vue's DOM code builds one: children appended to the element. */
function frameworkTemplate(...children: Node[]): HTMLTemplateElement {
  const template = document.createElement('template')
  template.append(...children)
  return template
}

function element(tag: string, attributes: Record<string, string> = {}, ...children: Node[]): Element {
  const el = document.createElement(tag)
  for (const [name, value] of Object.entries(attributes)) el.setAttribute(name, value)
  el.append(...children)
  return el
}

async function receive(feed: P2PFeedElement, source: MemorySource, value: unknown, fields = {}) {
  source.receive(value, fields)
  await feed.updateComplete
}

function rows(feed: P2PFeedElement): Element[] {
  return [...feed.children].filter(c => !(c instanceof HTMLTemplateElement))
}

function isDefaultRow(row: Element): boolean {
  return row.classList.contains('p2p-feed-item')
}

describe('<p2p-feed> templates from frameworks and code', () => {
  it('renders through a <template> whose children are on the element, as React and Vue make it', async () => {
    const {source, feed} = await mount(feed => {
      feed.append(frameworkTemplate(element('p', {class: 'jsx'}, element('span', {'data-field': 'text'}))))
    })
    await receive(feed, source, {text: '<b>hi</b>'})
    const [row] = rows(feed)
    expect(row.className).to.equal('jsx')
    expect(row.querySelector('span')!.textContent).to.equal('<b>hi</b>')
    expect(row.querySelector('b')).to.equal(null)
  })

  it('renders again when a framework changes the children of its template', async () => {
    const root = element('p', {class: 'before'}, element('span', {'data-field': 'text'}))
    const {source, feed} = await mount(feed => feed.append(frameworkTemplate(root)))
    await receive(feed, source, {text: 'x'})
    root.setAttribute('class', 'after')
    await new Promise<void>(resolve => {
      const watch = new MutationObserver(() => {
        if (rows(feed)[0]?.className !== 'after') return
        watch.disconnect()
        resolve()
      })
      watch.observe(feed, {childList: true})
    })
    expect(rows(feed).map(r => r.className)).to.deep.equal(['after'])
  })

  it('takes a <template> element from the template property, over a child template', async () => {
    const own = frameworkTemplate(element('li', {class: 'prop'}, element('i', {'data-field': 'text'})))
    const {source, feed} = await mount(feed => {
      feed.innerHTML = '<template><p class="child"></p></template>'
      feed.template = own
    })
    await receive(feed, source, {text: 'one'})
    expect(rows(feed).map(r => `${r.className}:${r.textContent}`)).to.deep.equal(['prop:one'])
  })

  it('renders each item through a template function, and fills its data-field bindings as text', async () => {
    const seen: unknown[] = []
    const {source, feed} = await mount(feed => {
      feed.template = item => {
        seen.push(item.value)
        const row = element('article', {class: 'fn'}, element('b', {'data-field': 'text'}), element('a', {'data-field': 'href:url'}))
        row.append(document.createTextNode(String((item.value as {n: number}).n)))
        return row
      }
    })
    await receive(feed, source, {n: 1, text: '<img src=x>', url: 'javascript:alert(1)'})
    const [row] = rows(feed)
    expect(row.className).to.equal('fn')
    expect(row.querySelector('b')!.textContent).to.equal('<img src=x>')
    expect(row.querySelector('img')).to.equal(null)
    expect(row.querySelector('a')!.hasAttribute('href')).to.equal(false)
    expect(row.textContent).to.contain('1')
    expect(seen).to.deep.equal([{n: 1, text: '<img src=x>', url: 'javascript:alert(1)'}])
  })

  it('renders a Lit html result from the function, its interpolations as text', async () => {
    const {source, feed} = await mount(feed => {
      feed.template = item => litHtml`<p class="lit">${(item.value as {text: string}).text}<i data-field="author"></i></p>`
    })
    await receive(feed, source, {text: '<img src=x>'})
    await receive(feed, source, {text: 'second'})
    const shown = rows(feed)
    expect(shown.map(r => r.className)).to.deep.equal(['lit', 'lit'])
    expect(shown[0].textContent).to.equal('<img src=x>f00dfeed')
    expect(shown[1].textContent).to.equal('secondf00dfeed')
    expect(feed.querySelector('img')).to.equal(null)
  })

  it('renders a replaced keyed item through the function again, in the same place', async () => {
    const {source, feed} = await mount(feed => {
      feed.dataKey = 'slug'
      feed.template = item => element('p', {}, document.createTextNode((item.value as {text: string}).text))
    })
    await receive(feed, source, {slug: 'a', text: 'first'})
    await receive(feed, source, {slug: 'b', text: 'other'})
    await receive(feed, source, {slug: 'a', text: 'edited'})
    expect(rows(feed).map(r => r.textContent)).to.deep.equal(['edited', 'other'])
    expect(feed.size).to.equal(2)
  })

  it('renders anew when the template property changes', async () => {
    const {source, feed} = await mount(feed => {
      feed.template = () => element('p', {class: 'old'})
    })
    await receive(feed, source, {text: 'x'})
    feed.template = () => element('p', {class: 'new'})
    await feed.updateComplete
    expect(rows(feed).map(r => r.className)).to.deep.equal(['new'])
  })

  describe('reports an unusable template with p2p-error', () => {
    for (const [name, setup, message] of [
      ['a parsed template with only text', (feed: P2PFeedElement) => {
        feed.innerHTML = '<template>just words</template>'
      }, /only text/],
      ['a framework template with only text', (feed: P2PFeedElement) => {
        feed.append(frameworkTemplate(document.createTextNode('just words')))
      }, /only text/],
      ['an empty template', (feed: P2PFeedElement) => {
        feed.innerHTML = '<template>  </template>'
      }, /none/],
    ] as const) {
      it(`with no root element: ${name}; items show the default row`, async () => {
        const {source, feed, error} = await mountReporting(setup)
        expect(error.code).to.equal('ERR_INVALID_ARGUMENT')
        expect(error.message).to.match(message)
        await receive(feed, source, {text: 'hello'})
        expect(rows(feed).map(isDefaultRow)).to.deep.equal([true])
      })
    }

    it('with more than one root in a framework template, and uses the first', async () => {
      const {source, feed, error} = await mountReporting(feed => {
        feed.append(frameworkTemplate(element('p', {class: 'one'}), element('p', {class: 'two'})))
      })
      expect(error.message).to.match(/has 2/)
      await receive(feed, source, {text: 'x'})
      expect(rows(feed).map(r => r.className)).to.deep.equal(['one'])
    })

    it('with text beside its root, and uses the root', async () => {
      const {source, feed, error} = await mountReporting(feed => {
        feed.innerHTML = '<template>Said: <p class="root"></p></template>'
      })
      expect(error.message).to.match(/text beside/)
      await receive(feed, source, {text: 'x'})
      expect(rows(feed).map(r => r.className)).to.deep.equal(['root'])
    })

    it('set to neither a <template> nor a function', async () => {
      const {source, feed, error} = await mountReporting(feed => {
        feed.template = document.createElement('div') as unknown as HTMLTemplateElement
      })
      expect(error.message).to.match(/template property/)
      await receive(feed, source, {text: 'x'})
      expect(rows(feed).map(isDefaultRow)).to.deep.equal([true])
    })

    it('from a function that throws, once, with the cause; those items show the default row', async () => {
      const bug = new Error('app bug')
      const {root, source, feed} = await mount(feed => {
        feed.template = () => {
          throw bug
        }
      })
      const errors: P2PErrorEvent[] = []
      root.addEventListener('p2p-error', e => errors.push(e as P2PErrorEvent))
      await receive(feed, source, {text: 'a'})
      await receive(feed, source, {text: 'b'})
      expect(errors.map(e => e.detail.error.cause)).to.deep.equal([bug])
      expect(errors[0].detail.error.message).to.match(/threw/)
      expect(rows(feed).map(isDefaultRow)).to.deep.equal([true, true])
    })

    for (const [name, make, message] of [
      ['no element', () => 'text' as unknown as Element, /no element/],
      ['a Lit result with two roots', () => litHtml`<p></p><p></p>`, /rendered 2 root elements/],
      ['a Lit result with text beside its root', () => litHtml`said <p></p>`, /text beside/],
      ['an element already in the page', () => document.body, /already in the page/],
    ] as const) {
      it(`from a function that returns ${name}`, async () => {
        const {root, source, feed} = await mount(feed => {
          feed.template = make
        })
        const error = oneEvent(root, 'p2p-error') as Promise<P2PErrorEvent>
        source.receive({text: 'a'})
        expect((await error).detail.error.message).to.match(message)
        await feed.updateComplete
        expect(rows(feed).map(isDefaultRow)).to.deep.equal([true])
        expect(document.body.parentNode).to.equal(document.documentElement)
      })
    }
  })
})
