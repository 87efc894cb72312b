// A swarm in Node (WebRTC through node-datachannel) and one in Chromium find each
// other through a real hub process, prove their keys, and talk both ways.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {useTestPage} from './helpers.js'
import {Swarm} from '../../src/core/swarm/swarm.js'
import {createIdentity} from '../../src/core/crypto/identity.js'
import type {Channel} from '../../src/core/mux/mux.js'
import {fromUtf8, utf8} from '../../src/core/bytes.js'
import {until} from '../shared/until.js'
import '../shared/node-webrtc.js'

const stack = useTestPage('/test/e2e/pages/swarm.html')

test('a Node peer and a Chromium peer connect through the hub and exchange messages', async () => {
  const room = `node-browser-${Date.now()}`
  const node = new Swarm({hubs: [stack.hub.url], room, identity: await createIdentity(), iceServers: [], announceInterval: {min: 100, max: 1000}})
  const got: string[] = []
  let channel: Channel | undefined
  node.on('connect', peer => {
    channel = peer.channel('test/echo/1', {onmessage: bytes => got.push(fromUtf8(bytes))})
  })
  try {
    const browserKey = await stack.page.evaluate((h, r) => (window as any).p2pTest.start(h, r), stack.hub.url, room) as string
    await until(() => node.peers.some(p => p.publicKey === browserKey), 'the Node swarm to connect to the browser').catch(async (err: Error) => {
      // Where both ends stood, for a failure's report.
      const page$ = await stack.page.evaluate(() => (window as any).p2pTest.stats()).catch(() => 'unavailable')
      throw new Error(`${err.message}; node: ${JSON.stringify(node.stats)}; browser: ${JSON.stringify(page$)}`)
    })
    await until(async () => (await stack.page.evaluate(() => (window as any).p2pTest.peers()) as string[]).includes(node.publicKey),
      'the browser swarm to connect to Node')
    channel!.send(utf8('hello from node'))
    await until(() => got.includes('echo:hello from node'), 'the browser to echo a message from Node')
    await stack.page.evaluate(() => (window as any).p2pTest.send('hello from chromium'))
    await until(() => got.includes('hello from chromium'), 'a message from the browser to reach Node')
    assert.deepEqual(got.sort(), ['echo:hello from node', 'hello from chromium'])
  } finally {
    node.destroy()
  }
})
