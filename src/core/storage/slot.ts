/**
 * Per-tab slots of storage. Tabs of one origin share IndexedDB: two chunk stores
 * over one database would each trust a bitfield the other is rewriting, and two
 * tabs writing a log with one key would fork it. So a tab takes a Web Lock on a
 * slot's name before it uses what is stored under it, and a tab that finds the
 * name taken uses the next one.
 */

export interface StorageSlot {
  /** The name this tab holds: `base`, else `base-2`, `base-3`, … */
  readonly name: string
  /** Lets the lock go; call it once the database is closed. Idempotent. */
  release(): void
}

/**
 * Holds the lock of the first free name among `base`, `base-2`, `base-3`, … until
 * released. The lock of a name is `<scope>:<name>`: scoped to what the kit keeps
 * there, so an app's own locks never collide with them. A reloaded tab usually
 * gets its old name back (its lock went with the page), so what it stored there
 * is found again.
 *
 * `prefer`, one of those names, is tried first: the one a tab held before a reload,
 * so it keeps it even when a lower one has come free meanwhile. It is waited for,
 * up to PREFER_WAIT_MS: the page being replaced may not have let it go yet.
 *
 * Without Web Locks (an insecure context) it takes `base` unguarded: the one case
 * where two tabs can meet in one slot.
 */
export async function claimStorageSlot(scope: string, base: string, prefer?: string | null): Promise<StorageSlot> {
  if (!globalThis.navigator?.locks) return {name: base, release: () => {}}
  const slot = (n: number) => n === 1 ? base : `${base}-${n}`
  // Anything else (a stale or tampered value) is ignored rather than becoming a slot.
  const preferred = prefer === base ? 1 : Number(prefer?.slice(base.length + 1))
  if (Number.isSafeInteger(preferred) && preferred >= 1 && slot(preferred) === prefer) {
    const release = await tryLock(`${scope}:${prefer}`, PREFER_WAIT_MS)
    if (release) return {name: prefer, release}
  }
  for (let n = 1; ; n++) {
    const release = await tryLock(`${scope}:${slot(n)}`)
    if (release) return {name: slot(n), release}
  }
}

/**
 * How long a reloaded tab waits for the slot it held. The old page's locks go
 * as it is torn down, which may finish after the new page asks; a tab that holds
 * the name for good (a duplicated tab copies the note of its slot) costs the
 * new one this wait before it takes the first free name.
 */
const PREFER_WAIT_MS = 2_000

/** The lock of `name` (its release function) if it is free now, or within `wait` ms; else null. */
function tryLock(name: string, wait = 0): Promise<(() => void) | null> {
  return new Promise((resolve, reject) => {
    navigator.locks.request(name, wait ? {signal: AbortSignal.timeout(wait)} : {ifAvailable: true}, lock => {
      if (!lock) {
        resolve(null)
        return undefined
      }
      // The lock is held for as long as the callback's promise is pending.
      return new Promise<void>(release => resolve(release))
    }).catch((err: unknown) => (err as Error).name === 'TimeoutError' ? resolve(null) : reject(err))
  })
}
