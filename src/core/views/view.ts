/**
 * Views (the kappa architecture): the log is the truth, a view is a
 * deterministic fold of its entries into rows of the view's own sublevel, and
 * can always be deleted and rebuilt from the log.
 *
 * A view reads the log in local order, which is causal: an entry comes after
 * its author's previous entry and after every entry it links. `map(entry)`
 * returns the rows that entry puts and deletes, reading earlier rows through
 * the reader it is given. Entries are folded in slices; each slice is one
 * atomic batch holding its rows and the view's progress marker, so a crash
 * never half-applies an entry, and between slices the event loop gets a turn,
 * so indexing never holds the page for long. docs/views.md has the rules.
 */
import type {AbstractSublevel} from 'abstract-level'
import {systemClock, type Clock} from '../clock.js'
import {Emitter} from '../emitter.js'
import {P2PError} from '../errors.js'
import {checkInteger} from '../check.js'
import {isQuotaError} from '../storage/quota.js'
import {rethrowLater} from '../rethrow-later.js'
import {yieldToEventLoop} from '../yield.js'
import type {Entry} from '../log/entry.js'
import type {Log} from '../log/log.js'
import type {LogDatabase} from '../log/store.js'

/** A row a map writes: a JSON value under a string key, or the key's removal. */
export type ViewRow = {type: 'put', key: string, value: unknown} | {type: 'del', key: string}

/** What a map may read: rows as the entries before this one left them. */
export interface ViewReader {
  get(key: string): Promise<unknown>
}

export interface ViewDefinition {
  /** Names the view's sublevel: 1 to 64 of a-z, A-Z, 0-9, `.`, `_` and `-`, starting with a letter or digit. */
  name: string
  /** A positive integer: a view stored under another version is deleted and rebuilt. */
  version: number
  /** The rows of one entry. Deterministic: the same entries in the same order give the same rows on every peer. */
  map(entry: Entry, view: ViewReader): ViewRow[] | void | Promise<ViewRow[] | void>
  /** The keys `map(entry)` will read, if known: read for a whole slice at once before its maps run. */
  keys?(entry: Entry): string[]
}

export interface ViewOptions {
  /** Most entries in one slice (one atomic batch): 512. */
  slice?: number
  /** A slice ends once it has run this long (ms), and the event loop gets a turn: 8. */
  sliceMs?: number
  /** The time slices are measured with. */
  clock?: Clock
}

/** A key range, as abstract-level takes it; rows come in key order (UTF-8 bytes). */
export interface ViewRange {
  gt?: string
  gte?: string
  lt?: string
  lte?: string
  limit?: number
  reverse?: boolean
}

/** How a row changed: it entered the view (or range), changed value, or left. */
export type ViewDiff =
  | {type: 'enter', key: string, value: unknown}
  | {type: 'change', key: string, value: unknown, old: unknown}
  | {type: 'leave', key: string, old: unknown}

export interface ViewProgress {
  /** Entries folded, in the log's local order. */
  indexed: number
  /** Entries in the log. */
  total: number
}

export interface ViewStats extends ViewProgress {
  /** Rows written (puts and deletions) since this View opened. */
  rows: number
  /** Slices written since this View opened. */
  slices: number
  /** The map failed: the view stops where it was (a new version or `rebuild()` starts again). */
  failed: boolean
}

export type ViewEvents = {
  /** After each slice. */
  progress: (progress: ViewProgress) => void
  /** The rows a slice changed, once it is written. */
  change: (diffs: ViewDiff[]) => void
  /** ERR_VIEW_FAILED (the view stops), ERR_STORAGE_FULL (it goes on with the log's next update) or the store's failure. */
  error: (err: P2PError) => void
  close: () => void
}

/** A live query: the rows of a range, then how they change. */
export interface ViewSubscription {
  /** Resolves once the rows the range held when subscribing were handed over as `enter` diffs. */
  readonly ready: Promise<void>
  close(): void
}

interface Meta {
  version: number
  indexed: number
}

type ViewSublevel = AbstractSublevel<any, any, string, string>

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/
const META = 'meta'
const ROW = 'r!'
const ROW_END = 'r"'
/**
 * A slice ends once it has written this many rows. A store may make a batch's
 * requests in one task (`<p2p-log>`'s QueuedBrowserLevel does): 1,000 puts took
 * 36 ms of the main thread and 4,000 took 91 in one loaded Chromium run.
 */
const SLICE_ROWS = 512
/**
 * Rows a slice's prefetch reads at once. browser-level's getMany makes all its
 * IndexedDB requests in one task: a KV slice's 1,024 keys took 80 ms of the
 * main thread's CPU in one task (a profiled 100k-key fold, bench/view.bench.ts),
 * about 60 µs a key; read 256 at a time, each read is its own task.
 */
const PREFETCH_ROWS = 256
/** Rows a range read asks the store for at once: first, and at most (doubling in between). */
const FIRST_CHUNK = 100
const LAST_CHUNK = 1000

/** Rows a view keeps in memory between slices, and their characters: enough for the hot rows of a fold (counts, heads). */
const KNOWN_ROWS = 4096
const KNOWN_CHARS = 4 * 1024 * 1024
/** A longer key is misuse by the map: keys are for lookups and ranges, values hold data. */
export const MAX_VIEW_KEY_LENGTH = 1024

/** A View's hold on its sublevel; `closing` once it is closing, resolved when its last slice is written. */
interface Hold {
  closing?: Promise<void>
}

/**
 * The views open on each database, by `<address>/<name>`: two Views folding into
 * one sublevel would each apply again what the other applied.
 */
const holds = new WeakMap<object, Map<string, Hold>>()

/** The sublevel of a view of the log at `address`: beside the log's, never inside it. */
export function viewSublevel(db: LogDatabase, address: string, name: string): ViewSublevel {
  return db.sublevel<string, string>(`view-${address}-${name}`, {keyEncoding: 'utf8', valueEncoding: 'utf8'}) as ViewSublevel
}

function rowRange(range: ViewRange): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {}
  if (range.gt !== undefined) out.gt = ROW + range.gt
  else if (range.gte !== undefined) out.gte = ROW + range.gte
  else out.gte = ROW
  if (range.lt !== undefined) out.lt = ROW + range.lt
  else if (range.lte !== undefined) out.lte = ROW + range.lte
  else out.lt = ROW_END
  if (range.limit !== undefined) out.limit = range.limit
  if (range.reverse) out.reverse = true
  return out
}

function inRange(key: string, {gt, gte, lt, lte}: ViewRange): boolean {
  // Compared as the store orders keys: by UTF-8 bytes, which is code point order.
  const cmp = (a: string, b: string): number => compareCodePoints(a, b)
  // gt before gte and lt before lte, as rowRange gives them to the store: a live query holds what range() reads.
  if (gt !== undefined ? cmp(key, gt) <= 0 : gte !== undefined && cmp(key, gte) < 0) return false
  if (lt !== undefined ? cmp(key, lt) >= 0 : lte !== undefined && cmp(key, lte) > 0) return false
  return true
}

/** Code point order (UTF-8 byte order), which `<` on strings is not past U+FFFF. */
export function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) {
    const x = a.codePointAt(i)!
    const y = b.codePointAt(i)!
    if (x !== y) return x - y
    if (x > 0xffff) i++
  }
  return a.length - b.length
}

function checkRange(range: ViewRange): void {
  for (const bound of ['gt', 'gte', 'lt', 'lte'] as const) {
    if (range[bound] !== undefined && typeof range[bound] !== 'string') throw P2PError.INVALID_ARGUMENT(`${bound} must be a string`)
  }
  if (range.limit !== undefined) checkInteger('limit', range.limit, 0)
}

/**
 * A view of one log. Several views may fold one log, each at its own pace:
 * a view never holds up the log's appends nor another view.
 */
export class View extends Emitter<ViewEvents> {
  readonly name: string
  readonly version: number
  readonly log: Log
  readonly #definition: ViewDefinition
  readonly #db: ViewSublevel
  readonly #slice: number
  readonly #sliceMs: number
  readonly #clock: Clock
  #indexed = 0
  #counts = {rows: 0, slices: 0}
  #failure: P2PError | undefined
  #closed = false
  #opened: Promise<void> | undefined
  readonly #hold: Hold = {}
  /** The closing of the View of this name before this one, if it was still writing. */
  readonly #previous: Promise<void> | undefined
  /** Slices, snapshots and rebuilds take turns. */
  #turn: Promise<unknown> = Promise.resolve()
  #running = false
  /**
   * Rows as the last slices wrote or read them (JSON text, undefined for none),
   * oldest first: a slice reads these from memory. The view is its sublevel's
   * only writer, so they stay true until a reset.
   */
  readonly #known = new Map<string, string | undefined>()
  #knownChars = 0
  /** Entries read ahead of the fold: the next slice starts with them. */
  #ahead: Entry[] = []
  readonly #waiters = new Set<{target: number, resolve: () => void, reject: (err: P2PError) => void}>()
  readonly #subscriptions = new Set<{range: ViewRange, listener: (diffs: ViewDiff[]) => void}>()
  readonly #onUpdate = (): void => this.#schedule()
  readonly #onLogClose = (): void => void this.close()

  constructor(log: Log, definition: ViewDefinition, {slice = 512, sliceMs = 8, clock = systemClock}: ViewOptions = {}) {
    super()
    if (!definition || typeof definition.map !== 'function') throw P2PError.INVALID_ARGUMENT('a view needs a map function')
    if (typeof definition.name !== 'string' || !NAME.test(definition.name)) {
      throw P2PError.INVALID_ARGUMENT('a view name is 1 to 64 of A-Z, a-z, 0-9, ".", "_" and "-", starting with a letter or digit')
    }
    checkInteger('version', definition.version, 1)
    checkInteger('slice', slice, 1)
    if (!(sliceMs > 0)) throw P2PError.INVALID_ARGUMENT('sliceMs must be positive')
    const held = holds.get(log.db) ?? new Map<string, Hold>()
    const previous = held.get(`${log.address}/${definition.name}`)
    if (previous && !previous.closing) throw P2PError.INVALID_ARGUMENT(`the view ${definition.name} of this log is open already: close it first`)
    // One that is closing still writes its last slice: this one opens after it.
    this.#previous = previous?.closing
    held.set(`${log.address}/${definition.name}`, this.#hold)
    holds.set(log.db, held)
    this.log = log
    this.name = definition.name
    this.version = definition.version
    this.#definition = definition
    this.#db = viewSublevel(log.db, log.address, definition.name)
    this.#slice = slice
    this.#sliceMs = sliceMs
    this.#clock = clock
    log.on('update', this.#onUpdate)
    log.on('close', this.#onLogClose)
    this.#schedule()
  }

  get stats(): ViewStats {
    return {indexed: this.#indexed, total: this.log.length, ...this.#counts, failed: this.#failure !== undefined}
  }

  /**
   * Resolves once every entry the log holds now is folded; rejects with the
   * failure if the map fails first, with ERR_DESTROYED if the view closes.
   */
  async ready(): Promise<void> {
    await this.log.ready()
    await this.#open()
    const target = this.log.length
    if (this.#failure) throw this.#failure
    if (this.#closed) throw P2PError.DESTROYED('the view was closed')
    if (this.#indexed >= target) return
    await new Promise<void>((resolve, reject) => {
      this.#waiters.add({target, resolve, reject})
      this.#schedule()
    })
  }

  /** The row under `key`, as far as the view has folded (undefined for none). */
  async get(key: string): Promise<unknown> {
    if (typeof key !== 'string') throw P2PError.INVALID_ARGUMENT('a view key is a string')
    await this.#open()
    const text = await this.#db.get(ROW + key)
    return text === undefined ? undefined : JSON.parse(text)
  }

  /**
   * The rows of a range, in key order, read as they are yielded: in chunks of
   * 100 rows, then up to 1,000 (each a single read of the store; IndexedDB's
   * iterator would read 1 row, then 100 at a time), never more than `limit`.
   */
  async* rows(range: ViewRange = {}): AsyncIterable<{key: string, value: unknown}> {
    checkRange(range)
    await this.#open()
    const iterator = this.#db.iterator(rowRange(range))
    try {
      let left = range.limit ?? Infinity
      for (let size = FIRST_CHUNK; left > 0; size = Math.min(size * 2, LAST_CHUNK)) {
        const chunk = await iterator.nextv(Math.min(size, left))
        if (chunk.length === 0) return
        left -= chunk.length
        for (const [key, text] of chunk) yield {key: key.slice(ROW.length), value: JSON.parse(text)}
      }
    } finally {
      await iterator.close()
    }
  }

  /** The rows of a range, in key order, as an array. */
  async range(range: ViewRange = {}): Promise<Array<{key: string, value: unknown}>> {
    const out: Array<{key: string, value: unknown}> = []
    for await (const row of this.rows(range)) out.push(row)
    return out
  }

  /**
   * A live query over a range (no `limit`): `listener` gets the rows it holds
   * now as `enter` diffs, then, after each slice, the rows that entered,
   * changed or left it. Nothing is missed or doubled between the two: the rows
   * are read between slices.
   */
  subscribe(range: ViewRange, listener: (diffs: ViewDiff[]) => void): ViewSubscription {
    checkRange(range)
    if (range.limit !== undefined) throw P2PError.INVALID_ARGUMENT('a live query takes no limit')
    if (typeof listener !== 'function') throw P2PError.INVALID_ARGUMENT('a live query needs a listener')
    const subscription = {range: {...range, reverse: false}, listener}
    let closed = false
    // Opened first: the snapshot's read must not wait for a turn behind its own.
    const ready = this.#open().then(() => this.#take(async () => {
      if (closed || this.#closed) return
      const rows = await this.range(subscription.range)
      if (closed || this.#closed) return
      this.#subscriptions.add(subscription)
      if (rows.length > 0) this.#tell(() => listener(rows.map(({key, value}) => ({type: 'enter', key, value}))))
    }))
    return {
      ready,
      close: () => {
        closed = true
        this.#subscriptions.delete(subscription)
      },
    }
  }

  /**
   * Deletes every row and folds the log again from its first entry (also after
   * a failure: a fixed map under the same version). Live queries get every row
   * they held as `leave`, then the rows again as they are folded.
   */
  async rebuild(): Promise<void> {
    if (this.#closed) throw P2PError.DESTROYED('the view was closed')
    await this.#open()
    await this.#take(async () => {
      const leaving = new Map<string, unknown>()
      if (this.#subscriptions.size > 0) for (const {key, value} of await this.range()) leaving.set(key, value)
      await this.#reset()
      this.#failure = undefined
      this.#ahead = []
      if (leaving.size > 0) this.#notify([...leaving].map(([key, old]) => ({type: 'leave', key, old})))
      this.#tell(() => this.emit('progress', {indexed: 0, total: this.log.length}))
    })
    this.#schedule()
    await this.ready()
  }

  /**
   * Stops folding and following the log; what is written stays. Resolves once
   * the slice in progress is written; a View of this name made meanwhile opens
   * after that.
   */
  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    this.log.off('update', this.#onUpdate)
    this.log.off('close', this.#onLogClose)
    this.#subscriptions.clear()
    const destroyed = P2PError.DESTROYED('the view was closed')
    for (const waiter of this.#waiters) waiter.reject(destroyed)
    this.#waiters.clear()
    // Done once its own last slice is written, and the closing of the View before it (it may not have opened yet).
    this.#hold.closing = Promise.all([this.#previous, this.#turn.catch(() => {})]).then(() => {})
    await this.#hold.closing
    const held = holds.get(this.log.db)
    if (held?.get(`${this.log.address}/${this.name}`) === this.#hold) held.delete(`${this.log.address}/${this.name}`)
    this.emit('close')
  }

  #take<T>(work: () => Promise<T>): Promise<T> {
    const done = this.#turn.then(work)
    this.#turn = done.catch(() => {})
    return done
  }

  #open(): Promise<void> {
    this.#opened ??= this.#take(async () => {
      await this.#previous
      await this.log.ready()
      // Closed before it opened: it must not reset what the next View of its name folds.
      if (this.#closed) return
      const meta = readMeta(await this.#db.get(META))
      // A marker past the log's end counted entries of a log whose data is gone (the view's stayed): fold again.
      if (meta?.version === this.version && meta.indexed <= this.log.length) this.#indexed = meta.indexed
      else await this.#reset()
    })
    return this.#opened
  }

  /** Deletes the rows and writes progress 0 under this version. */
  async #reset(): Promise<void> {
    this.#known.clear()
    this.#knownChars = 0
    await this.#db.clear()
    await this.#db.put(META, JSON.stringify({version: this.version, indexed: 0} satisfies Meta))
    this.#indexed = 0
  }

  #schedule(): void {
    if (this.#running || this.#closed || this.#failure) return
    this.#running = true
    void this.#run()
  }

  /** Folds slices while the log is ahead; ends at once after the check that finds it is not (no update is missed). */
  async #run(): Promise<void> {
    try {
      await this.log.ready()
      await this.#open()
      while (!this.#closed && !this.#failure && this.#indexed < this.log.length) {
        // False when storage is full: the log's next update tries again.
        if (!await this.#take(() => this.#foldSlice())) break
        await yieldToEventLoop()
      }
    } catch (err) {
      this.#fail(err)
    }
    this.#running = false
  }

  /** Folds one slice and writes it; false if nothing could be written (storage full: the next update tries again). */
  async #foldSlice(): Promise<boolean> {
    if (this.#closed || this.#failure) return false
    const from = this.#indexed
    if (this.#ahead.length === 0) {
      for await (const {entry} of this.log.entries({since: from, limit: this.#slice})) this.#ahead.push(entry)
      if (this.#ahead.length === 0) return false
    }
    const start = this.#clock.now()
    // Rows as stored (JSON text; undefined for none): every read parses a fresh copy, so a map that
    // changes the value it read changes nothing kept here, and a slice's reads do not depend on
    // which entries share the slice.
    const texts = new Map<string, string | undefined>()
    const keys = this.#definition.keys
    if (keys) {
      const wanted = new Set<string>()
      try {
        for (const entry of this.#ahead) for (const key of keys.call(this.#definition, entry) ?? []) wanted.add(key)
      } catch (err) {
        throw P2PError.VIEW_FAILED(`view ${this.name}: keys() threw at entry ${from}`, err)
      }
      for (const key of wanted) if (this.#known.has(key)) texts.set(key, this.#known.get(key))
      const list = [...wanted].filter(key => !texts.has(key))
      for (let i = 0; i < list.length; i += PREFETCH_ROWS) {
        const chunk = list.slice(i, i + PREFETCH_ROWS)
        const values = await this.#db.getMany(chunk.map(key => ROW + key))
        chunk.forEach((key, j) => texts.set(key, values[j]))
      }
    }
    const stored = async (key: string): Promise<string | undefined> => {
      if (!texts.has(key)) texts.set(key, this.#known.has(key) ? this.#known.get(key) : await this.#db.get(ROW + key))
      return texts.get(key)
    }
    const reader: ViewReader = {
      get: async key => {
        if (typeof key !== 'string') throw P2PError.INVALID_ARGUMENT('a view key is a string')
        const text = await stored(key)
        return text === undefined ? undefined : JSON.parse(text)
      },
    }
    /** The keys this slice wrote. */
    const written = new Set<string>()
    // Diffs need each written row as it was before the slice, a read per row the map did not read
    // itself: made only when someone listens (a live query subscribes between slices).
    const diffing = this.#subscriptions.size > 0 || this.listenerCount('change') > 0
    /** The rows written, as they were before the slice (JSON), when diffing. */
    const before = new Map<string, string | undefined>()
    let folded = 0
    let rows = 0
    for (const entry of this.#ahead) {
      let out: ViewRow[] | void
      try {
        out = await this.#definition.map(entry, reader)
        checkRows(out)
      } catch (err) {
        throw P2PError.VIEW_FAILED(`view ${this.name}: map failed at entry ${from + folded}: ${(err as Error)?.message ?? err}`, err)
      }
      for (const row of out ?? []) {
        if (diffing && !before.has(row.key)) before.set(row.key, await stored(row.key))
        written.add(row.key)
        // Stored as text now: what the map returned may change after, the rows may not.
        texts.set(row.key, row.type === 'put' ? JSON.stringify(row.value) : undefined)
        rows++
      }
      folded++
      if (folded >= this.#slice || written.size >= SLICE_ROWS || this.#clock.now() - start >= this.#sliceMs) break
    }
    const indexed = from + folded
    const ops: Array<{type: 'put', key: string, value: string} | {type: 'del', key: string}> = []
    for (const key of written) {
      const text = texts.get(key)
      ops.push(text === undefined ? {type: 'del', key: ROW + key} : {type: 'put', key: ROW + key, value: text})
    }
    ops.push({type: 'put', key: META, value: JSON.stringify({version: this.version, indexed} satisfies Meta)})
    try {
      await this.#db.batch(ops)
    } catch (err) {
      if (isQuotaError(err)) {
        const full = P2PError.STORAGE_FULL(`view ${this.name}: no space to write its rows`, err)
        this.#tell(() => this.emit('error', full))
        return false
      }
      throw err
    }
    // Written: what this slice read and wrote is what the sublevel holds. (A slice not written leaves nothing here.)
    this.#remember(texts)
    this.#ahead = this.#ahead.slice(folded)
    this.#indexed = indexed
    this.#counts.rows += rows
    this.#counts.slices++
    const diffs: ViewDiff[] = []
    for (const [key, old] of before) {
      const now = texts.get(key)
      if (old === now) continue
      if (old === undefined) diffs.push({type: 'enter', key, value: JSON.parse(now!)})
      else if (now === undefined) diffs.push({type: 'leave', key, old: JSON.parse(old)})
      else diffs.push({type: 'change', key, value: JSON.parse(now), old: JSON.parse(old)})
    }
    for (const waiter of this.#waiters) {
      if (indexed < waiter.target) continue
      this.#waiters.delete(waiter)
      waiter.resolve()
    }
    this.#tell(() => this.emit('progress', {indexed, total: this.log.length}))
    if (diffs.length > 0) {
      this.#tell(() => this.emit('change', diffs))
      this.#notify(diffs)
    }
    return true
  }

  #remember(texts: Map<string, string | undefined>): void {
    for (const [key, text] of texts) {
      if (this.#known.has(key)) this.#knownChars -= key.length + (this.#known.get(key)?.length ?? 0)
      this.#known.delete(key)
      this.#known.set(key, text)
      this.#knownChars += key.length + (text?.length ?? 0)
    }
    for (const [key, text] of this.#known) {
      if (this.#known.size <= KNOWN_ROWS && this.#knownChars <= KNOWN_CHARS) break
      this.#known.delete(key)
      this.#knownChars -= key.length + (text?.length ?? 0)
    }
  }

  #notify(diffs: ViewDiff[]): void {
    for (const {range, listener} of this.#subscriptions) {
      const mine = diffs.filter(diff => inRange(diff.key, range))
      if (mine.length > 0) this.#tell(() => listener(mine))
    }
  }

  /** Runs the app's listener: what it throws is reported as an event listener's is, and the fold goes on. */
  #tell(call: () => void): void {
    try {
      call()
    } catch (err) {
      rethrowLater(err)
    }
  }

  #fail(err: unknown): void {
    if (this.#closed) return
    const failure = err instanceof P2PError ? err : P2PError.VIEW_FAILED(`view ${this.name}: ${(err as Error)?.message ?? err}`, err)
    this.#failure = failure
    for (const waiter of this.#waiters) waiter.reject(failure)
    this.#waiters.clear()
    this.#tell(() => this.emit('error', failure))
  }
}

/** The progress marker, or undefined for none or one that is not a marker (rebuilt like a missing one). */
function readMeta(text: string | undefined): Meta | undefined {
  if (text === undefined) return undefined
  let meta: Partial<Meta> | null
  try {
    meta = JSON.parse(text)
  } catch {
    return undefined
  }
  const valid = meta !== null && typeof meta === 'object' && Number.isSafeInteger(meta.version) && Number.isSafeInteger(meta.indexed) && meta.indexed! >= 0
  return valid ? meta as Meta : undefined
}

function checkRows(rows: unknown): asserts rows is ViewRow[] | void {
  if (rows === undefined) return
  if (!Array.isArray(rows)) throw P2PError.INVALID_ARGUMENT('map must return an array of rows')
  for (const row of rows as ViewRow[]) {
    if (!row || (row.type !== 'put' && row.type !== 'del')) throw P2PError.INVALID_ARGUMENT('a row is {type: "put", key, value} or {type: "del", key}')
    if (typeof row.key !== 'string' || row.key.length > MAX_VIEW_KEY_LENGTH) {
      throw P2PError.INVALID_ARGUMENT(`a row key is a string of at most ${MAX_VIEW_KEY_LENGTH} characters`)
    }
    if (row.type === 'put' && (row.value === undefined || JSON.stringify(row.value) === undefined)) {
      throw P2PError.INVALID_ARGUMENT('a row value is JSON')
    }
  }
}
