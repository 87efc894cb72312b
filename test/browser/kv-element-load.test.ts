// <p2p-kv>'s table code loads on demand: in a page of its own (each test file gets one),
// so no earlier test has loaded it.
import {expect, fixture, html} from '@open-wc/testing'
import {BrowserLevel} from 'browser-level'
import '../../src/p2p-kv.js'
import './helpers/log-holder.js'
import {loaders} from '../../src/elements/p2p-kv/p2p-kv.js'
import {KeyPairIdentity} from '../../src/core/crypto/seed-identity.js'
import {Log} from '../../src/core/log/log.js'
import type {P2PError} from '../../src/core/errors.js'
import {until} from '../shared/until.js'

const locations: string[] = []

async function openLog(): Promise<Log> {
  const owner = new KeyPairIdentity()
  const location = `p2p-kv-element-load-${Math.random().toString(36).slice(2)}`
  locations.push(location)
  const log = new Log({db: new BrowserLevel<string, Uint8Array>(location), key: owner.publicKey, identity: owner})
  await log.ready()
  return log
}

describe('<p2p-kv> table code on demand', () => {
  const load = loaders.table
  afterEach(async () => {
    loaders.table = load
    for (const location of locations.splice(0)) {
      await new Promise(resolve => {
        const req = indexedDB.deleteDatabase(`level-js-${location}`)
        req.onsuccess = req.onerror = req.onblocked = resolve
      })
    }
  })

  it('is never fetched for an element that holds the app\'s markup', async () => {
    let loads = 0
    loaders.table = () => {
      loads++
      return load()
    }
    const log = await openLog()
    const holder = await fixture(html`<test-log-holder .log=${log}><p2p-kv><p>the app's fields</p></p2p-kv></test-log-holder>`)
    const element = holder.querySelector('p2p-kv')!
    await until(() => element.kv !== undefined, 'the KV open')
    await element.kv!.put('title', 'x')
    await element.updateComplete
    expect(loads).to.equal(0)
    expect(element.shadowRoot!.querySelector('slot')).to.not.equal(null)
    await log.close()
    await log.db.close()
  })

  it('that cannot load is a p2p-error ERR_CONNECTION_FAILED, and no table shows', async () => {
    loaders.table = () => Promise.reject(new Error('offline'))
    const log = await openLog()
    const errors: P2PError[] = []
    const holder = await fixture(html`<test-log-holder .log=${log} @p2p-error=${(event: CustomEvent<{error: P2PError}>) => errors.push(event.detail.error)}><p2p-kv></p2p-kv></test-log-holder>`)
    const element = holder.querySelector('p2p-kv')!
    await until(() => errors.length > 0, 'the failure')
    await element.updateComplete
    expect(errors.map(e => e.code)).to.deep.equal(['ERR_CONNECTION_FAILED'])
    expect(element.shadowRoot!.querySelector('table')).to.equal(null)
    await log.close()
    await log.db.close()
  })
})
