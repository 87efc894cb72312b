// <p2p-kv> and <p2p-kv-value> in a real page: two replicas of one open log in two
// IndexedDB databases (browser-level), replicated live by LogPeer over a real mux on an
// in-memory transport, each under an element that provides its log as <p2p-log> does.
import {expect, fixture, html} from '@open-wc/testing'
import {BrowserLevel} from 'browser-level'
import '../../src/index.js'
import type {P2PKVElement} from '../../src/elements/p2p-kv/p2p-kv.js'
import type {P2PKvValueElement} from '../../src/elements/p2p-kv-value/p2p-kv-value.js'
import {KeyPairIdentity} from '../../src/core/crypto/seed-identity.js'
import type {Identity} from '../../src/core/crypto/identity.js'
import {Log} from '../../src/core/log/log.js'
import {LogPeer} from '../../src/core/log/replicate.js'
import {logProtocol} from '../../src/core/log/swarm.js'
import {Mux, createMemoryTransportPair} from '../../src/core/mux/index.js'
import type {P2PError} from '../../src/core/errors.js'
import type {KvChangeEvent} from '../../src/events/kv-events.js'
import {all} from '../shared/log-helpers.js'
import {readValue} from '../../src/core/log/entry.js'
import {fromHex} from '../../src/core/bytes.js'
import {until} from '../shared/until.js'
import './helpers/log-holder.js'
import type {TestLogHolder} from './helpers/log-holder.js'
import {freshRoom, hubUrl} from './helpers/swarm.js'
import type {P2PSwarmElement} from '../../src/elements/p2p-swarm/p2p-swarm.js'

const quiet = {pingInterval: 0, timeout: 0}
let opened: Array<{log: Log, db: BrowserLevel<string, Uint8Array>, location: string}> = []
const cuts: Array<() => void> = []

/**
 * A replica of `owner`'s log written as `identity`, in a database of its own: the owner's
 * own (open to every key unless `open` is false), or one that starts from `from`'s entries.
 */
async function replica(owner: Identity, identity: Identity, from?: Log, open = true): Promise<Log> {
  const location = `p2p-kv-element-${Math.random().toString(36).slice(2)}`
  const db = new BrowserLevel<string, Uint8Array>(location)
  const log = new Log({db, key: owner.publicKey, identity, open: from === undefined && open})
  await log.ready()
  // Its Init (which says the log is open), so this replica may write.
  if (from) await log.add(await all(from), 'owner')
  opened.push({log, db, location})
  return log
}

/** Live replication between two replicas until the test ends. */
function link(x: Log, y: Log): void {
  const [tx, ty] = createMemoryTransportPair()
  const [mx, my] = [new Mux(tx, quiet), new Mux(ty, quiet)]
  const channel = logProtocol(x.address)
  new LogPeer({log: x, source: 'y', open: handlers => mx.channel(channel, handlers)})
  new LogPeer({log: y, source: 'x', open: handlers => my.channel(channel, handlers)})
  cuts.push(() => mx.destroy())
}

async function kvOn(log: Log, inner = html``): Promise<P2PKVElement> {
  const holder = await fixture<TestLogHolder>(html`<test-log-holder .log=${log}><p2p-kv>${inner}</p2p-kv></test-log-holder>`)
  const element = holder.querySelector('p2p-kv')!
  await until(() => element.kv !== undefined, 'the KV open')
  // And the table's code, loaded on demand, in.
  await element.updateComplete
  return element
}

const row = (element: P2PKVElement, key: string) => element.shadowRoot!.querySelector<HTMLTableRowElement>(`tr[data-key="${CSS.escape(key)}"]`)
const shown = (element: P2PKVElement, key: string) => [...row(element, key)?.querySelectorAll('[part=value] code') ?? []].map(code => code.textContent)

/** Fills and submits the table's add form. */
function add(element: P2PKVElement, key: string, value: string): void {
  const form = element.shadowRoot!.querySelector<HTMLFormElement>('form[part=add]')!
  form.querySelector<HTMLInputElement>('[name=key]')!.value = key
  form.querySelector<HTMLInputElement>('[name=value]')!.value = value
  form.requestSubmit()
}

describe('<p2p-kv> and <p2p-kv-value>', function () {
  this.timeout(60_000)

  afterEach(async () => {
    for (const cut of cuts.splice(0)) cut()
    for (const {log, db, location} of opened) {
      await log.close()
      await db.close()
      await new Promise(resolve => {
        const req = indexedDB.deleteDatabase(`level-js-${location}`)
        req.onsuccess = req.onerror = req.onblocked = resolve
      })
    }
    opened = []
  })

  it('shows a conflict made by two replicas side by side, resolves it by Keep in the table, and the resolution reaches the other replica', async () => {
    const owner = new KeyPairIdentity()
    const a = await replica(owner, owner)
    const b = await replica(owner, new KeyPairIdentity(), a)
    const [ea, eb] = [await kvOn(a), await kvOn(b)]
    // Written at once on both sides, neither seeing the other's: siblings.
    add(ea, 'title', '"from A"')
    add(eb, 'title', 'from B')
    await until(() => shown(ea, 'title').length === 1 && shown(eb, 'title').length === 1, 'each side\'s own write')
    expect(ea.hasAttribute('conflicted')).to.equal(false)
    link(a, b)
    for (const element of [ea, eb]) {
      await until(() => element.hasAttribute('conflicted') && shown(element, 'title').length === 2, 'both values on both sides')
      expect([...shown(element, 'title')].sort()).to.deep.equal(['"from A"', '"from B"'])
      expect(row(element, 'title')!.getAttribute('part')).to.equal('row conflicted')
      // The table's styles, loaded with its code, mark it.
      expect(getComputedStyle(row(element, 'title')!).backgroundColor).to.not.equal('rgba(0, 0, 0, 0)')
      // Who wrote each, as text.
      expect(row(element, 'title')!.querySelectorAll('[part=meta]')).to.have.length(2)
      await expect(element).to.be.accessible()
    }
    const keepB = [...row(ea, 'title')!.querySelectorAll('[part=value]')].find(v => v.querySelector('code')!.textContent === '"from B"')!
    keepB.querySelector<HTMLButtonElement>('[part=keep]')!.click()
    for (const element of [ea, eb]) {
      await until(() => !element.hasAttribute('conflicted') && shown(element, 'title').join() === '"from B"', 'the choice on both sides')
      expect(row(element, 'title')!.getAttribute('part')).to.equal('row')
    }
    expect((await eb.kv!.get('title')).map(v => v.value)).to.deep.equal(['from B'])
  })

  it('edits a value (JSON, or text stored as a string), deletes a key, and fires p2p-kv-change', async () => {
    const owner = new KeyPairIdentity()
    const element = await kvOn(await replica(owner, owner))
    const changes: string[] = []
    element.addEventListener('p2p-kv-change', (event: KvChangeEvent) => changes.push(...event.detail.changes.map(c => `${c.key}:${c.values.length}`)))
    add(element, 'n', '{"count": 1}')
    await until(() => shown(element, 'n').join() === '{"count":1}', 'the added key')
    const edit = row(element, 'n')!.querySelector<HTMLFormElement>('form[part=edit]')!
    expect(edit.querySelector('input')!.value).to.equal('{"count":1}')
    edit.querySelector('input')!.value = 'not json'
    edit.requestSubmit()
    await until(() => shown(element, 'n').join() === '"not json"', 'the edit')
    expect(await element.kv!.values('n')).to.deep.equal(['not json'])
    row(element, 'n')!.querySelector<HTMLButtonElement>('[part=delete]')!.click()
    await until(() => row(element, 'n') === null, 'the key gone')
    expect(await element.kv!.get('n')).to.have.length(1)
    expect((await element.kv!.get('n'))[0].deleted).to.equal(true)
    expect(changes).to.deep.equal(['n:1', 'n:1', 'n:1'])
  })

  it('resolves a conflict by an edit in the table: the new value names both siblings, and one value is left on both replicas', async () => {
    const owner = new KeyPairIdentity()
    const a = await replica(owner, owner)
    const b = await replica(owner, new KeyPairIdentity(), a)
    const [ea, eb] = [await kvOn(a), await kvOn(b)]
    await ea.kv!.put('motto', 'one')
    await eb.kv!.put('motto', 'two')
    link(a, b)
    await until(() => shown(ea, 'motto').length === 2 && shown(eb, 'motto').length === 2, 'the siblings on both')
    const edit = row(ea, 'motto')!.querySelector<HTMLFormElement>('form[part=edit]')!
    // A conflicted key offers no single value to start from.
    expect(edit.querySelector('input')!.value).to.equal('')
    edit.querySelector('input')!.value = 'one and two'
    edit.requestSubmit()
    for (const element of [ea, eb]) await until(() => shown(element, 'motto').join() === '"one and two"' && !element.hasAttribute('conflicted'), 'the edit resolving it')
    const [head] = await eb.kv!.get('motto')
    const entry = await b.get(fromHex(head.hash))
    expect((readValue(entry!) as {heads: string[]}).heads).to.have.length(2)
  })

  it('<p2p-kv-value> binds a <textarea> and a <select> (a multiple select holds a list), and an app\'s own picker in slot="conflict" resolves by pick()', async () => {
    const owner = new KeyPairIdentity()
    const a = await replica(owner, owner)
    const b = await replica(owner, new KeyPairIdentity(), a)
    const fields = html`
      <p2p-kv-value key="body"><textarea aria-label="Body"></textarea></p2p-kv-value>
      <p2p-kv-value key="tags"><select multiple aria-label="Tags"><option>red</option><option>green</option><option>blue</option></select></p2p-kv-value>
      <p2p-kv-value key="title"><input aria-label="Title">
        <span slot="conflict"><button class="mine">Mine</button><button class="both">Both</button></span></p2p-kv-value>`
    const [ea, eb] = [await kvOn(a, fields), await kvOn(b, fields)]
    const value = (element: P2PKVElement, key: string) => element.querySelector<P2PKvValueElement>(`p2p-kv-value[key=${key}]`)!
    for (const v of [value(ea, 'body'), value(ea, 'tags'), value(ea, 'title')]) await until(() => !v.readOnly, 'the controls enabled')
    const textarea = value(ea, 'body').querySelector('textarea')!
    textarea.value = 'line 1\nline 2'
    textarea.dispatchEvent(new Event('change', {bubbles: true}))
    const select = value(ea, 'tags').querySelector('select')!
    select.options[0].selected = true
    select.options[2].selected = true
    select.dispatchEvent(new Event('change', {bubbles: true}))
    await until(async () => (await ea.kv!.values('body')).join() === 'line 1\nline 2' && (await ea.kv!.values('tags')).length === 1, 'both written')
    expect(await ea.kv!.values('tags')).to.deep.equal([['red', 'blue']])
    // Shown back in b's controls once replicated.
    link(a, b)
    await until(() => value(eb, 'body').querySelector('textarea')!.value === 'line 1\nline 2', 'the textarea at b')
    await until(() => [...value(eb, 'tags').querySelector('select')!.selectedOptions].map(o => o.value).join() === 'red,blue', 'the select at b')
    // Siblings of title, resolved through the app's own picker.
    for (const cut of cuts.splice(0)) cut()
    await ea.kv!.put('title', 'Ada\'s')
    await eb.kv!.put('title', 'Bob\'s')
    link(a, b)
    const title = value(eb, 'title')
    await until(() => title.conflicted, 'the siblings at b')
    const slot = title.shadowRoot!.querySelector<HTMLSlotElement>('slot[name=conflict]')!
    expect(slot.assignedElements(), 'the app\'s picker in place of the default').to.deep.equal([title.querySelector('[slot=conflict]')])
    const both = title.querySelector<HTMLButtonElement>('button.both')!
    both.addEventListener('click', () => title.pick(title.values.map(v => v.value).join(' + ')))
    both.click()
    for (const element of [ea, eb]) await until(async () => (await element.kv!.values('title')).join() === 'Ada\'s + Bob\'s' || (await element.kv!.values('title')).join() === 'Bob\'s + Ada\'s', 'one value on both')
    await until(() => !value(ea, 'title').conflicted && !title.conflicted, 'no conflict on either')
  })

  it('renders hostile keys and values as text', async () => {
    const owner = new KeyPairIdentity()
    const element = await kvOn(await replica(owner, owner))
    const attack = '<img src=x onerror="window.__kvPwned = true">'
    await element.kv!.put(attack, {html: attack, url: 'javascript:window.__kvPwned = true'})
    await until(() => row(element, attack) !== null, 'the hostile row')
    expect(row(element, attack)!.querySelector('[part=key]')!.textContent).to.equal(attack)
    expect(element.shadowRoot!.querySelector('img')).to.equal(null)
    expect(shown(element, attack)[0]).to.contain('javascript:')
    expect(element.shadowRoot!.querySelector('[href]')).to.equal(null)
    expect((window as {__kvPwned?: boolean}).__kvPwned).to.equal(undefined)
  })

  it('is read-only, and says why, on a replica this page may not write; its table follows the owner, and becomes editable once the owner admits this page', async () => {
    const owner = new KeyPairIdentity()
    // Not open: only its owner writes.
    const closed = await replica(owner, owner, undefined, false)
    const readerKey = new KeyPairIdentity()
    const reader = await replica(owner, readerKey, closed)
    const element = await kvOn(reader)
    expect(reader.writable).to.equal(false)
    await until(() => element.shadowRoot!.querySelector('[part=readonly]') !== null, 'the read-only note')
    expect(element.shadowRoot!.querySelector('[part=readonly]')!.textContent).to.contain('not a writer')
    expect(element.shadowRoot!.querySelector('form')).to.equal(null)
    const ownerKv = await kvOn(closed)
    await ownerKv.kv!.put('motd', 'hello')
    link(closed, reader)
    await until(() => shown(element, 'motd').join() === '"hello"', 'the owner\'s key at the reader')
    expect(row(element, 'motd')!.querySelector('button')).to.equal(null)
    // Admitted by the owner: the table becomes editable.
    await closed.admit(readerKey.publicKey)
    await until(() => element.shadowRoot!.querySelector('form[part=add]') !== null, 'the add form once admitted')
    expect(element.shadowRoot!.querySelector('[part=readonly]')).to.equal(null)
  })

  it('<p2p-kv-value> disables its control while nothing can be written: before the KV opens, and on a replica this page may not write until admitted; an app\'s disabled control stays so', async () => {
    const owner = new KeyPairIdentity()
    const closed = await replica(owner, owner, undefined, false)
    const readerKey = new KeyPairIdentity()
    const reader = await replica(owner, readerKey, closed)
    const holder = await fixture<TestLogHolder>(html`<test-log-holder><p2p-kv>
      <p2p-kv-value key="title"><input aria-label="Title"></p2p-kv-value>
      <p2p-kv-value key="note"><input aria-label="Note" disabled></p2p-kv-value>
    </p2p-kv></test-log-holder>`)
    const [title, note] = [...holder.querySelectorAll('p2p-kv-value')]
    await title.updateComplete
    // No log yet, so no KV: an edit would have nowhere to go.
    expect(title.kv).to.equal(undefined)
    expect(title.hasAttribute('readonly')).to.equal(true)
    expect(title.querySelector('input')!.disabled).to.equal(true)
    holder.log = reader
    await until(() => title.kv !== undefined, 'the KV open')
    await title.updateComplete
    expect(title.hasAttribute('readonly')).to.equal(true)
    expect(title.querySelector('input')!.disabled).to.equal(true)
    const ownerKv = await kvOn(closed)
    await ownerKv.kv!.put('title', 'Owner\'s')
    link(closed, reader)
    await until(() => title.querySelector('input')!.value === 'Owner\'s', 'the owner\'s value shown, read-only')
    expect(title.querySelector('input')!.disabled).to.equal(true)
    await closed.admit(readerKey.publicKey)
    await until(() => !title.hasAttribute('readonly') && !title.querySelector('input')!.disabled, 'the control enabled once admitted')
    expect(note.hasAttribute('readonly')).to.equal(false)
    expect(note.querySelector('input')!.disabled).to.equal(true)
    title.querySelector('input')!.value = 'Reader\'s'
    title.querySelector('input')!.dispatchEvent(new Event('change', {bubbles: true}))
    await until(async () => (await ownerKv.kv!.values('title')).join() === 'Reader\'s', 'the reader\'s edit at the owner')
  })

  it('a malformed KV entry from a writer is a p2p-error and the other keys show', async () => {
    const owner = new KeyPairIdentity()
    const log = await replica(owner, owner)
    const element = await kvOn(log)
    const errors: P2PError[] = []
    element.addEventListener('p2p-error', event => errors.push(event.detail.error))
    await log.append({kv: 'put', key: 'broken'})
    await element.kv!.put('fine', 1)
    await until(() => shown(element, 'fine').join() === '1', 'the good key')
    expect(errors.map(e => e.code)).to.deep.equal(['ERR_MALFORMED_MESSAGE'])
    expect(row(element, 'broken')).to.equal(null)
  })

  it('with children, shows them instead of the table and gives them its KV: <p2p-kv-value> shows a value as text', async () => {
    const owner = new KeyPairIdentity()
    const element = await kvOn(await replica(owner, owner), html`<p>Title: <p2p-kv-value key="title"></p2p-kv-value></p>`)
    expect(element.shadowRoot!.querySelector('table')).to.equal(null)
    const value = element.querySelector<P2PKvValueElement>('p2p-kv-value')!
    await until(() => value.kv === element.kv, 'the KV by context')
    await element.kv!.put('title', '<b>bold</b>')
    await until(() => value.shadowRoot!.querySelector('[part=value]')?.textContent === '<b>bold</b>', 'the value as text')
    expect(value.shadowRoot!.querySelector('b')).to.equal(null)
    await element.kv!.put('title', {n: 1})
    await until(() => value.shadowRoot!.querySelector('[part=value]')?.textContent === '{"n":1}', 'a JSON value')
  })

  it('<p2p-kv-value> around an <input> shows the value, writes back on change, and offers a picker for siblings that resolves them on both replicas', async () => {
    const owner = new KeyPairIdentity()
    const a = await replica(owner, owner)
    const b = await replica(owner, new KeyPairIdentity(), a)
    const field = html`<p2p-kv-value key="title"><input aria-label="Title"></p2p-kv-value>`
    const [ea, eb] = [await kvOn(a, field), await kvOn(b, field)]
    const [va, vb] = [ea.querySelector('p2p-kv-value')!, eb.querySelector('p2p-kv-value')!]
    const input = (v: P2PKvValueElement) => v.querySelector('input')!
    await ea.kv!.put('title', 'Home')
    await until(() => input(va).value === 'Home', 'the value in the input')
    input(va).value = 'Welcome'
    input(va).dispatchEvent(new Event('change', {bubbles: true}))
    await until(async () => (await ea.kv!.values('title')).join() === 'Welcome', 'the edit written')
    // Siblings: b writes without having seen a's edits, then the replicas meet.
    input(vb).value = 'Start'
    input(vb).dispatchEvent(new Event('change', {bubbles: true}))
    await until(async () => (await eb.kv!.values('title')).join() === 'Start', 'b\'s write')
    link(a, b)
    for (const v of [va, vb]) await until(() => v.hasAttribute('conflicted') && v.shadowRoot!.querySelectorAll('[part=pick]').length === 2, 'the picker')
    expect(eb.hasAttribute('conflicted')).to.equal(true)
    const start = [...vb.shadowRoot!.querySelectorAll<HTMLButtonElement>('[part=pick]')].find(button => button.textContent === 'Start')!
    expect(vb.shadowRoot!.querySelector<HTMLElement>('[part=conflict]')!.hidden).to.equal(false)
    await expect(eb).to.be.accessible()
    start.click()
    for (const v of [va, vb]) await until(() => !v.hasAttribute('conflicted') && input(v).value === 'Start', 'the pick on both sides')
    expect(va.shadowRoot!.querySelector<HTMLElement>('[part=conflict]')!.hidden).to.equal(true)
    expect(ea.hasAttribute('conflicted')).to.equal(false)
  })
  it('inside a real <p2p-log>, keeps the KV of its log; moved in the DOM, lets it go and opens it again', async () => {
    const swarm = await fixture<P2PSwarmElement>(html`
      <p2p-swarm hub=${hubUrl()} room=${freshRoom('kv')}>
        <p2p-log name="settings" .identity=${new KeyPairIdentity()}><p2p-kv></p2p-kv></p2p-log>
      </p2p-swarm>`)
    const log = swarm.querySelector('p2p-log')!
    await log.updateComplete
    const element = log.querySelector('p2p-kv')!
    await until(() => element.kv?.log === log.log, 'the KV of the log')
    add(element, 'theme', '"dark"')
    await until(() => shown(element, 'theme').join() === '"dark"', 'the key added')
    const first = element.kv!
    const holder = document.createElement('div')
    log.append(holder)
    holder.append(element)
    await until(() => element.kv !== undefined && element.kv !== first, 'a KV opened again')
    await until(() => shown(element, 'theme').join() === '"dark"', 'the key after the move')
    // The first KV was closed: a put on it fails, the new one writes.
    let closed = false
    await first.put('theme', 'light').catch(() => { closed = true })
    expect(closed).to.equal(true)
    add(element, 'theme', '"light"')
    await until(() => shown(element, 'theme').join() === '"light"', 'a write after the move')
  })
  it('<p2p-kv-value> keeps what the user wrote in its control while the write is on its way, then shows what was stored', async () => {
    const owner = new KeyPairIdentity()
    const log = await replica(owner, owner)
    const element = await kvOn(log, html`<p2p-kv-value key="title"><input aria-label="Title"></p2p-kv-value>`)
    const value = element.querySelector('p2p-kv-value')!
    const input = value.querySelector('input')!
    await element.kv!.put('title', 'Old')
    await until(() => input.value === 'Old', 'the stored value')
    // The next append waits at a gate: the write is on its way until the gate opens.
    let open!: () => void
    const gate = new Promise<void>(resolve => { open = resolve })
    const append = log.append.bind(log)
    log.append = (async (value: unknown) => {
      await gate
      return append(value)
    }) as Log['append']
    input.focus()
    input.value = 'New'
    input.dispatchEvent(new Event('change', {bubbles: true}))
    input.blur()
    expect(input.value).to.equal('New')
    open()
    await until(async () => (await element.kv!.values('title')).join() === 'New', 'the write stored')
    expect(input.value).to.equal('New')
  })
  it('a deletion beside a concurrent put shows as a sibling in the table and the picker; choosing the deletion removes the key everywhere', async () => {
    const owner = new KeyPairIdentity()
    const a = await replica(owner, owner)
    const b = await replica(owner, new KeyPairIdentity(), a)
    const field = html`<p2p-kv-value key="motd"></p2p-kv-value>`
    const [ea, eb] = [await kvOn(a), await kvOn(b, field)]
    await ea.kv!.put('motd', 'hi')
    link(a, b)
    const value = eb.querySelector('p2p-kv-value')!
    await until(() => value.values.length === 1, 'the put at b')
    cuts.pop()!()
    await ea.kv!.del('motd')
    await eb.kv!.put('motd', 'still here')
    link(a, b)
    await until(() => shown(ea, 'motd').length === 2, 'both heads in a\'s table')
    expect([...shown(ea, 'motd')].sort()).to.deep.equal(['"still here"', '(deleted)'])
    expect(row(ea, 'motd')!.getAttribute('part')).to.equal('row conflicted')
    await until(() => value.hasAttribute('conflicted'), 'the picker at b')
    const picks = [...value.shadowRoot!.querySelectorAll<HTMLButtonElement>('[part=pick]')]
    expect(picks.map(p => p.textContent).sort()).to.deep.equal(['(deleted)', 'still here'])
    picks.find(p => p.textContent === '(deleted)')!.click()
    await until(() => row(ea, 'motd') === null && !ea.hasAttribute('conflicted'), 'the key gone at a')
    await until(() => !value.hasAttribute('conflicted') && value.shadowRoot!.querySelector('[part=value]') === null, 'nothing shown at b')
  })
})
