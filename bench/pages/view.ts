// The page side of bench/view.bench.ts: views and the KV folding a signed log
// kept in IndexedDB through QueuedBrowserLevel (<p2p-log>'s database), each
// beside a baseline in the same page and database: the same rows read and
// written by hand. Driven through window.viewBench; a job may outlast one
// DevTools call (the protocol times out at 180 s), so each is started, then
// waited for (start, then result).
import type {AbstractSublevel} from 'abstract-level'
import {QueuedBrowserLevel} from '../../src/elements/shared/storage.js'
import {KeyPairIdentity} from '../../src/core/crypto/seed-identity.js'
import {fromHex} from '../../src/core/bytes.js'
import {Log} from '../../src/core/log/log.js'
import {EntryKind, readValue} from '../../src/core/log/entry.js'
import {View, type ViewDefinition, type ViewReader, type ViewRow} from '../../src/core/views/view.js'
import {KV} from '../../src/core/kv/kv.js'

type Sublevel = AbstractSublevel<any, any, string, string>

interface Item {tag: string, n: number, text: string}

const TAGS = 16
/** Filler that brings an item's JSON to about 100 bytes. */
const TEXT = 'a note of about a hundred bytes, in all, with its tag and number'

/** The i-th value: about 100 bytes of JSON. */
function item(i: number): Item {
  return {tag: `t${i % TAGS}`, n: i, text: `${TEXT} ${i}`}
}

const pad = (n: number): string => String(n).padStart(7, '0')

/** A row per entry under its tag (no reads): what a feed by tag needs. */
const byTag: ViewDefinition = {
  name: 'by-tag',
  version: 1,
  map(entry) {
    if (entry.kind !== EntryKind.Json) return
    const {tag, n, text} = readValue(entry) as Item
    return [{type: 'put', key: `${tag}!${pad(n)}`, value: {n, text}}]
  },
}

/** A count per tag, read back by each entry's map, and a row per entry: a fold that reads what it wrote. */
const tally: ViewDefinition = {
  name: 'tally',
  version: 1,
  async map(entry, view) {
    if (entry.kind !== EntryKind.Json) return
    const {tag, n} = readValue(entry) as Item
    const count = (await view.get(`count!${tag}`) as number | undefined) ?? 0
    return [{type: 'put', key: `count!${tag}`, value: count + 1}, {type: 'put', key: `n!${pad(n)}`, value: tag}]
  },
}

const DEFINITIONS: Record<string, ViewDefinition> = {'by-tag': byTag, tally}

/** Main-thread tasks over 50 ms while `work` runs, from a `longtask` PerformanceObserver. */
async function watchLongTasks<T>(work: () => Promise<T>): Promise<{result: T, longest: number, over50: number, count: number}> {
  if (!PerformanceObserver.supportedEntryTypes.includes('longtask')) throw new Error('this browser reports no long tasks')
  const durations: number[] = []
  const observer = new PerformanceObserver(list => { for (const task of list.getEntries()) durations.push(task.duration) })
  observer.observe({type: 'longtask'})
  const result = await work()
  // The task that ran the end of `work` is reported once it ends: a task later, it has.
  await new Promise(resolve => setTimeout(resolve, 0))
  for (const task of observer.takeRecords()) durations.push(task.duration)
  observer.disconnect()
  return {result, longest: Math.round(Math.max(0, ...durations)), over50: durations.filter(d => d > 50).length, count: durations.length}
}

/** The median and 95th percentile of a list of ms. */
function spread(ms: number[]): {median: number, p95: number, mean: number} {
  const sorted = [...ms].sort((a, b) => a - b)
  const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]
  const round = (x: number): number => +x.toFixed(3)
  return {median: round(at(0.5)), p95: round(at(0.95)), mean: round(ms.reduce((a, b) => a + b, 0) / ms.length)}
}

/** A seeded generator (mulberry32): the same keys in every run. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32
  }
}

const kvKey = (i: number): string => `key${pad(i)}`

interface Opened {db: QueuedBrowserLevel<string, any>, log: Log}
const opened = new Map<string, Opened>()
const views = new Map<string, View>()
let kv: KV | null = null
let rawKv: AbstractSublevel<any, any, string, unknown> | null = null
const jobs = new Map<number, {done: boolean, result?: unknown, error?: string}>()
let nextJob = 0

async function open(name: string, seed: string): Promise<Opened> {
  const db = new QueuedBrowserLevel<string, any>(name)
  await db.open()
  const owner = new KeyPairIdentity(fromHex(seed))
  const log = new Log({db, key: owner.publicKey, identity: owner})
  await log.ready()
  const out = {db, log}
  opened.set(name, out)
  return out
}

const work = {
  /** Opens (creating) a log in the database `name`, written by the identity of `seed`. */
  async open(name: string, seed: string): Promise<number> {
    return (await open(name, seed)).log.length
  },
  /** Appends items (or, with `kv`, KV puts of new keys, as KV.put writes them) until the log holds n besides Init. */
  async fill(name: string, n: number, kvPuts: boolean): Promise<number> {
    const {log} = opened.get(name)!
    const start = performance.now()
    for (let i = log.length - 1; i < n; i += 1000) {
      const values = Array.from({length: Math.min(1000, n - i)}, (_, j) => (kvPuts ? {kv: 'put', key: kvKey(i + j), value: item(i + j), heads: []} : item(i + j)))
      await log.append(values)
    }
    return performance.now() - start
  },
  /** Folds the whole log into the view `view` (default slices); ms, slices, rows and the long tasks meanwhile. */
  async index(name: string, view: string) {
    const {log} = opened.get(name)!
    const {result: ms, ...tasks} = await watchLongTasks(async () => {
      const start = performance.now()
      const v = new View(log, DEFINITIONS[view])
      views.set(view, v)
      await v.ready()
      return performance.now() - start
    })
    const {slices, rows, indexed} = views.get(view)!.stats
    return {ms, slices, rows, indexed, ...tasks}
  },
  /**
   * The baseline of `index`: the same entries read with log.entries and the same
   * rows (the same map, its reads answered from memory) written as plain batches
   * of 512 entries' rows into a sublevel of the same database.
   */
  async raw(name: string, view: string) {
    const {db, log} = opened.get(name)!
    const target = db.sublevel<string, string>(`raw-${view}`, {keyEncoding: 'utf8', valueEncoding: 'utf8'}) as Sublevel
    const rows = new Map<string, string>()
    const reader: ViewReader = {get: async key => (rows.has(key) ? JSON.parse(rows.get(key)!) : undefined)}
    const {result: ms, ...tasks} = await watchLongTasks(async () => {
      const start = performance.now()
      for (let since = 0; since < log.length; since += 512) {
        // A key written twice in a batch (a count) is written once, with its last value, as a view does.
        const batch = new Map<string, string>()
        for await (const {entry} of log.entries({since, limit: 512})) {
          for (const row of (await DEFINITIONS[view].map(entry, reader) ?? []) as ViewRow[]) {
            if (row.type !== 'put') throw new Error('the bench maps only put')
            const text = JSON.stringify(row.value)
            rows.set(row.key, text)
            batch.set(row.key, text)
          }
        }
        await target.batch([...batch].map(([key, value]) => ({type: 'put', key, value})))
      }
      return performance.now() - start
    })
    return {ms, rows: rows.size, ...tasks}
  },
  /**
   * The control for long tasks: for `ms`, tasks of 2 ms of work each, one after
   * the other. A long task here is the machine's doing (the page's thread not
   * scheduled, a collection), not a view's.
   */
  async control(ms: number) {
    const {result: tasks, ...long} = await watchLongTasks(async () => {
      const end = performance.now() + ms
      const channel = new MessageChannel()
      let tasks = 0
      await new Promise<void>(resolve => {
        channel.port1.onmessage = () => {
          const until = performance.now() + 2
          while (performance.now() < until) continue
          tasks++
          if (performance.now() < end) channel.port2.postMessage(null)
          else resolve()
        }
        channel.port2.postMessage(null)
      })
      channel.port1.close()
      return tasks
    })
    return {tasks, ...long}
  },
  /** Folds the KV of the log in `name`; then copies its rows, key for key, into a plain sublevel for the raw reads. */
  async kvIndex(name: string) {
    const {db, log} = opened.get(name)!
    // Made inside the watch, as a page would: its first slice starts at once.
    let folded!: KV
    const {result: ms, ...tasks} = await watchLongTasks(async () => {
      const start = performance.now()
      folded = new KV(log)
      kv = folded
      await folded.ready()
      return performance.now() - start
    })
    const raw = db.sublevel<string, unknown>('raw-kv', {keyEncoding: 'utf8', valueEncoding: 'json'}) as AbstractSublevel<any, any, string, unknown>
    rawKv = raw
    let ops: Array<{type: 'put', key: string, value: unknown}> = []
    let keys = 0
    for await (const {key, values} of folded.rows()) {
      ops.push({type: 'put', key, value: values})
      keys++
      if (ops.length === 1000) {
        await raw.batch(ops)
        ops = []
      }
    }
    await raw.batch(ops)
    return {ms, keys, indexed: folded.stats.indexed, ...tasks}
  },
  /**
   * `count` gets of random keys, each timed alone, KV and raw in turn (which
   * goes first alternates, so neither always finds the other's pages cached).
   */
  async gets(count: number, keys: number) {
    const next = random(18)
    const times = {kv: [] as number[], raw: [] as number[]}
    for (let i = 0; i < count; i++) {
      const key = kvKey(Math.floor(next() * keys))
      const timeKv = async () => {
        const start = performance.now()
        const values = await kv!.get(key)
        times.kv.push(performance.now() - start)
        return values
      }
      const timeRaw = async () => {
        const start = performance.now()
        const values = await rawKv!.get(key)
        times.raw.push(performance.now() - start)
        return values
      }
      const [a, b] = i % 2 ? [await timeKv(), await timeRaw()] : [await timeRaw(), await timeKv()]
      if (JSON.stringify(a) !== JSON.stringify(b) || (a as unknown[]).length !== 1) throw new Error(`the KV and the raw copy differ at ${key}`)
    }
    return {kv: spread(times.kv), raw: spread(times.raw)}
  },
  /** `count` reads of `size` keys from a random key on: the KV's range, raw for-await over an iterator, raw iterator.all(). */
  async ranges(count: number, size: number, keys: number) {
    const next = random(19)
    const times = {kv: [] as number[], raw: [] as number[], rawAll: [] as number[]}
    for (let i = 0; i < count; i++) {
      const gte = kvKey(Math.floor(next() * (keys - size)))
      const runs: Array<[number[], () => Promise<Array<[string, unknown]>>]> = [
        [times.kv, async () => (await kv!.range({gte, limit: size})).map(({key, values}) => [key, values])],
        [times.raw, async () => {
          const out: Array<[string, unknown]> = []
          for await (const pair of rawKv!.iterator({gte, limit: size})) out.push(pair)
          return out
        }],
        [times.rawAll, () => rawKv!.iterator({gte, limit: size}).all()],
      ]
      // A different one first each time.
      const order = [i % 3, (i + 1) % 3, (i + 2) % 3]
      const got: string[] = []
      for (const k of order) {
        const [list, read] = runs[k]
        const start = performance.now()
        const rows = await read()
        list.push(performance.now() - start)
        got.push(JSON.stringify(rows))
      }
      if (got.some(text => text !== got[0]) || JSON.parse(got[0]).length !== size) throw new Error(`the KV and the raw copy differ from ${gte}`)
    }
    return {kv: spread(times.kv), raw: spread(times.raw), rawAll: spread(times.rawAll)}
  },
  /** Closes every view, the KV, the logs and their databases, and deletes the databases. */
  async close(): Promise<void> {
    for (const view of views.values()) await view.close()
    views.clear()
    await kv?.close()
    kv = null
    rawKv = null
    for (const [name, {db, log}] of opened) {
      await log.close()
      await db.close()
      await new Promise<void>((resolve, reject) => {
        const request = indexedDB.deleteDatabase(`level-js-${name}`)
        request.onsuccess = () => resolve()
        request.onerror = () => reject(request.error)
      })
    }
    opened.clear()
  },
}

export type ViewBenchWork = typeof work

const api = {
  /** Starts `work[name](...args)`; its id for `result`. */
  start(name: keyof ViewBenchWork, args: unknown[]): number {
    const id = nextJob++
    const job: {done: boolean, result?: unknown, error?: string} = {done: false}
    jobs.set(id, job)
    ;(work[name] as (...a: unknown[]) => Promise<unknown>)(...args).then(
      result => Object.assign(job, {done: true, result}),
      (err: Error) => Object.assign(job, {done: true, error: err?.stack ?? String(err)}),
    )
    return id
  },
  done(id: number): boolean {
    return jobs.get(id)!.done
  },
  /** A finished job's result (thrown again if it failed), forgotten after. */
  result(id: number): unknown {
    const job = jobs.get(id)!
    jobs.delete(id)
    if (job.error) throw new Error(job.error)
    return job.result
  },
}

;(window as unknown as {viewBench: typeof api}).viewBench = api
