// The page identity kept in IndexedDB (docs/identity.md), in real documents: each frame
// below is a page of its own (its own modules, its own Web Locks, released when it
// goes), sharing this origin's IndexedDB and locks as the tabs of one origin do.
import {expect, fixture, html} from '@open-wc/testing'
import '../../src/p2p-swarm.js'
import type {P2PSwarmElement} from '../../src/elements/p2p-swarm/p2p-swarm.js'
import {pageIdentity} from '../../src/core/swarm/page-identity.js'
import {freshRoom, hubUrl} from './helpers/swarm.js'
import {exportIdentity, importIdentity, KeyPairIdentity, type Ed25519PrivateJwk} from '../../src/core/crypto/seed-identity.js'
import {verify} from '../../src/core/crypto/identity.js'
import {toHex, utf8} from '../../src/core/bytes.js'
import {until} from '../shared/until.js'

const SLOT_LOCK = 'p2p-elements-identity:p2p-elements-identity'

/** What a frame's page offers the test: hex and JSON only, since typed arrays of this realm are not its realm's. */
interface FrameIdentity {
  key(): Promise<string>
  logKey(name: string): Promise<string>
  exportJwk(): Promise<string>
  importJwk(json: string): Promise<void>
}

/** How a frame's page is cut off from what the store needs: Web Locks gone, or IndexedDB refusing to open. */
type Without = 'locks' | 'database' | undefined

const WITHOUT: Record<NonNullable<Without>, string> = {
  locks: "Object.defineProperty(navigator, 'locks', {value: undefined, configurable: true})",
  database: "IDBFactory.prototype.open = () => { throw new DOMException('refused', 'SecurityError') }",
}

const frameSource = (without: Without) => `<!doctype html><script type="module">
  ${without ? WITHOUT[without] : ''}
  const origin = ${JSON.stringify(location.origin)}
  const page = await import(origin + '/src/core/swarm/page-identity.ts')
  const seeds = await import(origin + '/src/core/crypto/seed-identity.ts')
  const {toHex} = await import(origin + '/src/core/bytes.ts')
  window.identity = {
    key: async () => toHex((await page.pageIdentity()).publicKey),
    logKey: async name => toHex((await page.pageLogIdentity(name)).publicKey),
    exportJwk: async () => JSON.stringify(seeds.exportIdentity(await page.pageIdentity(), 'jwk')),
    importJwk: async json => page.setPageIdentity(seeds.importIdentity(JSON.parse(json))),
  }
  parent.postMessage('identity-frame', '*')
</` + 'script>'

class Frame {
  readonly element = document.createElement('iframe')
  readonly #url: string

  constructor(without?: Without) {
    this.#url = URL.createObjectURL(new Blob([frameSource(without)], {type: 'text/html'}))
  }

  /** Resolves once the frame's page has loaded its modules. */
  #loaded(): Promise<void> {
    return new Promise(resolve => {
      const listener = (e: MessageEvent) => {
        if (e.source !== this.element.contentWindow || e.data !== 'identity-frame') return
        removeEventListener('message', listener)
        resolve()
      }
      addEventListener('message', listener)
    })
  }

  async open(): Promise<this> {
    const loaded = this.#loaded()
    this.element.src = this.#url
    document.body.append(this.element)
    await loaded
    return this
  }

  /** A reload of the frame's page, as a tab's: the old page goes, a new one loads in its place. */
  async reload(): Promise<void> {
    const loaded = this.#loaded()
    this.element.contentWindow!.location.reload()
    await loaded
  }

  get identity(): FrameIdentity {
    return (this.element.contentWindow as unknown as {identity: FrameIdentity}).identity
  }

  close(): void {
    this.element.remove()
    URL.revokeObjectURL(this.#url)
  }
}

const heldSlots = async () => (await navigator.locks.query()).held!.flatMap(l => l.name?.startsWith(SLOT_LOCK) ? [l.name] : []).sort()

/** The public key of the seed stored under `slot`, read from the database as a page would find it. */
async function storedKey(slot: string): Promise<string | undefined> {
  const db = await new Promise<IDBDatabase>((resolve, reject) => {
    const open = indexedDB.open('p2p-elements-identity')
    open.onsuccess = () => resolve(open.result)
    open.onerror = () => reject(open.error)
  })
  try {
    const seed = await new Promise<unknown>((resolve, reject) => {
      const read = db.transaction('seeds').objectStore('seeds').get(slot)
      read.onsuccess = () => resolve(read.result)
      read.onerror = () => reject(read.error)
    })
    return seed instanceof Uint8Array ? toHex(new KeyPairIdentity(seed).publicKey) : undefined
  } finally {
    db.close()
  }
}

describe('identity store', () => {
  const frames: Frame[] = []
  const frame = (without?: Without) => {
    const made = new Frame(without)
    frames.push(made)
    return made.open()
  }
  // The frames of one page share its sessionStorage, where a tab notes its slot for its
  // next load (tabs do not share it: test/e2e/identity.test.ts has real ones). Each test
  // starts with none noted, so which slot a frame takes depends on the locks alone.
  beforeEach(() => sessionStorage.removeItem('p2p-elements-identity-slot'))
  afterEach(() => frames.splice(0).forEach(f => f.close()))

  it('a reloaded page has the same key and the same log keys; a page open beside it has others', async () => {
    const a = await frame()
    const key = await a.identity.key()
    const chat = await a.identity.logKey('chat')
    const notes = await a.identity.logKey('notes')
    expect(new Set([key, chat, notes]).size).to.equal(3)
    for (let i = 0; i < 10; i++) {
      await a.reload()
      expect(await a.identity.key(), `reload ${i + 1}`).to.equal(key)
      expect(await a.identity.logKey('chat')).to.equal(chat)
      expect(await a.identity.logKey('notes')).to.equal(notes)
    }
    const b = await frame()
    const other = await b.identity.key()
    expect(other).to.not.equal(key)
    expect(await b.identity.logKey('chat')).to.not.equal(chat)
    // Closed and opened again while the first is open, the second page has its key back.
    const slots = await heldSlots()
    b.close()
    await until(async () => (await heldSlots()).length === slots.length - 1, 'the closed page\'s slot to be free')
    const again = await frame()
    expect(await again.identity.key()).to.equal(other)
    expect(await a.identity.key()).to.equal(key)
  })

  it('a page that finds slot 1 held gets slot 2, whose key is stored apart from slot 1\'s', async () => {
    // The pages of the test before let their slots go as they went.
    await until(async () => (await heldSlots()).length === 0, 'every slot to be free')
    let letGo!: () => void
    const held = new Promise<void>(resolve => {
      navigator.locks.request(SLOT_LOCK, () => new Promise<void>(release => {
        letGo = release
        resolve()
      }))
    })
    await held
    try {
      const page = await frame()
      const key = await page.identity.key()
      expect(await heldSlots()).to.deep.equal([SLOT_LOCK, `${SLOT_LOCK}-2`])
      expect(await storedKey('p2p-elements-identity-2')).to.equal(key)
      expect(await storedKey('p2p-elements-identity')).to.not.equal(key)
    } finally {
      letGo()
    }
  })

  it('an identity exported from one page and imported in another is that page\'s key from then on, its logs included', async () => {
    const a = await frame()
    const jwk = JSON.parse(await a.identity.exportJwk()) as Ed25519PrivateJwk
    const chat = await a.identity.logKey('chat')
    const b = await frame()
    expect(await b.identity.key()).to.not.equal(jwk.x)
    await b.identity.importJwk(JSON.stringify(jwk))
    const moved = importIdentity(jwk)
    expect(await b.identity.key()).to.equal(toHex(moved.publicKey))
    expect(await b.identity.logKey('chat')).to.equal(chat)
    await b.reload()
    expect(await b.identity.key()).to.equal(toHex(moved.publicKey))
    expect(await b.identity.logKey('chat')).to.equal(chat)
  })

  it('without Web Locks a page keeps nothing: a fresh key on every load', async () => {
    const page = await frame('locks')
    const first = await page.identity.key()
    await page.reload()
    const second = await page.identity.key()
    expect(second).to.not.equal(first)
    expect(await heldSlots()).to.deep.equal([])
  })

  it('where IndexedDB refuses to open, a page still gets a key (a fresh one per load) and log keys', async () => {
    await until(async () => (await heldSlots()).length === 0, 'every slot to be free')
    const page = await frame('database')
    const first = await page.identity.key()
    expect(first).to.have.length(64)
    expect(await page.identity.logKey('chat')).to.not.equal(first)
    await page.reload()
    expect(await page.identity.key()).to.not.equal(first)
  })

  it('JWKs round-trip with WebCrypto\'s own: its export imports, ours is its, and it signs as ours', async () => {
    const {subtle} = crypto
    for (let i = 0; i < 10; i++) {
      const pair = await subtle.generateKey({name: 'Ed25519'}, true, ['sign', 'verify']) as CryptoKeyPair
      const theirs = await subtle.exportKey('jwk', pair.privateKey) as Ed25519PrivateJwk
      const ours = importIdentity(theirs)
      expect(toHex(ours.publicKey)).to.equal(toHex(new Uint8Array(await subtle.exportKey('raw', pair.publicKey))))
      const {kty, crv, x, d} = theirs
      expect(exportIdentity(ours, 'jwk')).to.deep.equal({kty, crv, x, d})
      const back = await subtle.importKey('jwk', exportIdentity(ours, 'jwk'), {name: 'Ed25519'}, false, ['sign'])
      const message = utf8(`message ${i}`)
      const signature = new Uint8Array(await subtle.sign({name: 'Ed25519'}, back, message as Uint8Array<ArrayBuffer>))
      expect(await verify(message, signature, ours.publicKey)).to.equal(true)
      expect(toHex(signature)).to.equal(toHex(await ours.sign(message)))
    }
  })

  // Last: this page itself takes a slot here, and keeps it.
  it('<p2p-swarm> without an identity joins as the page identity; a second one in the same room has a key of its own', async () => {
    const room = freshRoom()
    const first = await fixture<P2PSwarmElement>(html`<p2p-swarm hub=${hubUrl()} room=${room}></p2p-swarm>`)
    await first.updateComplete
    expect(first.swarm!.publicKey).to.equal(toHex((await pageIdentity()).publicKey))
    const second = await fixture<P2PSwarmElement>(html`<p2p-swarm hub=${hubUrl()} room=${room}></p2p-swarm>`)
    await second.updateComplete
    expect(second.swarm!.publicKey).to.not.equal(first.swarm!.publicKey)
  })
})
