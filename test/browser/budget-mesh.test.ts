import {expect} from '@open-wc/testing'
import type {Swarm} from '../../src/core/swarm/swarm.js'
import {ConnectionBudget} from '../../src/core/swarm/budget.js'
import {createSwarm, destroyAll, freshRoom, fullMesh} from './helpers/swarm.js'
import {onlyIn} from './helpers/browser.js'

// A file of its own: its sixteen swarms share one real page, and Chromium counts every
// RTCPeerConnection a renderer has not yet garbage-collected against a hard limit of
// 500. Beside budget.test.ts's hundreds in the same page it could meet that limit
// whenever the collector ran late (CI did once); each test file gets a page of its own.
describe('connection budget, many pages', () => {
  let swarms: Swarm[] = []
  afterEach(() => {
    destroyAll(swarms)
    swarms = []
  })

  // Not by nature, measured in Firefox ESR 153 (session 17): eight swarms in one page mesh
  // as fast as in Chromium (3 s), sixteen never within the tests' 10 s connect timeout
  // (connections time out, redial and time out again) and in 57-81 s with 30-60 s, where
  // Chromium takes 6 s; 240 bare RTCPeerConnections pair in 4 s there, and 500 hub POSTs
  // take as long as in Chromium. Left to the swarm's owners.
  onlyIn('chromium', 'sixteen swarms in one Firefox page take about 50 s to mesh (6 s in Chromium), too near this test\'s 100 s bound on a busy machine (a slowdown under study, not a limit of the browser)')('sixteen pages joining one room at once meet, each under the page\'s default pacing and reserve', async function () {
    this.timeout(120_000)
    const room = freshRoom()
    const started = performance.now()
    // Each its own page: its own budget as a browser makes it, and the default announcing.
    const pages = Array.from({length: 16}, () => createSwarm(room, {budget: new ConnectionBudget(), announceInterval: {min: 1000, max: 30_000}}))
    swarms.push(...pages)
    await fullMesh(pages, 100_000)
    const created = pages.map(s => s.budget.stats.created)
    console.log(`16 pages at once: full mesh in ${Math.round(performance.now() - started)} ms, ` +
      `connections per page ${Math.min(...created)}–${Math.max(...created)}, dials paced ${pages.reduce((n, s) => n + s.stats.paced, 0)}`)
    // Glare may cost a page a second attempt per peer, never a refusal.
    expect(pages.map(s => s.budget.stats.refused)).to.deep.equal(pages.map(() => 0))
  })
})
