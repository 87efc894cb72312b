// Time for N peers in one page to reach a full mesh through a real hub process,
// as a ratio to one bare RTCPeerConnection pair connecting in the same run.
import {launchChromium, startTestServer} from '../scripts/browser.js'
import {startHubProcess} from '../scripts/hub-process.js'
import {median} from './stats.js'

const SIZES = [2, 4, 8]
const RUNS = 3


const hub = await startHubProcess({args: ['--rate-limit', '100000']})
const server = await startTestServer()
const chromium = await launchChromium()
try {
  const page = await chromium.browser.newPage()
  await page.goto(`${server.url}/bench/pages/mesh.html`)
  await page.waitForFunction(() => 'meshBench' in window)
  const raw: number[] = []
  for (let i = 0; i < 5; i++) raw.push(await page.evaluate(() => (window as any).meshBench.rawPair()) as number)
  const baseline = median(raw)
  console.log(`baseline: one bare RTCPeerConnection pair, direct signalling: ${baseline.toFixed(1)} ms (median of 5)`)
  console.log('peers | full mesh (median of 3) | connections | × baseline')
  const rows = []
  for (const n of SIZES) {
    const times: number[] = []
    for (let i = 0; i < RUNS; i++) times.push(await page.evaluate((h, k) => (window as any).meshBench.mesh(h, k), hub.url, n) as number)
    const ms = median(times)
    const row = {peers: n, connections: n * (n - 1) / 2, ms: Math.round(ms), ratio: +(ms / baseline).toFixed(1)}
    rows.push(row)
    console.log(`${String(n).padStart(5)} | ${(ms.toFixed(0) + ' ms').padStart(23)} | ${String(row.connections).padStart(11)} | ${row.ratio}×`)
  }
  console.log('BENCH ' + JSON.stringify({name: 'mesh-time', baselineMs: +baseline.toFixed(1), rows}))
} finally {
  await chromium.close()
  await server.close()
  await hub.close()
}
