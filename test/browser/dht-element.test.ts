// <p2p-dht> in Chromium: two rooms' worth of pages in one test page (each
// <p2p-swarm> with a key of its own, so each has its own page DHT node), real
// WebRTC through the runner's hub, the element's code loaded on demand.
import {expect, fixture, html} from '@open-wc/testing'
import '../../src/p2p-swarm.js'
import '../../src/p2p-dht.js'
import {loaders, type P2PDhtElement} from '../../src/elements/p2p-dht/p2p-dht.js'
import type {P2PSwarmElement} from '../../src/elements/p2p-swarm/p2p-swarm.js'
import {KeyPairIdentity} from '../../src/core/crypto/seed-identity.js'
import type {P2PError} from '../../src/core/errors.js'
import type {DhtReadyEvent} from '../../src/events/dht-ready-event.js'
import {freshRoom, hubUrl} from './helpers/swarm.js'
import {until} from '../shared/until.js'

const text = (el: Element) => el.shadowRoot?.textContent?.replace(/\s+/g, ' ').trim() ?? ''

describe('<p2p-dht>', () => {
  const load = loaders.body
  afterEach(() => {
    loaders.body = load
  })

  it('in two pages of a room: each fires p2p-dht-ready with its node, shows its peers, its table bucket by bucket and the page\'s connections as text; removed, it lets its node go', async () => {
    const room = freshRoom('dht')
    const ready: DhtReadyEvent[] = []
    const root = await fixture<HTMLElement>(html`
      <div @p2p-dht-ready=${(e: DhtReadyEvent) => ready.push(e)}>
        ${[0, 1].map(() => html`
          <p2p-swarm hub=${hubUrl()} room=${room} .identity=${new KeyPairIdentity()}><p2p-dht></p2p-dht></p2p-swarm>`)}
      </div>`)
    const elements = [...root.querySelectorAll('p2p-dht')] as P2PDhtElement[]
    await until(() => ready.length === 2, 'both nodes ready')
    expect(ready.map(e => e.detail.dht)).to.have.members(elements.map(el => el.dht))
    const [a, b] = elements
    await until(() => a.dht!.dht.connected(b.dht!.swarm.publicKey), 'a and b are DHT peers')
    await a.updateComplete
    const shown = text(a)
    expect(shown).to.match(/\d+ DHT peers?, \d+ nodes? in the table, \d+ lookups? in flight/)
    const buckets = [...a.shadowRoot!.querySelectorAll('[part~=bucket]')]
    expect(buckets.length).to.be.greaterThan(0)
    expect(buckets.reduce((n, li) => n + Number(li.getAttribute('data-size')), 0)).to.equal(a.dht!.stats.nodes)
    expect(shown).to.match(/Connections: \d+ open, \d+ made of the \d+ a page may make/)
    await expect(a).shadowDom.to.be.accessible()

    const node = a.dht!
    const swarm = a.closest('p2p-swarm') as P2PSwarmElement
    swarm.remove()
    await until(() => node.closed, 'the node let go with its last room')
  })

  it('a failed load of its code: p2p-error ERR_CONNECTION_FAILED, and nothing shown', async () => {
    loaders.body = () => Promise.reject(new Error('offline'))
    const errors: P2PError[] = []
    const root = await fixture<HTMLElement>(html`
      <div @p2p-error=${(e: CustomEvent<{error: P2PError}>) => errors.push(e.detail.error)}>
        <p2p-swarm hub=${hubUrl()} room=${freshRoom('dht')} .identity=${new KeyPairIdentity()}><p2p-dht></p2p-dht></p2p-swarm>
      </div>`)
    await until(() => errors.length === 1, 'the error')
    expect(errors[0].code).to.equal('ERR_CONNECTION_FAILED')
    const el = root.querySelector('p2p-dht') as P2PDhtElement
    await el.updateComplete
    expect(text(el)).to.equal('')
    expect(el.dht).to.equal(undefined)
  })
})
