import {expect, fixture, html} from '@open-wc/testing'
import type {Swarm} from '../../src/core/swarm/swarm.js'
import {ConnectionBudget, pageBudget} from '../../src/core/swarm/budget.js'
import type {P2PErrorEvent} from '../../src/events/error-event.js'
import '../../src/elements/p2p-swarm/p2p-swarm.js'
import {createSwarm, destroyAll, freshRoom, fullMesh, hubUrl, until} from './helpers/swarm.js'

describe('connection budget', () => {
  let swarms: Swarm[] = []
  afterEach(() => {
    destroyAll(swarms)
    swarms = []
  })

  it('60 join/leave cycles stay within the budget, and every dropped RTCPeerConnection reaches closed', async function () {
    this.timeout(180_000)
    const CYCLES = 60
    // Unpaced and without a reserve: this test plays a visitor page per cycle, one a second.
    const budget = new ConnectionBudget({limit: 3 * CYCLES, dialsPerMinute: Infinity, reserve: 0})
    const room = freshRoom()
    const stay = createSwarm(room, {budget})
    swarms.push(stay)
    const seen: RTCPeerConnection[] = []
    const track = (s: Swarm) => s.on('connect', peer => seen.push(peer.rtc))
    track(stay)
    for (let i = 0; i < CYCLES; i++) {
      const visitor = createSwarm(room, {budget})
      swarms.push(visitor)
      track(visitor)
      await fullMesh([stay, visitor])
      visitor.destroy()
      await until(stay, ['update'], () => stay.connections.length === 0, `visitor ${i} gone`)
    }
    // simple-peer closes each connection a task after it is let go; then the budget counts it.
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`connections still open: ${JSON.stringify(budget.stats)}`)), 10_000)
      const check = () => {
        if (budget.stats.open !== 0) return
        clearTimeout(timer)
        budget.off('update', check)
        resolve()
      }
      budget.on('update', check)
      check()
    })
    // Each cycle made one connection at each end; glare or a lost race may add a few.
    const {created, open, closed, refused} = budget.stats
    expect(created).to.be.at.least(2 * CYCLES)
    expect(created).to.be.at.most(budget.limit)
    expect(refused).to.equal(0)
    expect(open).to.equal(0, 'nothing left open once every visitor left')
    expect(closed).to.equal(created)
    expect(seen.length).to.equal(2 * CYCLES)
    expect(seen.filter(pc => pc.signalingState !== 'closed' || pc.connectionState !== 'closed')).to.have.length(0)
  })

  it('a swarm at its budget refuses with ERR_CONNECTION_BUDGET, once, and connects nobody', async () => {
    const budget = new ConnectionBudget({limit: 0})
    const room = freshRoom()
    const full = createSwarm(room, {budget})
    const other = createSwarm(room)
    swarms.push(full, other)
    const errors: string[] = []
    full.on('error', err => errors.push(err.code))
    await until([full, other], ['update'], () => full.stats.refusedBudget >= 3, 'several refusals')
    expect(errors).to.deep.equal(['ERR_CONNECTION_BUDGET'])
    expect(full.connections).to.have.length(0)
    expect(budget.stats.created).to.equal(0)
    // Budget given back: it connects, and a later refusal would be reported again.
    budget.limit = 4
    await fullMesh([full, other])
  })

  it('<p2p-swarm> at the page budget fires p2p-error with ERR_CONNECTION_BUDGET', async () => {
    const limit = pageBudget.limit
    pageBudget.limit = pageBudget.stats.created
    try {
      const room = freshRoom()
      const errors: P2PErrorEvent[] = []
      const root = await fixture<HTMLElement>(html`<div @p2p-error=${(e: P2PErrorEvent) => errors.push(e)}>
        <p2p-swarm hub=${hubUrl()} room=${room}></p2p-swarm>
        <p2p-swarm hub=${hubUrl()} room=${room}></p2p-swarm>
      </div>`)
      const els = [...root.querySelectorAll('p2p-swarm')]
      const inner = els.map(el => el.swarm!)
      await until(inner, ['update', 'error'], () => errors.length >= 1, 'a p2p-error')
      expect(errors[0].detail.error.code).to.equal('ERR_CONNECTION_BUDGET')
      expect(inner.every(s => s.connections.length === 0)).to.equal(true)
    } finally {
      pageBudget.limit = limit
    }
  })
})
