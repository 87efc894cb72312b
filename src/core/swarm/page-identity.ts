import {createIdentity, type Identity} from '../crypto/identity.js'
import {equal} from '../bytes.js'

/**
 * One key pair for the page, so that its rooms are one peer to the rooms of
 * other pages and can share one connection with each (rooms.ts), and so that a
 * reload writes to the same logs: it is kept in IndexedDB, under a slot this tab
 * holds with a Web Lock (stored-identity.ts, docs/identity.md). A second swarm
 * of the page in a room that already has one with the page key gets a fresh
 * key instead: two swarms in one room are two peers there, and a key cannot
 * connect to itself. Read once per page, on first use: a claim holds a promise.
 */
let page: Promise<Identity> | undefined
/** Log keys by name, derived from the page key once each. */
const logs = new Map<string, Promise<Identity>>()
/** Rooms where a swarm of this page uses the page key right now, each with what moves it to a new one. */
const claimed = new Map<string, () => void>()

// Every page runs it, but none needs it before its first swarm starts: out of the first files.
const stored = () => import('../crypto/stored-identity.js')

export interface IdentityClaim {
  identity: Promise<Identity>
  /** Gives the room back (the swarm stopped, or never started); idempotent. */
  release(): void
}

/** This tab's page identity: the same on every load of the tab (where storage allows). */
export function pageIdentity(): Promise<Identity> {
  page ??= stored().then(m => m.loadPageIdentity())
  return page
}

/**
 * Puts `identity` (from importIdentity, say) in place as the page identity: swarms
 * and logs opened from now on, and every later load of this tab, use it. Swarms
 * on the page key now are moved to it (each claim's `restart`: `<p2p-swarm>`
 * rejoins, and the logs it carries reopen as the new key's), unless it is the
 * key the page has; a key given by the app stays. The key it replaces is gone unless it was exported.
 * ERR_INVALID_ARGUMENT for a key that cannot be stored (createIdentity's cannot
 * be read out).
 */
export async function setPageIdentity(identity: Identity): Promise<void> {
  const before = await pageIdentity()
  await (await stored()).storePageIdentity(identity)
  page = Promise.resolve(identity)
  logs.clear()
  // The key the page has already (a backup imported twice): nothing to move, no peer to lose.
  if (equal(before.publicKey, identity.publicKey)) return
  // A copy: each restart lets its claim go and claims its room again.
  for (const restart of [...claimed.values()]) restart()
}

/**
 * The page's own key for the log named `name`: distinct per name (a log's
 * address is its owner's key), the same on every load of this tab, and derived
 * from the page identity, so it moves with it on export and import.
 */
export function pageLogIdentity(name: string): Promise<Identity> {
  let found = logs.get(name)
  if (!found) {
    const from = pageIdentity()
    found = stored().then(m => from.then(identity => m.deriveLogIdentity(identity, name)))
    logs.set(name, found)
  }
  return found
}

/**
 * The page key for a swarm in `room`, or a fresh one when the room has the page
 * key already. `restart` is called if setPageIdentity puts another page key in
 * place while the claim holds the page key: the swarm made on the old one
 * releases the claim and claims again.
 */
export function claimPageIdentity(room: string, restart: () => void = () => {}): IdentityClaim {
  if (claimed.has(room)) return {identity: createIdentity(), release() {}}
  claimed.set(room, restart)
  let released = false
  return {
    identity: pageIdentity(),
    release() {
      if (released) return
      released = true
      claimed.delete(room)
    },
  }
}
