// Flooding against Plumtree in the deterministic room simulation
// (src/core/gossip/simulation.ts): 100 peers in a random mesh of degree 6, 200
// messages from random peers, one peer replaced per second, frame latencies of
// 5–50 ms. Both modes run the same seeds, so the same mesh, churn and workload;
// the baseline is flooding, measured in the same run. Goal: Plumtree ≤ 1.2
// duplicates per peer per message at 100 % delivery; flooding ≈ degree − 1
// receptions per peer per message.
//
//   node --import tsx bench/gossip.bench.ts
//   BENCH_SEEDS=10 node --import tsx bench/gossip.bench.ts
import {simulate, type SimulationOptions, type SimulationResult} from '../src/core/gossip/simulation.js'
import {median} from './stats.js'

const SEEDS = Number(process.env.BENCH_SEEDS ?? 5)
const ROOM: SimulationOptions = {peers: 100, degree: 6, messages: 200, churn: 1}

interface Row {
  result: SimulationResult
  wallMs: number
}

function run(mode: 'flood' | 'plumtree', seed: number): Row {
  const start = performance.now()
  const result = simulate({...ROOM, mode, seed})
  return {result, wallMs: performance.now() - start}
}

const fixed = (x: number, digits = 3) => x.toFixed(digits)
const round = (x: number, digits = 3) => +x.toFixed(digits)

console.log(`${ROOM.peers} peers, degree ${ROOM.degree}, ${ROOM.messages} messages, churn ${ROOM.churn}/s, ${SEEDS} seeds`)
console.log('seed | mode     | delivery | dup/peer/msg | recv/peer/msg | hops mean/max | control/msg | grafts | prunes | degree | wall ms')
const rows: Record<'flood' | 'plumtree', Row[]> = {flood: [], plumtree: []}
for (let seed = 1; seed <= SEEDS; seed++) {
  for (const mode of ['flood', 'plumtree'] as const) {
    const row = run(mode, seed)
    rows[mode].push(row)
    const r = row.result
    console.log([
      String(seed).padStart(4),
      mode.padEnd(8),
      `${fixed(r.deliveryRatio * 100, 2)} %`.padStart(8),
      fixed(r.duplicatesPerPeerPerMessage).padStart(12),
      fixed(r.receptionsPerPeerPerMessage).padStart(13),
      `${fixed(r.meanHops, 2)}/${r.maxHops}`.padStart(13),
      fixed(r.controlPerMessage, 1).padStart(11),
      String(r.graft).padStart(6),
      String(r.prune).padStart(6),
      fixed(r.meanDegree, 2).padStart(6),
      fixed(row.wallMs, 0).padStart(7),
    ].join(' | '))
  }
}

const med = (mode: 'flood' | 'plumtree', pick: (r: SimulationResult) => number) => median(rows[mode].map(row => pick(row.result)))
const worst = (mode: 'flood' | 'plumtree', pick: (r: SimulationResult) => number) => Math.min(...rows[mode].map(row => pick(row.result)))
const floodDup = med('flood', r => r.duplicatesPerPeerPerMessage)
const plumDup = med('plumtree', r => r.duplicatesPerPeerPerMessage)
const degree = med('flood', r => r.meanDegree)

console.log(`medians: flood ${fixed(floodDup)} duplicates (${fixed(med('flood', r => r.receptionsPerPeerPerMessage))} receptions; degree − 1 = ${fixed(degree - 1)}),` +
  ` plumtree ${fixed(plumDup)} duplicates (goal ≤ 1.2); plumtree/flood ${fixed(plumDup / floodDup)}`)
console.log(`worst delivery: flood ${fixed(worst('flood', r => r.deliveryRatio) * 100, 2)} %, plumtree ${fixed(worst('plumtree', r => r.deliveryRatio) * 100, 2)} %`)
console.log('BENCH ' + JSON.stringify({
  name: 'gossip-simulation',
  peers: ROOM.peers,
  degree: ROOM.degree,
  messages: ROOM.messages,
  churnPerSecond: ROOM.churn,
  seeds: SEEDS,
  floodDelivery: round(worst('flood', r => r.deliveryRatio), 4),
  plumtreeDelivery: round(worst('plumtree', r => r.deliveryRatio), 4),
  floodDuplicates: round(floodDup),
  plumtreeDuplicates: round(plumDup),
  floodReceptions: round(med('flood', r => r.receptionsPerPeerPerMessage)),
  plumtreeReceptions: round(med('plumtree', r => r.receptionsPerPeerPerMessage)),
  floodHops: round(med('flood', r => r.meanHops), 2),
  plumtreeHops: round(med('plumtree', r => r.meanHops), 2),
  floodMaxHops: Math.max(...rows.flood.map(row => row.result.maxHops)),
  plumtreeMaxHops: Math.max(...rows.plumtree.map(row => row.result.maxHops)),
  floodControlPerMessage: round(med('flood', r => r.controlPerMessage), 1),
  plumtreeControlPerMessage: round(med('plumtree', r => r.controlPerMessage), 1),
  ratio: round(plumDup / floodDup),
  wallMs: round(median([...rows.flood, ...rows.plumtree].map(row => row.wallMs)), 0),
}))
