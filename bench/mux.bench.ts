// Mux throughput against the raw data channel, in one page and one run: 64 MiB
// through a bare RTCDataChannel with a plain send loop paced by bufferedAmount
// (the best of a few caps), and 64 MiB through the mux on one channel with its
// defaults. Every measurement gets a fresh connection pair; raw and mux runs
// alternate so drift in the machine's load hits both alike, and each side gets
// the best of the same number of runs, so noise favours neither. Goal: ratio ≥ 0.9.
import {launchChromium, startTestServer} from '../scripts/browser.js'
import {median} from './stats.js'

const MiB = 1024 * 1024
const TOTAL = 64 * MiB
/** Message size for both: one mux frame per message, as a file transfer's chunks would be. */
const MESSAGE = 64 * 1024
const RAW_CAPS = [64 * 1024, 256 * 1024, 1 * MiB]
const REPEATS = 3

interface Bench {
  raw(total: number, messageSize: number, cap: number): Promise<number>
  mux(total: number, messageSize: number): Promise<number>
}


const round = (x: number, digits = 2) => +x.toFixed(digits)

const server = await startTestServer()
const chromium = await launchChromium()
try {
  const page = await chromium.browser.newPage()
  await page.goto(`${server.url}/bench/pages/mux.html`)
  await page.waitForFunction(() => 'muxBench' in window)
  const raw = (cap: number) => page.evaluate(
    (t, m, c) => (window as unknown as {muxBench: Bench}).muxBench.raw(t, m, c), TOTAL, MESSAGE, cap)
  const mux = () => page.evaluate(
    (t, m) => (window as unknown as {muxBench: Bench}).muxBench.mux(t, m), TOTAL, MESSAGE)

  console.log(`64 MiB as ${MESSAGE / 1024} KiB messages, one page, fresh connection pair per run; MB/s = 10^6 bytes/s`)
  console.log(`run | raw by cap (${RAW_CAPS.map(c => `${c / 1024} KiB`).join(', ')}) | raw best | mux runs | mux best | mux/raw`)
  const rawBest: number[] = []
  const muxBest: number[] = []
  const ratios: number[] = []
  for (let run = 1; run <= REPEATS; run++) {
    const raws: number[] = []
    const muxes: number[] = []
    for (const cap of RAW_CAPS) {
      raws.push(await raw(cap))
      muxes.push(await mux())
    }
    const r = Math.max(...raws)
    const m = Math.max(...muxes)
    rawBest.push(r)
    muxBest.push(m)
    ratios.push(m / r)
    console.log(`${run.toString().padStart(3)} | ${raws.map(x => x.toFixed(1)).join(', ').padEnd(22)} | ${r.toFixed(1).padStart(8)} | ${muxes.map(x => x.toFixed(1)).join(', ').padEnd(16)} | ${m.toFixed(1).padStart(8)} | ${(m / r).toFixed(2)}`)
  }
  const ratio = median(ratios)
  console.log(`median ratio mux/raw: ${ratio.toFixed(2)} (goal ≥ 0.9)`)
  console.log('BENCH ' + JSON.stringify({
    name: 'mux-throughput', unit: 'MB/s',
    value: round(median(muxBest)), baseline: round(median(rawBest)), ratio: round(ratio),
    ratios: ratios.map(x => round(x)), totalMiB: TOTAL / MiB, messageKiB: MESSAGE / 1024,
  }))
} finally {
  await chromium.close()
  await server.close()
}
