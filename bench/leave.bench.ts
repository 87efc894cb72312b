// How long a browser peer takes to notice that a peer is gone: a Node peer of the kit
// (its own process) killed with SIGKILL says nothing, so the Chromium peer's keep-alive
// must notice (bound: 5 s, docs/mux.md); the same run's baseline is the same peer
// leaving with GOODBYE (SIGTERM: swarm.destroy()), noticed in about a one-way delay.
// Each round is a fresh room, the two kinds alternate so drift in the machine hits
// both alike, and times run from the signal to the page's `disconnect`, both on
// Date.now(). Real hub process on 127.0.0.1, `iceServers: []`: nothing leaves the machine.
//
//   node --import tsx bench/leave.bench.ts
//   BENCH_ROUNDS=5 node --import tsx bench/leave.bench.ts
import {launchChromium, startTestServer} from '../scripts/browser.js'
import {startHubProcess} from '../scripts/hub-process.js'
import {startPeerProcess} from '../scripts/peer-process.js'
import type {Page} from 'puppeteer-core'
import {median} from './stats.js'
import {until, untilValue} from '../test/shared/until.js'

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 10)
/** Longest wait for one drop: far past the keep-alive's bound, so a miss fails the bench. */
const WAIT = 20_000
/** Longest wait for the page and a new Node peer to connect (slow on a loaded machine). */
const CONNECT_WAIT = 60_000
/** Tries at a round whose Node peer dies before it is connected (counted and reported). */
const ATTEMPTS = 3

type Leave = 'SIGKILL' | 'SIGTERM'

interface Round {
  ms: number
  code: string | null
  rtt: number
}

class PeerDied extends Error {}

let rooms = 0
/** Node peers that died before they were connected: not a leave, so the round is tried again. */
let peersDied = 0

async function round(page: Page, hub: string, leave: Leave): Promise<Round> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await tryRound(page, hub, leave)
    } catch (err) {
      if (!(err instanceof PeerDied) || attempt === ATTEMPTS) throw err
      peersDied++
      console.error(`leave bench: ${err.message}; trying the round again`)
    }
  }
}

async function tryRound(page: Page, hub: string, leave: Leave): Promise<Round> {
  const room = `bench-leave-${process.pid}-${rooms++}`
  await page.evaluate(() => (window as any).p2pTest.stop())
  await page.evaluate((h, r) => (window as any).p2pTest.start(h, r), hub, room)
  const peer = await startPeerProcess(hub, room)
  try {
    await until(async () => {
      if (peer.child.exitCode !== null || peer.child.signalCode !== null) throw new PeerDied(`the Node peer exited (${peer.child.signalCode ?? peer.child.exitCode}) before it was connected`)
      return (await page.evaluate(() => (window as any).p2pTest.peers()) as string[]).includes(peer.key)
    }, 'the page to connect to the Node peer', {timeout: CONNECT_WAIT, every: 10})
    // The page's mux has had a PONG: the keep-alive runs, and the RTT is known.
    const rtt = await untilValue(async () => {
      const ms = await page.evaluate(key => (window as any).p2pTest.rtt(key), peer.key) as number | null
      return ms !== null && ms > 0 ? ms : undefined
    }, 'an RTT sample', {timeout: WAIT, every: 10})
    const at = Date.now()
    peer.child.kill(leave)
    const drop = await untilValue(async () => (await page.evaluate(() => (window as any).p2pTest.disconnects()) as Array<{publicKey: string, code: string | null, at: number}>)
      .find(d => d.publicKey === peer.key), `the page to drop the ${leave} peer`, {timeout: WAIT, every: 10})
    return {ms: drop.at - at, code: drop.code, rtt}
  } finally {
    await peer.close()
  }
}

const hub = await startHubProcess()
const server = await startTestServer()
const chromium = await launchChromium()
const rounds: Record<Leave, Round[]> = {SIGKILL: [], SIGTERM: []}
try {
  const page = await chromium.browser.newPage()
  await page.goto(`${server.url}/test/e2e/pages/swarm.html`)
  await page.waitForFunction(() => 'p2pTest' in window)
  for (let i = 0; i < ROUNDS; i++) {
    for (const leave of ['SIGKILL', 'SIGTERM'] as const) {
      const r = await round(page, hub.url, leave)
      rounds[leave].push(r)
      console.error(`leave bench: round ${i + 1} ${leave}: ${r.ms} ms (${r.code ?? 'goodbye'})`)
    }
  }
  await page.evaluate(() => (window as any).p2pTest.stop())
} finally {
  await chromium.close()
  await server.close()
  await hub.close()
}

const summary = (runs: Round[]) => ({
  medianMs: Math.round(median(runs.map(r => r.ms))),
  maxMs: Math.max(...runs.map(r => r.ms)),
  codes: [...new Set(runs.map(r => r.code ?? 'goodbye'))].join(' '),
  runs: runs.map(r => r.ms),
})
const killed = summary(rounds.SIGKILL)
const goodbye = summary(rounds.SIGTERM)
const rttMs = +median([...rounds.SIGKILL, ...rounds.SIGTERM].map(r => r.rtt)).toFixed(2)

console.log(`leave: a Node peer gone, noticed by a Chromium peer; hub and WebRTC on loopback, ${ROUNDS} rounds each, alternating`)
console.log('')
const codesWidth = Math.max('dropped with'.length, killed.codes.length, goodbye.codes.length) + 3
console.log(`${'how it left'.padEnd(28)}${'median ms'.padStart(10)}${'max ms'.padStart(10)}   ${'dropped with'.padEnd(codesWidth)}rounds (ms)`)
for (const [name, s] of [['SIGKILL: vanished', killed], ['SIGTERM: GOODBYE (baseline)', goodbye]] as const) {
  console.log(`${name.padEnd(28)}${String(s.medianMs).padStart(10)}${String(s.maxMs).padStart(10)}   ${s.codes.padEnd(codesWidth)}${s.runs.join(', ')}`)
}
console.log('')
console.log(`mux ping RTT (median of rounds): ${rttMs} ms; the keep-alive's documented bound is 5000 ms`)
if (peersDied > 0) console.log(`${peersDied} Node peer(s) died before connecting; those rounds were run again`)
console.log(`BENCH ${JSON.stringify({
  name: 'leave-detection',
  value: killed.medianMs,
  unit: 'ms',
  baseline: goodbye.medianMs,
  rounds: ROUNDS,
  killed,
  goodbye,
  rttMs,
  boundMs: 5000,
  peersDied,
})}`)
