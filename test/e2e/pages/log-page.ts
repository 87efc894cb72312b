// A signed log in a page, kept in IndexedDB and replicated over a swarm, driven
// by end-to-end tests through window.p2pTest.
import {BrowserLevel} from 'browser-level'
import {Swarm} from '../../../src/core/swarm/swarm.js'
import {createIdentity} from '../../../src/core/crypto/identity.js'
import {KeyPairIdentity} from '../../../src/core/crypto/seed-identity.js'
import {fromHex, toHex} from '../../../src/core/bytes.js'
import {Log} from '../../../src/core/log/log.js'
import {attachLog} from '../../../src/core/log/swarm.js'

let swarm: Swarm | null = null
let log: Log | null = null
let db: BrowserLevel<string, Uint8Array> | null = null

const api = {
  /** Opens the log `address` (hex) in a fresh database, writing as the identity of `seed` (hex), and joins a room. */
  async start(hub: string, room: string, address: string, seed: string): Promise<string> {
    db = new BrowserLevel(`p2p-log-e2e-${Math.random().toString(36).slice(2)}`)
    log = new Log({db, key: fromHex(address), identity: new KeyPairIdentity(fromHex(seed))})
    await log.ready()
    swarm = new Swarm({hubs: [hub], room, identity: await createIdentity(), iceServers: [], announceInterval: {min: 100, max: 1000}})
    attachLog(log, swarm)
    return swarm.publicKey
  },
  /** Resolves with the log's length once it is at least `n`. */
  lengthAtLeast(n: number): Promise<number> {
    return new Promise(resolve => {
      const check = (): void => {
        if (log!.length < n) return
        log!.off('update', check)
        resolve(log!.length)
      }
      log!.on('update', check)
      check()
    })
  },
  async append(value: unknown): Promise<string> {
    const entry = await log!.append(value)
    return toHex((entry as {hash: Uint8Array}).hash)
  },
  stats(): unknown {
    return {swarm: swarm?.stats ?? null, log: log?.stats ?? null}
  },
  async stop(): Promise<void> {
    swarm?.destroy()
    await log?.close()
    await db?.close()
  },
}

;(window as unknown as {p2pTest: typeof api}).p2pTest = api
