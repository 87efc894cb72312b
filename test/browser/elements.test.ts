import {expect, fixture, html, oneEvent} from '@open-wc/testing'
import '../../src/index.js'
import type {P2PSwarmElement} from '../../src/elements/p2p-swarm/p2p-swarm.js'
import type {P2PPeersElement} from '../../src/elements/p2p-peers/p2p-peers.js'
import {PeerConnectEvent} from '../../src/events/peer-connect-event.js'
import {PeerDisconnectEvent} from '../../src/events/peer-disconnect-event.js'
import {P2PErrorEvent} from '../../src/events/error-event.js'
import {freshRoom, hubUrl, until} from './helpers/swarm.js'
import {createIdentity} from '../../src/core/crypto/identity.js'
import type {Swarm} from '../../src/core/swarm/swarm.js'

/** Two rooms' worth of markup in one page: two apps that should find each other. */
async function twoApps(room: string) {
  const root = await fixture<HTMLDivElement>(html`
    <div>
      <p2p-swarm id="a" hub=${hubUrl()} room=${room}><p2p-peers></p2p-peers></p2p-swarm>
      <p2p-swarm id="b" hub=${hubUrl()} room=${room}><p2p-peers></p2p-peers></p2p-swarm>
    </div>`)
  const a = root.querySelector<P2PSwarmElement>('#a')!
  const b = root.querySelector<P2PSwarmElement>('#b')!
  // Their swarms come once the page's key pair is in.
  await Promise.all([a.updateComplete, b.updateComplete])
  return {root, a, b}
}

function rows(list: P2PPeersElement) {
  return [...list.shadowRoot!.querySelectorAll<HTMLElement>('tr[data-state]')]
}

describe('<p2p-swarm> and <p2p-peers>', () => {
  it('provides its swarm to descendants through context', async () => {
    const el = await fixture<P2PSwarmElement>(html`<p2p-swarm hub=${hubUrl()} room=${freshRoom()}><p2p-peers></p2p-peers></p2p-swarm>`)
    const list = el.querySelector<P2PPeersElement>('p2p-peers')!
    expect(el.swarm).to.exist
    expect(list.swarm).to.equal(el.swarm)
    el.remove()
  })

  it('fires p2p-peer-connect, bubbling and composed, and lists the peer as connected', async () => {
    const {root, a, b} = await twoApps(freshRoom())
    const event = await oneEvent(root, 'p2p-peer-connect') as PeerConnectEvent
    expect(event).to.be.instanceOf(PeerConnectEvent)
    expect(event.bubbles && event.composed).to.equal(true)
    expect([a.swarm!.publicKey, b.swarm!.publicKey]).to.include(event.detail.publicKey)
    const listA = a.querySelector<P2PPeersElement>('p2p-peers')!
    await until(a.swarm!, ['update'], () => a.swarm!.peers.length === 1, 'a peer for a')
    await listA.updateComplete
    const [row] = rows(listA)
    expect(row.dataset.state).to.equal('connected')
    expect(row.dataset.key).to.equal(b.swarm!.publicKey)
    expect(row.textContent).to.contain(b.swarm!.publicKey.slice(0, 8))
    await expect(listA).to.be.accessible()
    root.remove()
  })

  it('removing a swarm element says goodbye: the other fires p2p-peer-disconnect without an error', async () => {
    const {root, a, b} = await twoApps(freshRoom())
    await until([a.swarm!, b.swarm!], ['update'], () => a.swarm!.peers.length === 1 && b.swarm!.peers.length === 1, 'both connected')
    const key = b.swarm!.publicKey
    const gone = oneEvent(a, 'p2p-peer-disconnect') as Promise<PeerDisconnectEvent>
    b.remove()
    const event = await gone
    expect(event.detail.publicKey).to.equal(key)
    expect(event.detail.error).to.equal(undefined)
    expect(b.swarm).to.equal(undefined)
    root.remove()
  })

  it('starts a new swarm when the room changes, and none without a hub', async () => {
    const el = await fixture<P2PSwarmElement>(html`<p2p-swarm room="x"></p2p-swarm>`)
    expect(el.swarm).to.equal(undefined)
    el.hub = hubUrl()
    await el.updateComplete
    const first = el.swarm!
    expect(first).to.exist
    el.room = freshRoom()
    await el.updateComplete
    expect(el.swarm).to.not.equal(first)
    expect(first.destroyed).to.equal(true)
    el.remove()
  })

  it('does not fire peer events when properties are set from code', async () => {
    // Something to fire about: a connected peer, which the property sets below drop.
    const {root, a, b} = await twoApps(freshRoom())
    await until([a.swarm!, b.swarm!], ['update'], () => a.swarm!.peers.length === 1 && b.swarm!.peers.length === 1, 'both connected')
    const keyA = a.swarm!.publicKey
    const fired: string[] = []
    for (const type of ['p2p-peer-connect', 'p2p-peer-disconnect', 'p2p-peer-reconnect']) a.addEventListener(type, () => fired.push(type))
    // The sentinel: B hears A's goodbye, which A says after it let its swarm go.
    const goodbye = new Promise<PeerDisconnectEvent>(resolve => b.addEventListener('p2p-peer-disconnect', e => {
      if (e.detail.publicKey === keyA) resolve(e)
    }))
    a.maxPeers = 3
    a.room = freshRoom()
    await a.updateComplete
    expect((await goodbye).detail.error).to.equal(undefined)
    expect(fired).to.deep.equal([])
    root.remove()
  })

  it('reports an unreachable hub with p2p-error', async () => {
    const el = await fixture<P2PSwarmElement>(html`<p2p-swarm hub="http://127.0.0.1:9" room=${freshRoom()}></p2p-swarm>`)
    const event = await oneEvent(el, 'p2p-error') as P2PErrorEvent
    expect(event).to.be.instanceOf(P2PErrorEvent)
    expect(event.detail.error.code).to.equal('ERR_HUB_UNREACHABLE')
    el.remove()
  })

  it('leaves on pagehide and rejoins when the page comes back from the back/forward cache', async () => {
    const el = await fixture<P2PSwarmElement>(html`<p2p-swarm hub=${hubUrl()} room=${freshRoom()}></p2p-swarm>`)
    const first = el.swarm!
    window.dispatchEvent(new PageTransitionEvent('pagehide', {persisted: true}))
    expect(first.destroyed).to.equal(true)
    expect(el.swarm).to.equal(undefined)
    window.dispatchEvent(new PageTransitionEvent('pageshow', {persisted: true}))
    await el.updateComplete
    expect(el.swarm).to.exist
    expect(el.swarm).to.not.equal(first)
    el.remove()
  })

  it('reconfigured before its key is in, makes only the swarm of its latest settings', async () => {
    const el = document.createElement('p2p-swarm')
    // Every swarm the element provides, in order.
    const provided: Swarm[] = []
    const {get, set} = Object.getOwnPropertyDescriptor(Object.getPrototypeOf(el), 'swarm')!
    Object.defineProperty(el, 'swarm', {get, set(swarm: Swarm | undefined) {
      if (swarm) provided.push(swarm)
      set!.call(this, swarm)
    }})
    const [first, second] = [freshRoom('first'), freshRoom('second')]
    // The page key is taken in the first room, so the element's key there is a fresh
    // one, which WebCrypto makes in a task of its own: the room changes before it is in.
    const holder = await fixture<P2PSwarmElement>(html`<p2p-swarm hub=${hubUrl()} room=${first}></p2p-swarm>`)
    Object.assign(el, {hub: hubUrl(), room: first})
    document.body.append(el)
    while (!el.hasUpdated) await null
    el.room = second
    await el.updateComplete
    // Without the check, the first room's key, come last, made a second swarm.
    expect(provided.map(s => s.room)).to.deep.equal([second])
    expect(el.swarm).to.equal(provided[0])
    expect(el.swarm!.destroyed).to.equal(false)
    el.remove()
    holder.remove()
  })

  it('makes no swarm for an element removed before the page key is in', async () => {
    const el = Object.assign(document.createElement('p2p-swarm'), {hub: hubUrl(), room: freshRoom()})
    document.body.append(el)
    // Removed right after its first update asked for the key, in the same task. Not
    // through a helper: awaiting one would let an already-made page key in first.
    while (!el.hasUpdated) await null
    el.remove()
    await el.updateComplete
    expect(el.swarm).to.equal(undefined)
    expect(el.hasAttribute('state')).to.equal(false)
  })

  it('reports a key pair WebCrypto could not make with p2p-error, and makes no swarm', async () => {
    const room = freshRoom()
    // The page key is taken in this room, so the element asks WebCrypto for a fresh one.
    const holder = await fixture<P2PSwarmElement>(html`<p2p-swarm hub=${hubUrl()} room=${room}></p2p-swarm>`)
    const refused = new DOMException('no key for you', 'OperationError')
    Object.defineProperty(crypto.subtle, 'generateKey', {configurable: true, value: () => Promise.reject(refused)})
    try {
      const el = Object.assign(document.createElement('p2p-swarm'), {hub: hubUrl(), room})
      const failed = oneEvent(el, 'p2p-error') as Promise<P2PErrorEvent>
      document.body.append(el)
      const {detail: {error}} = await failed
      expect(error.code).to.equal('ERR_CONNECTION_FAILED')
      expect(error.cause).to.equal(refused)
      expect(el.swarm).to.equal(undefined)
      el.remove()
    } finally {
      delete (crypto.subtle as {generateKey?: unknown}).generateKey
      holder.remove()
    }
  })

  it('uses the identity property at once, over the page key', async () => {
    const identity = await createIdentity()
    const el = Object.assign(document.createElement('p2p-swarm'), {hub: hubUrl(), room: freshRoom(), identity})
    document.body.append(el)
    await el.updateComplete
    expect(el.swarm!.identity).to.equal(identity)
    el.remove()
  })

  it('reads ice-servers from markup as JSON', async () => {
    const el = await fixture<P2PSwarmElement>(html`<p2p-swarm ice-servers='[{"urls":"turn:127.0.0.1:3478","username":"u","credential":"p"}]' ice-transport-policy="relay"></p2p-swarm>`)
    expect(el.iceServers).to.deep.equal([{urls: 'turn:127.0.0.1:3478', username: 'u', credential: 'p'}])
    expect(el.iceTransportPolicy).to.equal('relay')
  })

  it('shows an accessible empty state outside a room', async () => {
    const list = await fixture<P2PPeersElement>(html`<p2p-peers></p2p-peers>`)
    expect(list.shadowRoot!.querySelector('[part=empty]')!.textContent).to.contain('Not in a room')
    await expect(list).to.be.accessible()
  })
})
