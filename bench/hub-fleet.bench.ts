// A hub fleet on Redis (src/server/backplane.ts, docs/hub-fleet.md) against one
// hub alone, same machine, same run, same load: ten SSE subscribers on one
// channel spread round robin over 1, 2 and 4 hub processes sharing a real
// redis-server, POSTs spread over the processes the same way, 16 in flight over
// keep-alive connections, timed until every subscriber has every broadcast.
// Server CPU per broadcast adds up every hub process and redis-server (from
// /proc). Then the memory a fleet process holds for 1,000 idle subscribers
// (each on a channel of its own, so each also a Redis subscription): its RSS
// before and after holding 4,000, once settled.
//
//   node --import tsx bench/hub-fleet.bench.ts
//   BENCH_BROADCASTS=20000 BENCH_ROUNDS=5 node --import tsx bench/hub-fleet.bench.ts
import {readFileSync} from 'node:fs'
import {startHubProcess} from '../scripts/hub-process.js'
import {RedisProcess} from '../test/shared/redis-process.js'
import {until} from '../test/shared/until.js'
import {backplanesUp, hubInfo} from '../test/shared/fleet.js'
import {median} from './stats.js'
import {CountingSubscriber, KeepAliveConnection, PAYLOAD, cpuMs, postRequest} from './hub-load.js'

const BROADCASTS = Number(process.env.BENCH_BROADCASTS ?? 5000)
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3)
const WARMUP = 1000
const SUBSCRIBERS = 10
const IN_FLIGHT = 16
// Idle subscribers held for the memory figure, given a thousand: more than a thousand, so that what the heap
// happens to hold uncollected at the moment of measuring weighs less in it.
const IDLE = 4000

interface HubProcess {
  url: string
  child: {pid?: number}
  close(): Promise<void>
}

interface Setup {
  name: string
  hubs: HubProcess[]
  /** Redis's process in a fleet: its CPU is the servers' too. */
  redisPid: number | null
}

interface RunResult {
  seconds: number
  /** CPU ms of the hub processes together, and of redis-server. */
  hubCpu: number | null
  redisCpu: number | null
}


// The load comes from one address: the per-address limits would measure the bench, not the hub.
const OPEN_LIMITS = ['--rate-limit', '0', '--max-streams-per-client', '100000']

async function hubs(count: number, redis: RedisProcess | null): Promise<HubProcess[]> {
  const args = redis ? [...OPEN_LIMITS, '--redis', redis.url] : OPEN_LIMITS
  const started = await Promise.all(Array.from({length: count}, () => startHubProcess({args}))) as HubProcess[]
  // Every process's backplane up before any load.
  if (redis) await backplanesUp(started)
  return started
}

/** CPU ms of `pids` together (0 for none); null off Linux. */
const totalCpu = (pids: number[]): number | null => {
  const each = pids.map(cpuMs)
  return each.every(ms => ms !== null) ? (each as number[]).reduce((a, b) => a + b, 0) : null
}

let channelSeq = 0

/** Broadcasts spread over the setup's hubs; resolves with the seconds until all subscribers have all, and the servers' CPU ms. */
async function run(setup: Setup, broadcasts: number): Promise<RunResult> {
  const channel = `fleet-bench-${channelSeq++}`
  const at = (i: number) => setup.hubs[i % setup.hubs.length].url
  const subscribers = Array.from({length: SUBSCRIBERS}, () => new CountingSubscriber())
  await Promise.all(subscribers.map((subscriber, i) => subscriber.open(`${at(i)}/v1/bench/${channel}`)))
  // Each process subscribed on Redis before the first broadcast.
  if (setup.redisPid !== null) await until(async () => (await Promise.all(setup.hubs.map(hubInfo))).every(i => i.backplane.channels >= 1), 'every hub subscribed on Redis')
  const connections = Array.from({length: IN_FLIGHT}, (_, i) => {
    const url = new URL(`${at(i)}/v1/bench/${channel}`)
    return {connection: new KeepAliveConnection(Number(url.port)), request: postRequest(url, Buffer.from(PAYLOAD))}
  })
  const hubPids = setup.hubs.map(hub => hub.child.pid!)
  const redisPids = setup.redisPid === null ? [] : [setup.redisPid]
  const before = [totalCpu(hubPids), totalCpu(redisPids)]
  const started = performance.now()
  let sent = 0
  const senders = connections.map(async ({connection, request}) => {
    while (sent < broadcasts) {
      sent++
      await connection.post(request)
    }
  })
  await Promise.all([...senders, ...subscribers.map(subscriber => subscriber.reach(broadcasts))])
  const seconds = (performance.now() - started) / 1000
  const after = [totalCpu(hubPids), totalCpu(redisPids)]
  for (const subscriber of subscribers) subscriber.close()
  for (const {connection} of connections) connection.close()
  const spent = (i: number) => before[i] === null || after[i] === null ? null : after[i]! - before[i]!
  return {seconds, hubCpu: spent(0), redisCpu: spent(1)}
}

function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) / 1024
}

/** RSS (MB) of one fleet process holding 1,000 idle subscribers, each on a channel of its own, against none. */
async function idleMemory(redis: RedisProcess): Promise<{before: number, after: number, perThousand: number}> {
  const [hub] = await hubs(1, redis)
  const pid = hub.child.pid!
  // Time for V8's memory reducer to give back what setting up left behind.
  const settle = () => new Promise(resolve => setTimeout(resolve, 5000))
  try {
    await settle()
    const before = rssMb(pid)
    const idle = Array.from({length: IDLE}, () => new CountingSubscriber())
    for (let i = 0; i < IDLE; i += 100) await Promise.all(idle.slice(i, i + 100).map((s, j) => s.open(`${hub.url}/v1/idle/channel-${i + j}`)))
    await until(async () => {
      const {subscribers, backplane} = await hubInfo(hub)
      return subscribers === IDLE && backplane.channels === IDLE
    }, 'the idle subscribers all held and subscribed on Redis', {timeout: 120_000})
    await settle()
    const after = rssMb(pid)
    for (const s of idle) s.close()
    return {before, after, perThousand: (after - before) * 1000 / IDLE}
  } finally {
    await hub.close()
  }
}

const redis = await RedisProcess.start()
const setups: Setup[] = []
try {
  const alone = await hubs(1, null)
  setups.push({name: 'one hub alone', hubs: alone, redisPid: null})
  for (const count of [1, 2, 4]) {
    const fleet = await hubs(count, redis)
    setups.push({name: `${count} hub${count > 1 ? 's' : ''} + Redis`, hubs: fleet, redisPid: redis.pid})
  }
  const results = new Map<Setup, RunResult[]>(setups.map(setup => [setup, []]))
  for (const setup of setups) await run(setup, WARMUP)
  // Alternating rounds, so drift in the machine's speed hits every setup alike.
  for (let round = 0; round < ROUNDS; round++) {
    for (const setup of setups) results.get(setup)!.push(await run(setup, BROADCASTS))
  }
  const rows = setups.map(setup => {
    const runs = results.get(setup)!
    const rate = median(runs.map(r => BROADCASTS / r.seconds))
    // µs a broadcast: the hubs', Redis's, and both.
    const per = (cpu: Array<number | null>) => cpu.every(c => c !== null) ? median(cpu as number[]) * 1000 / BROADCASTS : null
    const hubs = per(runs.map(r => r.hubCpu))
    const redisCpu = per(runs.map(r => r.redisCpu))
    const cpuPerBroadcast = per(runs.map(r => r.hubCpu === null || r.redisCpu === null ? null : r.hubCpu + r.redisCpu))
    return {setup, rate, cpuPerBroadcast, hubs, redisCpu}
  })
  const base = rows[0]
  console.log(`hub fleet: ${BROADCASTS} broadcasts x ${SUBSCRIBERS} subscribers spread over the hubs, ${IN_FLIGHT} in flight, median of ${ROUNDS} rounds`)
  console.log(`${'setup'.padEnd(20)}${'broadcasts/s'.padStart(14)}${'vs alone'.padStart(10)}${'server CPU us/broadcast'.padStart(26)}${'hubs'.padStart(8)}${'redis'.padStart(8)}`)
  for (const {setup, rate, cpuPerBroadcast, hubs, redisCpu} of rows) {
    console.log(`${setup.name.padEnd(20)}${rate.toFixed(0).padStart(14)}${(rate / base.rate).toFixed(2).padStart(10)}${(cpuPerBroadcast?.toFixed(1) ?? 'n/a').padStart(26)}` +
      `${(hubs?.toFixed(1) ?? 'n/a').padStart(8)}${(redisCpu?.toFixed(1) ?? 'n/a').padStart(8)}`)
  }
  for (const {setup, rate, cpuPerBroadcast, hubs, redisCpu} of rows.slice(1)) {
    console.log(`BENCH ${JSON.stringify({
      name: `hub fleet, ${setup.name}`, unit: 'broadcasts/s', value: Math.round(rate), baseline: Math.round(base.rate), baselineIs: 'one hub alone, same run',
      ratio: +(rate / base.rate).toFixed(2), cpuMicrosPerBroadcast: cpuPerBroadcast === null ? null : +cpuPerBroadcast.toFixed(1),
      hubsCpuMicros: hubs === null ? null : +hubs.toFixed(1), redisCpuMicros: redisCpu === null ? null : +redisCpu.toFixed(1),
      baselineCpuMicrosPerBroadcast: base.cpuPerBroadcast === null ? null : +base.cpuPerBroadcast.toFixed(1), subscribers: SUBSCRIBERS, broadcasts: BROADCASTS,
    })}`)
  }
} finally {
  await Promise.all(setups.flatMap(setup => setup.hubs.map(hub => hub.close())))
}
try {
  const memory = await idleMemory(redis)
  console.log(`one fleet process: ${memory.before.toFixed(1)} MB RSS idle, ${memory.after.toFixed(1)} MB with ${IDLE} idle subscribers (each its own channel and Redis subscription): ${memory.perThousand.toFixed(1)} MB per 1,000 (goal under 20)`)
  console.log(`BENCH ${JSON.stringify({name: 'hub fleet, memory per 1,000 idle subscribers', unit: 'MB', value: +memory.perThousand.toFixed(1), goal: 20, rssBefore: +memory.before.toFixed(1), rssAfter: +memory.after.toFixed(1)})}`)
} finally {
  await redis.stop()
}
process.exit(0)
