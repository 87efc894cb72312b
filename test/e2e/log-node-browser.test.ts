// One signed log replicated between a Node peer (WebRTC through node-datachannel,
// LevelDB through classic-level) and a Chromium page (IndexedDB through
// browser-level), through a real hub process: what the always-on mirror needs.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {mkdtemp, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {useTestPage} from './helpers.js'
import {Swarm} from '../../src/core/swarm/swarm.js'
import {createIdentity} from '../../src/core/crypto/identity.js'
import {KeyPairIdentity} from '../../src/core/crypto/seed-identity.js'
import {fromHex, toHex} from '../../src/core/bytes.js'
import {Log} from '../../src/core/log/log.js'
import {readValue} from '../../src/core/log/entry.js'
import {attachLog} from '../../src/core/log/swarm.js'
import {openNodeDatabase} from '../../src/node/level.js'
import '../shared/node-webrtc.js'

const stack = useTestPage('/test/e2e/pages/log.html')

test('a log replicates both ways between Node (LevelDB) and Chromium (IndexedDB) over WebRTC', {timeout: 60_000}, async () => {
  const room = `log-node-browser-${Date.now()}`
  const owner = new KeyPairIdentity(new Uint8Array(32).fill(31))
  const writerSeed = new Uint8Array(32).fill(32)
  const dir = await mkdtemp(join(tmpdir(), 'p2p-log-e2e-'))
  const db = await openNodeDatabase(dir)
  const log = new Log({db, key: owner.publicKey, identity: owner})
  await log.ready()
  await log.admit(new KeyPairIdentity(writerSeed).publicKey)
  await log.append(Array.from({length: 1000}, (_, i) => ({i})))
  const node = new Swarm({hubs: [stack.hub.url], room, identity: await createIdentity(), iceServers: [], announceInterval: {min: 100, max: 1000}})
  const attached = attachLog(log, node)
  try {
    await stack.page.evaluate((h, r, a, s) => (window as any).p2pTest.start(h, r, a, s), stack.hub.url, room, log.address, toHex(writerSeed))
    const length = await stack.page.evaluate(n => (window as any).p2pTest.lengthAtLeast(n), log.length) as number
    assert.equal(length, 1002)
    const hash = await stack.page.evaluate(() => (window as any).p2pTest.append({from: 'chromium'})) as string
    await new Promise<void>(resolve => {
      const check = (): void => {
        if (log.length === 1003) resolve()
      }
      log.on('update', check)
      check()
    })
    assert.deepEqual(readValue((await log.get(fromHex(hash)))!), {from: 'chromium'})
  } finally {
    attached.detach()
    node.destroy()
    await log.close()
    await db.close()
    await rm(dir, {recursive: true, force: true})
  }
})
