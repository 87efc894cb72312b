/**
 * A multi-value key/value store on a log (hyperkv's semantics): each write of
 * a key names the key's heads it saw, so concurrent writes by different
 * writers become siblings that are all kept, never one silently dropped. A put
 * that names every head merges them. The KV is a view of the log: its rows are
 * a fold of the log's entries and rebuild from it. docs/kv.md has the rules.
 *
 * A write is an ordinary Json entry of the log:
 *   {"kv": "put", "key": "title", "value": <JSON>, "heads": ["<hash hex>", …]}
 *   {"kv": "del", "key": "title", "heads": [...]}
 * Entries without a `kv` field are the log's other business and are passed
 * over; a `kv` entry of any other shape is skipped and counted (`skip`).
 */
import {Emitter} from '../emitter.js'
import {P2PError} from '../errors.js'
import {fromHex, toHex} from '../bytes.js'
import {EntryKind, readValue, type Entry} from '../log/entry.js'
import type {Log} from '../log/log.js'
import {View, type ViewDiff, type ViewOptions, type ViewRange, type ViewReader, type ViewRow, type ViewSubscription} from '../views/view.js'

/** One current value of a key: what a put wrote, or a tombstone. */
export interface KvValue {
  /** The hash (hex) of the entry that wrote it. */
  hash: string
  /** Its author's public key (hex). */
  author: string
  seq: number
  /** The author's claimed clock (ms since the epoch). */
  time: number
  /** JSON; absent for a tombstone. */
  value?: unknown
  deleted?: true
}

/** How a key's heads changed in one slice of the fold. */
export interface KvChange {
  key: string
  /** The heads after (sorted by hash): empty when the key left the range. */
  values: KvValue[]
  /** The heads before. */
  old: KvValue[]
}

export interface KvStats {
  /** Entries of the log folded, and in the log. */
  indexed: number
  total: number
  /** Malformed KV entries passed over since this KV opened (a rebuild counts them again). */
  skipped: number
}

export type KvEvents = {
  /** Keys whose heads changed, after each slice that changed any. */
  change: (changes: KvChange[]) => void
  progress: (progress: {indexed: number, total: number}) => void
  /** A malformed KV entry, passed over (ERR_MALFORMED_MESSAGE). */
  skip: (entry: Entry, err: P2PError) => void
  /** The view's failure or storage's (see View). */
  error: (err: P2PError) => void
}

export type KvOptions = ViewOptions

/** The most heads one write may name: more is malformed (an honest writer names the key's heads, siblings rarely more than a few). */
export const MAX_KV_HEADS = 64
/** Keys are 1 to this many characters. */
export const MAX_KV_KEY_LENGTH = 1000

/** The view's row prefixes: a key's heads, the keys with siblings, hashes named before they were folded. */
const HEADS = 'k:'
const HEADS_END = 'k;'
const CONFLICT = 'c:'
const CONFLICT_END = 'c;'
const NAMED = 's:'
const HASH = /^[0-9a-f]{64}$/

interface KvOp {
  op: 'put' | 'del'
  key: string
  value?: unknown
  heads: string[]
}

export function checkKvKey(key: unknown): asserts key is string {
  if (typeof key !== 'string' || key.length === 0 || key.length > MAX_KV_KEY_LENGTH) {
    throw P2PError.INVALID_ARGUMENT(`a KV key is a string of 1 to ${MAX_KV_KEY_LENGTH} characters`)
  }
}

/** The KV write an entry holds: null for an entry that is not one, ERR_MALFORMED_MESSAGE for a broken one. */
export function parseKvEntry(entry: Entry): KvOp | null {
  if (entry.kind !== EntryKind.Json) return null
  const body = readValue(entry) as Record<string, unknown> | null
  if (typeof body !== 'object' || body === null || Array.isArray(body) || !('kv' in body)) return null
  const {kv, key, value, heads} = body
  const fail = (why: string): P2PError => P2PError.MALFORMED_MESSAGE(`KV entry: ${why}`)
  if (kv !== 'put' && kv !== 'del') throw fail('kv is "put" or "del"')
  if (typeof key !== 'string' || key.length === 0 || key.length > MAX_KV_KEY_LENGTH) throw fail(`a key is 1 to ${MAX_KV_KEY_LENGTH} characters`)
  if (kv === 'put' && !('value' in body)) throw fail('a put has a value')
  if (kv === 'del' && 'value' in body) throw fail('a del has no value')
  if (!Array.isArray(heads) || heads.length > MAX_KV_HEADS) throw fail(`heads is a list of at most ${MAX_KV_HEADS} hashes`)
  if (!heads.every(h => typeof h === 'string' && HASH.test(h)) || new Set(heads).size !== heads.length) {
    throw fail('heads are distinct hashes, 64 lowercase hex digits')
  }
  return kv === 'put' ? {op: kv, key, value, heads} : {op: kv, key, heads}
}

function byHash(a: KvValue, b: KvValue): number {
  return a.hash < b.hash ? -1 : a.hash > b.hash ? 1 : 0
}

function headsRange(range: ViewRange): ViewRange {
  const out: ViewRange = {reverse: range.reverse}
  if (range.gt !== undefined) out.gt = HEADS + range.gt
  else out.gte = HEADS + (range.gte ?? '')
  if (range.lt !== undefined) out.lt = HEADS + range.lt
  else if (range.lte !== undefined) out.lte = HEADS + range.lte
  else out.lt = HEADS_END
  return out
}

function live(values: KvValue[]): boolean {
  return values.some(v => !v.deleted)
}

/**
 * The KV of one log. Any page that holds the log reads it; a page that may
 * write the log (its owner, an admitted writer, or anyone in an open log)
 * writes it.
 */
export class KV extends Emitter<KvEvents> {
  readonly log: Log
  readonly view: View
  #skipped = 0
  /** This page's writes take turns, each naming the heads the one before left. */
  #writes: Promise<unknown> = Promise.resolve()
  /** Entries parsed for a slice's `keys`, used again by its `map`. */
  readonly #parsed = new WeakMap<Entry, KvOp | null | P2PError>()

  constructor(log: Log, options: KvOptions = {}) {
    super()
    this.log = log
    this.view = new View(log, {
      name: 'kv',
      version: 1,
      keys: entry => {
        const op = this.#parse(entry)
        return op instanceof P2PError || op === null ? [] : [HEADS + op.key, NAMED + toHex(entry.hash), ...op.heads.map(h => NAMED + h)]
      },
      map: (entry, reader) => this.#map(entry, reader),
    }, options)
    this.view.on('change', diffs => {
      const changes = toChanges(diffs)
      if (changes.length > 0) this.emit('change', changes)
    })
    this.view.on('progress', progress => this.emit('progress', progress))
    this.view.on('error', err => this.emit('error', err))
  }

  get stats(): KvStats {
    const {indexed, total} = this.view.stats
    return {indexed, total, skipped: this.#skipped}
  }

  /** Resolves once every entry the log holds now is folded. */
  ready(): Promise<void> {
    return this.view.ready()
  }

  /** Writes `value` (JSON) under `key`, naming every current head: it replaces them all, siblings merged. Resolves once folded. */
  put(key: string, value: unknown): Promise<Entry> {
    checkKvKey(key)
    if (value === undefined) return Promise.reject(P2PError.INVALID_ARGUMENT('a KV value is JSON, not undefined'))
    return this.#write(key, {kv: 'put', key, value})
  }

  /** Writes a tombstone for `key`, naming every current head. A put concurrent with it stays beside it. */
  del(key: string): Promise<Entry> {
    checkKvKey(key)
    return this.#write(key, {kv: 'del', key})
  }

  /** Every current head of `key`, sorted by hash: values and tombstones; [] for a key never written. */
  async get(key: string): Promise<KvValue[]> {
    checkKvKey(key)
    return (await this.view.get(HEADS + key) as KvValue[] | undefined) ?? []
  }

  /** The values of `key`'s heads that are not tombstones, sorted by their hash. */
  async values(key: string): Promise<unknown[]> {
    return (await this.get(key)).filter(v => !v.deleted).map(v => v.value)
  }

  /** Keys with more than one head now, in key order. */
  async conflicts(): Promise<string[]> {
    const out: string[] = []
    for await (const {key} of this.view.rows({gte: CONFLICT, lt: CONFLICT_END})) out.push(key.slice(CONFLICT.length))
    return out
  }

  /** The keys of a range in key order with their heads; a key whose heads are all tombstones is left out. */
  async* rows(range: ViewRange = {}): AsyncIterable<{key: string, values: KvValue[]}> {
    let left = range.limit ?? Infinity
    if (left <= 0) return
    for await (const row of this.view.rows(headsRange(range))) {
      const values = row.value as KvValue[]
      if (!live(values)) continue
      yield {key: row.key.slice(HEADS.length), values}
      if (--left === 0) return
    }
  }

  async range(range: ViewRange = {}): Promise<Array<{key: string, values: KvValue[]}>> {
    const out: Array<{key: string, values: KvValue[]}> = []
    for await (const row of this.rows(range)) out.push(row)
    return out
  }

  /**
   * Every write of `key` that led to its heads, following the heads each write
   * named: a write comes after those it replaced. Reads the log (at most `limit`
   * entries), so it is for showing history, not for every render.
   */
  async history(key: string, {limit = 1000}: {limit?: number} = {}): Promise<KvValue[]> {
    const seen = new Set<string>()
    const out: KvValue[] = []
    const visit = async (hash: string): Promise<void> => {
      if (seen.has(hash) || seen.size >= limit) return
      seen.add(hash)
      const entry = await this.log.get(fromHex(hash))
      if (!entry) return
      const op = this.#parse(entry)
      if (op === null || op instanceof P2PError || op.key !== key) return
      for (const head of op.heads) await visit(head)
      out.push(valueOf(entry, op))
    }
    for (const head of await this.get(key)) await visit(head.hash)
    return out
  }

  /** A live query over keys: the range's keys now (as changes from nothing), then how their heads change. */
  subscribe(range: ViewRange, listener: (changes: KvChange[]) => void): ViewSubscription {
    return this.view.subscribe(headsRange(range), diffs => {
      const changes = toChanges(diffs)
      if (changes.length > 0) listener(changes)
    })
  }

  close(): Promise<void> {
    return this.view.close()
  }

  #write(key: string, op: Record<string, unknown>): Promise<Entry> {
    const done = this.#writes.then(async () => {
      await this.view.ready()
      const heads = (await this.get(key)).map(v => v.hash)
      const entry = await this.log.append({...op, heads})
      // Folded before it resolves, so a get() after a put() reads it.
      await this.view.ready()
      return entry
    })
    this.#writes = done.catch(() => {})
    return done
  }

  #parse(entry: Entry): KvOp | null | P2PError {
    let op = this.#parsed.get(entry)
    if (op === undefined) {
      try {
        op = parseKvEntry(entry)
      } catch (err) {
        op = err as P2PError
      }
      this.#parsed.set(entry, op)
    }
    return op
  }

  /**
   * The fold: a key's heads are its writes that no folded write of the key
   * named. A named hash not among the heads (not folded yet: it may arrive
   * later, outside the writer's causal past) is remembered, so it never becomes
   * a head when it comes. The result is the same in any causal order.
   */
  async #map(entry: Entry, reader: ViewReader): Promise<ViewRow[]> {
    const op = this.#parse(entry)
    if (op === null) return []
    if (op instanceof P2PError) {
      this.#skipped++
      this.emit('skip', entry, op)
      return []
    }
    const hash = toHex(entry.hash)
    const rows: ViewRow[] = []
    const current = (await reader.get(HEADS + op.key) as KvValue[] | undefined) ?? []
    const named = new Set(op.heads)
    const next = current.filter(v => !named.has(v.hash))
    for (const head of op.heads) {
      if (current.some(v => v.hash === head)) continue
      const keys = (await reader.get(NAMED + head) as string[] | undefined) ?? []
      if (!keys.includes(op.key)) rows.push({type: 'put', key: NAMED + head, value: [...keys, op.key]})
    }
    const namedBefore = (await reader.get(NAMED + hash) as string[] | undefined) ?? []
    if (namedBefore.includes(op.key)) {
      const rest = namedBefore.filter(k => k !== op.key)
      rows.push(rest.length > 0 ? {type: 'put', key: NAMED + hash, value: rest} : {type: 'del', key: NAMED + hash})
    } else {
      next.push(valueOf(entry, op))
      next.sort(byHash)
    }
    rows.push(next.length > 0 ? {type: 'put', key: HEADS + op.key, value: next} : {type: 'del', key: HEADS + op.key})
    if (next.length > 1) rows.push({type: 'put', key: CONFLICT + op.key, value: next.length})
    else if (current.length > 1) rows.push({type: 'del', key: CONFLICT + op.key})
    return rows
  }
}

function valueOf(entry: Entry, op: KvOp): KvValue {
  const out: KvValue = {hash: toHex(entry.hash), author: toHex(entry.author), seq: entry.seq, time: entry.time}
  if (op.op === 'put') out.value = op.value
  else out.deleted = true
  return out
}

/** The view's diffs of heads rows as KV changes (other rows left out). */
function toChanges(diffs: ViewDiff[]): KvChange[] {
  const out: KvChange[] = []
  for (const diff of diffs) {
    if (!diff.key.startsWith(HEADS)) continue
    const key = diff.key.slice(HEADS.length)
    if (diff.type === 'enter') out.push({key, values: diff.value as KvValue[], old: []})
    else if (diff.type === 'change') out.push({key, values: diff.value as KvValue[], old: diff.old as KvValue[]})
    else out.push({key, values: [], old: diff.old as KvValue[]})
  }
  return out
}
