// What a user sees of the hubs: <p2p-swarm state="…"> for CSS and <p2p-peers>
// in words, against the real hub process, a closed loopback port, and the
// window's offline/online events (what page-network.ts listens to).
import {expect, fixture, html} from '@open-wc/testing'
import {emulateMedia} from '@web/test-runner-commands'
import '../../src/index.js'
import type {P2PSwarmElement} from '../../src/elements/p2p-swarm/p2p-swarm.js'
import type {P2PPeersElement} from '../../src/elements/p2p-peers/p2p-peers.js'
import {freshRoom, hubUrl, until} from './helpers/swarm.js'
import {browserName, onlyIn} from './helpers/browser.js'
import {contrast} from '../shared/contrast.js'

/** Nothing listens there (the discard port): connections are refused at once. */
const DEAD_HUB = 'http://127.0.0.1:9'

/** Resolves once `el`'s `state` attribute is `state`, watching its mutations. */
function stateAttribute(el: Element, state: string, timeout = 20_000): Promise<void> {
  if (el.getAttribute('state') === state) return Promise.resolve()
  return new Promise((resolve, reject) => {
    const observer = new MutationObserver(() => {
      if (el.getAttribute('state') !== state) return
      observer.disconnect()
      clearTimeout(timer)
      resolve()
    })
    const timer = setTimeout(() => {
      observer.disconnect()
      reject(new Error(`timed out waiting for state="${state}" (it is "${el.getAttribute('state')}")`))
    }, timeout)
    observer.observe(el, {attributes: true, attributeFilter: ['state']})
  })
}

/** What <p2p-peers> shows: its status line (if any) and its empty-list text (if any). */
async function shown(list: P2PPeersElement) {
  await list.updateComplete
  const root = list.shadowRoot!
  return {
    status: root.querySelector<HTMLElement>('[part=status]')?.textContent ?? null,
    statusState: root.querySelector<HTMLElement>('[part=status]')?.dataset.state ?? null,
    empty: root.querySelector('[part=empty]')?.textContent ?? null,
  }
}

describe('swarm state: <p2p-swarm state> and <p2p-peers> say where the swarm stands with its hub', () => {
  it('a hub where nothing listens: state="hub-unreachable", and the list says it cannot reach the hub', async () => {
    const el = await fixture<P2PSwarmElement>(html`
      <p2p-swarm hub=${DEAD_HUB} room=${freshRoom()} @p2p-error=${() => {}}><p2p-peers></p2p-peers></p2p-swarm>`)
    await stateAttribute(el, 'hub-unreachable')
    expect(el.state).to.equal('hub-unreachable')
    const list = el.querySelector<P2PPeersElement>('p2p-peers')!
    const text = await shown(list)
    expect(text.status).to.equal('Can’t reach the hub')
    expect(text.statusState).to.equal('hub-unreachable')
    // Not an empty room: the list does not say it waits for peers.
    expect(text.empty).to.equal(null)
    await expect(list).to.be.accessible()
    el.remove()
  })

  it('a URL that answers but is no hub (this test server): state="hub-unreachable" too', async () => {
    const el = await fixture<P2PSwarmElement>(html`
      <p2p-swarm hub=${location.origin} room=${freshRoom()} @p2p-error=${() => {}}><p2p-peers></p2p-peers></p2p-swarm>`)
    await stateAttribute(el, 'hub-unreachable')
    expect((await shown(el.querySelector<P2PPeersElement>('p2p-peers')!)).status).to.equal('Can’t reach the hub')
    el.remove()
  })

  it('a good hub: state goes from "connecting" to "online", then the list waits for peers', async () => {
    const el = document.createElement('p2p-swarm')
    el.hub = hubUrl()
    el.room = freshRoom()
    const list = el.appendChild(document.createElement('p2p-peers'))
    const seen: Array<string | null> = []
    const observer = new MutationObserver(() => seen.push(el.getAttribute('state')))
    observer.observe(el, {attributes: true, attributeFilter: ['state']})
    document.body.append(el)
    await el.updateComplete
    // The swarm starts in the first update; its stream cannot have opened yet.
    expect(el.getAttribute('state')).to.equal('connecting')
    expect((await shown(list)).status).to.equal('Connecting to the hub…')
    await stateAttribute(el, 'online')
    observer.disconnect()
    expect(seen).to.deep.equal(['connecting', 'online'])
    expect(await shown(list)).to.deep.equal({status: null, statusState: null, empty: 'Waiting for peers…'})
    el.remove()
    expect(el.hasAttribute('state')).to.equal(false)
  })

  it('offline through the network status: state="offline" and the list says so; online again: back to "online"', async () => {
    const el = await fixture<P2PSwarmElement>(html`
      <p2p-swarm hub=${hubUrl()} room=${freshRoom()}><p2p-peers></p2p-peers></p2p-swarm>`)
    const list = el.querySelector<P2PPeersElement>('p2p-peers')!
    await stateAttribute(el, 'online')
    window.dispatchEvent(new Event('offline'))
    await stateAttribute(el, 'offline')
    expect(await shown(list)).to.deep.equal({status: 'Offline', statusState: 'offline', empty: null})
    window.dispatchEvent(new Event('online'))
    await stateAttribute(el, 'online')
    expect((await shown(list)).empty).to.equal('Waiting for peers…')
    el.remove()
  })

  it('the attribute is read-only: a value set from outside is put back, and the swarm is untouched', async () => {
    const el = await fixture<P2PSwarmElement>(html`<p2p-swarm hub=${hubUrl()} room=${freshRoom()}></p2p-swarm>`)
    await stateAttribute(el, 'online')
    el.setAttribute('state', 'offline')
    expect(el.getAttribute('state')).to.equal('online')
    el.removeAttribute('state')
    expect(el.getAttribute('state')).to.equal('online')
    expect(el.swarm!.state).to.equal('online')
    expect(el.swarm!.stats.offline).to.equal(false)
    el.remove()
  })

  it('no attribute without a swarm (no hub), even when markup sets one', async () => {
    const el = await fixture<P2PSwarmElement>(html`<p2p-swarm room="x" state="online"></p2p-swarm>`)
    expect(el.hasAttribute('state')).to.equal(false)
    expect(el.state).to.equal(undefined)
  })
})

describe('<p2p-peers> badges in both colour schemes', () => {
  const EMULATES = 'emulate-media needs CDP: puppeteer over WebDriver BiDi cannot set prefers-color-scheme in Firefox'
  afterEach(async () => {
    if (browserName === 'chromium') await emulateMedia({colorScheme: 'no-preference'})
  })

  for (const colorScheme of ['light', 'dark'] as const) {
    onlyIn('chromium', EMULATES)(`a connected badge has a contrast of at least 4.5:1 in the ${colorScheme} scheme, on a page that follows it`, async () => {
      await emulateMedia({colorScheme})
      // As the demo pages do: text and background from the scheme (white text in dark).
      const room = freshRoom()
      const root = await fixture<HTMLDivElement>(html`
        <div style="color-scheme: light dark; color: CanvasText; background: Canvas">
          <p2p-swarm hub=${hubUrl()} room=${room}><p2p-peers></p2p-peers></p2p-swarm>
          <p2p-swarm hub=${hubUrl()} room=${room}></p2p-swarm>
        </div>`)
      const el = root.querySelector<P2PSwarmElement>('p2p-swarm')!
      // The fixture awaited the div, not the swarm element's own start.
      await el.updateComplete
      await until(el.swarm!, ['update'], () => el.swarm!.peers.length === 1, 'a connected peer')
      const list = el.querySelector<P2PPeersElement>('p2p-peers')!
      await list.updateComplete
      const badge = list.shadowRoot!.querySelector<HTMLElement>('[part~=state-connected]')!
      const style = getComputedStyle(badge)
      const ratio = contrast(style.color, style.backgroundColor)
      expect(ratio, `${style.color} on ${style.backgroundColor}`).to.be.at.least(4.5)
      root.remove()
    })
  }
})
