// The tabs of an origin as a hub (src/core/hub-client/tab-hub.ts): a HubClient on
// TAB_HUB delivers another tab's broadcasts on the channels it subscribed, in its
// app only, and hands every other hub to the fetch it was given.
import {after, describe, test} from 'node:test'
import assert from 'node:assert/strict'
import {HubClient} from '../../src/core/hub-client/hub-client.js'
import {TAB_HUB, tabHub} from '../../src/core/hub-client/tab-hub.js'
import {until} from '../shared/until.js'

const clients: HubClient[] = []
after(() => {
  for (const client of clients) client.destroy()
})

function tab(app: string, fetch?: typeof globalThis.fetch): HubClient {
  const client = new HubClient({hubs: [TAB_HUB], app, ...tabHub({fetch})})
  clients.push(client)
  return client
}

describe('tab hub', () => {
  test('a broadcast reaches the other tabs subscribed to its channel in its app, and no one else; junk on the channel is ignored', async () => {
    const app = `tabs-${Date.now()}`
    const [one, two, elsewhere] = [tab(app), tab(app), tab(`${app}-other`)]
    const got: Record<string, unknown[]> = {two: [], twoPrivate: [], elsewhere: []}
    const subs = [
      two.subscribe(['all'], data => got.two.push(data)),
      two.subscribe(['two-only'], data => got.twoPrivate.push(data)),
      elsewhere.subscribe(['all'], data => got.elsewhere.push(data)),
    ]
    await Promise.all(subs.map(sub => sub.ready))
    const junk = new BroadcastChannel('p2p-elements/tab-hub/v1')
    junk.postMessage({app, channel: 'all', body: 42})
    junk.postMessage('not a message')
    junk.close()
    await one.broadcast('all', {hello: 1})
    await one.broadcast('two-only', {hello: 2})
    await until(() => got.two.length === 1 && got.twoPrivate.length === 1, 'two got both')
    assert.deepEqual(got.two, [{hello: 1}])
    assert.deepEqual(got.twoPrivate, [{hello: 2}])
    // A sentinel after everything else: the other app's tab still has nothing.
    await one.broadcast('all', {hello: 3})
    await until(() => got.two.length === 2, 'the sentinel')
    assert.deepEqual(got.elsewhere, [])
  })

  test('other hubs go to the fetch given', async () => {
    const asked: string[] = []
    const fetch = (async (input: RequestInfo | URL) => {
      asked.push(String(input))
      return new Response(null, {status: 200})
    }) as typeof globalThis.fetch
    const {fetch: tabFetch} = tabHub({fetch})
    assert.equal((await tabFetch('http://127.0.0.1:1/v1/app/all', {method: 'POST', body: '1'})).status, 200)
    assert.deepEqual(asked, ['http://127.0.0.1:1/v1/app/all'])
    assert.equal((await tabFetch(`${TAB_HUB}/v1/app/all`, {method: 'GET'})).status, 400)
  })
})
