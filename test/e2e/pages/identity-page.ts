// A tab's own signed log, kept in IndexedDB and written with the page identity's key for
// it (pageLogIdentity), driven by test/e2e/identity.test.ts through window.p2pTest.
import {BrowserLevel} from 'browser-level'
import {pageIdentity, pageLogIdentity} from '../../../src/core/swarm/page-identity.js'
import {toHex} from '../../../src/core/bytes.js'
import {Log} from '../../../src/core/log/log.js'

/** One database for every tab, as an app's logs would share one: the keys alone keep the tabs apart. */
const DATABASE = 'p2p-identity-e2e'

let log: Log | null = null
let conflicts = 0
/** Every entry this tab's log held or wrote, as hex: what it would hand a peer. */
const written = new Set<string>()

export interface TabLog {
  /** This tab's page key and its key for the log, hex. */
  pageKey: string
  logKey: string
  length: number
  /** Entries by author (hex), as the log counts them. */
  lengths: Record<string, number>
  forks: number
  conflicts: number
  /** Every entry this tab's log held at open or wrote since, as hex. */
  written: string[]
}

async function summary(): Promise<TabLog> {
  return {
    pageKey: toHex((await pageIdentity()).publicKey),
    logKey: log!.address,
    length: log!.length,
    lengths: Object.fromEntries(log!.lengths()),
    forks: (await log!.forks()).length,
    conflicts,
    written: [...written],
  }
}

const api = {
  /** Opens (or creates) this tab's log named `name`. */
  async open(name: string): Promise<TabLog> {
    const identity = await pageLogIdentity(name)
    log = new Log({db: new BrowserLevel<string, Uint8Array>(DATABASE), key: identity.publicKey, identity})
    log.on('conflict', () => { conflicts++ })
    log.on('append', entries => entries.forEach(entry => written.add(toHex(entry.bytes))))
    await log.ready()
    for await (const {entry} of log.entries()) written.add(toHex(entry.bytes))
    return summary()
  },
  /** `n` appends at once, each its own call; resolves with the seqs they got. */
  async appendAtOnce(n: number): Promise<number[]> {
    const entries = await Promise.all(Array.from({length: n}, (_, i) => log!.append({i, at: Date.now()})))
    return entries.map(entry => (entry as {seq: number}).seq)
  },
  summary,
}

;(window as unknown as {p2pTest: typeof api}).p2pTest = api
