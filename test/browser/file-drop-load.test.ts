// <p2p-file-drop>'s rendering loads on demand: in a page of its own (each test file gets
// one), so no earlier test has loaded it. The elements are in no room: none opens storage.
import {expect, fixture, html} from '@open-wc/testing'
import '../../src/p2p-file-drop.js'
import {loaders, type P2PFileDropElement} from '../../src/elements/p2p-file-drop/p2p-file-drop.js'
import type {P2PError} from '../../src/core/errors.js'

describe('<p2p-file-drop> rendering on demand', () => {
  const load = loaders.renderer
  afterEach(() => {
    loaders.renderer = load
  })

  // First: once the code is in, no element of the page loads it again.
  it('that cannot load is a p2p-error ERR_CONNECTION_FAILED, and the element shows nothing', async () => {
    loaders.renderer = () => Promise.reject(new Error('offline'))
    const errors: P2PError[] = []
    const el = await fixture<P2PFileDropElement>(html`<p2p-file-drop @p2p-error=${(event: CustomEvent<{error: P2PError}>) => errors.push(event.detail.error)}></p2p-file-drop>`)
    expect(errors.map(e => e.code)).to.deep.equal(['ERR_CONNECTION_FAILED'])
    expect(el.shadowRoot!.children.length).to.equal(0)
    el.remove()
  })

  it('shows nothing until the code is in, then the drop zone with its styles; an element added later renders without loading it', async () => {
    let loads = 0
    let asked!: () => void
    const wasAsked = new Promise<void>(resolve => asked = resolve)
    let release!: () => void
    const released = new Promise<void>(resolve => release = resolve)
    loaders.renderer = async () => {
      loads++
      asked()
      await released
      return load()
    }
    const root = document.createElement('div')
    root.innerHTML = '<p2p-file-drop></p2p-file-drop><p2p-file-drop label="Shared"></p2p-file-drop>'
    document.body.append(root)
    await wasAsked
    const drops = [...root.querySelectorAll('p2p-file-drop')]
    for (const drop of drops) expect(drop.shadowRoot!.children.length).to.equal(0)

    release()
    // updateComplete covers the wait for the code and the render after it.
    await Promise.all(drops.map(drop => drop.updateComplete))
    for (const drop of drops) {
      const zone = drop.shadowRoot!.querySelector<HTMLButtonElement>('[part~=drop-zone]')!
      expect(zone.disabled).to.equal(true)
      expect(getComputedStyle(zone).borderTopStyle).to.equal('dashed')
      expect(drop.shadowRoot!.querySelector('[part=empty]')!.textContent).to.equal('Not in a room.')
    }
    await expect(drops[1]).to.be.accessible()

    const before = loads
    const later = document.createElement('p2p-file-drop')
    root.append(later)
    await later.updateComplete
    expect(later.shadowRoot!.querySelector('[part~=drop-zone]')).to.not.equal(null)
    expect(loads).to.equal(before)
    root.remove()
  })
})
