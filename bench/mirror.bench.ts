// The always-on mirror (issue 19, "Benchmark"), in one run:
//
// 1. Throughput to a browser peer, as a ratio to tab → tab in the same run: a Node
//    writer fills two logs, 10k entries of 100 bytes (entries/s) and 1,000 of 16 KiB
//    (MB/s), and replicates them to a mirror process and to a sending tab, then leaves.
//    Each log then goes (a) from the sending tab to a fresh tab, in a room of their
//    own, and (b) from the mirror alone to a fresh tab, in the mirror's room: the same
//    entries, the same receiving page (bench/pages/log.ts on QueuedBrowserLevel, what
//    <p2p-log> stores in), timed from the receiving tab's first progress (both vectors
//    exchanged) to its last entry stored. Entries/s and MB/s (the entries' bytes, as the
//    mirror counts them) for both, the ratio mirror/tab, and the CPU seconds spent:
//    Chromium's (every process) and the mirror's.
// 2. Memory: a second mirror process keeping 10 logs. Its RSS once open, holding
//    nothing; once it holds 10 logs of 10k entries (written by a Node peer on LevelDB,
//    replicated to it, the writer gone); and once a fresh Node peer has replicated all
//    10 again from it alone. Each of the last two right away (the burst: V8's heap
//    grown by the intake, whose replication keeps up to 8 messages of 256 KiB in
//    flight per log) and settled (once V8's memory reducer has given back what the
//    burst grew: what holding them costs), the settled figure the one set against the goal.
//    Twice: the mirror started plainly, and with glibc's malloc as docs/mirror.md's
//    service unit sets it (TUNED_MALLOC: large buffers mapped on their own, so the
//    burst's go back to the system), with where the memory is (residentMap). VmRSS against the goal (150 MB) and against the empty
//    mirror's (the baseline), VmHWM (the peak so far), and RSS split into anonymous
//    memory (heaps) and file pages (code, mapped libraries, LevelDB's tables).
//
// The mirror runs as `npx p2p-elements mirror` does: plain Node over compiled
// JavaScript (an esbuild bundle of src/server/cli.ts made at the start), not under tsx,
// whose loader thread and esbuild service add about 38 MB to a process here (an empty
// script: 40 MB of RSS under node, 78 MB under node --import tsx), none of it the mirror's.
//
// Everything stays on loopback: a hub process on 127.0.0.1, iceServers: [] everywhere.
// MIRROR_BENCH_REPEATS (5) is how many times each throughput pair runs, alternating
// which goes first (medians printed). MIRROR_BENCH_NODE_ARGS passes flags to the mirror
// processes' Node (e.g. "--max-old-space-size=96"), to see what V8's heap sizing does
// to the RSS.
import {spawn, type ChildProcess} from 'node:child_process'
import {readFileSync} from 'node:fs'
import {mkdtemp, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {createInterface} from 'node:readline'
import {fileURLToPath} from 'node:url'
import {build} from 'esbuild'
import type {Browser, Page} from 'puppeteer-core'
import type {AbstractLevel} from 'abstract-level'
import {launchChromium, startTestServer} from '../scripts/browser.js'
import {startHubProcess} from '../scripts/hub-process.js'
import {Swarm} from '../src/core/swarm/swarm.js'
import {createIdentity} from '../src/core/crypto/identity.js'
import {KeyPairIdentity} from '../src/core/crypto/seed-identity.js'
import {toHex} from '../src/core/bytes.js'
import {Log} from '../src/core/log/log.js'
import type {MirrorStatus} from '../src/mirror/mirror.js'
import {loadNodeWebRTC, openNodeDatabase} from '../src/node/index.js'
import {median} from './stats.js'
import {chromiumCpu, cpuBetween} from './cpu.js'
import {within} from './pages/files-common.js'
import {whenLog} from '../test/shared/log-helpers.js'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const REPEATS = Math.max(1, Number(process.env.MIRROR_BENCH_REPEATS) || 5)
const NODE_ARGS = (process.env.MIRROR_BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean)
/** The two throughput logs: many small entries (entries/s), and 16 MB in large ones (MB/s). */
const SHAPES = [
  {name: 'small', entries: 10_000, valueBytes: 100},
  {name: 'large', entries: 1000, valueBytes: 16 * 1024},
] as const
const RSS_LOGS = 10
const RSS_ENTRIES = 10_000
const RSS_VALUE_BYTES = 100
const RSS_GOAL_MB = 150
const MB = 1_000_000
const fast = {min: 100, max: 1000}

/**
 * The CLI bundled once for the run. It is written two levels below the root, in
 * node_modules/, so its dependencies (left out of the bundle: classic-level and
 * node-datachannel are native) resolve as they do from src/, and the hub's
 * `new URL('../../package.json', import.meta.url)` finds the kit's own.
 */
async function buildCli(): Promise<{path: string, remove(): Promise<void>}> {
  const dir = await mkdtemp(join(ROOT, 'node_modules', '.bench-mirror-'))
  const path = join(dir, 'cli.mjs')
  try {
    await build({
      entryPoints: [join(ROOT, 'src/server/cli.ts')], outfile: path, bundle: true, packages: 'external',
      platform: 'node', format: 'esm', target: 'node20', tsconfig: join(ROOT, 'tsconfig.json'), logLevel: 'warning',
    })
  } catch (err) {
    await rm(dir, {recursive: true, force: true})
    throw err
  }
  return {path, remove: () => rm(dir, {recursive: true, force: true})}
}

/** Memory of a process, from /proc/<pid>/status, in MB. */
interface Memory {rss: number, hwm: number, anon: number, file: number}

function memoryOf(pid: number): Memory {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const mb = (field: string): number => {
    const kb = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(status)?.[1]
    if (kb === undefined) throw new Error(`no ${field} in /proc/${pid}/status`)
    return +(Number(kb) * 1024 / MB).toFixed(1)
  }
  return {rss: mb('VmRSS'), hwm: mb('VmHWM'), anon: mb('RssAnon'), file: mb('RssFile')}
}

/**
 * The process's memory once it has settled: V8 gives back the heap pages a burst
 * of work grew (its memory reducer, some seconds after allocation slows down),
 * so RSS read right after the intake is the burst's, not what holding costs.
 * Sampled every second until it has not fallen by 1 MB for 30 seconds (the
 * reducer waits 8 s after the last full collection, then collects up to three
 * times: here about 20 s after the intake; at most 150 s), with how long that took.
 */
async function settledMemoryOf(pid: number): Promise<Memory & {seconds: number}> {
  const start = performance.now()
  let low = memoryOf(pid)
  let steady = 0
  while (steady < 30 && performance.now() - start < 150_000) {
    await new Promise(resolve => setTimeout(resolve, 1000))
    const now = memoryOf(pid)
    steady = now.rss < low.rss - 1 ? 0 : steady + 1
    if (now.rss < low.rss) low = now
  }
  return {...memoryOf(pid), seconds: Math.round((performance.now() - start) / 1000)}
}

/**
 * Where a process's resident memory is, from /proc/<pid>/smaps, in MB: V8's heap
 * (its pages are separate 256 KiB mappings), malloc's main arena (`[heap]`),
 * other anonymous mappings (thread arenas and stacks, large allocations), and
 * the largest file-backed mappings (the node binary, native modules, LevelDB's tables).
 */
function residentMap(pid: number): Record<string, number> {
  const out: Record<string, number> = {v8Pages: 0, mallocMain: 0, otherAnonymous: 0}
  const files = new Map<string, number>()
  let head = ''
  for (const line of readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
    if (/^[0-9a-f]+-[0-9a-f]+ /.test(line)) head = line
    else if (line.startsWith('Rss:')) {
      const mb = Number(line.split(/\s+/)[1]) / 1024
      const [range, , , , , path = ''] = head.trim().split(/\s+/)
      const [from, to] = range.split('-').map(x => parseInt(x, 16))
      if (path === '[heap]') out.mallocMain += mb
      else if (path === '' && to - from === 256 * 1024) out.v8Pages += mb
      else if (path === '' || path.startsWith('[')) out.otherAnonymous += mb
      else files.set(path, (files.get(path) ?? 0) + mb)
    }
  }
  for (const [path, mb] of [...files].sort((a, b) => b[1] - a[1]).slice(0, 4)) out[path.split('/').slice(-2).join('/')] = mb
  return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, +v.toFixed(1)]))
}

/** CPU seconds (user + system) a process has used, from /proc/<pid>/stat. */
function cpuOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  // utime and stime are fields 14 and 15 of stat, in ticks of 1/100 s; fields[0] is field 3.
  return (Number(fields[11]) + Number(fields[12])) / 100
}

/** A mirror process (`--json`), its latest status, and waits on what its status lines say. */
class MirrorProcess {
  readonly child: ChildProcess
  readonly pid: number
  status: MirrorStatus | undefined
  #stderr = ''
  readonly #waiters = new Set<() => void>()

  constructor(cli: string, args: string[], env: Record<string, string> = {}) {
    this.child = spawn(process.execPath, [...NODE_ARGS, cli, 'mirror', ...args, '--json'], {stdio: ['ignore', 'pipe', 'pipe'], env: {...process.env, ...env}})
    this.pid = this.child.pid!
    createInterface({input: this.child.stdout!}).on('line', line => {
      this.status = JSON.parse(line) as MirrorStatus
      this.#wake()
    })
    // Its start line and any error it reports, passed on as they come, and kept for a failed wait to show.
    createInterface({input: this.child.stderr!}).on('line', line => {
      this.#stderr += line + '\n'
      console.error(line)
    })
    this.child.once('exit', () => this.#wake())
  }

  #wake(): void {
    for (const wake of this.#waiters) wake()
  }

  get exited(): boolean {
    return this.child.exitCode !== null || this.child.signalCode !== null
  }

  /** Resolves with the first status line, printed from now on or already, that `check` accepts. */
  until(check: (status: MirrorStatus) => boolean, what: string): Promise<MirrorStatus> {
    let look = (): void => {}
    const found = new Promise<MirrorStatus>((resolve, reject) => {
      look = () => {
        if (this.status && check(this.status)) resolve(this.status)
        else if (this.exited) reject(new Error(`the mirror exited before ${what}: ${this.#stderr}`))
      }
      this.#waiters.add(look)
      look()
    })
    return within(found, `the mirror's status to show ${what}`, () => `its last status: ${JSON.stringify(this.status)}; stderr: ${this.#stderr}`)
      .finally(() => this.#waiters.delete(look))
  }

  /** SIGTERM (it closes its database first), and resolves once it has exited. */
  async stop(): Promise<void> {
    if (this.exited) return
    const exit = new Promise(resolve => this.child.once('exit', resolve))
    this.child.kill('SIGTERM')
    await exit
  }
}

/** A Node peer in `room` holding logs on LevelDB, written by their owners' keys when given. */
async function nodePeer(hub: string, room: string, db: AbstractLevel<any, any, any>, keys: Array<KeyPairIdentity | Uint8Array>) {
  const logs = keys.map(key => key instanceof KeyPairIdentity
    ? new Log({db, key: key.publicKey, identity: key})
    : new Log({db, key}))
  await Promise.all(logs.map(log => log.ready()))
  let swarm: Swarm | undefined
  let attached: Array<{detach(): void}> = []
  return {
    logs,
    async join(): Promise<void> {
      swarm = new Swarm({hubs: [hub], room, identity: await createIdentity(), iceServers: [], webrtc: await loadNodeWebRTC(), announceInterval: fast})
      attached = logs.map(log => log.replicate(swarm!))
    },
    /** Resolves once every log holds `length` entries. */
    async holding(length: number, what: string): Promise<void> {
      await within(Promise.all(logs.map(log => whenLog(log, () => log.length >= length))), what,
        () => `lengths: ${logs.map(log => log.length).join(', ')}`)
    },
    /** Leaves the room and closes the logs (the database stays open). Idempotent. */
    async leave(): Promise<void> {
      for (const a of attached) a.detach()
      attached = []
      swarm?.destroy()
      await Promise.all(logs.map(log => log.close()))
    },
  }
}

/** Appends `entries` values of `valueBytes` (the first four bytes the entry's number), 256 a batch: one signed run each. */
async function fill(log: Log, entries: number, valueBytes: number): Promise<void> {
  for (let i = 0; i < entries; i += 256) {
    await log.append(Array.from({length: Math.min(256, entries - i)}, (_, j) => {
      const value = new Uint8Array(valueBytes).fill(7)
      new DataView(value.buffer).setUint32(0, i + j)
      return value
    }))
  }
}

/** What bench/pages/log.ts offers that this bench calls. */
interface LogPage {
  open(name: string, address: string, seed?: string, queued?: boolean): Promise<{readyMs: number, length: number}>
  join(hub: string, room: string): Promise<void>
  replicated(length: number): Promise<{ms: number, storeMs: number, adds: number}>
  close(): Promise<void>
  drop(name: string): Promise<void>
}
type Call = <K extends keyof LogPage>(name: K, ...args: Parameters<LogPage[K]>) => Promise<Awaited<ReturnType<LogPage[K]>>>

/** A new tab on bench/pages/log.html: a fresh renderer for each transfer, so none starts with code warmed by another. */
async function openTab(browser: Browser, url: string): Promise<{call: Call, page: Page}> {
  const page = await browser.newPage()
  page.on('pageerror', err => console.error(`page error: ${(err as Error).message}`))
  await page.goto(`${url}/bench/pages/log.html`)
  await page.waitForFunction(() => 'logBench' in window, {timeout: 60_000})
  const call = ((name: keyof LogPage, ...args: unknown[]) =>
    page.evaluate((n, a) => ((window as any).logBench[n] as (...x: unknown[]) => unknown)(...a), name, args)) as Call
  return {call, page}
}

interface Transfer {ms: number, entriesPerSecond: number, mbPerSecond: number, chromiumCpu?: number, mirrorCpu?: number}

const hub = await startHubProcess({args: ['--rate-limit', '100000']})
const cli = await buildCli()
const dir = await mkdtemp(join(tmpdir(), 'p2p-mirror-bench-'))
const mirrors: MirrorProcess[] = []
const startMirror = (args: string[], env?: Record<string, string>): MirrorProcess => {
  const mirror = new MirrorProcess(cli.path, ['--hub', hub.url, ...args], env)
  mirrors.push(mirror)
  return mirror
}
const started = performance.now()
let rooms = 0
const freshRoom = (what: string) => `bench-mirror-${what}-${process.pid}-${rooms++}`

/** Part 1: mirror → tab against tab → tab, for each shape, same entries, same run. */
async function throughput(): Promise<void> {
  const owners = SHAPES.map(() => new KeyPairIdentity())
  const addresses = owners.map(owner => toHex(owner.publicKey))
  const room = freshRoom('throughput')
  const mirror = startMirror(['--dir', join(dir, 'throughput'), '--room', room, ...addresses.flatMap(a => ['--log', a])])
  const writerDb = await openNodeDatabase(join(dir, 'throughput-writer'))
  const writer = await nodePeer(hub.url, room, writerDb, owners)
  const server = await startTestServer()
  const chromium = await launchChromium()
  const browserPid = chromium.browser.process()?.pid
  try {
    for (const [i, shape] of SHAPES.entries()) await fill(writer.logs[i], shape.entries, shape.valueBytes)
    await writer.join()
    const held = await mirror.until(s => s.logs.every((l, i) => l.length === writer.logs[i].length), 'both logs whole')
    const bytes = addresses.map(a => held.logs.find(l => l.address === a)!.bytes)

    // The sending tab's copies, from the writer (and the mirror) while both are in the room.
    const sender = await openTab(chromium.browser, server.url)
    for (const [i, address] of addresses.entries()) {
      await sender.call('open', `bench-mirror-sender-${i}`, address, undefined, true)
      await sender.call('join', hub.url, room)
      await within(sender.call('replicated', writer.logs[i].length), `the sending tab's copy of the ${SHAPES[i].name} log`)
      await sender.call('close')
    }
    await writer.leave()
    await mirror.until(s => s.rooms[0].peers === 0, 'the writer and the sending tab gone')

    /** One transfer into a fresh tab, in `into`, from whoever holds the log there. */
    const receive = async (i: number, into: string, run: string): Promise<Omit<Transfer, 'mirrorCpu'>> => {
      const receiver = await openTab(chromium.browser, server.url)
      const name = `bench-mirror-receiver-${run}`
      await receiver.call('open', name, addresses[i], undefined, true)
      const before = chromiumCpu(browserPid)
      await receiver.call('join', hub.url, into)
      const length = writer.logs[i].length
      const done = await within(receiver.call('replicated', length), `${length} entries of the ${SHAPES[i].name} log in the receiving tab (${run})`)
      const cpu = cpuBetween(before, chromiumCpu(browserPid))
      await receiver.call('close')
      await receiver.call('drop', name)
      await receiver.page.close()
      const seconds = done.ms / 1000
      return {ms: Math.round(done.ms), entriesPerSecond: Math.round(length / seconds), mbPerSecond: +(bytes[i] / MB / seconds).toFixed(2), chromiumCpu: cpu && +cpu.total.toFixed(2)}
    }
    const fromTab = async (i: number, run: number): Promise<Transfer> => {
      const tabRoom = freshRoom('tabs')
      await sender.call('open', `bench-mirror-sender-${i}`, addresses[i], undefined, true)
      await sender.call('join', hub.url, tabRoom)
      try {
        return await receive(i, tabRoom, `tab-${i}-${run}`)
      } finally {
        await sender.call('close')
      }
    }
    const fromMirror = async (i: number, run: number): Promise<Transfer> => {
      const cpu = cpuOf(mirror.pid)
      const transfer = await receive(i, room, `mirror-${i}-${run}`)
      return {...transfer, mirrorCpu: +(cpuOf(mirror.pid) - cpu).toFixed(2)}
    }

    for (const [i, shape] of SHAPES.entries()) {
      const runs: Array<{tab: Transfer, mirror: Transfer}> = []
      for (let run = 0; run < REPEATS; run++) {
        // Alternating which goes first, so drift in the machine's load hits both alike.
        if (run % 2 === 0) runs.push({tab: await fromTab(i, run), mirror: await fromMirror(i, run)})
        else runs.push({mirror: await fromMirror(i, run), tab: await fromTab(i, run)})
      }
      /** A field's median over the runs (undefined where /proc gave no CPU figure). */
      const mid = (side: 'tab' | 'mirror', key: keyof Transfer): number | undefined => {
        const xs = runs.map(r => r[side][key]).filter((x): x is number => x !== undefined)
        return xs.length === 0 ? undefined : +median(xs).toFixed(2)
      }
      const [tab, mine] = (['tab', 'mirror'] as const).map(side => ({
        entriesPerSecond: mid(side, 'entriesPerSecond')!, mbPerSecond: mid(side, 'mbPerSecond')!, ms: mid(side, 'ms')!, chromiumCpu: mid(side, 'chromiumCpu'), mirrorCpu: mid(side, 'mirrorCpu'),
      }))
      const [value, baseline, unit] = shape.name === 'small' ? [mine.entriesPerSecond, tab.entriesPerSecond, 'entries/s'] : [mine.mbPerSecond, tab.mbPerSecond, 'MB/s']
      const each = (side: 'tab' | 'mirror') => runs.map(r => r[side].entriesPerSecond).join(', ')
      console.log(`${shape.entries} entries of ${shape.valueBytes} bytes (${(bytes[i] / MB).toFixed(2)} MB of entries) into a fresh tab, median of ${REPEATS} (entries/s of each run: tab ${each('tab')}; mirror ${each('mirror')}):`)
      console.log(`  tab → tab:    ${tab.entriesPerSecond} entries/s, ${tab.mbPerSecond} MB/s (${tab.ms} ms; Chromium ${tab.chromiumCpu ?? '?'} CPU s)`)
      console.log(`  mirror → tab: ${mine.entriesPerSecond} entries/s, ${mine.mbPerSecond} MB/s (${mine.ms} ms; Chromium ${mine.chromiumCpu ?? '?'} CPU s, the mirror ${mine.mirrorCpu} CPU s)`)
      console.log(`  mirror/tab: ${(value / baseline).toFixed(2)}`)
      console.log('BENCH ' + JSON.stringify({
        name: `mirror to tab, ${shape.entries} × ${shape.valueBytes} B`, value, unit, baseline, ratio: +(value / baseline).toFixed(2),
        entriesPerSecond: mine.entriesPerSecond, mbPerSecond: mine.mbPerSecond, tabEntriesPerSecond: tab.entriesPerSecond, tabMbPerSecond: tab.mbPerSecond,
        bytes: bytes[i], ms: mine.ms, tabMs: tab.ms, chromiumCpu: mine.chromiumCpu, mirrorCpu: mine.mirrorCpu, tabChromiumCpu: tab.chromiumCpu,
      }))
    }
    await sender.page.close()
  } finally {
    await chromium.close()
    await server.close()
    await writer.leave()
    await writerDb.close()
    await mirror.stop()
  }
}

/**
 * glibc's malloc as docs/mirror.md's service unit sets it: two arenas, and every
 * allocation of 16 KiB or more (the network's frames and messages) mapped on its
 * own, so it goes back to the system when freed, instead of leaving holes in the
 * heap that a burst grew and that glibc never gives back.
 */
const TUNED_MALLOC = {MALLOC_ARENA_MAX: '2', MALLOC_MMAP_THRESHOLD_: '16384', MALLOC_TRIM_THRESHOLD_: '1048576'}

/**
 * Part 2: the mirror's memory, empty, holding 10 × 10k entries, and after serving
 * them all once more: started plainly, and with malloc as the service unit sets it.
 */
async function memory(variant: 'plain' | 'tuned malloc'): Promise<void> {
  const owners = Array.from({length: RSS_LOGS}, () => new KeyPairIdentity())
  const room = freshRoom('memory')
  const mirror = startMirror(['--dir', join(dir, `memory-${variant}`), '--room', room, ...owners.flatMap(o => ['--log', toHex(o.publicKey)])],
    variant === 'plain' ? {} : TUNED_MALLOC)
  await mirror.until(() => true, 'its first status (open, holding nothing)')
  const empty = memoryOf(mirror.pid)

  const writerDb = await openNodeDatabase(join(dir, `memory-${variant}-writer`))
  const readerDb = await openNodeDatabase(join(dir, `memory-${variant}-reader`))
  const writer = await nodePeer(hub.url, room, writerDb, owners)
  const reader = await nodePeer(hub.url, room, readerDb, owners.map(o => o.publicKey))
  try {
    for (const log of writer.logs) await fill(log, RSS_ENTRIES, RSS_VALUE_BYTES)
    const length = writer.logs[0].length
    let start = performance.now()
    await writer.join()
    const full = await mirror.until(s => s.logs.length === RSS_LOGS && s.logs.every(l => l.length === length), `${RSS_LOGS} logs of ${length} entries`)
    const intakeMs = performance.now() - start
    await writer.leave()
    await mirror.until(s => s.rooms[0].peers === 0, 'the writer gone')
    const burst = memoryOf(mirror.pid)
    const holding = await settledMemoryOf(mirror.pid)
    const holdingMap = residentMap(mirror.pid)
    const bytes = full.logs.reduce((n, l) => n + l.bytes, 0)

    start = performance.now()
    await reader.join()
    await reader.holding(length, `the reader to hold all ${RSS_LOGS} logs`)
    const serveMs = performance.now() - start
    const servedBurst = memoryOf(mirror.pid)
    const served = await settledMemoryOf(mirror.pid)
    const perSecond = (ms: number) => Math.round(RSS_LOGS * length / (ms / 1000))

    const line = (what: string, m: Memory) => console.log(`  ${what}: RSS ${m.rss} MB (anonymous ${m.anon}, file ${m.file}), peak so far ${m.hwm} MB`)
    console.log(`mirror process memory (${variant === 'plain' ? 'started plainly' : `malloc as the service unit sets it: ${Object.entries(TUNED_MALLOC).map(([k, v]) => `${k}=${v}`).join(' ')}`}), ${RSS_LOGS} logs of ${RSS_ENTRIES} entries of ${RSS_VALUE_BYTES} bytes (${(bytes / MB).toFixed(1)} MB of entries); goal: under ${RSS_GOAL_MB} MB`)
    line('open, holding nothing', empty)
    line(`holding them all, right after taking them in at ${perSecond(intakeMs)} entries/s`, burst)
    line(`holding them all, settled (${holding.seconds} s later)`, holding)
    console.log(`    where it is (MB): ${JSON.stringify(holdingMap)}`)
    line(`right after a fresh Node peer replicated all ${RSS_LOGS} from it alone at ${perSecond(serveMs)} entries/s`, servedBurst)
    line(`after serving them, settled (${served.seconds} s later)`, served)
    for (const [what, m] of [['holding', holding], ['served', served]] as const) {
      console.log('BENCH ' + JSON.stringify({
        name: `mirror RSS ${what} ${RSS_LOGS} × ${RSS_ENTRIES}${variant === 'plain' ? '' : `, ${variant}`}`, value: m.rss, unit: 'MB', baseline: empty.rss, ratio: +(m.rss / empty.rss).toFixed(2),
        goal: RSS_GOAL_MB, ofGoal: +(m.rss / RSS_GOAL_MB).toFixed(2), peak: m.hwm, anonymous: m.anon, file: m.file, bytes, settledIn: m.seconds,
        burst: (what === 'holding' ? burst : servedBurst).rss,
        entriesPerSecond: perSecond(what === 'holding' ? intakeMs : serveMs),
      }))
    }
  } finally {
    await writer.leave()
    await reader.leave()
    await writerDb.close()
    await readerDb.close()
    await mirror.stop()
  }
}

try {
  await throughput()
  await memory('plain')
  await memory('tuned malloc')
  console.log(`mirror bench: ${((performance.now() - started) / 1000).toFixed(0)} s`)
} finally {
  for (const mirror of mirrors) await mirror.stop()
  await hub.close()
  await cli.remove()
  await rm(dir, {recursive: true, force: true})
}
