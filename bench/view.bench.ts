// Views and the KV (issue 18, "Benchmark"), in one Chromium page on IndexedDB
// through QueuedBrowserLevel (<p2p-log>'s database), each against a baseline of
// the same run and database:
//
// 1. Index rate (entries/s) of a view over N log entries of about 100 bytes of
//    JSON ({tag, n, text}), and the main thread's long tasks meanwhile (a
//    `longtask` PerformanceObserver: the longest, how many over 50 ms, how many in
//    all; goal: none over 50 ms). Two views: by-tag (a row per entry, no reads)
//    and tally (also a count per tag, read back by each map). Baseline: the same
//    entries read with log.entries and the same rows written as plain batches,
//    512 entries' rows each, into a sublevel: the ratio is the view's own cost
//    (slices, yields, reads, the progress marker). CPU seconds per 10k entries of
//    every Chromium process (IndexedDB works in the browser process), from /proc.
//    And a control for the long tasks: the page running 2 ms tasks one after the
//    other for as long as the view took; on a loaded machine its long tasks are
//    the machine's (a thread not scheduled), and the view's are read beside them.
// 2. The KV at N keys (N KV puts of new keys appended in batches of 1,000, in the
//    KV's entry format, then folded by the KV: its index rate too): get latency
//    (median, p95 and mean of 1,000 random keys, each timed alone) and a range read
//    of 100 keys (200 from random keys), against the same keys and values copied
//    into a plain sublevel of the same database (get; for-await over an iterator,
//    as the KV's range reads; iterator.all()). Goal: ≤ 1.5 × the raw store.
//
// N is 20k (about 1.5 minutes here, under load); VIEW_BENCH_100K=1 runs 100k, the
// issue's size (about 5 minutes). VIEW_BENCH_PROFILE=1 prints where the page's time goes
// while each view, its baseline and the KV index (self time, top 12), and the
// page's tasks from a trace: the longest by wall time and by the thread's CPU
// time, which tells the page's own work from the machine's load. The machine's load
// average is printed with the figures: timings here move with it.
import {loadavg} from 'node:os'
import type {Page} from 'puppeteer-core'
import {launchChromium, startTestServer} from '../scripts/browser.js'
import {randomBytes, toHex} from '../src/core/bytes.js'
import {chromiumCpu, cpuBetween} from './cpu.js'
import {printProfile, startProfile, startTaskTrace} from './profile.js'
import type {ViewBenchWork} from './pages/view.js'

const ENTRIES = process.env.VIEW_BENCH_100K === '1' ? 100_000 : 20_000
const PROFILE = process.env.VIEW_BENCH_PROFILE === '1'
const GETS = 1000
const RANGES = 200
const RANGE_SIZE = 100

const load = (): string => loadavg().map(x => x.toFixed(2)).join(' ')
const per10k = (seconds: number, n: number): number => +(seconds * 10_000 / n).toFixed(2)
const rate = (n: number, ms: number): number => Math.round(n / (ms / 1000))

/** Runs a job of the page to its end, however long (one DevTools call would time out at 180 s). */
function job(page: Page) {
  return async <K extends keyof ViewBenchWork>(name: K, ...args: Parameters<ViewBenchWork[K]>): Promise<Awaited<ReturnType<ViewBenchWork[K]>>> => {
    const id = await page.evaluate((n, a) => (window as any).viewBench.start(n, a) as number, name, args as unknown[])
    await page.waitForFunction((i: number) => (window as any).viewBench.done(i), {timeout: 0, polling: 1000}, id)
    return page.evaluate((i: number) => (window as any).viewBench.result(i), id) as never
  }
}

/** CPU of every Chromium process and, with VIEW_BENCH_PROFILE, the page's profile and task trace, around `work`. */
async function measured<T>(page: Page, pid: number | undefined, label: string, work: () => Promise<T>) {
  const stop = PROFILE ? await startProfile(page) : undefined
  const stopTrace = PROFILE ? await startTaskTrace(page) : undefined
  const before = chromiumCpu(pid)
  const result = await work()
  const cpu = cpuBetween(before, chromiumCpu(pid))
  if (stop) printProfile(label, await stop())
  if (stopTrace) {
    const t = await stopTrace()
    console.log(`  tasks of the page, ${label}: ${t.tasks}; by wall time the longest ${t.longestMs} ms, ${t.over50} over 50 ms; ` +
      `by the thread's CPU time the longest ${t.longestCpuMs} ms, ${t.cpuOver50} over 50 ms`)
  }
  return {result, cpu}
}

const server = await startTestServer()
const chromium = await launchChromium()
const pid = chromium.browser.process()?.pid
try {
  const page = await chromium.browser.newPage()
  await page.goto(`${server.url}/bench/pages/view.html`)
  await page.waitForFunction(() => 'viewBench' in window)
  const run = job(page)

  console.log(`views over ${ENTRIES} entries of about 100 bytes (JSON {tag, n, text}), Chromium, IndexedDB (QueuedBrowserLevel); load average ${load()}`)
  await run('open', 'bench-view', toHex(randomBytes(32)))
  const fillMs = await run('fill', 'bench-view', ENTRIES, false)
  console.log(`  filled in batches of 1,000: ${rate(ENTRIES, fillMs)} entries/s`)

  for (const view of ['by-tag', 'tally'] as const) {
    // The baseline first: the view then reads what the baseline left in IndexedDB's cache, not the other way round.
    const raw = await measured(page, pid, `${view}, baseline`, () => run('raw', 'bench-view', view))
    const ours = await measured(page, pid, `${view}, view`, () => run('index', 'bench-view', view))
    const {ms, slices, rows, indexed, longest, over50, count} = ours.result
    const [mine, theirs] = [rate(indexed, ms), rate(indexed, raw.result.ms)]
    const cpu = ours.cpu && per10k(ours.cpu.total, indexed)
    const baselineCpu = raw.cpu && per10k(raw.cpu.total, indexed)
    console.log(`  view ${view}: ${mine} entries/s in ${slices} slices (${rows} rows), ${cpu ?? '?'} CPU s per 10k; ` +
      `long tasks: longest ${longest} ms, ${over50} over 50 ms, ${count} in all`)
    console.log(`    baseline (log.entries + plain batches of the same rows): ${theirs} entries/s, ${baselineCpu ?? '?'} CPU s per 10k; ` +
      `long tasks: longest ${raw.result.longest} ms, ${raw.result.over50} over 50 ms, ${raw.result.count} in all  (view ${(mine / theirs).toFixed(2)}× baseline)`)
    if (ours.cpu && raw.cpu) {
      const byProcess = (c: NonNullable<typeof ours.cpu>) => Object.fromEntries(Object.entries(c).map(([k, v]) => [k, per10k(v, indexed)]))
      console.log(`    CPU s per 10k by process: view ${JSON.stringify(byProcess(ours.cpu))}, baseline ${JSON.stringify(byProcess(raw.cpu))}`)
    }
    // As long as the view took: what the machine alone does to a page's tasks meanwhile.
    const control = await run('control', ms)
    console.log(`    control (${control.tasks} tasks of 2 ms, one after the other, for as long): long tasks: longest ${control.longest} ms, ` +
      `${control.over50} over 50 ms, ${control.count} in all; load average ${load()}`)
    console.log('BENCH ' + JSON.stringify({
      name: `view index ${ENTRIES}`, view, value: mine, unit: 'entries/s', baseline: theirs, ratio: +(mine / theirs).toFixed(2),
      cpuPer10k: cpu, baselineCpuPer10k: baselineCpu, longestTaskMs: longest, tasksOver50: over50, longTasks: count,
      baselineLongestTaskMs: raw.result.longest, controlLongestTaskMs: control.longest, controlOver50: control.over50, slices, load: loadavg()[0],
    }))
  }

  console.log(`\nKV at ${ENTRIES} keys, values of about 100 bytes; load average ${load()}`)
  await run('open', 'bench-kv', toHex(randomBytes(32)))
  const kvFillMs = await run('fill', 'bench-kv', ENTRIES, true)
  console.log(`  ${ENTRIES} KV puts appended in batches of 1,000: ${rate(ENTRIES, kvFillMs)} entries/s`)
  const folded = await measured(page, pid, 'KV fold', () => run('kvIndex', 'bench-kv'))
  const {ms, keys, indexed, longest, over50, count} = folded.result
  if (keys !== ENTRIES) throw new Error(`the KV holds ${keys} keys, not ${ENTRIES}`)
  const kvCpu = folded.cpu && per10k(folded.cpu.total, indexed)
  console.log(`  the KV folds ${rate(indexed, ms)} entries/s, ${kvCpu ?? '?'} CPU s per 10k; long tasks: longest ${longest} ms, ${over50} over 50 ms, ${count} in all`)
  const kvControl = await run('control', ms)
  console.log(`    control (${kvControl.tasks} tasks of 2 ms for as long): long tasks: longest ${kvControl.longest} ms, ${kvControl.over50} over 50 ms, ` +
    `${kvControl.count} in all; load average ${load()}`)
  console.log('BENCH ' + JSON.stringify({
    name: `kv index ${ENTRIES}`, value: rate(indexed, ms), unit: 'entries/s', cpuPer10k: kvCpu, longestTaskMs: longest,
    tasksOver50: over50, longTasks: count, controlLongestTaskMs: kvControl.longest, controlOver50: kvControl.over50, load: loadavg()[0],
  }))

  const gets = await run('gets', GETS, ENTRIES)
  console.log(`  get, ${GETS} random keys, ms: KV ${JSON.stringify(gets.kv)}, raw ${JSON.stringify(gets.raw)}  ` +
    `(median ${(gets.kv.median / gets.raw.median).toFixed(2)}×, p95 ${(gets.kv.p95 / gets.raw.p95).toFixed(2)}×, mean ${(gets.kv.mean / gets.raw.mean).toFixed(2)}×)`)
  console.log('BENCH ' + JSON.stringify({
    name: `kv get at ${ENTRIES} keys`, value: gets.kv.median, unit: 'ms (median)', baseline: gets.raw.median,
    ratio: +(gets.kv.median / gets.raw.median).toFixed(2), p95: gets.kv.p95, baselineP95: gets.raw.p95,
    ratioP95: +(gets.kv.p95 / gets.raw.p95).toFixed(2), mean: gets.kv.mean, baselineMean: gets.raw.mean, load: loadavg()[0],
  }))
  const ranges = await run('ranges', RANGES, RANGE_SIZE, ENTRIES)
  console.log(`  range of ${RANGE_SIZE} keys, ${RANGES} from random keys, ms: KV ${JSON.stringify(ranges.kv)}, raw for-await ${JSON.stringify(ranges.raw)}, ` +
    `raw all() ${JSON.stringify(ranges.rawAll)}  (median ${(ranges.kv.median / ranges.raw.median).toFixed(2)}× for-await, ` +
    `${(ranges.kv.median / ranges.rawAll.median).toFixed(2)}× all())`)
  console.log('BENCH ' + JSON.stringify({
    name: `kv range ${RANGE_SIZE} at ${ENTRIES} keys`, value: ranges.kv.median, unit: 'ms (median)', baseline: ranges.raw.median,
    ratio: +(ranges.kv.median / ranges.raw.median).toFixed(2), p95: ranges.kv.p95, baselineP95: ranges.raw.p95,
    baselineAll: ranges.rawAll.median, ratioAll: +(ranges.kv.median / ranges.rawAll.median).toFixed(2), load: loadavg()[0],
  }))
  console.log(`  load average ${load()}`)
  await run('close')
} finally {
  await chromium.close()
  await server.close()
}
