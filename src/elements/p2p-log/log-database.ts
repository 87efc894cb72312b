// The page's log databases: one IndexedDB database (browser-level) per writing key,
// shared by every <p2p-log> of the page that writes with it, and closed when the last
// one lets go. The page key is per tab slot (page-identity.ts), so a database named by
// it is this tab's alone: two tabs never append to one log in one store.
import type {BrowserLevel} from 'browser-level'
import {toHex} from '../../core/bytes.js'
import {Log, type LogOptions} from '../../core/log/log.js'

interface Shared {
  db: Promise<BrowserLevel>
  users: number
}

const databases = new Map<string, Shared>()
/** Logs open in this page, by database and address: the turn of the last element to claim each. */
const logs = new Map<string, Promise<void>>()

export interface HeldDatabase {
  db: BrowserLevel
  /** Its IndexedDB name. */
  name: string
  /** Lets go of it (closed once no element holds it). Idempotent. */
  release(): void
}

/** The database of the page's logs written with `key`; browser-level is loaded on first use. */
export async function holdDatabase(key: Uint8Array): Promise<HeldDatabase> {
  const name = `p2p-elements-logs-${toHex(key).slice(0, 16)}`
  let shared = databases.get(name)
  if (!shared) {
    // The kit's storage chunk, the file drop's too: a page with both loads browser-level once.
    const opening = import('../shared/storage.js').then(async ({QueuedBrowserLevel}) => {
      const db = new QueuedBrowserLevel(name)
      await db.open()
      return db
    })
    shared = {db: opening, users: 0}
    databases.set(name, shared)
    opening.catch(() => databases.delete(name))
  }
  shared.users++
  const held = shared
  let db: BrowserLevel
  try {
    db = await held.db
  } catch (err) {
    held.users--
    throw err
  }
  let released = false
  return {
    db,
    name,
    release() {
      if (released) return
      released = true
      if (--held.users > 0) return
      databases.delete(name)
      db.close().catch(() => undefined)
    },
  }
}

/**
 * Claims the log of `address` in the database `database` for one element of the page, once the element that had it
 * has let go (an element moved in the DOM closes its log and opens it again): two Log
 * objects over one store would each write from a state the other changes, and fork it.
 * Resolves with the release function.
 */
export async function claimLog(database: string, address: string): Promise<() => void> {
  const key = `${database}/${address}`
  const previous = logs.get(key)
  let release!: () => void
  const held = new Promise<void>(resolve => { release = resolve })
  const turn = (previous ?? Promise.resolve()).then(() => held)
  logs.set(key, turn)
  turn.then(() => {
    if (logs.get(key) === turn) logs.delete(key)
  })
  await previous
  let released = false
  return () => {
    if (released) return
    released = true
    release()
  }
}

export interface HeldLog {
  log: Log
  /** The database it is in. */
  db: BrowserLevel
  /** Closes the log, then lets go of its claim and of the database. */
  close(): Promise<void>
}

/**
 * The log of `options.key` in the page's database of `writer` (holdDatabase), claimed
 * (claimLog), open and ready: a log an element opens, as `<p2p-log>` does its own and
 * `<p2p-mirror-control>` a mirror's. Undefined, with nothing held, if `stale()` holds once
 * the claim is in (the element moved on while it waited).
 */
export async function holdLog(writer: Uint8Array, options: Omit<LogOptions, 'db'>, stale: () => boolean): Promise<HeldLog | undefined> {
  const held = await holdDatabase(writer)
  // A claim waits for the element before to let go; it never fails.
  const unclaim = await claimLog(held.name, toHex(options.key))
  const release = () => {
    unclaim()
    held.release()
  }
  if (stale()) {
    release()
    return undefined
  }
  let log: Log | undefined
  try {
    log = new Log({...options, db: held.db})
    await log.ready()
  } catch (err) {
    await log?.close().catch(() => undefined)
    release()
    throw err
  }
  const opened = log
  return {log: opened, db: held.db, close: () => opened.close().finally(release)}
}
