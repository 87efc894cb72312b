import {expect, fixture, html} from '@open-wc/testing'
import '../../src/index.js'
import type {P2PFeedElement} from '../../src/elements/p2p-feed/p2p-feed.js'
import {MemorySource, type TestSourceElement} from './helpers/memory-source.js'

/** A feed whose items are links and images bound to the item's `url`, keyed by `slug` so an item can be patched. */
async function mount() {
  const root = await fixture<TestSourceElement>(html`
    <test-source>
      <p2p-feed data-key="slug"><template><p><a data-field="href:url label"></a><img data-field="src:url srcset:url" alt=""></p></template></p2p-feed>
    </test-source>`)
  const feed = root.querySelector<P2PFeedElement>('p2p-feed')!
  await feed.updateComplete
  return {source: root.source as MemorySource, feed}
}

function rowOf(feed: P2PFeedElement, label: string): HTMLElement {
  const link = [...feed.querySelectorAll('a')].find(a => a.textContent === label)
  if (!link) throw new Error(`no row for ${JSON.stringify(label)}`)
  return link.parentElement!
}

describe('URL bindings (data-field="href:url")', () => {
  it('leave the attribute unset for empty, relative and protocol-relative values, which would link to the app itself', async () => {
    const {source, feed} = await mount()
    const refused = [
      '', ' ', '\t\n', '/etc/x', 'etc/x', './x', '../x', '?q=1', '#top', '//evil.example/x', '\\\\evil.example/x',
      ' //evil.example', '\t/admin', '/\\evil.example', 'javascript:alert(1)', 'java\tscript:alert(1)',
      ' javascript:alert(1)', 'data:text/html,<script>alert(1)</script>', 'about:blank', 'file:///etc/passwd',
    ]
    const accepted = ['https://example.org/a?b=c', 'http://example.org/']
    for (const [i, url] of [...refused, ...accepted].entries()) source.receive({slug: `s${i}`, url, label: `row ${i}`})
    await feed.updateComplete
    // The accepted rows come last: once they are rendered, every refused row is too.
    expect(rowOf(feed, `row ${refused.length + 1}`).querySelector('a')!.getAttribute('href')).to.equal('http://example.org/')
    for (const [i, url] of refused.entries()) {
      const row = rowOf(feed, `row ${i}`)
      for (const [selector, attribute] of [['a', 'href'], ['img', 'src'], ['img', 'srcset']]) {
        expect(row.querySelector(selector)!.getAttribute(attribute), `${attribute} from ${JSON.stringify(url)}`).to.equal(null)
      }
    }
    expect(rowOf(feed, `row ${refused.length}`).querySelector('a')!.getAttribute('href')).to.equal('https://example.org/a?b=c')
  })

  it('set absolute http(s) and blob URLs, and remove them again when a patch brings an empty or relative value', async () => {
    const {source, feed} = await mount()
    const blob = URL.createObjectURL(new Blob(['x']))
    source.receive({slug: 'a', url: 'https://example.org/x', label: 'a'})
    source.receive({slug: 'b', url: blob, label: 'b'})
    await feed.updateComplete
    const a = rowOf(feed, 'a').querySelector('a')!
    const b = rowOf(feed, 'b').querySelector('a')!
    expect(a.getAttribute('href')).to.equal('https://example.org/x')
    expect(b.getAttribute('href')).to.equal(blob)
    source.receive({slug: 'a', url: '', label: 'a'})
    source.receive({slug: 'b', url: '/etc/x', label: 'b'})
    await feed.updateComplete
    expect(rowOf(feed, 'a').querySelector('a')).to.equal(a, 'patched in place')
    expect(a.hasAttribute('href')).to.equal(false)
    expect(b.hasAttribute('href')).to.equal(false)
    URL.revokeObjectURL(blob)
  })
})
