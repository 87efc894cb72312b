import {expect} from '@open-wc/testing'
import {loaders, type Swarm, type SwarmPeer} from '../../src/core/swarm/swarm.js'
import {PagePool} from '../../src/core/swarm/room-pool.js'
import {HubClient} from '../../src/core/hub-client/hub-client.js'
import {P2PError} from '../../src/core/errors.js'
import {ConnectionBudget} from '../../src/core/swarm/budget.js'
import {ConnectionPool, RoomPeer} from '../../src/core/swarm/rooms.js'
import {createIdentity, type Identity} from '../../src/core/crypto/identity.js'
import {fromUtf8, utf8} from '../../src/core/bytes.js'
import {createSwarm, destroyAll, freshRoom, fullMesh, hubUrl, until} from './helpers/swarm.js'

describe('rooms sharing a connection', () => {
  let swarms: Swarm[] = []
  let budget: ConnectionBudget
  let pool: ConnectionPool
  let one: Identity
  let two: Identity
  beforeEach(async () => {
    // Two "pages": each has one key for all its rooms. Their own budget and pool
    // keep this test's counts apart from the rest of the page's.
    budget = new ConnectionBudget({limit: 100})
    pool = new ConnectionPool()
    one = await createIdentity()
    two = await createIdentity()
  })
  afterEach(() => {
    destroyAll(swarms)
    swarms = []
  })

  const join = (room: string, identity: Identity, opts = {}) => {
    const s = createSwarm(room, {identity, budget, pool, ...opts})
    swarms.push(s)
    return s
  }

  /** A channel named `name` on `peer`, collecting what arrives as text. */
  const inbox = (peer: SwarmPeer, name = 'test/rooms/1') => {
    const got: string[] = []
    const channel = peer.channel(name, {onmessage: bytes => got.push(fromUtf8(bytes))})
    return {got, channel}
  }

  it('a peer met in a second room rides the first room\'s connection: no new RTCPeerConnection', async () => {
    const [roomA, roomB] = [freshRoom('a'), freshRoom('b')]
    const a1 = join(roomA, one)
    const a2 = join(roomA, two)
    await fullMesh([a1, a2])
    // Two ends of one connection (plus one more per glare: both ends offering at once).
    const made = budget.stats.created
    expect(made).to.be.at.least(2)
    const b1 = join(roomB, one)
    const b2 = join(roomB, two)
    await fullMesh([b1, b2])
    expect(budget.stats.created).to.equal(made, 'no connection made for room b')
    const [pb1, pb2] = [b1.peers[0], b2.peers[0]]
    expect(pb1).to.be.instanceOf(RoomPeer)
    expect(pb2).to.be.instanceOf(RoomPeer)
    expect((pb1 as RoomPeer).link).to.equal(a1.peers[0])
    expect((pb2 as RoomPeer).link).to.equal(a2.peers[0])
    expect(pb1.publicKey).to.equal(b2.publicKey)
    expect(pb1.rtc).to.equal(a1.peers[0].rtc)
    expect(b1.stats.sharedConnections + b2.stats.sharedConnections).to.equal(2)
    expect(pool.stats.connections).to.equal(2)

    // The same channel name in both rooms: each room hears only its own.
    const [inA1, inA2, inB1, inB2] = [inbox(a1.peers[0]), inbox(a2.peers[0]), inbox(pb1), inbox(pb2)]
    inB1.channel.send(utf8('room b, from one'))
    inA2.channel.send(utf8('room a, from two'))
    await until(swarms, ['update'], () => inB2.got.length === 1 && inA1.got.length === 1, 'one message in each room')
    expect(inB2.got).to.deep.equal(['room b, from one'])
    expect(inA1.got).to.deep.equal(['room a, from two'])
    expect(inA2.got).to.deep.equal([])
    expect(inB1.got).to.deep.equal([])
  })

  it('leaving the second room leaves the connection and the first room alone', async () => {
    const [roomA, roomB] = [freshRoom('a'), freshRoom('b')]
    const [a1, a2] = [join(roomA, one), join(roomA, two)]
    await fullMesh([a1, a2])
    const [b1, b2] = [join(roomB, one), join(roomB, two)]
    await fullMesh([b1, b2])
    const {created, closed} = budget.stats
    const left = new Promise<unknown>(resolve => b2.once('disconnect', (_p, err) => resolve(err)))
    b1.destroy()
    expect(await left).to.equal(undefined, 'a goodbye, not a failure')
    expect(b2.peers).to.have.length(0)
    expect(a1.peers).to.have.length(1)
    expect(a2.peers).to.have.length(1)
    const [inA1, inA2] = [inbox(a1.peers[0]), inbox(a2.peers[0])]
    inA1.channel.send(utf8('still here'))
    await until(swarms, ['update'], () => inA2.got.length === 1, 'room a still talking')
    expect(budget.stats).to.include({created, closed}, 'no connection made or closed')
  })

  it('when the shared connection breaks, both rooms come back', async () => {
    const [roomA, roomB] = [freshRoom('a'), freshRoom('b')]
    const [a1, a2] = [join(roomA, one), join(roomA, two)]
    await fullMesh([a1, a2])
    const [b1, b2] = [join(roomB, one), join(roomB, two)]
    await fullMesh([b1, b2])
    const back: string[] = []
    for (const [name, s] of [['a1', a1], ['a2', a2], ['b1', b1], ['b2', b2]] as const) s.on('reconnect', () => back.push(name))
    a1.peers[0].rtc.close()
    await until(swarms, ['reconnect', 'update'], () => back.length >= 4 && swarms.every(s => s.peers.length === 1), 'all four back', 30_000)
    expect([...back].sort()).to.deep.equal(['a1', 'a2', 'b1', 'b2'])
    const [inB1, inB2] = [inbox(b1.peers[0]), inbox(b2.peers[0])]
    inB2.channel.send(utf8('after the break'))
    await until(swarms, ['update'], () => inB1.got.length === 1, 'room b talking again')
  })

  it('a room with a secret never rides another room\'s connection', async () => {
    const [roomA, roomB] = [freshRoom('a'), freshRoom('b')]
    const [a1, a2] = [join(roomA, one), join(roomA, two)]
    await fullMesh([a1, a2])
    const made = budget.stats.created
    const [b1, b2] = [join(roomB, one, {secret: 's3cret'}), join(roomB, two, {secret: 's3cret'})]
    await fullMesh([b1, b2])
    expect(b1.peers[0]).to.not.be.instanceOf(RoomPeer)
    expect(b2.peers[0]).to.not.be.instanceOf(RoomPeer)
    expect(budget.stats.created).to.be.at.least(made + 2)
  })

  it('a room full to maxPeers refuses a join over a shared connection, as it would a connection', async () => {
    const [roomA, roomB] = [freshRoom('a'), freshRoom('b')]
    const three = await createIdentity()
    const [a1, a2] = [join(roomA, one), join(roomA, two)]
    await fullMesh([a1, a2])
    const b1 = join(roomB, one, {maxPeers: 1})
    const b3 = join(roomB, three)
    await fullMesh([b1, b3])
    const b2 = join(roomB, two)
    await until(swarms, ['update'], () => pool.stats.refused + b2.stats.refusedFull + b1.stats.refusedFull >= 1, 'the full room refusing')
    expect(b1.peers.map(p => p.publicKey)).to.deep.equal([b3.publicKey])
    expect(b2.peers.filter(p => p.publicKey === b1.publicKey)).to.have.length(0)
  })

  describe('the room code, loaded when a page\'s pool gets a second swarm', () => {
    const load = loaders.rooms
    let loads = 0
    beforeEach(() => {
      loads = 0
      loaders.rooms = () => {
        loads++
        return load()
      }
    })
    afterEach(() => {
      loaders.rooms = load
    })
    /** A page's pool of its own, loading through the hook (the page's default pool is shared by every test here). */
    const pagePool = () => new PagePool(() => loaders.rooms())

    it('is never loaded by a page with one room', async () => {
      const room = freshRoom()
      const [a1, a2] = [join(room, one, {pool: pagePool()}), join(room, two, {pool: pagePool()})]
      await fullMesh([a1, a2])
      expect(loads).to.equal(0)
    })

    it('a second room rides the first room\'s connection, even when the remote\'s announcement and JOIN come while it loads', async () => {
      const [roomA, roomB] = [freshRoom('a'), freshRoom('b')]
      // The remote page shares already (two rooms), through the loader as it was.
      const remote = new PagePool(load)
      const [a2, b2] = [join(roomA, two, {pool: remote}), join(roomB, two, {pool: remote})]
      const local = pagePool()
      const a1 = join(roomA, one, {pool: local})
      await fullMesh([a1, a2])
      expect(loads).to.equal(0, 'one room: nothing loaded')
      const made = budget.stats.created
      let release!: () => void
      const held = new Promise<void>(resolve => { release = resolve })
      loaders.rooms = () => {
        loads++
        return held.then(load)
      }
      // Room b's hub client, watched: the remote's announcement reaching it while the load is held.
      const hub = new HubClient({hubs: [hubUrl()], app: roomB})
      const subscribe = hub.subscribe.bind(hub)
      let heard!: () => void
      const announced = new Promise<void>(resolve => { heard = resolve })
      hub.subscribe = (channels, onMessage) => subscribe(channels, data => {
        onMessage(data)
        if ((data as {from?: string}).from === b2.id) heard()
      })
      try {
        const b1 = join(roomB, one, {pool: local, hubClient: hub})
        await announced
        // The remote heard ours and asked to JOIN over the connection it shares: our end holds it unopened.
        await until(b2, ['update'], () => b2.connections.length === 1, 'the remote\'s JOIN')
        expect(loads).to.equal(1)
        expect(b1.stats.announcesReceived).to.equal(0, 'held while the room code loads')
        release()
        await fullMesh([b1, b2])
        expect(budget.stats.created).to.equal(made, 'no connection made for room b')
        expect(b1.peers[0]).to.be.instanceOf(RoomPeer)
        expect((b1.peers[0] as RoomPeer).link).to.equal(a1.peers[0])
        expect(b2.peers[0]).to.be.instanceOf(RoomPeer)
        expect(b1.stats.announcesReceived).to.be.at.least(1, 'the held announcement was heard')
      } finally {
        hub.destroy()
      }
    })

    it('a room code that cannot load closes the second room with a typed error; the first stays', async () => {
      loaders.rooms = () => Promise.reject(new Error('the network went away'))
      const pool = pagePool()
      const a1 = join(freshRoom('a'), one, {pool})
      const b1 = join(freshRoom('b'), one, {pool})
      const closed = new Promise<void>(resolve => b1.on('close', () => resolve()))
      const err = await new Promise<P2PError>(resolve => b1.on('error', e => resolve(e as P2PError)))
      await closed
      expect(err.code).to.equal('ERR_CONNECTION_FAILED')
      expect(err.message).to.match(/shares connections between rooms/)
      expect(b1.destroyed).to.equal(true)
      expect(a1.destroyed).to.equal(false)
    })
  })
})
