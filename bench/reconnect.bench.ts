// Time to reconnect after a broken transport, in one headless Chromium through a
// real hub process on loopback (iceServers: []), with the swarm's default timers:
// an ICE restart on a live connection, and a connection closed underneath it (both
// ends announce at once and a new connection replaces it). Median and max of 10
// each, against the time two fresh swarms take to connect, measured in the same run.
import {launchChromium, startTestServer} from '../scripts/browser.js'
import {startHubProcess} from '../scripts/hub-process.js'
import {median} from './stats.js'

const RUNS = 10

const hub = await startHubProcess({args: ['--rate-limit', '100000']})
const server = await startTestServer()
const chromium = await launchChromium()
try {
  const page = await chromium.browser.newPage()
  await page.goto(`${server.url}/bench/pages/reconnect.html`)
  await page.waitForFunction(() => 'reconnectBench' in window)
  const run = (what: 'connectTime' | 'iceRestart' | 'closedUnderneath') =>
    page.evaluate((w, h) => (window as any).reconnectBench[w](h), what, hub.url) as Promise<number>
  const times: Record<string, number[]> = {connectTime: [], iceRestart: [], closedUnderneath: []}
  // Interleaved, so drift in the machine's load hits all three alike.
  for (let i = 0; i < RUNS; i++) {
    for (const what of ['connectTime', 'iceRestart', 'closedUnderneath'] as const) times[what].push(await run(what))
  }
  const baseline = median(times.connectTime)
  console.log(`baseline: two fresh swarms connecting through the hub: ${baseline.toFixed(0)} ms (median of ${RUNS})`)
  console.log('repair                          | median  | max     | × baseline')
  const rows = [
    {name: 'reconnect-ice-restart', label: 'ICE restart (same connection)', xs: times.iceRestart},
    {name: 'reconnect-new-connection', label: 'closed underneath (new one)', xs: times.closedUnderneath},
  ]
  for (const {name, label, xs} of rows) {
    const m = median(xs)
    const max = Math.max(...xs)
    console.log(`${label.padEnd(31)} | ${(m.toFixed(0) + ' ms').padStart(7)} | ${(max.toFixed(0) + ' ms').padStart(7)} | ${(m / baseline).toFixed(2)}×`)
    console.log('BENCH ' + JSON.stringify({
      name, unit: 'ms', value: Math.round(m), max: Math.round(max), baseline: Math.round(baseline),
      ratio: +(m / baseline).toFixed(2), runs: xs.map(x => Math.round(x)),
    }))
  }
} finally {
  await chromium.close()
  await server.close()
  await hub.close()
}
