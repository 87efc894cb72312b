// The always-on mirror as a node of the browsers' DHT (src/mirror/mirror.ts,
// docs/dht.md), over real WebRTC (node-datachannel, loopback only), a real hub
// process and LevelDB on disk: a writer's page and the mirror meet on the hub; the
// hub stops; a newcomer whose only way in is the writer's tab finds the room through
// the DHT, connects to the mirror, and gets the log from it.
import {after, before, describe, test} from 'node:test'
import assert from 'node:assert/strict'
import {mkdtemp, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {MemoryLevel} from 'memory-level'
import {startHubProcess} from '../../scripts/hub-process.js'
import {Swarm} from '../../src/core/swarm/swarm.js'
import {createIdentity} from '../../src/core/crypto/identity.js'
import {KeyPairIdentity} from '../../src/core/crypto/seed-identity.js'
import {toHex} from '../../src/core/bytes.js'
import {Log} from '../../src/core/log/log.js'
import {pageDht, type PageDht} from '../../src/core/dht/page-dht.js'
import {Mirror} from '../../src/mirror/mirror.js'
import {openNodeDatabase} from '../../src/node/level.js'
import {webrtc} from '../shared/node-webrtc.js'
import {whenLog} from '../shared/log-helpers.js'
import {until} from '../shared/until.js'

const fast = {min: 100, max: 1000}
const swarms: Swarm[] = []
const nodes: PageDht[] = []

/** A page in `room` with its DHT node, the tabs of this process's "origin" one of its hubs. */
async function page(hub: string, room: string) {
  const swarm = new Swarm({hubs: [hub], room, identity: await createIdentity(), iceServers: [], announceInterval: fast, pool: null})
  swarms.push(swarm)
  const node = pageDht(swarm, {tabs: true})
  nodes.push(node)
  node.follow(swarm)
  return {swarm, node}
}

describe('the mirror as a DHT node', {timeout: 120_000}, () => {
  let hub: {url: string, close(): Promise<void>}
  let dir: string
  before(async () => {
    hub = await startHubProcess() as typeof hub
    dir = await mkdtemp(join(tmpdir(), 'p2p-dht-mirror-'))
  })
  after(async () => {
    for (const node of nodes) node.close()
    for (const swarm of swarms) swarm.destroy()
    await hub.close()
    await rm(dir, {recursive: true, force: true})
  })

  test('with the hub stopped, a newcomer in through a tab of its origin reaches the mirror through the DHT and gets the log from it', async () => {
    const room = `dht-mirror-${Date.now()}`
    const owner = new KeyPairIdentity()
    const writer = await page(hub.url, room)
    const log = new Log({db: new MemoryLevel(), key: owner.publicKey, identity: owner})
    await log.ready()
    await log.append(Array.from({length: 50}, (_, i) => ({i})))
    log.replicate(writer.swarm)

    const db = await openNodeDatabase(join(dir, 'store'))
    const mirror = new Mirror({hubs: [hub.url], db, identity: new KeyPairIdentity(), rooms: [room], logs: [toHex(owner.publicKey)], webrtc, announceInterval: fast})
    try {
      await mirror.open()
      const mirrorKey = toHex(mirror.identity.publicKey)
      await until(() => mirror.status.logs[0]?.length === 51, 'the mirror holds the log')
      await until(() => !!mirror.dht && mirror.dht.dht.connected(writer.swarm.publicKey) && mirror.dht.stats.announcements > 0, 'the mirror in the writer\'s DHT, its room announced')

      await hub.close()
      const newcomer = await page(hub.url, room)
      const copy = new Log({db: new MemoryLevel(), key: owner.publicKey})
      await copy.ready()
      copy.replicate(newcomer.swarm)
      await until(() => newcomer.swarm.peers.some(p => p.publicKey === mirrorKey), 'the newcomer connected to the mirror')
      await whenLog(copy, () => copy.length === 51)
      assert.deepEqual(copy.heads().map(toHex), log.heads().map(toHex))
    } finally {
      await mirror.close()
      await db.close()
    }
  })
})
