// The page side of bench/log.bench.ts: a signed log kept in IndexedDB
// (browser-level), replicated over a real swarm (hub, WebRTC, mux), driven by
// the bench through window.logBench. One tab holds one log; the sending tab
// fills it before the receiving tab joins, so what is timed is replication alone.
import {BrowserLevel} from 'browser-level'
// What <p2p-log> keeps its logs in (log-database.ts): the variant the bench compares with browser-level as it is.
import {QueuedBrowserLevel} from '../../src/elements/shared/storage.js'
import nacl from 'tweetnacl'
import {Swarm} from '../../src/core/swarm/swarm.js'
import {createIdentity, verify} from '../../src/core/crypto/identity.js'
import {KeyPairIdentity} from '../../src/core/crypto/seed-identity.js'
import {fromHex, toHex} from '../../src/core/bytes.js'
import {Log} from '../../src/core/log/log.js'
import {attachLog, type AttachedLog} from '../../src/core/log/swarm.js'
import {decodeEntry, hashEntry, signedMessage, type Entry} from '../../src/core/log/entry.js'


let db: BrowserLevel<string, Uint8Array> | null = null
let log: Log | null = null
let swarm: Swarm | null = null
let attached: AttachedLog | null = null
let storeMs = 0
let adds = 0

/** A 100-byte value (a Bytes entry, as hypercore's blocks are bytes), its first four bytes the entry's number. */
function value(i: number): Uint8Array {
  const bytes = new Uint8Array(100).fill(7)
  new DataView(bytes.buffer).setUint32(0, i)
  return bytes
}

async function fill(target: Log, n: number, batch: number): Promise<number> {
  const start = performance.now()
  for (let i = target.length; i < n + 1; i += batch) {
    const count = Math.min(batch, n + 1 - i)
    if (count === 1) await target.append(value(i))
    else await target.append(Array.from({length: count}, (_, j) => value(i + j)))
  }
  return performance.now() - start
}

const api = {
  /** Opens (creating) the log `address` in the database `name`; with `seed`, writes as that identity. */
  async open(name: string, address: string, seed?: string, queued = false): Promise<{readyMs: number, length: number}> {
    db = queued ? new QueuedBrowserLevel(name) : new BrowserLevel(name)
    await db.open()
    log = new Log({db, key: fromHex(address), identity: seed ? new KeyPairIdentity(fromHex(seed)) : undefined})
    const start = performance.now()
    await log.ready()
    return {readyMs: performance.now() - start, length: log.length}
  },
  /** Appends until the log holds n entries besides Init, `batch` values per append; ms taken. */
  fill(n: number, batch: number): Promise<number> {
    return fill(log!, n, batch)
  },
  /** Joins the room; the store stage (log.add) is timed from here on. */
  async join(hub: string, room: string): Promise<void> {
    swarm = new Swarm({hubs: [hub], room, identity: await createIdentity(), iceServers: [], announceInterval: {min: 100, max: 1000}})
    const add = log!.add.bind(log!)
    log!.add = async (entries, source) => {
      const start = performance.now()
      try {
        return await add(entries, source)
      } finally {
        storeMs += performance.now() - start
        adds++
      }
    }
    attached = attachLog(log!, swarm)
  },
  /**
   * Resolves once the log holds `length` entries: ms from the first progress
   * (both vectors exchanged) to the last entry stored, and the ms spent in log.add.
   */
  replicated(length: number): Promise<{ms: number, storeMs: number, adds: number}> {
    return new Promise(resolve => {
      let start: number | undefined
      attached!.on('progress', () => { start ??= performance.now() })
      const check = (): void => {
        if (log!.length < length) return
        log!.off('update', check)
        resolve({ms: performance.now() - (start ?? performance.now()), storeMs, adds})
      }
      log!.on('update', check)
      check()
    })
  },
  /**
   * The receiving side's verify and hash stages, measured again on what it
   * received: every entry's bytes decoded and hashed (in parallel, 1,024 at a
   * time, as a message is), and the signatures of the signed ones verified.
   */
  async stages(): Promise<{decodeMs: number, hashMs: number, verifyMs: number, signatures: number}> {
    const entries: Entry[] = []
    for await (const {entry} of log!.entries()) entries.push(entry)
    let decodeMs = 0
    let hashMs = 0
    for (let i = 0; i < entries.length; i += 1024) {
      const chunk = entries.slice(i, i + 1024)
      let start = performance.now()
      const decoded = chunk.map(e => decodeEntry(e.bytes))
      decodeMs += performance.now() - start
      start = performance.now()
      await Promise.all(decoded.map(e => hashEntry(log!.key, e)))
      hashMs += performance.now() - start
    }
    const signed = entries.filter(e => e.signature)
    const start = performance.now()
    for (const e of signed) {
      if (!await verify(signedMessage(e.hash), e.signature!, e.author)) throw new Error('a stored signature does not verify')
    }
    return {decodeMs, hashMs, verifyMs: performance.now() - start, signatures: signed.length}
  },
  /** Ed25519 verifications per second: WebCrypto and tweetnacl, one by one and (WebCrypto) all at once. */
  async verifyRates(count: number): Promise<{webcrypto: number, webcryptoParallel: number, tweetnacl: number}> {
    const identity = new KeyPairIdentity(new Uint8Array(32).fill(9))
    const messages = Array.from({length: 64}, (_, i) => signedMessage(new Uint8Array(32).fill(i)))
    const signatures = await Promise.all(messages.map(m => identity.sign(m)))
    const key = identity.publicKey
    const rate = (ms: number): number => Math.round(count / (ms / 1000))
    let start = performance.now()
    for (let i = 0; i < count; i++) if (!await verify(messages[i % 64], signatures[i % 64], key)) throw new Error('no verify')
    const webcrypto = rate(performance.now() - start)
    start = performance.now()
    const results = await Promise.all(Array.from({length: count}, (_, i) => verify(messages[i % 64], signatures[i % 64], key)))
    if (!results.every(Boolean)) throw new Error('no verify')
    const webcryptoParallel = rate(performance.now() - start)
    start = performance.now()
    for (let i = 0; i < count; i++) if (!nacl.sign.detached.verify(messages[i % 64], signatures[i % 64], key)) throw new Error('no verify')
    const tweetnacl = rate(performance.now() - start)
    return {webcrypto, webcryptoParallel, tweetnacl}
  },
  length(): number {
    return log?.length ?? 0
  },
  address(): string {
    return log!.address
  },
  /** Leaves the room, closes the log and the database (kept for a later open). */
  async close(): Promise<void> {
    attached?.detach()
    swarm?.destroy()
    await log?.close()
    await db?.close()
    attached = null
    swarm = null
    log = null
    db = null
    storeMs = 0
    adds = 0
  },
  /** Deletes the database `name` (closed first). */
  async drop(name: string): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      const request = indexedDB.deleteDatabase(`level-js-${name}`)
      request.onsuccess = () => resolve()
      request.onerror = () => reject(request.error)
    })
  },
  toHex,
}

;(window as unknown as {logBench: typeof api}).logBench = api
