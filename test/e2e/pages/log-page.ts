// A signed log in a page, kept in IndexedDB and replicated over a swarm, driven
// by end-to-end tests through window.p2pTest.
import {BrowserLevel} from 'browser-level'
import {Swarm} from '../../../src/core/swarm/swarm.js'
import {createIdentity} from '../../../src/core/crypto/identity.js'
import {KeyPairIdentity} from '../../../src/core/crypto/seed-identity.js'
import {fromHex, toHex} from '../../../src/core/bytes.js'
import {Log} from '../../../src/core/log/log.js'
import {attachLog} from '../../../src/core/log/swarm.js'

/** Where the page notes its log's length when it reloads itself: sessionStorage outlives the reload. */
const LENGTH_AT_RELOAD = 'p2p-log-e2e-length-at-reload'

let swarm: Swarm | null = null
let log: Log | null = null
let db: BrowserLevel<string, Uint8Array> | null = null
/** Entries this page's Log stored since it opened, counted on `update`. */
let storedHere = 0

/** What a test checks of the log, read from storage. */
export interface LogSummary {
  length: number
  heads: string[]
  lengths: Record<string, number>
  /** Entries this page stored since the log opened (a reload starts again at 0). */
  storedHere: number
  /** Distinct hashes read from storage, in the log's order. */
  distinct: number
  /** Every author's stored seqs are 0 … n − 1, each once, in the log's order. */
  gapless: boolean
}

const api = {
  /**
   * Opens the log `address` (hex) writing as the identity of `seed` (hex), in the
   * IndexedDB database `location` (a fresh one when omitted), without joining a room.
   */
  async open(address: string, seed: string, location = `p2p-log-e2e-${Math.random().toString(36).slice(2)}`): Promise<LogSummary> {
    db = new BrowserLevel(location)
    log = new Log({db, key: fromHex(address), identity: new KeyPairIdentity(fromHex(seed))})
    log.on('update', entries => { storedHere += entries.length })
    await log.ready()
    return api.summary()
  },
  /** Joins a room and replicates the open log with its peers; resolves with the swarm's key. */
  async join(hub: string, room: string): Promise<string> {
    swarm = new Swarm({hubs: [hub], room, identity: await createIdentity(), iceServers: [], announceInterval: {min: 100, max: 1000}})
    attachLog(log!, swarm)
    return swarm.publicKey
  },
  /** open() in a fresh database, then join(). */
  async start(hub: string, room: string, address: string, seed: string): Promise<string> {
    await api.open(address, seed)
    return api.join(hub, room)
  },
  /**
   * Reloads the page from the write that brings the log to `n` entries or more,
   * in that write's event, so the reload starts while replication is under way.
   */
  reloadWhenStored(n: number): void {
    const check = (): void => {
      if (log!.length < n) return
      log!.off('update', check)
      sessionStorage.setItem(LENGTH_AT_RELOAD, String(log!.length))
      location.reload()
    }
    log!.on('update', check)
  },
  /** The length noted by reloadWhenStored before the reload, or null. */
  lengthAtReload(): number | null {
    const noted = sessionStorage.getItem(LENGTH_AT_RELOAD)
    return noted === null ? null : Number(noted)
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
  /** Appends `count` entries `{i}` in batches of 1,000; resolves with the log's length. */
  async appendMany(count: number): Promise<number> {
    for (let i = 0; i < count; i += 1000) {
      await log!.append(Array.from({length: Math.min(1000, count - i)}, (_, j) => ({i: i + j})))
    }
    return log!.length
  },
  async summary(): Promise<LogSummary> {
    const seqs = new Map<string, number[]>()
    const hashes = new Set<string>()
    for await (const {entry} of log!.entries()) {
      hashes.add(toHex(entry.hash))
      const author = toHex(entry.author)
      const list = seqs.get(author)
      if (list) list.push(entry.seq)
      else seqs.set(author, [entry.seq])
    }
    const lengths = Object.fromEntries(log!.lengths())
    const gapless = seqs.size === Object.keys(lengths).length &&
      [...seqs].every(([author, list]) => list.length === lengths[author] && list.every((seq, i) => seq === i))
    return {length: log!.length, heads: log!.heads().map(toHex).sort(), lengths, storedHere, distinct: hashes.size, gapless}
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
