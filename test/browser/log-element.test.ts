import {expect, fixture, html} from '@open-wc/testing'
import '../../src/index.js'
import type {P2PSwarmElement} from '../../src/elements/p2p-swarm/p2p-swarm.js'
import type {P2PLogElement} from '../../src/elements/p2p-log/p2p-log.js'
import type {P2PFeedElement} from '../../src/elements/p2p-feed/p2p-feed.js'
import type {P2PError} from '../../src/core/errors.js'
import {KeyPairIdentity} from '../../src/core/crypto/seed-identity.js'
import {pageLogIdentity} from '../../src/core/swarm/page-identity.js'
import {LogAppendEvent, type LogConflictEvent} from '../../src/events/log-events.js'
import {EntryKind, createEntry, jsonValue} from '../../src/core/log/entry.js'
import {P2PErrorEvent} from '../../src/events/error-event.js'
import {freshRoom, hubUrl} from './helpers/swarm.js'

// Two peers in one page hold two keys: each element is given its own (the page key
// would give both the same log), and with it its own IndexedDB database.
const peer = (room: string, identity = new KeyPairIdentity()) => html`
  <p2p-swarm hub=${hubUrl()} room=${room}>
    <p2p-log name="chat" .identity=${identity}>
      <p2p-feed><template><p><b data-field="author"></b> <span data-field="text"></span></p></template></p2p-feed>
      <form><input name="text" aria-label="Message"><button>send</button></form>
    </p2p-log>
  </p2p-swarm>`

async function open(room: string): Promise<P2PLogElement> {
  const swarm = await fixture<P2PSwarmElement>(peer(room))
  await swarm.updateComplete
  const log = swarm.querySelector('p2p-log')!
  await log.updateComplete
  return log
}

function texts(log: P2PLogElement): string[] {
  return [...log.querySelectorAll('p2p-feed span[data-field=text]')].map(s => s.textContent!)
}

/** Resolves once `check` holds, checking again after each entry stored and each change of progress. */
function when(target: P2PLogElement, check: () => boolean, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), 30_000)
    const test = async () => {
      await target.querySelector<P2PFeedElement>('p2p-feed')?.updateComplete
      if (!check()) return
      clearTimeout(timer)
      target.removeEventListener('p2p-log-append', test)
      target.removeEventListener('p2p-log-progress', test)
      resolve()
    }
    target.addEventListener('p2p-log-append', test)
    target.addEventListener('p2p-log-progress', test)
    void test()
  })
}

/** The next p2p-log-append of the element's own log (entries replicated into the room's other logs fire it too). */
function ownAppend(target: P2PLogElement): Promise<LogAppendEvent> {
  return new Promise(resolve => {
    const own = (event: LogAppendEvent) => {
      if (event.detail.log !== target.log) return
      target.removeEventListener('p2p-log-append', own)
      resolve(event)
    }
    target.addEventListener('p2p-log-append', own)
  })
}

function send(log: P2PLogElement, text: string): void {
  const form = log.querySelector('form')!
  form.querySelector<HTMLInputElement>('[name=text]')!.value = text
  form.requestSubmit()
}

describe('<p2p-log>', () => {
  it('a form appends to this page\'s log; the entry reaches the other peer\'s feed through the room, and both say synced', async () => {
    const room = freshRoom()
    const [a, b] = [await open(room), await open(room)]
    const appended = ownAppend(a)
    send(a, 'hello, log')
    expect((await appended).detail.entries.map(e => e.seq)).to.deep.equal([a.log!.length - 1])
    await when(b, () => texts(b).includes('hello, log') && b.synced, 'the entry in b\'s feed')
    await when(a, () => texts(a).includes('hello, log'), 'the entry in a\'s feed')
    // Shown with its author's key, and as a's own only in a.
    expect(b.querySelector('p2p-feed b')!.textContent).to.equal(a.log!.address.slice(0, 8))
    expect(a.querySelector('p2p-feed p')!.hasAttribute('data-local')).to.equal(true)
    expect(b.querySelector('p2p-feed p')!.hasAttribute('data-local')).to.equal(false)
    // The sync indicator, as attributes for CSS.
    expect(b.hasAttribute('synced')).to.equal(true)
    expect(b.getAttribute('behind')).to.equal('0')
    expect(b.room!.logs().map(l => l.address)).to.include(a.log!.address)
  })

  it('a peer that joins late gets the history first, in order, then live entries', async () => {
    const room = freshRoom()
    const a = await open(room)
    await a.log!.append([{text: 'one'}, {text: 'two'}, {text: 'three'}])
    const b = await open(room)
    await when(b, () => texts(b).length === 3, 'the history in b\'s feed')
    expect(texts(b)).to.deep.equal(['one', 'two', 'three'])
    send(a, 'four')
    await when(b, () => texts(b).length === 4, 'the live entry in b\'s feed')
    expect(texts(b)).to.deep.equal(['one', 'two', 'three', 'four'])
  })

  it('the feed merges the room\'s logs by entry time', async () => {
    const room = freshRoom()
    const [a, b] = [await open(room), await open(room)]
    // Written one after the other, by two pages: every feed shows them in that order.
    for (const [log, text] of [[a, 'a1'], [b, 'b1'], [a, 'a2'], [b, 'b2']] as const) {
      // Stored in its own log: its time is taken.
      const stored = ownAppend(log)
      send(log, text)
      await stored
      // The next entry's clock reads a later millisecond.
      await new Promise(resolve => setTimeout(resolve, 2))
    }
    await when(a, () => texts(a).length === 4, 'four entries in a\'s feed')
    await when(b, () => texts(b).length === 4, 'four entries in b\'s feed')
    expect(texts(a)).to.deep.equal(['a1', 'b1', 'a2', 'b2'])
    expect(texts(b)).to.deep.equal(['a1', 'b1', 'a2', 'b2'])
  })

  it('history written by a page now gone reaches a newcomer from a peer that kept it', async () => {
    const room = freshRoom()
    const [a, b] = [await open(room), await open(room)]
    await a.log!.append([{text: 'before'}, {text: 'a left'}])
    await when(b, () => texts(b).length === 2, 'a\'s entries in b\'s feed')
    a.closest('p2p-swarm')!.remove()
    const c = await open(room)
    await when(c, () => texts(c).length === 2 && c.synced, 'a\'s entries in c\'s feed, from b')
    expect(texts(c)).to.deep.equal(['before', 'a left'])
  })

  it('without an identity, name opens the page\'s key for the room and name, and its entries are there when the element comes back', async () => {
    const room = freshRoom()
    const make = () => fixture<P2PSwarmElement>(html`
      <p2p-swarm hub=${hubUrl()} room=${room}><p2p-log name="notes"><p2p-feed></p2p-feed></p2p-log></p2p-swarm>`)
    let swarm = await make()
    await swarm.updateComplete
    let log = swarm.querySelector('p2p-log')!
    await log.updateComplete
    const expected = (await pageLogIdentity(`${room}\nnotes`)).publicKey
    expect(log.log!.key).to.deep.equal(expected)
    await log.log!.append({text: 'kept'})
    swarm.remove()
    swarm = await make()
    await swarm.updateComplete
    log = swarm.querySelector('p2p-log')!
    await log.updateComplete
    expect(log.log!.key).to.deep.equal(expected)
    expect(log.source!.items.map(item => (item.value as {text: string}).text)).to.deep.equal(['kept'])
  })

  it('an element moved in the DOM opens its log again once the old opening closed it, and writes on', async () => {
    const log = await open(freshRoom())
    await log.log!.append({text: 'first'})
    const errors: P2PError[] = []
    log.addEventListener('p2p-error', event => errors.push(event.detail.error))
    const swarm = log.closest('p2p-swarm')!
    swarm.append(log)
    await log.updateComplete
    await log.log!.append({text: 'second'})
    expect(log.source!.items.map(item => (item.value as {text: string}).text)).to.deep.equal(['first', 'second'])
    expect(errors).to.deep.equal([])
  })

  it('key opens another page\'s log by its address, read-only, with its entries', async () => {
    const room = freshRoom()
    const a = await open(room)
    await a.log!.append({text: 'by address'})
    const swarm = await fixture<P2PSwarmElement>(html`
      <p2p-swarm hub=${hubUrl()} room=${room}>
        <p2p-log key=${a.log!.address} .identity=${new KeyPairIdentity()}><p2p-feed></p2p-feed></p2p-log>
      </p2p-swarm>`)
    await swarm.updateComplete
    const reader = swarm.querySelector('p2p-log')!
    await reader.updateComplete
    await when(reader, () => reader.log!.length === a.log!.length, 'a\'s entries at the reader')
    expect(reader.log!.writable).to.equal(false)
    expect(reader.source!.items.map(item => (item.value as {text: string}).text)).to.deep.equal(['by address'])
    expect(reader.room!.logs()).to.have.length(1)
  })

  it('key opened before its open log reached the page: its form fails with ERR_NOT_A_WRITER, then appends once the Init arrives', async () => {
    const room = freshRoom()
    const owner = new KeyPairIdentity()
    const address = Array.from(owner.publicKey, b => b.toString(16).padStart(2, '0')).join('')
    const feed = html`<p2p-feed><template><p><span data-field="text"></span></p></template></p2p-feed>`
    const form = html`<form><input name="text" aria-label="Message"><button>send</button></form>`
    const readerSwarm = await fixture<P2PSwarmElement>(html`
      <p2p-swarm hub=${hubUrl()} room=${room}><p2p-log key=${address} .identity=${new KeyPairIdentity()}>${feed}${form}</p2p-log></p2p-swarm>`)
    await readerSwarm.updateComplete
    const reader = readerSwarm.querySelector('p2p-log')!
    await reader.updateComplete
    expect(reader.log!.length).to.equal(0)
    const refused = new Promise<P2PErrorEvent>(resolve => reader.addEventListener('p2p-error', resolve as EventListener, {once: true}))
    send(reader, 'too early')
    expect((await refused).detail.error.code).to.equal('ERR_NOT_A_WRITER')
    const ownerSwarm = await fixture<P2PSwarmElement>(html`
      <p2p-swarm hub=${hubUrl()} room=${room}><p2p-log name="wiki" open .identity=${owner}>${feed}</p2p-log></p2p-swarm>`)
    await ownerSwarm.updateComplete
    const ownerLog = ownerSwarm.querySelector('p2p-log')!
    await ownerLog.updateComplete
    expect(ownerLog.log!.address).to.equal(address)
    await when(reader, () => reader.log!.writable, 'the open log\'s Init at the reader')
    const errors: string[] = []
    reader.addEventListener('p2p-error', event => errors.push((event as P2PErrorEvent).detail.error.code))
    send(reader, 'through the link')
    await when(ownerLog, () => texts(ownerLog).includes('through the link'), 'the reader\'s entry at the owner')
    expect(texts(reader)).to.deep.equal(['through the link'])
    expect(errors).to.deep.equal([])
  })

  it('writers and open, from the owner\'s markup, admit keys and open the log it creates', async () => {
    const writer = new KeyPairIdentity()
    const swarm = await fixture<P2PSwarmElement>(html`
      <p2p-swarm hub=${hubUrl()} room=${freshRoom()}>
        <p2p-log name="board" open writers=${Array.from(writer.publicKey, b => b.toString(16).padStart(2, '0')).join('')}
          .identity=${new KeyPairIdentity()}></p2p-log>
      </p2p-swarm>`)
    await swarm.updateComplete
    const log = swarm.querySelector('p2p-log')!
    await log.updateComplete
    const key = Array.from(writer.publicKey, b => b.toString(16).padStart(2, '0')).join('')
    await when(log, () => log.log!.writers().has(key), 'the writer admitted')
    expect(log.log!.open).to.equal(true)
  })

  it('behind counts the entries a peer holds that this page lacks, p2p-log-progress says so, and synced follows once they are in', async () => {
    const room = freshRoom()
    const a = await open(room)
    await a.log!.append(Array.from({length: 300}, (_, i) => ({text: `m${i}`})))
    const seen: Array<{behind: number, synced: boolean}> = []
    const b = document.createElement('p2p-log')
    b.name = 'chat'
    b.identity = new KeyPairIdentity()
    b.addEventListener('p2p-log-progress', event => seen.push(event.detail))
    const swarm = await fixture<P2PSwarmElement>(html`<p2p-swarm hub=${hubUrl()} room=${room}></p2p-swarm>`)
    swarm.append(b)
    await when(b, () => b.room?.logs().some(l => l.address === a.log!.address && l.length === a.log!.length) === true && b.synced, 'a\'s log at b, synced')
    // a's vector comes before its entries: b was behind by what a holds, then caught up.
    expect(Math.max(...seen.map(p => p.behind))).to.be.greaterThan(0)
    expect(seen.at(-1)).to.deep.equal({behind: 0, synced: true})
    expect(b.getAttribute('behind')).to.equal('0')
    expect(b.hasAttribute('synced')).to.equal(true)
  })

  it('a fork of one of its logs fires p2p-log-conflict with the evidence', async () => {
    const identity = new KeyPairIdentity()
    const swarm = await fixture<P2PSwarmElement>(html`
      <p2p-swarm hub=${hubUrl()} room=${freshRoom()}><p2p-log name="chat" .identity=${identity}></p2p-log></p2p-swarm>`)
    await swarm.updateComplete
    const element = swarm.querySelector('p2p-log')!
    await element.updateComplete
    const log = element.log!
    const first = await log.append({text: 'one'})
    // The same key signs another entry at the same sequence number: what a forked tab would send.
    const other = await createEntry(log.key, {
      author: first.author, seq: first.seq, prev: first.prev, links: [], time: first.time, kind: EntryKind.Json, value: jsonValue({text: 'two'}),
    }, identity)
    const conflict = new Promise<LogConflictEvent>(resolve => element.addEventListener('p2p-log-conflict', resolve, {once: true}))
    await log.add([other], 'test')
    const {detail} = await conflict
    expect(detail.log).to.equal(log)
    expect(detail.evidence.seq).to.equal(first.seq)
  })

  it('a key that is not 64 hex characters is a p2p-error, and no log opens', async () => {
    const swarm = await fixture<P2PSwarmElement>(html`<p2p-swarm hub=${hubUrl()} room=${freshRoom()}></p2p-swarm>`)
    await swarm.updateComplete
    const log = document.createElement('p2p-log')
    log.key = 'not-a-key'
    const failed = new Promise<P2PErrorEvent>(resolve => log.addEventListener('p2p-error', resolve as EventListener, {once: true}))
    swarm.append(log)
    const error: P2PError = (await failed).detail.error
    expect(error.code).to.equal('ERR_INVALID_ARGUMENT')
    expect(log.log).to.equal(undefined)
  })
})
