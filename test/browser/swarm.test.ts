import {expect} from '@open-wc/testing'
import {Swarm, loaders} from '../../src/core/swarm/swarm.js'
import {createIdentity, type Identity} from '../../src/core/crypto/identity.js'
import {P2PError} from '../../src/core/errors.js'
import {HubClient} from '../../src/core/hub-client/hub-client.js'
import SimplePeer from '@thaunknown/simple-peer/lite.js'
import {createSwarm, createSwarms, destroyAll, freshRoom, fullMesh, hubUrl, meshConnected, until} from './helpers/swarm.js'

describe('swarm', () => {
  let swarms: Swarm[] = []
  afterEach(() => {
    destroyAll(swarms)
    swarms = []
  })

  it('three swarms in one page reach a full mesh with one connection per pair', async () => {
    swarms = createSwarms(3, freshRoom())
    await fullMesh(swarms)
    for (const s of swarms) {
      expect(s.connections).to.have.length(2)
      for (const p of s.peers) expect(p.state).to.equal('connected')
    }
  })

  it('peers joining at the same moment resolve glare into single connections', async () => {
    // Announce fast and together, so both ends of many pairs offer at once.
    swarms = createSwarms(5, freshRoom(), {announceInterval: {min: 20, max: 200}})
    await fullMesh(swarms, 30_000)
    for (const s of swarms) expect(s.connections).to.have.length(4)
  })

  it('never holds more peers than maxPeers, nor more connections than one past it while a ring neighbour proves its key', async () => {
    const room = freshRoom()
    swarms = createSwarms(3, room, {maxPeers: 1})
    let worstPeers = 0
    let worstConnections = 0
    for (const s of swarms) {
      s.on('update', () => {
        worstPeers = Math.max(worstPeers, s.peers.length)
        worstConnections = Math.max(worstConnections, s.connections.length)
      })
    }
    // One pair forms; the third keeps knocking: it is refused, or let in by one
    // side making room (which leaves another peer alone) once it proves its key.
    await until(swarms, ['update'], () => swarms.filter(s => s.peers.length === 1).length === 2, 'one pair')
    await until(swarms, ['update'], () => swarms.reduce((n, s) => n + s.stats.refusedFull + s.stats.madeRoom, 0) >= 4, 'the third peer knocking')
    expect(worstPeers).to.equal(1)
    expect(worstConnections).to.be.at.most(2)
    for (const s of swarms) expect(s.peers.length).to.be.at.most(1)
  })

  it('a full peer makes room for a ring neighbour, so a partial mesh stays one piece', async () => {
    const room = freshRoom()
    swarms = createSwarms(6, room, {maxPeers: 2})
    await until(swarms, ['update'], () => meshConnected(swarms), 'six peers with maxPeers 2 joined in one piece', 30_000)
    for (const s of swarms) {
      expect(s.peers.length).to.be.at.most(2)
      expect(s.connections.length).to.be.at.most(3, 'one past maxPeers, only while a ring neighbour proves its key')
    }
  })

  it('drops a peer that vanishes without a word (keep-alive timeout)', async () => {
    const room = freshRoom()
    const mux = {pingInterval: 100, timeout: 800}
    const [a, b] = swarms = createSwarms(2, room, {mux})
    await fullMesh(swarms)
    const gone = b.peers[0]
    // B's end goes silent: nothing it sends reaches A any more, as if its machine died.
    gone.mux!.transport.send = () => {}
    const [peer, err] = await new Promise<[unknown, P2PError | undefined]>(resolve => a.once('disconnect', (p, e) => resolve([p, e])))
    expect((peer as {publicKey: string}).publicKey).to.equal(b.publicKey)
    expect(err?.code).to.equal('ERR_PEER_TIMEOUT')
    expect(a.peers).to.have.length(0)
  })

  it('a peer that leaves on purpose is dropped at once, without an error', async () => {
    const [a, b] = swarms = createSwarms(2, freshRoom())
    await fullMesh(swarms)
    const left = new Promise<P2PError | undefined>(resolve => a.once('disconnect', (_p, e) => resolve(e)))
    b.destroy()
    expect(await left).to.equal(undefined)
    expect(a.peers).to.have.length(0)
  })

  it('a returning key replaces its old connection, leaving no ghost', async () => {
    const room = freshRoom()
    const identity = await createIdentity()
    const [a, b] = swarms = [createSwarm(room), createSwarm(room, {identity})]
    await fullMesh(swarms)
    // B's page reloads: its old connection dies silently, a new swarm with the same key joins.
    b.peers[0].mux!.transport.send = () => {}
    const b2 = createSwarm(room, {identity})
    swarms.push(b2)
    await until(a, ['update'], () => a.peers.length === 1 && a.peers[0].id === b2.id, 'the new connection replacing the old one')
    expect(a.peers.map(p => p.publicKey)).to.deep.equal([b.publicKey])
  })

  it('refuses a peer whose key proof is forged', async () => {
    const room = freshRoom()
    const victim = await createIdentity()
    const attacker = await createIdentity()
    const forger: Identity = {publicKey: victim.publicKey, sign: m => attacker.sign(m)}
    const honest = createSwarm(room)
    const hostile = createSwarm(room, {identity: forger})
    swarms = [honest, hostile]
    let connected = false
    honest.on('connect', () => { connected = true })
    const err = await new Promise<P2PError>(resolve => honest.once('error', resolve))
    expect(err.code).to.equal('ERR_INVALID_SIGNATURE')
    expect(connected).to.equal(false)
    expect(honest.stats.authFailures).to.be.greaterThan(0)
    // The honest node keeps serving others.
    const friend = createSwarm(room)
    swarms.push(friend)
    await until(honest, ['update'], () => honest.peers.some(p => p.publicKey === friend.publicKey), 'a friend connecting')
  })

  it('refuses a peer that does not speak the multiplexer (a plain webrtc-swarm app)', async () => {
    const room = freshRoom()
    const swarm = createSwarm(room)
    swarms = [swarm]
    // A foreign app, as webrtc-swarm would do it: it offers a connection whose
    // data channel carries its own protocol.
    const hub = new HubClient({hubs: [hubUrl()], app: room})
    let foreign: SimplePeer | undefined
    try {
      const sub = hub.subscribe(['mallory'], data => {
        const m = data as {signal?: unknown}
        if (m.signal) foreign?.signal(m.signal as never)
      })
      // Both ends listen before the first signal: simple-peer offers at once.
      await Promise.all([sub.ready, swarm.ready()])
      foreign = new SimplePeer({initiator: true, config: {iceServers: []}, channelName: 'chat'})
      // Candidates may still be trickling when the test ends and destroys the client: those broadcasts are dropped.
      foreign.on('signal', signal => hub.broadcast(swarm.id, {from: 'mallory', signal}).catch(() => {}))
      const err = await new Promise<P2PError>(resolve => swarm.once('error', resolve))
      expect(err.code).to.equal('ERR_HANDSHAKE')
      expect(err.message).to.contain('chat')
      expect(swarm.peers).to.have.length(0)
    } finally {
      foreign?.destroy()
      hub.destroy()
    }
  })

  it('an admission hook can refuse a proven key', async () => {
    const room = freshRoom()
    const banned = await createIdentity()
    const gate = createSwarm(room, {admit: key => key !== [...banned.publicKey].map(b => b.toString(16).padStart(2, '0')).join('')})
    swarms = [gate, createSwarm(room, {identity: banned})]
    const err = await new Promise<P2PError>(resolve => gate.once('error', resolve))
    expect(err.code).to.equal('ERR_ADMISSION_REFUSED')
    expect(gate.peers).to.have.length(0)
    expect(gate.stats.admissionRefused).to.be.greaterThan(0)
  })

  it('a peer dropped for misbehaving is banned: its reconnects are refused', async () => {
    const room = freshRoom()
    swarms = createSwarms(2, room)
    const [judge, culprit] = swarms
    await fullMesh(swarms)
    const link = judge.peers[0]
    // What a protocol does when a peer breaks it (files: bad chunks; gossip: forged messages).
    link.destroy(P2PError.PEER_MISBEHAVING('test: broke a protocol'))
    expect(judge.isBanned(culprit.publicKey)).to.equal(true)
    expect(judge.stats.banned).to.equal(1)
    // The culprit announces again and tries to reconnect: the judge refuses its proven key.
    await until(judge, ['update'], () => judge.stats.admissionRefused > 0, 'a refused reconnect')
    expect(judge.peers.map(p => p.publicKey)).to.not.include(culprit.publicKey)
  })

  it('a room secret lets holders in and keeps others out', async () => {
    const room = freshRoom()
    const members = createSwarms(2, room, {secret: 'correct horse'})
    const outsider = createSwarm(room, {secret: 'wrong'})
    swarms = [...members, outsider]
    await fullMesh(members)
    // Each side hears the other's announcements and cannot open them.
    await until(swarms, ['update'], () => swarms.every(s => s.stats.decryptFailures > 0), 'announcements failing to open')
    expect(outsider.connections).to.have.length(0)
    for (const m of members) expect(m.peers.map(p => p.publicKey)).to.not.include(outsider.publicKey)
  })

  it('a sealed message captured on the hub and posted again is refused and counted; the room still meets', async () => {
    const room = freshRoom()
    const hub = new HubClient({hubs: [hubUrl()], app: room})
    try {
      let captured: unknown
      const sub = hub.subscribe(['all'], data => { captured ??= data })
      await sub.ready
      const members = swarms = createSwarms(2, room, {secret: 'correct horse'})
      // Every member opens every announcement (its own echo included) as it comes.
      await fullMesh(members)
      expect(captured).to.have.property('p2p', 'enc1')
      await hub.broadcast('all', captured)
      await until(members, ['update'], () => members.every(m => m.stats.replays >= 1), 'the replay to be refused by both')
      // Fresh messages still open: a third member joins.
      const late = createSwarm(room, {secret: 'correct horse'})
      swarms.push(late)
      await fullMesh(swarms)
    } finally {
      hub.destroy()
    }
  })

  it('sealed messages from a clock outside the window are refused and counted; members within it meet', async () => {
    const room = freshRoom()
    const secret = 'correct horse'
    // Three minutes ahead: outside the two-minute window of a page on the right time.
    const ahead = () => Date.now() + 3 * 60_000
    const onTime = createSwarm(room, {secret})
    const skewed = createSwarm(room, {secret, epochNow: ahead})
    const skewedToo = createSwarm(room, {secret, epochNow: ahead})
    swarms = [onTime, skewed, skewedToo]
    // The two skewed pages share a clock: they meet, and by then each has heard the other page.
    await fullMesh([skewed, skewedToo])
    await until(swarms, ['update'], () => swarms.every(s => s.stats.replays >= 1), 'each side to refuse the other clock\'s messages')
    expect(onTime.peers).to.have.length(0)
    for (const s of [skewed, skewedToo]) expect(s.peers.map(p => p.publicKey)).to.not.include(onTime.publicKey)
  })

  describe('the room cipher, loaded on demand', () => {
    const load = loaders.cipher
    afterEach(() => {
      loaders.cipher = load
    })

    it('is never loaded by a swarm without a secret', async () => {
      let loads = 0
      loaders.cipher = () => {
        loads++
        return load()
      }
      const plain = swarms = createSwarms(2, freshRoom())
      await fullMesh(plain)
      expect(loads).to.equal(0)
    })

    it('a remote announcement that arrives before the cipher has loaded waits for it, and the two meet', async () => {
      const room = freshRoom()
      const secret = 'correct horse'
      let release!: () => void
      const held = new Promise<void>(resolve => { release = resolve })
      loaders.cipher = () => held.then(load)
      // The late swarm's hub client, watched: what reaches its subscription before the release is the
      // early swarm's (the late one posts nothing before its cipher is in).
      const hub = new HubClient({hubs: [hubUrl()], app: room})
      const subscribe = hub.subscribe.bind(hub)
      let heard!: () => void
      const firstHeard = new Promise<void>(resolve => { heard = resolve })
      hub.subscribe = (channels, onMessage) => subscribe(channels, data => {
        onMessage(data)
        heard()
      })
      try {
        const late = createSwarm(room, {secret, hubClient: hub})
        loaders.cipher = load
        await late.ready()
        // One announcement, when its stream opens, and none again for half a minute: the late swarm
        // meets it by the one it held, not by a later one.
        const early = createSwarm(room, {secret, announceInterval: {min: 60_000, max: 60_000}})
        swarms = [late, early]
        await firstHeard
        expect(late.stats.announcesReceived).to.equal(0, 'nothing opened before the cipher is in')
        release()
        await fullMesh(swarms)
        expect(late.stats.announcesReceived).to.be.at.least(1, 'the held announcement was opened')
        expect(late.stats.decryptFailures).to.equal(0)
      } finally {
        hub.destroy()
      }
    })

    it('a cipher that cannot load closes the swarm with a typed error', async () => {
      loaders.cipher = () => Promise.reject(new Error('the network went away'))
      const swarm = createSwarm(freshRoom(), {secret: 'correct horse'})
      swarms = [swarm]
      const closed = new Promise<void>(resolve => swarm.on('close', () => resolve()))
      const err = await new Promise<P2PError>(resolve => swarm.on('error', e => resolve(e as P2PError)))
      await closed
      expect(err.code).to.equal('ERR_CONNECTION_FAILED')
      expect(err.message).to.match(/room cipher/)
      expect(swarm.destroyed).to.equal(true)
    })
  })

  it('ignores hostile signalling from the hub and keeps working', async () => {
    const room = freshRoom()
    swarms = createSwarms(2, room)
    const hub = hubUrl()
    const post = (channel: string, body: string) => fetch(`${hub}/v1/${room}/${channel}`, {method: 'POST', body})
    const [a] = swarms
    await a.ready()
    await Promise.all([
      post('all', JSON.stringify({type: 'connect', from: '../../x'})),
      post(a.id, JSON.stringify({from: 'mallory', signal: {type: 'answer', sdp: 'v=0'}})),
      post(a.id, JSON.stringify({from: 'mallory', signal: {type: 'bogus'}})),
      post(a.id, JSON.stringify({from: 'mallory', signal: {type: 'offer', sdp: 'not an sdp'}})),
      post(a.id, JSON.stringify([1, 2, 3])),
    ])
    await until(a, ['update'], () => a.stats.malformed >= 3, 'the hostile messages being counted')
    await fullMesh(swarms)
    expect(a.peers.map(p => p.publicKey)).to.deep.equal([swarms[1].publicKey])
  })
})
