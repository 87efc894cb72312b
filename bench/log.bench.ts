// Signed logs (issue 17, "Benchmark"), in one run:
//
// 1. Replication: N entries with 100-byte values (Bytes entries) go from one
//    Chromium tab to another over real WebRTC (iceServers: [], a real hub process
//    on loopback), each verified and stored in IndexedDB (browser-level), against
//    hypercore 11 (RocksDB) replicating N 100-byte blocks in this Node process over
//    an in-process stream pair, the same N, the same run. Entries/s for both, the
//    ratio ours/hypercore (goal ≥ 2), CPU seconds per 10k entries (hypercore: this
//    process, both ends; ours: every Chromium process, both tabs and the network
//    service, from /proc), and where the receiving tab's time goes: store (log.add,
//    timed live), decode, hash and verify (measured again on what it received,
//    with the same batching), the rest being the wire (WebRTC, mux, messages) and
//    waiting on the sender. Twice: on browser-level as it is (it waits for each put of
//    a batch before the next), and on QueuedBrowserLevel, <p2p-log>'s database,
//    whose batch makes its puts at once, to show what IndexedDB itself costs per record. And ours in Node as
//    hypercore runs (two Logs on LevelDB, LogPeer over an in-process mux pair).
// 2. Opening a log of 10k and of 100k entries from IndexedDB: ms to ready() and the
//    JS heap it holds (CDP Runtime.getHeapUsage after a collection), goal < 1 s and
//    flat with length.
// 3. Appends to IndexedDB per second: one value per append, batches of 100 and 1000.
// 4. Ed25519 verifications per second in Chromium: WebCrypto against tweetnacl.
//
// N is 10k; LOG_BENCH_100K=1 replicates 100k as well (about two more minutes here).
// LOG_BENCH_PROFILE=1 records a CPU profile of both tabs during each replication
// and prints the functions that took the most time in each (self time, top 12).
// LOG_BENCH_REPEATS (1) repeats the replication pair, alternating, and prints medians.
import {mkdtemp, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import Hypercore from 'hypercore'
import type {Page} from 'puppeteer-core'
import {launchChromium, startTestServer} from '../scripts/browser.js'
import {startHubProcess} from '../scripts/hub-process.js'
import {KeyPairIdentity} from '../src/core/crypto/seed-identity.js'
import {randomBytes, toHex} from '../src/core/bytes.js'
import {Mux, createMemoryTransportPair} from '../src/core/mux/index.js'
import {Log} from '../src/core/log/log.js'
import {LogPeer} from '../src/core/log/replicate.js'
import {logProtocol} from '../src/core/log/swarm.js'
import {openNodeDatabase} from '../src/node/level.js'
import {median} from './stats.js'
import {chromiumCpu, cpuBetween} from './cpu.js'
import {printProfile, startProfile} from './profile.js'

const COUNTS = process.env.LOG_BENCH_100K === '1' ? [10_000, 100_000] : [10_000]
const REPEATS = Math.max(1, Number(process.env.LOG_BENCH_REPEATS) || 1)
const OPEN_SIZES = [10_000, 100_000]
const VALUE_BYTES = 100
const PROFILE = process.env.LOG_BENCH_PROFILE === '1'

interface Stages {decodeMs: number, hashMs: number, verifyMs: number, signatures: number}
interface LogBench {
  open(name: string, address: string, seed?: string, queued?: boolean): Promise<{readyMs: number, length: number}>
  fill(n: number, batch: number): Promise<number>
  join(hub: string, room: string): Promise<void>
  replicated(length: number): Promise<{ms: number, storeMs: number, adds: number}>
  stages(): Promise<Stages>
  verifyRates(count: number): Promise<{webcrypto: number, webcryptoParallel: number, tweetnacl: number}>
  length(): number
  close(): Promise<void>
  drop(name: string): Promise<void>
}
const bench = (page: Page) => <K extends keyof LogBench>(name: K, ...args: Parameters<LogBench[K]>): Promise<Awaited<ReturnType<LogBench[K]>>> =>
  page.evaluate((n, a) => ((window as any).logBench[n] as (...x: unknown[]) => unknown)(...a), name, args as unknown[]) as never

const cpuSeconds = (usage: NodeJS.CpuUsage): number => (usage.user + usage.system) / 1e6
const per10k = (seconds: number, n: number): number => +(seconds * 10_000 / n).toFixed(2)

/** hypercore 11: n blocks appended in batches of 1000, then replicated to an empty clone in this process. */
async function hypercore(n: number): Promise<{perSecond: number, cpuPer10k: number}> {
  const dir = await mkdtemp(join(tmpdir(), 'p2p-log-bench-hypercore-'))
  try {
    const a = new Hypercore(join(dir, 'a'))
    await a.ready()
    for (let i = 0; i < n; i += 1000) {
      await a.append(Array.from({length: Math.min(1000, n - i)}, (_, j) => {
        const block = Buffer.alloc(VALUE_BYTES, 7)
        block.writeUInt32BE(i + j)
        return block
      }))
    }
    const b = new Hypercore(join(dir, 'b'), a.key)
    await b.ready()
    const cpu = process.cpuUsage()
    const start = performance.now()
    const [s1, s2] = [a.replicate(true), b.replicate(false)]
    s1.pipe(s2).pipe(s1)
    await b.download({start: 0, end: n}).done()
    const ms = performance.now() - start
    const used = cpuSeconds(process.cpuUsage(cpu))
    if (b.contiguousLength !== n) throw new Error(`hypercore replicated ${b.contiguousLength} of ${n}`)
    s1.destroy()
    s2.destroy()
    await a.close()
    await b.close()
    return {perSecond: Math.round(n / (ms / 1000)), cpuPer10k: per10k(used, n)}
  } finally {
    await rm(dir, {recursive: true, force: true})
  }
}

/** Ours in Node, as hypercore runs: two Logs on LevelDB (classic-level) over LogPeer and an in-process mux pair. */
async function oursNode(n: number): Promise<{perSecond: number, cpuPer10k: number}> {
  const dir = await mkdtemp(join(tmpdir(), 'p2p-log-bench-node-'))
  const owner = new KeyPairIdentity(randomBytes(32))
  const [dbA, dbB] = [await openNodeDatabase(join(dir, 'a')), await openNodeDatabase(join(dir, 'b'))]
  try {
    const a = new Log({db: dbA, key: owner.publicKey, identity: owner})
    await a.ready()
    for (let i = 0; i < n; i += 1000) {
      await a.append(Array.from({length: Math.min(1000, n - i)}, (_, j) => {
        const value = new Uint8Array(VALUE_BYTES).fill(7)
        new DataView(value.buffer).setUint32(0, i + j)
        return value
      }))
    }
    const b = new Log({db: dbB, key: owner.publicKey})
    await b.ready()
    const [ta, tb] = createMemoryTransportPair()
    const quiet = {pingInterval: 0, timeout: 0}
    const [ma, mb] = [new Mux(ta, quiet), new Mux(tb, quiet)]
    const done = new Promise<void>(resolve => b.on('update', () => { if (b.length === a.length) resolve() }))
    const cpu = process.cpuUsage()
    const start = performance.now()
    new LogPeer({log: a, source: 'b', open: handlers => ma.channel(logProtocol(a.address), handlers)})
    new LogPeer({log: b, source: 'a', open: handlers => mb.channel(logProtocol(b.address), handlers)})
    await done
    const ms = performance.now() - start
    const used = cpuSeconds(process.cpuUsage(cpu))
    ma.destroy()
    mb.destroy()
    await a.close()
    await b.close()
    return {perSecond: Math.round(a.length / (ms / 1000)), cpuPer10k: per10k(used, n)}
  } finally {
    await dbA.close()
    await dbB.close()
    await rm(dir, {recursive: true, force: true})
  }
}

const hub = await startHubProcess({args: ['--rate-limit', '100000']})
const server = await startTestServer()
const chromium = await launchChromium()
const pid = chromium.browser.process()?.pid
try {
  const pages = await Promise.all([0, 1, 2].map(() => chromium.browser.newPage()))
  for (const page of pages) {
    await page.goto(`${server.url}/bench/pages/log.html`)
    await page.waitForFunction(() => 'logBench' in window)
  }
  const [sender, receiver, solo] = pages.map(bench)
  const owner = randomBytes(32)
  const address = toHex(new KeyPairIdentity(owner).publicKey)

  /** Ours: n entries from the sending tab to the receiving one, from both vectors known to the last stored. */
  async function ours(n: number, run: number, queued: boolean) {
    const [a, b] = [`bench-log-a-${n}-${run}-${queued}`, `bench-log-b-${n}-${run}-${queued}`]
    await sender('open', a, address, toHex(owner), queued)
    for (let at = 20_000; at < n + 20_000; at += 20_000) await sender('fill', Math.min(at, n), 1000)
    await receiver('open', b, address, undefined, queued)
    const room = `bench-log-${Math.random().toString(36).slice(2)}`
    const profilers = PROFILE ? await Promise.all([pages[0], pages[1]].map(startProfile)) : []
    const before = chromiumCpu(pid)
    await sender('join', hub.url, room)
    await receiver('join', hub.url, room)
    const done = await receiver('replicated', n + 1)
    const cpu = cpuBetween(before, chromiumCpu(pid))
    for (const [i, stop] of profilers.entries()) printProfile(`${queued ? 'QueuedBrowserLevel' : 'browser-level'}, ${n}, ${i === 0 ? 'sending' : 'receiving'} tab`, await stop())
    const stages = await receiver('stages')
    await sender('close')
    await receiver('close')
    await sender('drop', a)
    await receiver('drop', b)
    return {perSecond: Math.round((n + 1) / (done.ms / 1000)), ms: done.ms, storeMs: done.storeMs, adds: done.adds, cpu, stages}
  }

  type Ours = Awaited<ReturnType<typeof ours>>
  for (const n of COUNTS) {
    type NodeRun = Awaited<ReturnType<typeof hypercore>>
    const rows: Array<{ours: Ours, queued: Ours, hypercore: NodeRun, node: NodeRun}> = []
    for (let run = 0; run < REPEATS; run++) {
      rows.push({hypercore: await hypercore(n), node: await oursNode(n), ours: await ours(n, run, false), queued: await ours(n, run, true)})
    }
    const theirs = median(rows.map(r => r.hypercore.perSecond))
    const theirCpu = median(rows.map(r => r.hypercore.cpuPer10k))
    const node = median(rows.map(r => r.node.perSecond))
    const nodeCpu = median(rows.map(r => r.node.cpuPer10k))
    console.log(`replicate ${n} entries of ${VALUE_BYTES} bytes (median of ${REPEATS}):`)
    console.log(`  hypercore 11, Node, in-process streams, RocksDB: ${theirs}/s, ${theirCpu} CPU s per 10k`)
    console.log(`  ours, Node, in-process mux, LevelDB:             ${node}/s, ${nodeCpu} CPU s per 10k  (${(node / theirs).toFixed(2)}× hypercore)`)
    console.log('BENCH ' + JSON.stringify({
      name: `log replicate ${n}`, store: 'Node, classic-level', value: node, unit: 'entries/s', baseline: theirs,
      ratio: +(node / theirs).toFixed(2), cpuPer10k: nodeCpu, baselineCpuPer10k: theirCpu,
    }))
    report(n, 'browser-level', rows.map(r => r.ours), theirs, theirCpu)
    report(n, 'QueuedBrowserLevel (<p2p-log>\'s database: puts queued at once)', rows.map(r => r.queued), theirs, theirCpu)
  }

  function report(n: number, store: string, runs: Ours[], theirs: number, theirCpu: number): void {
    const mine = median(runs.map(r => r.perSecond))
    const last = runs[runs.length - 1]
    const ms = (x: number) => Math.round(x)
    const split = {
      storeMs: ms(last.storeMs), decodeMs: ms(last.stages.decodeMs), hashMs: ms(last.stages.hashMs), verifyMs: ms(last.stages.verifyMs),
      restMs: ms(last.ms - last.storeMs - last.stages.decodeMs - last.stages.hashMs - last.stages.verifyMs),
    }
    const oursCpu = last.cpu ? per10k(last.cpu.total, n) : undefined
    console.log(`  ours, two Chromium tabs, WebRTC, IndexedDB (${store}): ${mine}/s, ${oursCpu ?? '?'} CPU s per 10k  (${(mine / theirs).toFixed(2)}× hypercore)`)
    console.log(`    the receiving tab, ms: ${JSON.stringify(split)} (${last.adds} adds, ${last.stages.signatures} signatures)`)
    if (last.cpu) console.log(`    Chromium CPU s per 10k by process: ${JSON.stringify(Object.fromEntries(Object.entries(last.cpu).map(([k, v]) => [k, per10k(v, n)])))}`)
    console.log('BENCH ' + JSON.stringify({
      name: `log replicate ${n}`, store, value: mine, unit: 'entries/s', baseline: theirs, ratio: +(mine / theirs).toFixed(2),
      cpuPer10k: oursCpu, baselineCpuPer10k: theirCpu, receiver: split,
    }))
  }

  // Appends, then opening at 10k and 100k: one log grown in the third tab.
  const client = await pages[2].createCDPSession()
  const heap = async (): Promise<number> => {
    await client.send('HeapProfiler.collectGarbage')
    return (await client.send('Runtime.getHeapUsage')).usedSize
  }
  const name = 'bench-log-open'
  await solo('open', name, address, toHex(owner))
  const rate = (count: number, ms: number) => Math.round(count / (ms / 1000))
  const single = rate(500, await solo('fill', 500, 1))
  const hundred = rate(5000, await solo('fill', 5500, 100))
  const thousand = rate(4500, await solo('fill', 10_000, 1000))
  console.log(`appends to IndexedDB: ${single}/s one at a time, ${hundred}/s in batches of 100, ${thousand}/s in batches of 1000`)
  console.log('BENCH ' + JSON.stringify({name: 'log append', unit: 'entries/s', single, batch100: hundred, batch1000: thousand}))
  for (const size of OPEN_SIZES) {
    // In steps, so no one evaluate outlasts the protocol's timeout on a slow store.
    for (let at = 20_000; at < size + 20_000; at += 20_000) await solo('fill', Math.min(at, size), 1000)
    await solo('close')
    const empty = await heap()
    const {readyMs, length} = await solo('open', name, address)
    const held = await heap() - empty
    console.log(`open a log of ${length} entries: ready() in ${readyMs.toFixed(1)} ms, ${Math.round(held / 1024)} KiB of JS heap held`)
    console.log('BENCH ' + JSON.stringify({name: `log open ${size}`, value: +readyMs.toFixed(1), unit: 'ms', heapBytes: held, entries: length}))
    await solo('close')
    await solo('open', name, address, toHex(owner))
  }
  await solo('close')
  await solo('drop', name)

  const verifies = await solo('verifyRates', 2000)
  console.log(`Ed25519 verifications/s: WebCrypto ${verifies.webcrypto} one by one, ${verifies.webcryptoParallel} all at once; tweetnacl ${verifies.tweetnacl}`)
  console.log('BENCH ' + JSON.stringify({name: 'log verify', unit: 'verifications/s', ...verifies, ratio: +(verifies.webcrypto / verifies.tweetnacl).toFixed(2)}))
} finally {
  await chromium.close()
  await server.close()
  await hub.close()
}
