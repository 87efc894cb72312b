// Elements that read a context (<p2p-feed>; <p2p-peers>, <p2p-gossip>, <p2p-log>, <p2p-file-drop>) whose provider
// is defined after them: element files loaded in any order, or a provider's file that
// comes seconds later. Each test defines the kit's classes under tag names of its own,
// so the order of definition is the test's, whatever else the page has defined.
import {expect, fixture} from '@open-wc/testing'
import {unsafeStatic, html as staticHtml} from 'lit/static-html.js'
import '../../src/p2p-swarm.js'
import {P2PSwarmElement} from '../../src/elements/p2p-swarm/p2p-swarm.js'
import {P2PLogElement} from '../../src/elements/p2p-log/p2p-log.js'
import {P2PFeedElement} from '../../src/elements/p2p-feed/p2p-feed.js'
import {P2PPeersElement} from '../../src/elements/p2p-peers/p2p-peers.js'
import {P2PGossipElement} from '../../src/elements/p2p-gossip/p2p-gossip.js'
import {P2PFileDropElement} from '../../src/elements/p2p-file-drop/p2p-file-drop.js'
import {freshRoom, hubUrl, until} from './helpers/swarm.js'

let defined = 0
/** A tag name no test has defined yet. */
const newTag = (name: string) => `${name}-${++defined}`

/** Resolves once the feed shows `text` in a row, checked on every change of its rows; fails naming it after 20 s. */
function shown(feed: Element, text: string): Promise<void> {
  const has = () => [...feed.querySelectorAll('[data-field=text]')].some(n => n.textContent === text)
  return new Promise((resolve, reject) => {
    if (has()) return resolve()
    const timer = setTimeout(() => {
      observer.disconnect()
      reject(new Error(`the feed never showed "${text}"`))
    }, 20_000)
    const observer = new MutationObserver(() => {
      if (!has()) return
      observer.disconnect()
      clearTimeout(timer)
      resolve()
    })
    observer.observe(feed, {childList: true, subtree: true, characterData: true})
  })
}

function send(form: HTMLFormElement, text: string): void {
  form.querySelector<HTMLInputElement>('[name=text]')!.value = text
  form.requestSubmit()
}

/** The swarm page with a log of `logTag` holding a feed of `feedTag` and a form. */
function page(room: string, logTag: string, feedTag: string) {
  const log = unsafeStatic(logTag)
  const feed = unsafeStatic(feedTag)
  return staticHtml`
    <p2p-swarm hub=${hubUrl()} room=${room}>
      <${log} name="chat">
        <${feed}><template><p><span data-field="text"></span></p></template></${feed}>
        <form><input name="text" aria-label="Message"><button>send</button></form>
      </${log}>
    </p2p-swarm>`
}

/** Writes `text` to this page's log "chat" of `room` and closes it: the history a later log element reads. */
async function writeHistory(room: string, text: string): Promise<void> {
  const logTag = newTag('history-log')
  const feedTag = newTag('history-feed')
  customElements.define(logTag, class extends P2PLogElement {})
  customElements.define(feedTag, class extends P2PFeedElement {})
  const swarm = await fixture<P2PSwarmElement>(page(room, logTag, feedTag))
  await swarm.updateComplete
  // Open once this resolves: a form sent before has no log to append to.
  await swarm.querySelector<P2PLogElement>(logTag)!.updateComplete
  const written = shown(swarm.querySelector(feedTag)!, text)
  send(swarm.querySelector('form')!, text)
  await written
  swarm.remove()
}

describe('context consumers defined before their provider', () => {
  it('a feed defined before its <p2p-log> renders the log\'s history, then its live entries', async () => {
    const room = freshRoom()
    await writeHistory(room, 'written before')
    const logTag = newTag('late-log')
    const feedTag = newTag('early-feed')
    customElements.define(feedTag, class extends P2PFeedElement {})
    const swarm = await fixture<P2PSwarmElement>(page(room, logTag, feedTag))
    const feed = swarm.querySelector<P2PFeedElement>(feedTag)!
    await feed.updateComplete
    expect(feed.source, 'no provider yet').to.equal(undefined)

    customElements.define(logTag, class extends P2PLogElement {})
    await shown(feed, 'written before')
    const live = shown(feed, 'written after')
    send(swarm.querySelector('form')!, 'written after')
    await live
    expect(feed.size).to.equal(2)
  })

  it('a feed renders a <p2p-log> defined only once its swarm is online', async () => {
    const room = freshRoom()
    await writeHistory(room, 'from storage')
    const logTag = newTag('later-log')
    const feedTag = newTag('waiting-feed')
    customElements.define(feedTag, class extends P2PFeedElement {})
    const swarm = await fixture<P2PSwarmElement>(page(room, logTag, feedTag))
    const feed = swarm.querySelector<P2PFeedElement>(feedTag)!
    await until(swarm.swarm!, ['update'], () => swarm.swarm!.state === 'online', 'the swarm online')
    await feed.updateComplete
    expect(feed.size, 'nothing shown before the log is defined').to.equal(0)

    customElements.define(logTag, class extends P2PLogElement {})
    await shown(feed, 'from storage')
    const live = shown(feed, 'live')
    send(swarm.querySelector('form')!, 'live')
    await live
  })

  it('<p2p-peers>, <p2p-gossip>, <p2p-log> and <p2p-file-drop> defined before their <p2p-swarm> get its swarm', async () => {
    const swarmTag = newTag('late-swarm')
    const bases: Array<typeof HTMLElement> = [P2PPeersElement, P2PGossipElement, P2PLogElement, P2PFileDropElement]
    const readers = bases.map(base => {
      const tag = newTag('early-reader')
      customElements.define(tag, class extends base {})
      return tag
    })
    const swarmName = unsafeStatic(swarmTag)
    const root = await fixture<P2PSwarmElement>(staticHtml`
      <${swarmName} hub=${hubUrl()} room=${freshRoom()}>
        ${readers.map(tag => staticHtml`<${unsafeStatic(tag)} name="chat"></${unsafeStatic(tag)}>`)}
      </${swarmName}>`)
    type Reader = P2PPeersElement | P2PGossipElement | P2PLogElement | P2PFileDropElement
    const elements = readers.map(tag => root.querySelector<Reader>(tag)!)
    expect(elements.map(el => el.swarm)).to.deep.equal([undefined, undefined, undefined, undefined])

    customElements.define(swarmTag, class extends P2PSwarmElement {})
    // Each reader updates when its swarm property is set; fails naming those without one after 20 s.
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no swarm in ${elements.filter(el => !el.swarm).map(el => el.localName).join(', ')}`)), 20_000)
      const check = () => {
        if (!elements.every(el => el.swarm)) return
        clearTimeout(timer)
        resolve()
      }
      for (const el of elements) el.addController({hostUpdated: check})
      check()
    })
    expect(root.swarm).to.not.equal(undefined)
    for (const el of elements) expect(el.swarm, el.localName).to.equal(root.swarm)
  })
})
