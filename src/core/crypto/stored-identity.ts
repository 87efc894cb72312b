import {P2PError} from '../errors.js'
import {concat, randomBytes, utf8} from '../bytes.js'
import {claimStorageSlot} from '../storage/slot.js'
import {KeyPairIdentity, SEED_BYTES, exportIdentity} from './seed-identity.js'
import type {Identity} from './identity.js'

/**
 * The page identity kept in IndexedDB, one per tab slot (docs/identity.md).
 * page-identity.ts loads this module by import() on first use, so a page's first
 * files carry none of it.
 *
 * A slot holds a 32-byte seed, not a CryptoKey: the seed is what an export
 * hands out and what log keys are derived from, so it must be readable by the
 * page anyway, and an extractable CryptoKey would guard it no better.
 */
const DATABASE = 'p2p-elements-identity'
const STORE = 'seeds'
const LOG_KEY_DOMAIN = utf8('p2p-elements/log-identity/1\0')
/** sessionStorage's key for the slot this tab holds: it outlives a reload, and only this tab reads it. */
const TAB_SLOT = 'p2p-elements-identity-slot'

/** This tab's slot (the key its seed is stored under), or null where nothing is kept. */
let slot: Promise<string | null> | undefined

function claimSlot(): Promise<string | null> {
  slot ??= (async () => {
    // Without Web Locks a tab cannot tell that another holds a slot, and two tabs
    // appending with one key would fork its logs: such a page keeps nothing.
    if (!globalThis.navigator?.locks || !globalThis.indexedDB) return null
    // Held for the page's life: the browser lets it go when the page goes. A
    // reloaded tab asks for the slot it had first, so it keeps its key even when
    // a tab that held a lower slot closed meanwhile.
    const {name} = await claimStorageSlot(DATABASE, DATABASE, tabStorage(storage => storage.getItem(TAB_SLOT)))
    tabStorage(storage => storage.setItem(TAB_SLOT, name))
    return name
  })()
  return slot
}

/** What is used here of sessionStorage, which pages have and workers and Node do not. */
interface TabStorage {
  getItem(key: string): string | null
  setItem(key: string, value: string): void
}

/** `use` of sessionStorage, or null where there is none or the page may not use it (a sandboxed frame, storage turned off: it throws). */
function tabStorage<T>(use: (storage: TabStorage) => T): T | null {
  try {
    const storage = (globalThis as {sessionStorage?: TabStorage}).sessionStorage
    return storage ? use(storage) : null
  } catch {
    return null
  }
}

/**
 * This tab's identity: its slot's seed, made and stored on the slot's first use.
 * Where nothing can be kept (no Web Locks or IndexedDB, or a database that fails
 * to open) a fresh one, for this page load only.
 */
export async function loadPageIdentity(): Promise<KeyPairIdentity> {
  const name = await claimSlot()
  if (name === null) return new KeyPairIdentity()
  try {
    return new KeyPairIdentity(await transact(store => {
      const read = store.get(name)
      return new Promise<Uint8Array>(resolve => {
        read.onsuccess = () => {
          const found: unknown = read.result
          if (found instanceof Uint8Array && found.length === SEED_BYTES) return resolve(found)
          const seed = randomBytes(SEED_BYTES)
          store.put(seed, name)
          resolve(seed)
        }
      })
    }))
  } catch {
    return new KeyPairIdentity()
  }
}

/** Stores `identity`'s seed in this tab's slot (where one is kept), for every later load. */
export async function storePageIdentity(identity: Identity): Promise<void> {
  const seed = exportIdentity(identity, 'seed')
  const name = await claimSlot()
  if (name !== null) await transact(store => store.put(seed, name))
}

/**
 * The key of the log named `name` for the holder of `page`: its seed is
 * HMAC-SHA-256(page seed, domain | name), as corestore derives a namespace's
 * keys from one primary key, so one seed backs up every log a page owns.
 */
export async function deriveLogIdentity(page: Identity, name: string): Promise<KeyPairIdentity> {
  if (typeof name !== 'string' || !name) throw P2PError.INVALID_ARGUMENT('a log name is a non-empty string')
  const {subtle} = globalThis.crypto
  const key = await subtle.importKey('raw', exportIdentity(page, 'seed') as Uint8Array<ArrayBuffer>, {name: 'HMAC', hash: 'SHA-256'}, false, ['sign'])
  return new KeyPairIdentity(new Uint8Array(await subtle.sign('HMAC', key, concat([LOG_KEY_DOMAIN, utf8(name)]) as Uint8Array<ArrayBuffer>)))
}

/** Runs `use` in one read-write transaction; resolves with its result once the transaction is committed. */
async function transact<T>(use: (store: IDBObjectStore) => unknown): Promise<T> {
  const db = await new Promise<IDBDatabase>((resolve, reject) => {
    const open = indexedDB.open(DATABASE, 1)
    open.onupgradeneeded = () => open.result.createObjectStore(STORE)
    open.onsuccess = () => resolve(open.result)
    open.onerror = () => reject(open.error)
  })
  try {
    return await new Promise<T>((resolve, reject) => {
      const tx = db.transaction(STORE, 'readwrite')
      const result = use(tx.objectStore(STORE))
      tx.oncomplete = () => resolve(result as T)
      tx.onerror = tx.onabort = () => reject(tx.error)
    })
  } finally {
    db.close()
  }
}
