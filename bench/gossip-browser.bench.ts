// Gossip messages per second delivered across 4 real browser peers (one page),
// against direct sends over the same connections in the same run.
import {launchChromium, startTestServer} from '../scripts/browser.js'
import {startHubProcess} from '../scripts/hub-process.js'
import {median} from './stats.js'

const COUNT = 2000
const SIZE = 200
const PEERS = 4

interface Row {direct: number, unsigned: number, signed: number}

const hub = await startHubProcess({args: ['--rate-limit', '100000']})
const server = await startTestServer()
const chromium = await launchChromium()
try {
  const page = await chromium.browser.newPage()
  await page.goto(`${server.url}/bench/pages/gossip.html`)
  await page.waitForFunction(() => 'gossipBench' in window)
  const rows = await page.evaluate((h, c, s) => (window as any).gossipBench.run(h, c, s), hub.url, COUNT, SIZE) as Row[]
  const rate = (ms: number) => Math.round(COUNT * (PEERS - 1) / (ms / 1000))
  const direct = rate(median(rows.map(r => r.direct)))
  const unsigned = rate(median(rows.map(r => r.unsigned)))
  const signed = rate(median(rows.map(r => r.signed)))
  console.log(`${COUNT} messages of ${SIZE} bytes from one of ${PEERS} peers in one page; deliveries per second (median of 3):`)
  console.log(`  direct sends over the mux (baseline): ${direct}/s`)
  console.log(`  gossip, unsigned:                     ${unsigned}/s  (${(unsigned / direct).toFixed(2)}× baseline)`)
  console.log(`  gossip, signed (ed25519):             ${signed}/s  (${(signed / direct).toFixed(2)}× baseline)`)
  console.log('BENCH ' + JSON.stringify({
    name: 'gossip-browser', peers: PEERS, messages: COUNT, bytes: SIZE,
    directPerSecond: direct, unsignedPerSecond: unsigned, signedPerSecond: signed,
    unsignedRatio: +(unsigned / direct).toFixed(2), signedRatio: +(signed / direct).toFixed(2),
  }))
} finally {
  await chromium.close()
  await server.close()
  await hub.close()
}
