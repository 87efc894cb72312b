import {expect, fixture, html, oneEvent} from '@open-wc/testing'
import '../../src/index.js'
import type {P2PSwarmElement} from '../../src/elements/p2p-swarm/p2p-swarm.js'
import type {P2PGossipElement} from '../../src/elements/p2p-gossip/p2p-gossip.js'
import type {P2PFeedElement} from '../../src/elements/p2p-feed/p2p-feed.js'
import type {Gossip} from '../../src/core/gossip/router.js'
import type {P2PError} from '../../src/core/errors.js'
import {GossipMessageEvent} from '../../src/events/gossip-message-event.js'
import {P2PErrorEvent} from '../../src/events/error-event.js'
import {freshRoom, hubUrl, until} from './helpers/swarm.js'

const app = (topic: string) => html`
  <p2p-gossip topic=${topic}>
    <p2p-feed><template><p><b data-field="author"></b> <span data-field="text"></span></p></template></p2p-feed>
    <form><input name="text" aria-label="Message"><button>send</button></form>
  </p2p-gossip>`

/** Two peers of one room in one page, each with the same chat app (one per topic). */
async function twoPeers(topics = ['chat']) {
  const room = freshRoom()
  const root = await fixture<HTMLDivElement>(html`
    <div>
      <p2p-swarm id="a" hub=${hubUrl()} room=${room}>${topics.map(app)}</p2p-swarm>
      <p2p-swarm id="b" hub=${hubUrl()} room=${room}>${topics.map(app)}</p2p-swarm>
    </div>`)
  const a = root.querySelector<P2PSwarmElement>('#a')!
  const b = root.querySelector<P2PSwarmElement>('#b')!
  const gossipOf = (swarm: P2PSwarmElement, topic = topics[0]) => swarm.querySelector<P2PGossipElement>(`p2p-gossip[topic="${topic}"]`)!
  // A swarm comes once the page's key is made (WebCrypto, asynchronously), and each
  // <p2p-gossip> makes its router when its swarm comes.
  await Promise.all([a.updateComplete, b.updateComplete])
  await Promise.all([...root.querySelectorAll<P2PGossipElement>('p2p-gossip')].map(gossip => gossip.updateComplete))
  const [ga, gb] = [gossipOf(a).gossip!, gossipOf(b).gossip!]
  // Linked both ways: each router counts the other peer as a link.
  await until([ga, gb], ['update'], () => ga.stats.links === 1 && gb.stats.links === 1, 'gossip linked both ways')
  return {root, a, b, gossipOf}
}

function feedTexts(gossip: P2PGossipElement): string[] {
  const feed = gossip.querySelector<P2PFeedElement>('p2p-feed')!
  return [...feed.querySelectorAll('span[data-field=text]')].map(s => s.textContent!)
}

/** Types `text` into the gossip's form and submits it, as a user does. */
function send(gossip: P2PGossipElement, text: string) {
  const form = gossip.querySelector('form')!
  form.querySelector<HTMLInputElement>('[name=text]')!.value = text
  form.requestSubmit()
}

/** Resolves with the next message event on `target` whose text is `text`. */
function messageWith(target: EventTarget, text: string): Promise<GossipMessageEvent> {
  return new Promise(resolve => {
    const listener = (event: Event) => {
      const e = event as GossipMessageEvent
      if ((e.detail.item.value as {text?: string}).text !== text) return
      target.removeEventListener('p2p-gossip-message', listener)
      resolve(e)
    }
    target.addEventListener('p2p-gossip-message', listener)
  })
}

describe('<p2p-gossip> with <p2p-feed> and a form', () => {
  it('a form submitted in one peer shows the message in both feeds', async () => {
    const {root, a, b, gossipOf} = await twoPeers()
    const arrived = messageWith(gossipOf(b), 'hello, room')
    const echoed = messageWith(gossipOf(a), 'hello, room')
    send(gossipOf(a), 'hello, room')
    await Promise.all([arrived, echoed])
    for (const swarm of [a, b]) await swarm.querySelector('p2p-feed')!.updateComplete
    expect(feedTexts(gossipOf(a))).to.deep.equal(['hello, room'])
    expect(feedTexts(gossipOf(b))).to.deep.equal(['hello, room'])
    // Signed by a's key, shown short in both feeds; only a's copy is its own.
    const authorShown = (swarm: P2PSwarmElement) => swarm.querySelector('p2p-feed b')!.textContent
    expect(authorShown(b)).to.equal(a.swarm!.publicKey.slice(0, 8))
    expect(authorShown(a)).to.equal(a.swarm!.publicKey.slice(0, 8))
    expect(a.querySelector('p2p-feed p')!.hasAttribute('data-local')).to.equal(true)
    expect(b.querySelector('p2p-feed p')!.hasAttribute('data-local')).to.equal(false)
    expect(gossipOf(a).querySelector('input')!.value).to.equal('')
    root.remove()
  })

  it('fires p2p-gossip-message, bubbling and composed, for own and received messages', async () => {
    const {root, a, b, gossipOf} = await twoPeers()
    const atB = messageWith(root, 'ping').then(e => e)
    const fromB = new Promise<GossipMessageEvent>(resolve => b.addEventListener('p2p-gossip-message', resolve, {once: true}))
    const fromA = new Promise<GossipMessageEvent>(resolve => a.addEventListener('p2p-gossip-message', resolve, {once: true}))
    send(gossipOf(a), 'ping')
    const [own, received] = await Promise.all([fromA, fromB, atB])
    for (const event of [own, received]) {
      expect(event).to.be.instanceOf(GossipMessageEvent)
      expect(event.bubbles && event.composed).to.equal(true)
      expect(event.detail.topic).to.equal('chat')
      expect(event.detail.item.value).to.deep.equal({text: 'ping'})
      expect(event.detail.item.author).to.equal(a.swarm!.publicKey)
    }
    expect(own.detail.item.local).to.equal(true)
    expect(received.detail.item.local).to.equal(false)
    expect(own.detail.item.id).to.equal(received.detail.item.id)
    root.remove()
  })

  it('a submission with every field blank publishes nothing', async () => {
    const {root, b, gossipOf} = await twoPeers()
    const router = gossipOf(b).gossip!
    const seen: unknown[] = []
    root.addEventListener('p2p-gossip-message', e => seen.push(e.detail.item.value))
    send(gossipOf(b), '   ')
    send(gossipOf(b), '')
    expect(router.stats.published).to.equal(0)
    // A real message afterwards is the first and only one anybody sees.
    const arrived = messageWith(root.querySelector('#a')!, 'real')
    send(gossipOf(b), 'real')
    await arrived
    expect(router.stats.published).to.equal(1)
    expect(seen).to.deep.equal([{text: 'real'}, {text: 'real'}])
    root.remove()
  })

  it('topics of one swarm share one router and do not see each other\'s messages', async () => {
    const {root, a, b, gossipOf} = await twoPeers(['chat', 'news'])
    expect(gossipOf(a, 'chat').gossip).to.equal(gossipOf(a, 'news').gossip)
    expect(gossipOf(a, 'chat').gossip).to.not.equal(gossipOf(b, 'chat').gossip)
    const news = messageWith(gossipOf(b, 'news'), 'headline')
    const chat = messageWith(gossipOf(b, 'chat'), 'just chatting')
    send(gossipOf(a, 'news'), 'headline')
    send(gossipOf(a, 'chat'), 'just chatting')
    const [newsEvent, chatEvent] = await Promise.all([news, chat])
    expect(newsEvent.detail.topic).to.equal('news')
    expect(chatEvent.detail.topic).to.equal('chat')
    for (const swarm of [a, b]) for (const f of swarm.querySelectorAll('p2p-feed')) await f.updateComplete
    for (const swarm of [a, b]) {
      expect(feedTexts(gossipOf(swarm, 'news'))).to.deep.equal(['headline'])
      expect(feedTexts(gossipOf(swarm, 'chat'))).to.deep.equal(['just chatting'])
    }
    root.remove()
  })

  it('removing the last <p2p-gossip> of a swarm ends its router and leaves no listener behind', async () => {
    const {root, a, gossipOf} = await twoPeers(['chat', 'news'])
    const swarm = a.swarm!
    const router: Gossip = gossipOf(a, 'chat').gossip!
    const connectListeners = swarm.listenerCount('connect')
    const disconnectListeners = swarm.listenerCount('disconnect')
    const chat = gossipOf(a, 'chat')
    const news = gossipOf(a, 'news')
    const chatSource = chat.source!
    chat.remove()
    expect(chat.source).to.equal(undefined)
    expect(chat.gossip).to.equal(undefined)
    expect(router.destroyed).to.equal(false)
    expect(router.topics).to.deep.equal(['news'])
    const refused = await chatSource.publish({text: 'after removal'}).then(() => null, (err: P2PError) => err)
    expect(refused?.code).to.equal('ERR_DESTROYED')
    news.remove()
    expect(router.destroyed).to.equal(true)
    // attachGossip's two listeners are gone; the swarm's own remain.
    expect(swarm.listenerCount('connect')).to.equal(connectListeners - 1)
    expect(swarm.listenerCount('disconnect')).to.equal(disconnectListeners - 1)
    // Back in the page, it holds a fresh router.
    a.append(chat)
    await chat.updateComplete
    expect(chat.gossip).to.exist
    expect(chat.gossip).to.not.equal(router)
    expect(swarm.listenerCount('connect')).to.equal(connectListeners)
    root.remove()
    expect(chat.gossip).to.equal(undefined)
  })

  it('follows the swarm: a new room means a new router, the old one ended', async () => {
    const {root, a, gossipOf} = await twoPeers()
    const gossip = gossipOf(a)
    const before = gossip.gossip!
    a.room = freshRoom()
    await a.updateComplete
    await gossip.updateComplete
    expect(before.destroyed).to.equal(true)
    expect(gossip.gossip).to.exist.and.not.equal(before)
    expect(gossip.swarm).to.equal(a.swarm)
    root.remove()
  })

  it('does not fire p2p-gossip-message when properties are set from code', async () => {
    const {root, a, b, gossipOf} = await twoPeers(['chat', 'elsewhere'])
    // Something to fire about: messages on both topics, from both peers, before the sets.
    const history = [
      messageWith(gossipOf(a, 'chat'), 'from b'), messageWith(gossipOf(b, 'chat'), 'from a'),
      messageWith(gossipOf(a, 'elsewhere'), 'before, elsewhere'),
    ]
    send(gossipOf(a, 'chat'), 'from a')
    send(gossipOf(b, 'chat'), 'from b')
    send(gossipOf(b, 'elsewhere'), 'before, elsewhere')
    await Promise.all(history)
    const gossip = gossipOf(a, 'chat')
    const fired: string[] = []
    gossip.addEventListener('p2p-gossip-message', e => fired.push((e.detail.item.value as {text: string}).text))
    gossip.topic = 'elsewhere'
    gossip.limit = 10
    await gossip.updateComplete
    expect(gossip.source!.topic).to.equal('elsewhere')
    expect(gossip.source!.limit).to.equal(10)
    // The sentinel: a message from the network on the new topic, after the sets; any event
    // the sets caused came before it.
    const sentinel = messageWith(gossip, 'sentinel')
    send(gossipOf(b, 'elsewhere'), 'sentinel')
    await sentinel
    expect(fired).to.deep.equal(['sentinel'])
    root.remove()
  })

  it('reports an invalid topic with p2p-error and provides no source', async () => {
    const el = await fixture<P2PSwarmElement>(html`<p2p-swarm hub=${hubUrl()} room=${freshRoom()}></p2p-swarm>`)
    const gossip = document.createElement('p2p-gossip')
    gossip.topic = 'x'.repeat(300)
    const error = oneEvent(el, 'p2p-error') as Promise<P2PErrorEvent>
    el.append(gossip)
    expect((await error).detail.error.code).to.equal('ERR_INVALID_ARGUMENT')
    expect(gossip.source).to.equal(undefined)
    el.remove()
  })

  it('provides no source outside a swarm or without a topic', async () => {
    const lone = await fixture<P2PGossipElement>(html`<p2p-gossip topic="chat"></p2p-gossip>`)
    expect(lone.source).to.equal(undefined)
    const el = await fixture<P2PSwarmElement>(html`<p2p-swarm hub=${hubUrl()} room=${freshRoom()}><p2p-gossip></p2p-gossip></p2p-swarm>`)
    expect(el.querySelector('p2p-gossip')!.source).to.equal(undefined)
    el.remove()
  })
})
