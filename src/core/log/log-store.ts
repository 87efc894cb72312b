/**
 * The reads and writes of a log's storage layout (store.ts, docs/log.md
 * "Storage"), with the bounded caches that keep them few. A write costs a few
 * records whatever its number of entries: its entries packed into blocks, one
 * `a!` record per author, and one sorted run of the hash index, merged on the
 * way with the runs before it when they are not much larger. In a page every
 * record is a request to IndexedDB, so records, not bytes, are what a write
 * costs there.
 *
 * The Log owns the state and the write turn; this class never writes by
 * itself: it makes a write's operations, and hears when they are committed.
 */
import {P2PError} from '../errors.js'
import {concat, fromHex, toHex} from '../bytes.js'
import type {Entry} from './entry.js'
import {
  BLOCK_END, BLOCK_PREFIX, PAGE_END, PAGE_PREFIX, ROWS, ROW_BYTES, STATE_KEY, authorKey, authorPrefix, blockKey,
  blockSizes, compareHashes, decodeBlock, decodeState, encodeBlock, findRow, keyStart, mergeRows, plain, rowCount, rowHash,
  rowLocation, runPages, runPrefix, shouldMerge, writeRow, entryHeader,
  type BlockRow, type Location, type LogState, type LogSublevel,
} from './store.js'

/** Where an entry known to be stored sits, and what checks of later entries need of it. */
export interface Known {
  author: string
  seq: number
  ownerSeen: number
  /** Set once its write is committed; an entry of the write in the making has none yet. */
  at?: Location
}

/**
 * Stored entries remembered by hash, all logs of the page together: the prevs
 * and links of what arrives next are nearly always among them (about 4 MiB).
 */
const RECENT = 16_384
/** Hash index pages kept in memory, all logs together (about 2.5 MiB: 64 full pages). */
const CACHED_PAGES = 64
/** Blocks kept in memory, all logs together (at most about 3.75 MiB). */
const CACHED_BLOCKS = 64

/** A Map that forgets its least recently used key past `limit`. */
class Lru<K, V> {
  readonly #map = new Map<K, V>()
  constructor(readonly limit: number) {}

  get(key: K): V | undefined {
    const value = this.#map.get(key)
    if (value !== undefined) {
      this.#map.delete(key)
      this.#map.set(key, value)
    }
    return value
  }

  set(key: K, value: V): void {
    this.#map.delete(key)
    this.#map.set(key, value)
    if (this.#map.size > this.limit) this.#map.delete(this.#map.keys().next().value as K)
  }

  delete(key: K): void {
    this.#map.delete(key)
  }
}

/**
 * The caches are the page's (or process's), not each log's: a room opens up to
 * 64 logs, and their memory is bounded together. Keys start with the store's id.
 */
const recentCache = new Lru<string, Known>(RECENT)
const pageCache = new Lru<string, Uint8Array>(CACHED_PAGES)
const blockCache = new Lru<string, BlockRow[]>(CACHED_BLOCKS)
let stores = 0

/** A write in the making: its operations, and what committing it tells the caches. */
export interface WriteOps {
  ops: Array<{type: 'put', key: string, value: Uint8Array} | {type: 'del', key: string}>
  commit: () => void
}

/** The pages of the hash index by run: each run's first hashes (hex) in order, from the page keys. */
type Directory = Map<number, string[]>

export class LogStore {
  readonly #db: LogSublevel
  /** This store's prefix of the shared caches' keys. */
  readonly #id = `${stores++}:`
  /** Each author's last stored entry: the prev of its next append. */
  readonly #tails = new Map<string, {seq: number, hash: Uint8Array, at: Location}>()
  /** Read from the page keys at the first lookup, then kept up to date by every write. */
  #directory: Promise<Directory> | undefined

  constructor(db: LogSublevel) {
    this.#db = db
  }

  async state(): Promise<LogState | undefined> {
    const value = await this.#db.get(STATE_KEY)
    return value ? decodeState(value) : undefined
  }

  // -- reads ------------------------------------------------------------------

  /** A stored entry remembered by hash, without reading: most duplicates are recent. */
  recent(hash: string): Known | undefined {
    return recentCache.get(this.#id + hash)
  }

  /** What is stored of each hash (hex): recent ones from memory, the rest through the hash index and their blocks. */
  async known(hashes: string[]): Promise<Map<string, Known>> {
    const out = new Map<string, Known>()
    const rest: string[] = []
    for (const hash of hashes) {
      const known = recentCache.get(this.#id + hash)
      if (known) out.set(hash, known)
      else rest.push(hash)
    }
    if (rest.length === 0) return out
    const located = await this.#locate(rest)
    const rows = await this.#rowsAt([...located.values()])
    let i = 0
    for (const [hash, at] of located) {
      const {bytes, ownerSeen} = rows[i++]
      const known: Known = {...entryHeader(bytes), ownerSeen, at}
      recentCache.set(this.#id + hash, known)
      out.set(hash, known)
    }
    return out
  }

  /** The stored entries at these locations, in their order. */
  async #rowsAt(locations: Location[]): Promise<BlockRow[]> {
    const blocks = new Map<number, BlockRow[] | undefined>()
    for (const {block} of locations) blocks.set(block, blockCache.get(this.#id + block))
    const unread = [...blocks].filter(([, rows]) => !rows).map(([block]) => block)
    if (unread.length > 0) {
      const values = await this.#db.getMany(unread.map(blockKey))
      unread.forEach((block, i) => {
        if (!values[i]) throw P2PError.NOT_FOUND(`block ${block} is indexed but not stored`)
        const rows = decodeBlock(values[i]!)
        blockCache.set(this.#id + block, rows)
        blocks.set(block, rows)
      })
    }
    return locations.map(({block, row}) => {
      const found = blocks.get(block)![row]
      if (!found) throw P2PError.NOT_FOUND(`entry ${block + row} is indexed but not stored`)
      return found
    })
  }

  entryAt(at: Location): Promise<BlockRow> {
    return this.#rowsAt([at]).then(([row]) => row)
  }

  /** The hash and place of the author's stored entry `seq`, from the `a!` record holding it. */
  async authorRow(author: string, seq: number): Promise<{hash: Uint8Array, at: Location} | undefined> {
    const tail = this.#tails.get(author)
    if (tail?.seq === seq) return tail
    const [found] = await this.#db.iterator({lte: authorKey(author, seq), gte: authorPrefix(author), reverse: true, limit: 1}).all()
    if (!found) return undefined
    const rows = plain(found[1])
    const i = seq - keyStart(found[0])
    if (i >= rowCount(rows)) return undefined
    return {hash: rowHash(rows, i).slice(), at: rowLocation(rows, i)}
  }

  /** Where each hash (hex) is stored, for those that are: one page of each run that may hold it. */
  async #locate(hashes: string[], attempt = 0): Promise<Map<string, Location>> {
    const directory = await this.#pages()
    const wanted = new Map<string, string[]>()
    for (const hash of hashes) {
      for (const [run, firsts] of directory) {
        // The page that may hold `hash` is the last whose first hash is not above it.
        let lo = 0
        let hi = firsts.length - 1
        let page = -1
        while (lo <= hi) {
          const mid = (lo + hi) >>> 1
          if (firsts[mid] <= hash) {
            page = mid
            lo = mid + 1
          } else {
            hi = mid - 1
          }
        }
        if (page < 0) continue
        const key = `${runPrefix(run)}${firsts[page]}`
        const list = wanted.get(key)
        if (list) list.push(hash)
        else wanted.set(key, [hash])
      }
    }
    const keys = [...wanted.keys()]
    const pages = keys.map(key => pageCache.get(this.#id + key))
    const unread = keys.filter((_, i) => !pages[i])
    if (unread.length > 0) {
      const values = await this.#db.getMany(unread)
      // Writes take turns with the lookups made inside them; one made outside (get) may meet a merge
      // that replaced the pages it chose: the directory is new by the time the read returns.
      if (values.includes(undefined) && attempt < 2) return this.#locate(hashes, attempt + 1)
      let j = 0
      keys.forEach((key, i) => {
        if (pages[i]) return
        const value = values[j++]
        if (!value) throw P2PError.NOT_FOUND(`hash index page ${key} is gone`)
        pages[i] = plain(value)
        pageCache.set(this.#id + key, pages[i]!)
      })
    }
    const out = new Map<string, Location>()
    keys.forEach((key, i) => {
      for (const hash of wanted.get(key)!) {
        const row = findRow(pages[i]!, fromHex(hash))
        if (row >= 0) out.set(hash, rowLocation(pages[i]!, row))
      }
    })
    return out
  }

  #pages(): Promise<Directory> {
    this.#directory ??= (async () => {
      const directory: Directory = new Map()
      for (const key of await this.#db.keys({gte: PAGE_PREFIX, lt: PAGE_END}).all()) {
        const run = Number(key.slice(2, 12))
        const firsts = directory.get(run)
        if (firsts) firsts.push(key.slice(13))
        else directory.set(run, [key.slice(13)])
      }
      return directory
    })()
    return this.#directory
  }

  /**
   * Up to `count` stored entries in local order from index `from` (down from
   * it when reverse), read a block at a time.
   */
  async records(from: number, count: number, reverse: boolean): Promise<Array<{index: number, hash: Uint8Array, bytes: Uint8Array}>> {
    const out: Array<{index: number, hash: Uint8Array, bytes: Uint8Array}> = []
    const take = (key: string, value: Uint8Array): void => {
      const start = keyStart(key)
      const rows = blockCache.get(this.#id + start) ?? decodeBlock(value)
      const push = (i: number): void => {
        out.push({index: start + i, hash: rows[i].hash, bytes: rows[i].bytes})
      }
      if (reverse) {
        for (let i = Math.min(rows.length - 1, from - start); i >= 0 && out.length < count; i--) push(i)
      } else {
        for (let i = Math.max(0, from - start); i < rows.length && out.length < count; i++) push(i)
      }
    }
    // The block holding `from` starts at or before it; the rest follow (or precede) it.
    const [holding] = await this.#db.iterator({lte: blockKey(from), gte: BLOCK_PREFIX, reverse: true, limit: 1}).all()
    if (holding) take(...holding)
    if (out.length >= count) return out
    const range = reverse ? {lt: holding?.[0] ?? blockKey(from), gte: BLOCK_PREFIX, reverse: true} : {gt: blockKey(from), lt: BLOCK_END}
    const iterator = this.#db.iterator(range)
    try {
      while (out.length < count) {
        // A block holds a few hundred entries of 100 bytes: ask for about what is left.
        const rows = await iterator.nextv(Math.ceil((count - out.length) / 128) + 1)
        if (rows.length === 0) break
        for (const [key, value] of rows) take(key, value)
      }
    } finally {
      await iterator.close()
    }
    return out
  }

  // -- writes -----------------------------------------------------------------

  /**
   * The operations that store `stored` (in local order, from local index
   * `first`): its blocks, its authors' `a!` records, and its run of the hash
   * index, merged with the newest runs while they are not much larger (reading
   * those runs' pages first). `state` gets the runs it leads to. The entries'
   * Known get their place, and `commit()` tells the caches once the batch is written.
   */
  async write(stored: ReadonlyArray<{entry: Entry, known: Known}>, first: number, state: LogState): Promise<WriteOps> {
    const ops: WriteOps['ops'] = []
    // A write of fork evidence alone stores no entry.
    if (stored.length === 0) return {ops, commit: () => undefined}
    const rows: BlockRow[] = stored.map(({entry, known}) => ({hash: entry.hash, ownerSeen: known.ownerSeen, bytes: entry.bytes}))
    const blocks: Array<[number, BlockRow[]]> = []
    let next = 0
    for (const size of blockSizes(rows)) {
      const block = first + next
      const own = rows.slice(next, next + size)
      ops.push({type: 'put', key: blockKey(block), value: encodeBlock(own)})
      blocks.push([block, own])
      for (let row = 0; row < size; row++) stored[next + row].known.at = {block, row}
      next += size
    }
    // An author's entries in one write are consecutive seqs (each needs its prev stored first).
    const byAuthor = new Map<string, Array<{entry: Entry, known: Known}>>()
    for (const item of stored) {
      const list = byAuthor.get(item.known.author)
      if (list) list.push(item)
      else byAuthor.set(item.known.author, [item])
    }
    for (const [author, items] of byAuthor) {
      for (let i = 0; i < items.length; i += ROWS) {
        const part = items.slice(i, i + ROWS)
        const value = new Uint8Array(part.length * ROW_BYTES)
        part.forEach(({entry, known}, j) => writeRow(value, j, entry.hash, known.at!))
        ops.push({type: 'put', key: authorKey(author, part[0].entry.seq), value})
      }
    }
    // This write's run of the hash index, sorted by hash.
    const order = stored.map((_, i) => i).sort((a, b) => compareHashes(stored[a].entry.hash, stored[b].entry.hash))
    let run: Uint8Array = new Uint8Array(stored.length * ROW_BYTES)
    order.forEach((i, j) => writeRow(run, j, stored[i].entry.hash, stored[i].known.at!))
    const runs = [...state.runs]
    const directory = await this.#pages()
    const gone: number[] = []
    let count = stored.length
    while (shouldMerge([...runs, [-1, count]])) {
      const [older] = runs.splice(-1, 1)
      const keys = (directory.get(older[0]) ?? []).map(first => `${runPrefix(older[0])}${first}`)
      const cached = keys.map(key => pageCache.get(this.#id + key))
      const unread = keys.filter((_, i) => !cached[i])
      const values = unread.length > 0 ? await this.#db.getMany(unread) : []
      let j = 0
      const pages = cached.map((page, i) => {
        if (page) return page
        const value = values[j++]
        if (!value) throw P2PError.NOT_FOUND(`hash index page ${keys[i]} is gone`)
        return plain(value)
      })
      for (const key of keys) ops.push({type: 'del', key})
      run = mergeRows(pages.length === 1 ? pages[0] : concat(pages), run)
      count = rowCount(run)
      gone.push(older[0])
    }
    const id = state.nextRun
    const pages = runPages(id, run)
    for (const {key, value} of pages) ops.push({type: 'put', key, value})
    state.runs = [...runs, [id, count]]
    state.nextRun = id + 1
    return {
      ops,
      commit: () => {
        for (const {entry, known} of stored) {
          recentCache.set(this.#id + toHex(entry.hash), known)
          this.#tails.set(known.author, {seq: entry.seq, hash: entry.hash, at: known.at!})
        }
        for (const [block, own] of blocks) blockCache.set(this.#id + block, own)
        for (const old of gone) {
          for (const first of directory.get(old) ?? []) pageCache.delete(`${this.#id}${runPrefix(old)}${first}`)
          directory.delete(old)
        }
        directory.set(id, pages.map(({key}) => key.slice(13)))
        for (const {key, value} of pages) pageCache.set(this.#id + key, value)
      },
    }
  }
}
