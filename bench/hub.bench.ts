// Broadcast throughput of our hub against the original signalhub server, same
// machine, same run, same load: each server in its own process on 127.0.0.1,
// ten SSE subscribers on one channel, a fixed number of POSTs with several in
// flight over keep-alive connections, timed until every subscriber has every
// message. Also reports each server's own CPU time per broadcast (from
// /proc), which stays meaningful even when the load generator is the limit.
//
//   node --import tsx bench/hub.bench.ts
//   BENCH_BROADCASTS=20000 BENCH_ROUNDS=5 node --import tsx bench/hub.bench.ts
import {spawn} from 'node:child_process'
import {createRequire} from 'node:module'
import {startHubProcess} from '../scripts/hub-process.js'
import {median} from './stats.js'
import {CountingSubscriber, KeepAliveConnection, PAYLOAD, cpuMs, postRequest} from './hub-load.js'

const BROADCASTS = Number(process.env.BENCH_BROADCASTS ?? 5000)
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5)
const WARMUP = 1000
const SUBSCRIBERS = 10
const IN_FLIGHT = 16

interface RunningServer {
  name: string
  url: string
  pid: number
  close(): Promise<void>
}

async function startOurs(): Promise<RunningServer> {
  const hub = await startHubProcess({args: ['--rate-limit', '100000000']})
  return {name: 'p2p-elements', url: hub.url, pid: hub.child.pid!, close: hub.close}
}

async function startSignalhub(): Promise<RunningServer> {
  const bin = createRequire(import.meta.url).resolve('signalhub/bin.js')
  // -q: no log line per message, which would make it slower than it need be.
  const child = spawn(process.execPath, [bin, 'listen', '-p', '0', '-h', '127.0.0.1', '-q'], {stdio: ['ignore', 'pipe', 'inherit']})
  const port = await new Promise<number>((resolve, reject) => {
    let out = ''
    child.stdout.setEncoding('utf8')
    child.stdout.on('data', (chunk: string) => {
      out += chunk
      const match = out.match(/listening on port (\d+)/)
      if (match) resolve(Number(match[1]))
    })
    child.once('exit', code => reject(new Error(`signalhub exited with ${code}: ${out}`)))
  })
  return {
    name: 'signalhub 4.9.0',
    url: `http://127.0.0.1:${port}`,
    pid: child.pid!,
    close: () => new Promise(resolve => {
      child.once('exit', () => resolve())
      child.kill('SIGTERM')
    }),
  }
}

interface RunResult {
  seconds: number
  serverCpuMs: number | null
}

let channelSeq = 0

async function run(server: RunningServer, broadcasts: number): Promise<RunResult> {
  const channel = `bench-${channelSeq++}`
  const subscribers = Array.from({length: SUBSCRIBERS}, () => new CountingSubscriber())
  await Promise.all(subscribers.map(subscriber => subscriber.open(`${server.url}/v1/bench/${channel}`)))
  const url = new URL(`${server.url}/v1/bench/${channel}`)
  const requestBytes = postRequest(url, Buffer.from(PAYLOAD))
  const connections = Array.from({length: IN_FLIGHT}, () => new KeepAliveConnection(Number(url.port)))
  const cpuBefore = cpuMs(server.pid)
  const started = performance.now()
  let sent = 0
  const senders = connections.map(async connection => {
    while (sent < broadcasts) {
      sent++
      await connection.post(requestBytes)
    }
  })
  await Promise.all([...senders, ...subscribers.map(subscriber => subscriber.reach(broadcasts))])
  const seconds = (performance.now() - started) / 1000
  const cpuAfter = cpuMs(server.pid)
  for (const subscriber of subscribers) subscriber.close()
  for (const connection of connections) connection.close()
  return {seconds, serverCpuMs: cpuBefore === null || cpuAfter === null ? null : cpuAfter - cpuBefore}
}


interface Summary {
  broadcastsPerSecond: number
  deliveriesPerSecond: number
  cpuMicrosPerBroadcast: number | null
  runs: number[]
}

const servers = [await startOurs(), await startSignalhub()]
const results = new Map<RunningServer, RunResult[]>(servers.map(server => [server, []]))
try {
  for (const server of servers) await run(server, WARMUP)
  // Alternating rounds, so drift in the machine's speed hits both alike.
  for (let round = 0; round < ROUNDS; round++) {
    for (const server of servers) results.get(server)!.push(await run(server, BROADCASTS))
  }
} finally {
  await Promise.all(servers.map(server => server.close()))
}

const summaries = servers.map(server => {
  const runs = results.get(server)!
  const rates = runs.map(result => BROADCASTS / result.seconds)
  const cpu = runs.map(result => result.serverCpuMs)
  const summary: Summary = {
    broadcastsPerSecond: Math.round(median(rates)),
    deliveriesPerSecond: Math.round(median(rates) * SUBSCRIBERS),
    cpuMicrosPerBroadcast: cpu.every(ms => ms !== null)
      ? Math.round((median(cpu as number[]) * 1000) / BROADCASTS * 10) / 10
      : null,
    runs: rates.map(Math.round),
  }
  return {server, summary}
})

const [ours, theirs] = summaries.map(entry => entry.summary)
const ratio = Math.round((ours.broadcastsPerSecond / theirs.broadcastsPerSecond) * 100) / 100
const cpuRatio = ours.cpuMicrosPerBroadcast && theirs.cpuMicrosPerBroadcast
  ? Math.round((theirs.cpuMicrosPerBroadcast / ours.cpuMicrosPerBroadcast) * 100) / 100
  : null

console.log(`hub-broadcast: ${BROADCASTS} broadcasts x ${SUBSCRIBERS} subscribers, ${IN_FLIGHT} in flight, ${Buffer.byteLength(PAYLOAD)}-byte body, median of ${ROUNDS} rounds`)
console.log('')
console.log(`${'server'.padEnd(18)}${'broadcasts/s'.padStart(14)}${'deliveries/s'.padStart(14)}${'server CPU us/broadcast'.padStart(26)}   rounds`)
for (const {server, summary} of summaries) {
  console.log(
    `${server.name.padEnd(18)}${String(summary.broadcastsPerSecond).padStart(14)}${String(summary.deliveriesPerSecond).padStart(14)}` +
    `${String(summary.cpuMicrosPerBroadcast ?? 'n/a').padStart(26)}   ${summary.runs.join(', ')}`,
  )
}
console.log('')
console.log(`ours / signalhub: ${ratio}x the broadcasts per second${cpuRatio === null ? '' : `, ${cpuRatio}x less server CPU per broadcast`}`)
console.log(`BENCH ${JSON.stringify({
  name: 'hub-broadcast',
  broadcasts: BROADCASTS,
  subscribers: SUBSCRIBERS,
  inFlight: IN_FLIGHT,
  bodyBytes: Buffer.byteLength(PAYLOAD),
  rounds: ROUNDS,
  ours,
  signalhub: theirs,
  ratio,
  cpuRatio,
})}`)
