import {expect, fixture, html} from '@open-wc/testing'
import type {Swarm} from '../../src/core/swarm/swarm.js'
import {ConnectionBudget, pageBudget} from '../../src/core/swarm/budget.js'
import {VirtualClock} from '../../src/core/gossip/simulation.js'
import type {P2PErrorEvent} from '../../src/events/error-event.js'
import '../../src/p2p-swarm.js'
import {HubClient} from '../../src/core/hub-client/hub-client.js'
import {randomBytes, toHex} from '../../src/core/bytes.js'
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
    // A connection closes once its goodbye has left (or lingered); then the budget counts it.
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
      // The fixture awaited the div; each element's swarm comes once its key is in.
      await Promise.all(els.map(el => el.updateComplete))
      const inner = els.map(el => el.swarm!)
      await until(inner, ['update', 'error'], () => errors.length >= 1, 'a p2p-error')
      expect(errors[0].detail.error.code).to.equal('ERR_CONNECTION_BUDGET')
      expect(inner.every(s => s.connections.length === 0)).to.equal(true)
    } finally {
      pageBudget.limit = limit
    }
  })

  it('1,000 fake announcements over a minute leave 80 % of the budget, and real peers still connect', async function () {
    this.timeout(120_000)
    // The page's budget as a browser gets it (limit, reserve, pacing), on a
    // virtual clock: the flood spans a minute of it in a few real seconds.
    const clock = new VirtualClock()
    const budget = new ConnectionBudget({clock})
    const room = freshRoom()
    // Offers to fake ids give up after 2 s, so slots free up fast (a forger's best case).
    const victim = createSwarm(room, {budget, connectTimeout: 2000})
    const friend = createSwarm(room)
    swarms.push(victim, friend)
    await fullMesh([victim, friend])
    const before = budget.stats.created
    const hostile = new HubClient({hubs: [hubUrl()], app: room})
    let ticking: ReturnType<typeof setInterval> | undefined
    try {
      const FAKES = 1000
      const BATCH = 25
      for (let i = 0; i < FAKES; i += BATCH) {
        await Promise.all(Array.from({length: BATCH}, async (_, j) => {
          // Ids below the victim's, so its offer yields to theirs in a glare; every
          // fourth claims the key of a peer the victim knows.
          const from = `-${toHex(randomBytes(9))}`
          const key = (i + j) % 4 === 0 ? friend.publicKey : toHex(randomBytes(32))
          await hostile.broadcast('all', {type: 'connect', from, key})
          // An unsolicited offer from the same id, with an SDP that fails at once.
          await hostile.broadcast(victim.id, {from, to: victim.id, signal: {type: 'offer', sdp: 'v=0\r\njunk'}, attempt: toHex(randomBytes(8))})
          clock.advance(60_000 / FAKES)
        }))
      }
      // Something the victim counts, posted after the flood (the hub keeps order on its stream).
      await hostile.broadcast(victim.id, [1, 2, 3])
      await until(victim, ['update'], () => victim.stats.malformed >= 1, 'the flood to be handled')
      const spent = budget.stats.created - before
      console.log(`1,000 fake announcements and offers over a virtual minute: ${spent} of ${budget.limit} connections spent, ` +
        `${victim.stats.paced} put off (paced or unanswered), ${budget.stats.refused} refused`)
      expect(budget.remaining).to.be.at.least(0.8 * budget.limit)
      expect(victim.peers.map(p => p.publicKey)).to.deep.equal([friend.publicKey], 'the known peer kept its connection')
      // Ten seconds later a newcomer joins, and meets the victim. The flood spent the
      // pacing's burst, so the victim's next untrusted connection waits for a token:
      // time goes on meanwhile (the virtual clock follows the real one), as it would.
      clock.advance(10_000)
      ticking = setInterval(() => clock.advance(100), 100)
      const newcomer = createSwarm(room)
      swarms.push(newcomer)
      await fullMesh([victim, friend, newcomer], 30_000)
      console.log(`after the newcomer: ${budget.stats.created - before} spent`)
    } finally {
      clearInterval(ticking)
      hostile.destroy()
    }
  })

  it('a peer that said goodbye is not offered a connection on an announcement that comes after it', async () => {
    const room = freshRoom()
    const stay = createSwarm(room)
    const leaving = createSwarm(room)
    swarms.push(stay, leaving)
    await fullMesh([stay, leaving])
    const {id, publicKey} = leaving
    const created = stay.stats.connectionsCreated
    leaving.destroy()
    await until(stay, ['update'], () => stay.connections.length === 0, 'the goodbye')
    const hub = new HubClient({hubs: [hubUrl()], app: room})
    try {
      // Its last announcement, delivered late (as the hub may, after the data channel's goodbye).
      await hub.broadcast('all', {type: 'connect', from: id, key: publicKey})
      await hub.broadcast(stay.id, [1, 2, 3])
      await until(stay, ['update'], () => stay.stats.malformed === 1, 'the late announcement to be handled')
      expect(stay.stats.connectionsCreated).to.equal(created)
      expect(stay.connections).to.have.length(0)
      // A newcomer is offered a connection as ever.
      const newcomer = createSwarm(room)
      swarms.push(newcomer)
      await fullMesh([stay, newcomer])
    } finally {
      hub.destroy()
    }
  })

  it('an announcer that never answered our offer is not offered another for a while', async () => {
    const room = freshRoom()
    const victim = createSwarm(room, {connectTimeout: 1000})
    swarms.push(victim)
    const hostile = new HubClient({hubs: [hubUrl()], app: room})
    try {
      await victim.ready()
      const fake = toHex(randomBytes(10))
      await hostile.broadcast('all', {type: 'connect', from: fake})
      await until(victim, ['update'], () => victim.stats.connectionsCreated === 1 && victim.connections.length === 0, 'the unanswered offer to give up')
      await hostile.broadcast('all', {type: 'connect', from: fake})
      // Something the victim counts, after the second announcement on its stream.
      await hostile.broadcast(victim.id, [1, 2, 3])
      await until(victim, ['update'], () => victim.stats.malformed === 1, 'the second announcement to be handled')
      expect(victim.stats.connectionsCreated).to.equal(1)
      expect(victim.stats.paced).to.equal(1)
      // Another announcer is offered a connection as ever.
      await hostile.broadcast('all', {type: 'connect', from: toHex(randomBytes(10))})
      await until(victim, ['update'], () => victim.stats.connectionsCreated === 2, 'an offer to a new announcer')
    } finally {
      hostile.destroy()
    }
  })
})
