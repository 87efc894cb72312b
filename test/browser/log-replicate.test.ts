// Log replication between real swarms in Chromium: real WebRTC through the hub
// process, entries verified and stored in real IndexedDB (browser-level).
import {expect} from '@open-wc/testing'
import {BrowserLevel} from 'browser-level'
import {KeyPairIdentity} from '../../src/core/crypto/seed-identity.js'
import {Log} from '../../src/core/log/log.js'
import {readValue} from '../../src/core/log/entry.js'
import {attachLog, type AttachedLog} from '../../src/core/log/swarm.js'
import type {Swarm} from '../../src/core/swarm/swarm.js'
import {createSwarm, freshRoom, fullMesh, until} from './helpers/swarm.js'
import {same} from '../shared/log-helpers.js'

interface Peer {
  swarm: Swarm
  db: BrowserLevel<string, Uint8Array>
  log: Log
  attached: AttachedLog
  location: string
}

const owner = new KeyPairIdentity(new Uint8Array(32).fill(21))
const writer = new KeyPairIdentity(new Uint8Array(32).fill(22))
let peers: Peer[] = []

async function peer(room: string, identity: KeyPairIdentity): Promise<Peer> {
  const location = `p2p-log-replicate-${Math.random().toString(36).slice(2)}`
  const db = new BrowserLevel<string, Uint8Array>(location)
  const log = new Log({db, key: owner.publicKey, identity})
  await log.ready()
  const swarm = createSwarm(room)
  const p = {swarm, db, log, attached: attachLog(log, swarm), location}
  peers.push(p)
  return p
}

describe('log replication between browsers (real WebRTC, real IndexedDB)', function () {
  this.timeout(120_000)

  afterEach(async () => {
    for (const p of peers) {
      p.attached.detach()
      p.swarm.destroy()
      await p.log.close()
      await p.db.close()
      await new Promise(resolve => {
        const req = indexedDB.deleteDatabase(`level-js-${p.location}`)
        req.onsuccess = req.onerror = req.onblocked = resolve
      })
    }
    peers = []
  })

  it('two swarms replicate a log both ways, history first and then live; the Log counts the session and its progress reaches behind = 0', async () => {
    const room = freshRoom('log')
    const a = await peer(room, owner)
    await a.log.admit(writer.publicKey)
    await a.log.append(Array.from({length: 1000}, (_, i) => ({n: i})))
    const b = await peer(room, writer)
    // The Log itself reports each session's progress, naming the peer: what <p2p-log> listens to.
    const caughtUp = new Promise<string>(resolve => b.log.on('progress', p => {
      if (p.behind === 0 && p.local === a.log.length) resolve(p.peer)
    }))
    await fullMesh([a.swarm, b.swarm])
    await until(b.log, ['update'], () => same(a.log, b.log), 'the history at b')
    expect(await caughtUp).to.equal(a.swarm.publicKey)
    expect([a.log.stats.peers, b.log.stats.peers]).to.deep.equal([1, 1])

    const mine = await b.log.append({from: 'b'})
    await until(a.log, ['update'], () => a.log.length === b.log.length, 'b\'s append at a')
    expect(readValue((await a.log.get(mine.hash))!)).to.deep.equal({from: 'b'})
    const theirs = await a.log.append({from: 'a'})
    await until(b.log, ['update'], () => b.log.length === a.log.length, 'a\'s append at b')
    expect(readValue((await b.log.get(theirs.hash))!)).to.deep.equal({from: 'a'})
    expect(same(a.log, b.log)).to.equal(true)
    expect(b.log.length).to.equal(1004)
  })
})
