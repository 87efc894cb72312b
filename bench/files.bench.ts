// File sharing (FileShare) against the raw data channel and against webtorrent,
// in one headless Chromium and one run:
//
// 1. 1 → 1: a 100 MB file the seeder has already added, timed from download()
//    until it resolves (manifest fetch, SHA-256 checks, IndexedDB writes), against
//    a bare RTCDataChannel send loop paced by bufferedAmount (best of a few caps)
//    moving the same bytes with no hashing or storing. Goal: ours/raw ≥ 0.9.
//    webtorrent moves the same file 1 → 1 from a magnet link in the same run.
//    The sending and the receiving end are in two tabs (two renderer processes,
//    as two browsers would be), signalled over a BroadcastChannel;
//    FILES_BENCH_ONE_PAGE=1 puts both ends in one page instead.
//    Both tabs share this machine's cores with the browser's network service, which
//    handles every UDP packet: when the raw loop alone keeps the cores busy, MB/s
//    follows CPU per byte, so two-tab runs also print the CPU seconds each kind of
//    Chromium process spent per 100 MB (read from /proc; Linux only).
// 2. Inverse scaling: 1 seeder and 8 downloaders that start together, in one
//    page, full mesh. The seeder's uploaded bytes over the file size (a plain
//    server would serve 8×). Goal ≤ 1.5. Same for webtorrent (9 clients, the
//    seeder's torrent.uploaded).
//
// Every measurement gets fresh connections and fresh databases, deleted after it;
// runs alternate raw/ours/webtorrent so drift in the machine's load hits all alike,
// and a run whose seeder did not upload the whole file fails (a download must not
// come from a store it shares with the seeder). webtorrent announces only to a
// bittorrent-tracker WebSocket server run here on 127.0.0.1 (http, udp and stats
// off); every RTCPeerConnection has iceServers: [].
//
// Sizes and repeats can be changed: FILES_BENCH_MB (100), FILES_BENCH_SCALING_MB (32),
// FILES_BENCH_REPEATS (3), FILES_BENCH_SCALING_REPEATS (1: a webtorrent 1 → 8 run
// alone takes over a minute, and the bench should stay near five). While working on
// one part: FILES_BENCH_ONLY=1to1 or scaling runs just that part, and
// FILES_BENCH_WEBTORRENT=0 leaves webtorrent out.
import type {AddressInfo} from 'node:net'
import {availableParallelism} from 'node:os'
import {launchChromium, startTestServer} from '../scripts/browser.js'
import {median} from './stats.js'
import {chromiumCpu, cpuBetween, type CpuSample} from './cpu.js'

const MB = 1_000_000
const num = (name: string, fallback: number) => {
  const v = Number(process.env[name])
  return Number.isFinite(v) && v > 0 ? v : fallback
}
const SIZE = Math.round(num('FILES_BENCH_MB', 100) * MB)
const SCALING_SIZE = Math.round(num('FILES_BENCH_SCALING_MB', 32) * MB)
const REPEATS = num('FILES_BENCH_REPEATS', 3)
const SCALING_REPEATS = num('FILES_BENCH_SCALING_REPEATS', 1)
const ONE_PAGE = process.env.FILES_BENCH_ONE_PAGE === '1'
const ONLY = process.env.FILES_BENCH_ONLY
if (ONLY !== undefined && ONLY !== '1to1' && ONLY !== 'scaling') throw new Error(`FILES_BENCH_ONLY is 1to1 or scaling, not ${ONLY}`)
const WEBTORRENT = process.env.FILES_BENCH_WEBTORRENT !== '0'
const DOWNLOADERS = 8
/** Raw baseline: 64 KiB messages, as the mux bench, best of these bufferedAmount caps (1 MiB never won here). */
const RAW_MESSAGE = 64 * 1024
const RAW_CAPS = [64 * 1024, 256 * 1024]

/** CPU seconds between two samples, per kind of process and in total (two-tab runs on Linux). */
type Cpu = ReturnType<typeof cpuBetween>
interface OneToOne {mbps: number, ms: number, addMs: number, uploaded?: number, cpu?: Cpu}
interface Raw {mbps: number, cpu?: Cpu}
interface Scaling {
  uploadFactor: number, uploaded: number, ms: number, finishedMs: number[],
  downloaderUploadFactors: number[], setupMs: number,
}
interface FilesBench {
  raw(total: number, messageSize: number, cap: number): Promise<number>
  tabRawReceive(session: string, total: number): void
  tabRawSend(session: string, total: number, messageSize: number, cap: number): Promise<number>
  tabRawDone(session: string): Promise<number>
  tabJoin(session: string, role: 'listen' | 'dial', key: number, remoteKey: number): void
  tabReady(session: string): Promise<void>
  tabAdd(session: string, size: number): Promise<{id: string, addMs: number}>
  tabDownload(session: string, id: string): Promise<number>
  tabDebug(session: string): Promise<unknown>
  tabClose(session: string): Promise<number>
  wtTabSeed(session: string, size: number, tracker: string): Promise<{magnet: string, addMs: number}>
  wtTabFetch(session: string, magnet: string, tracker: string): Promise<number>
  wtTabClose(session: string): Promise<number>
  ours1to1(size: number): Promise<OneToOne>
  oursScaling(size: number, downloaders: number): Promise<Scaling>
  webtorrent1to1(size: number, tracker: string): Promise<OneToOne>
  webtorrentScaling(size: number, downloaders: number, tracker: string): Promise<Scaling>
  databases(): Promise<string[]>
  opfs(): Promise<string[]>
  clearOpfs(): Promise<void>
}

interface Tracker {
  listen(port: number, hostname: string, onlistening: () => void): void
  close(cb?: () => void): void
  on(event: 'error' | 'warning', listener: (err: Error) => void): void
  ws: {address(): AddressInfo}
}

const round = (x: number, digits = 2) => +x.toFixed(digits)
const fmt = (x: number | undefined, digits = 1) => x === undefined ? 'failed' : x.toFixed(digits)

/** bittorrent-tracker's server, WebSocket only, on loopback. It has no type declarations: imported by a non-literal name. */
async function startTracker(): Promise<{url: string, close(): Promise<void>}> {
  const {Server} = await import('bittorrent-tracker' as string) as {Server: new (opts: object) => Tracker}
  const server = new Server({http: false, udp: false, ws: true, stats: false, trustProxy: false})
  server.on('error', err => console.error(`tracker error: ${err.message}`))
  server.on('warning', () => {})
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const {address, port} = server.ws.address()
  if (address !== '127.0.0.1') throw new Error(`tracker bound ${address}, not loopback`)
  return {url: `ws://127.0.0.1:${port}`, close: () => new Promise(resolve => server.close(() => resolve()))}
}

/** Runs one measurement; a failure is reported and counted, and the other measurements go on. */
const failures: string[] = []
async function attempt<T>(what: string, fn: () => Promise<T>): Promise<T | undefined> {
  try {
    return await fn()
  } catch (err) {
    const message = (err as Error).message ?? String(err)
    failures.push(`${what}: ${message}`)
    console.log(`  ${what} FAILED: ${message.split('\n')[0]}`)
    return undefined
  }
}

const defined = <T>(xs: (T | undefined)[]): T[] => xs.filter((x): x is T => x !== undefined)

const tracker = await startTracker()
const server = await startTestServer()
const chromium = await launchChromium()
const cpuNow = (): CpuSample | undefined => chromiumCpu(chromium.browser.process()?.pid)
try {
  type Method = keyof FilesBench
  type Call = <M extends Method>(method: M, ...args: Parameters<FilesBench[M]>) => ReturnType<FilesBench[M]>
  const open = async (): Promise<Call> => {
    const page = await chromium.browser.newPage()
    page.on('pageerror', err => console.error(`page error: ${(err as Error).message}`))
    page.on('console', msg => {
      // Failed loads are reported with their URL below.
      if ((msg.type() === 'error' || msg.type() === 'warn') && !msg.text().startsWith('Failed to load resource')) console.error(`page ${msg.type()}: ${msg.text()}`)
    })
    page.on('response', res => {
      // Chromium asks for a favicon the server does not have.
      if (res.status() >= 400 && !res.url().endsWith('/favicon.ico')) console.error(`page: ${res.status()} for ${res.url()}`)
    })
    await page.goto(`${server.url}/bench/pages/files.html`)
    await page.waitForFunction(() => 'filesBench' in window, {timeout: 60_000})
    return ((method: Method, ...args: unknown[]) => page.evaluate(
      (m, a) => ((window as unknown as {filesBench: Record<string, (...x: unknown[]) => Promise<unknown>>}).filesBench[m])(...a),
      method, args)) as Call
  }
  const call = await open()

  if (ONLY !== 'scaling') {
    // ---- 1 → 1 ----------------------------------------------------------------------
    // Two tabs (the sender or seeder in one, the receiver in the other, each its own
    // renderer process, as two browsers would be) unless FILES_BENCH_ONE_PAGE=1, which
    // puts both ends in one page: then one main thread hashes, stores, reads and
    // frames for both sides, which the raw loop does not have to share.
    const receiver = ONE_PAGE ? call : await open()
    let sessions = 0
    /** A download that did not come from the seeder (say, found in a shared store) measures nothing. */
    const checkUploaded = (what: string, uploaded: number) => {
      if (uploaded < SIZE) throw new Error(`${what}: the seeder uploaded ${uploaded} bytes of a ${SIZE}-byte file`)
    }
    const tabs = {
      async raw(cap: number): Promise<Raw> {
        const session = `raw-${++sessions}`
        try {
          await receiver('tabRawReceive', session, SIZE)
          const before = cpuNow()
          const start = await call('tabRawSend', session, SIZE, RAW_MESSAGE, cap)
          const end = await receiver('tabRawDone', session)
          return {mbps: SIZE / (end - start) / 1000, cpu: cpuBetween(before, cpuNow())}
        } finally {
          await call('tabClose', session)
          await receiver('tabClose', session)
        }
      },
      async ours(): Promise<OneToOne> {
        const session = `ours-${++sessions}`
        try {
          await receiver('tabJoin', session, 'listen', 2, 1)
          await call('tabJoin', session, 'dial', 1, 2)
          await call('tabReady', session)
          await receiver('tabReady', session)
          const {id, addMs} = await call('tabAdd', session, SIZE)
          const before = cpuNow()
          const ms = await receiver('tabDownload', session, id).catch(async (err: Error) => {
            // Where both ends stood, for the report.
            console.error(`stalled 1→1 session: seeder ${JSON.stringify(await call('tabDebug', session))}`)
            console.error(`stalled 1→1 session: downloader ${JSON.stringify(await receiver('tabDebug', session))}`)
            throw err
          })
          const cpu = cpuBetween(before, cpuNow())
          checkUploaded('FileShare', await call('tabClose', session))
          return {mbps: SIZE / ms / 1000, ms, addMs, cpu}
        } finally {
          await receiver('tabClose', session)
          await call('tabClose', session)
        }
      },
      async webtorrent(): Promise<OneToOne> {
        const session = `wt-${++sessions}`
        try {
          const {magnet, addMs} = await call('wtTabSeed', session, SIZE, tracker.url)
          const before = cpuNow()
          const ms = await receiver('wtTabFetch', session, magnet, tracker.url)
          const cpu = cpuBetween(before, cpuNow())
          checkUploaded('webtorrent', await call('wtTabClose', session))
          return {mbps: SIZE / ms / 1000, ms, addMs, cpu}
        } finally {
          await receiver('wtTabClose', session)
          await call('wtTabClose', session)
        }
      },
    }
    const measure = ONE_PAGE
      ? {
          raw: async (cap: number): Promise<Raw> => ({mbps: await call('raw', SIZE, RAW_MESSAGE, cap)}),
          ours: async () => {
            const r = await call('ours1to1', SIZE)
            checkUploaded('FileShare', r.uploaded ?? 0)
            return r
          },
          webtorrent: async () => {
            const r = await call('webtorrent1to1', SIZE, tracker.url)
            checkUploaded('webtorrent', r.uploaded ?? 0)
            return r
          },
        }
      : tabs
    const layout = ONE_PAGE ? 'one page' : 'two tabs (sender | receiver)'
    console.log(`1 → 1: ${SIZE / MB} MB file, ${layout}, fresh connections and databases per run; MB/s = 10^6 bytes/s`)
    console.log(`raw: ${RAW_MESSAGE / 1024} KiB messages, caps ${RAW_CAPS.map(c => `${c / 1024} KiB`).join(', ')}; ours: download() → resolved (manifest, SHA-256, IndexedDB); webtorrent: add(magnet) → 'done' (SHA-1, OPFS)`)
    console.log('run | raw by cap          | raw best | ours MB/s (add s) | webtorrent MB/s (seed s) | ours/raw | wt/raw')
    const rawBest: number[] = []
    const rawCpu: Cpu[] = []
    const ours: (OneToOne | undefined)[] = []
    const wt: (OneToOne | undefined)[] = []
    for (let run = 1; run <= REPEATS; run++) {
      const rawRuns: Raw[] = []
      for (const cap of RAW_CAPS) rawRuns.push(await measure.raw(cap))
      const raws = rawRuns.map(x => x.mbps)
      const r = Math.max(...raws)
      rawBest.push(r)
      rawCpu.push(...rawRuns.map(x => x.cpu))
      const o = await attempt(`ours 1→1 run ${run}`, () => measure.ours())
      const w = WEBTORRENT ? await attempt(`webtorrent 1→1 run ${run}`, () => measure.webtorrent()) : undefined
      ours.push(o)
      wt.push(w)
      console.log(`${String(run).padStart(3)} | ${raws.map(x => x.toFixed(1)).join(', ').padEnd(19)} | ${r.toFixed(1).padStart(8)} | ` +
        `${`${fmt(o?.mbps)} (${fmt(o && o.addMs / 1000)})`.padEnd(17)} | ${`${fmt(w?.mbps)} (${fmt(w && w.addMs / 1000)})`.padEnd(24)} | ` +
        `${o ? (o.mbps / r).toFixed(2) : '-'}`.padEnd(8) + ` | ${w ? (w.mbps / r).toFixed(2) : '-'}`)
    }
    const ratiosOf = (xs: (OneToOne | undefined)[]) => defined(xs.map((x, i) => x && x.mbps / rawBest[i]))
    const oursRatios = ratiosOf(ours)
    const wtRatios = ratiosOf(wt)
    const oursOk = defined(ours)
    const wtOk = defined(wt)
    if (oursOk.length) console.log(`median ours/raw: ${median(oursRatios).toFixed(2)} (goal ≥ 0.9); ours/webtorrent: ${wtOk.length ? (median(oursOk.map(o => o.mbps)) / median(wtOk.map(w => w.mbps))).toFixed(2) : '-'}`)
    if (wtOk.length) console.log(`median webtorrent/raw: ${median(wtRatios).toFixed(2)}`)
    // Both ends share this machine's cores: when they are busy, MB/s follows CPU seconds per byte.
    const cpuPer100MB = (xs: Cpu[]) => {
      const ok = defined(xs)
      if (ok.length === 0) return undefined
      const per = (f: (c: NonNullable<Cpu>) => number) => round(median(ok.map(c => f(c) * 100 * MB / SIZE)), 1)
      return {total: per(c => c.total), browser: per(c => c.browser), network: per(c => c.network), renderers: per(c => c.renderers)}
    }
    const cpuReport = {raw: cpuPer100MB(rawCpu), ours: cpuPer100MB(ours.map(o => o?.cpu)), webtorrent: cpuPer100MB(wt.map(w => w?.cpu))}
    if (cpuReport.raw) {
      console.log(`CPU seconds per 100 MB moved, median (all Chromium processes: browser, network service, renderers), on ${availableParallelism()} cores:`)
      for (const [name, c] of Object.entries(cpuReport)) {
        if (c) console.log(`  ${name.padEnd(10)} ${c.total.toFixed(1).padStart(5)} = ${c.browser.toFixed(1)} + ${c.network.toFixed(1)} + ${c.renderers.toFixed(1)} (+ other)`)
      }
    }
    const oneToOne = (name: string, xs: OneToOne[], ratios: number[]) => console.log('BENCH ' + JSON.stringify({
      name, unit: 'MB/s', layout: ONE_PAGE ? 'one page' : 'two tabs',
      value: round(median(xs.map(x => x.mbps))), baseline: round(median(rawBest)), ratio: round(median(ratios)),
      ratios: ratios.map(x => round(x)), runs: xs.map(x => round(x.mbps)), sizeMB: SIZE / MB,
      addSeconds: round(median(xs.map(x => x.addMs)) / 1000), failed: REPEATS - xs.length,
      cpuSecondsPer100MB: cpuPer100MB(xs.map(x => x.cpu)), rawCpuSecondsPer100MB: cpuReport.raw,
    }))
    if (oursOk.length) oneToOne('files-1to1', oursOk, oursRatios)
    if (wtOk.length) oneToOne('webtorrent-1to1', wtOk, wtRatios)
  }

  if (ONLY !== '1to1') {
    // ---- 1 seeder, 8 downloaders --------------------------------------------------------
    console.log(`\n1 seeder → ${DOWNLOADERS} downloaders starting together, ${SCALING_SIZE / MB} MB file, one page (ours: full mesh of ${(DOWNLOADERS + 1) * DOWNLOADERS / 2} connections; webtorrent: as its tracker pairs them)`)
    console.log('run | ours: seeder upload ÷ size, all done s, first–last s | webtorrent: seeder upload ÷ size, all done s, first–last s')
    const oursScaling: (Scaling | undefined)[] = []
    const wtScaling: (Scaling | undefined)[] = []
    const describe = (s: Scaling | undefined) => s
      ? `${s.uploadFactor.toFixed(2)}×, ${(s.ms / 1000).toFixed(1)} s, ${(s.finishedMs[0] / 1000).toFixed(1)}–${(s.finishedMs[s.finishedMs.length - 1] / 1000).toFixed(1)} s`
      : 'failed'
    for (let run = 1; run <= SCALING_REPEATS; run++) {
      const o = await attempt(`ours 1→${DOWNLOADERS} run ${run}`, () => call('oursScaling', SCALING_SIZE, DOWNLOADERS))
      const w = WEBTORRENT ? await attempt(`webtorrent 1→${DOWNLOADERS} run ${run}`, () => call('webtorrentScaling', SCALING_SIZE, DOWNLOADERS, tracker.url)) : undefined
      oursScaling.push(o)
      wtScaling.push(w)
      console.log(`${String(run).padStart(3)} | ${describe(o).padEnd(52)} | ${describe(w)}`)
    }
    const scaling = (name: string, xs: Scaling[]) => console.log('BENCH ' + JSON.stringify({
      name, unit: '× file size uploaded by the seeder', value: round(median(xs.map(x => x.uploadFactor))),
      baseline: DOWNLOADERS, goal: 1.5, runs: xs.map(x => round(x.uploadFactor)),
      allDoneSeconds: round(median(xs.map(x => x.ms)) / 1000), downloaders: DOWNLOADERS, sizeMB: SCALING_SIZE / MB,
      aggregateMBps: round(median(xs.map(x => DOWNLOADERS * SCALING_SIZE / x.ms / 1000))),
      downloaderUploadFactors: xs[0].downloaderUploadFactors.map(x => round(x)), failed: SCALING_REPEATS - xs.length,
    }))
    if (defined(oursScaling).length) scaling('files-1to8-seeder-upload', defined(oursScaling))
    if (defined(wtScaling).length) scaling('webtorrent-1to8-seeder-upload', defined(wtScaling))
  }

  // Every run deletes what it stored; anything left here is a leak in the bench or in what it measures.
  const leftDbs = await call('databases')
  const leftOpfs = await call('opfs')
  if (leftDbs.length) console.log(`IndexedDB databases left behind: ${leftDbs.join(', ')}`)
  if (leftOpfs.length) {
    console.log(`OPFS entries left behind by webtorrent: ${leftOpfs.length}`)
    await call('clearOpfs')
  }
} finally {
  await chromium.close()
  await server.close()
  await tracker.close()
}

if (failures.length) {
  for (const f of failures) console.error(`FAILED ${f}`)
  process.exitCode = 1
}
