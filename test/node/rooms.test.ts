import {describe, test} from 'node:test'
import assert from 'node:assert/strict'
import {Mux, createMemoryTransportPair, type Channel, type ChannelHandlers} from '../../src/core/mux/index.js'
import {Emitter} from '../../src/core/emitter.js'
import {P2PError} from '../../src/core/errors.js'
import {ConnectionPool, MAX_ROOMS_PER_CONNECTION, RoomPeer, type RoomMember} from '../../src/core/swarm/rooms.js'
import {roomTag} from '../../src/core/swarm/messages.js'
import {ROOMS_PROTOCOL, RoomMessageType, decodeRoomMessage, encodeRoomMessage} from '../../src/core/swarm/room-messages.js'
import {claimPageIdentity} from '../../src/core/swarm/page-identity.js'
import {toHex} from '../../src/core/bytes.js'
import type {PeerConnection} from '../../src/core/swarm/peer-connection.js'
import {PagePool, type PoolSeat, type RoomsCode} from '../../src/core/swarm/room-pool.js'
import {Swarm} from '../../src/core/swarm/swarm.js'
import {createIdentity} from '../../src/core/crypto/identity.js'
import {startHub} from './helpers.js'
import {until} from '../shared/until.js'
import '../shared/node-webrtc.js'

const KEY_A = 'a'.repeat(64)
const KEY_B = 'b'.repeat(64)
const ID_A = '0a'.repeat(10)
const ID_B = '0b'.repeat(10)

/** What the pool and RoomPeer use of a PeerConnection, over one end of a mux pair. */
class FakeLink extends Emitter<{close: (err?: P2PError) => void, error: (err: P2PError) => void, update: () => void, reconnect: () => void}> {
  state = 'connected'
  #destroyed = false
  closedWith: P2PError | undefined
  restarts = 0
  restarting = false
  rtt = 1
  bytesIn = 0
  bytesOut = 0
  constructor(readonly publicKey: string, readonly mux: Mux) {
    super()
  }
  get destroyed(): boolean {
    return this.#destroyed
  }
  channel(name: string, handlers: ChannelHandlers): Channel {
    return this.mux.channel(name, handlers)
  }
  restartIce(): void {}
  destroy(err?: P2PError): void {
    if (this.#destroyed) return
    this.#destroyed = true
    this.state = 'closed'
    this.closedWith = err
    this.mux.destroy()
    if (err) this.emit('error', err)
    this.emit('close', err)
  }
}

/** Two pages' ends of one connection: A's end sees KEY_B, B's end sees KEY_A. */
function linkPair() {
  const [ta, tb] = createMemoryTransportPair()
  const quiet = {pingInterval: 0, timeout: 0}
  const atA = new FakeLink(KEY_B, new Mux(ta, quiet))
  const atB = new FakeLink(KEY_A, new Mux(tb, quiet))
  return {atA, atB, a: atA as unknown as PeerConnection, b: atB as unknown as PeerConnection}
}

/** A swarm stand-in: admits every join (or none), and records what the pool told it. */
function member(publicKey: string, id: string, tag: string, admit = true) {
  const peers: RoomPeer[] = []
  const answers: boolean[] = []
  const leaves: string[] = []
  const m: RoomMember & {peers: RoomPeer[], answers: boolean[], leaves: string[]} = {
    publicKey, id, tag, peers, answers, leaves,
    async onJoin(link, remoteId) {
      if (!admit) return null
      const peer = new RoomPeer(remoteId, link, tag, false, () => {})
      peers.push(peer)
      return peer
    },
    onAnswer(_link, _tag, _remoteId, accepted) { answers.push(accepted) },
    onLeave(_link, remoteId) { leaves.push(remoteId) },
  }
  return m
}

/**
 * The hostile end's rooms channel: raw messages it receives, and `sendRaw`
 * sends on it (one channel per link, as the mux allows).
 */
function tap(link: FakeLink): Uint8Array[] {
  const got: Uint8Array[] = []
  rawChannels.set(link, link.channel(ROOMS_PROTOCOL, {onmessage: bytes => got.push(bytes)}))
  return got
}

const rawChannels = new WeakMap<FakeLink, Channel>()

describe('rooms: messages', () => {
  test('room messages round-trip, and anything else is MALFORMED_MESSAGE', async () => {
    const tag = await roomTag('chat')
    assert.equal(tag.length, 64)
    assert.notEqual(tag, await roomTag('chat2'))
    for (const type of [RoomMessageType.JOIN, RoomMessageType.ACCEPT, RoomMessageType.REFUSE, RoomMessageType.LEAVE]) {
      assert.deepEqual(decodeRoomMessage(encodeRoomMessage({type, tag, id: ID_A})), {type, tag, id: ID_A})
    }
    const good = encodeRoomMessage({type: RoomMessageType.JOIN, tag, id: ID_A})
    for (const bad of [new Uint8Array(0), good.subarray(0, 42), new Uint8Array([...good, 0]), Uint8Array.of(0, ...good.subarray(1)), Uint8Array.of(5, ...good.subarray(1))]) {
      assert.throws(() => decodeRoomMessage(bad), {code: 'ERR_MALFORMED_MESSAGE'})
    }
    assert.throws(() => encodeRoomMessage({type: RoomMessageType.JOIN, tag: 'ab', id: ID_A}), {code: 'ERR_INVALID_ARGUMENT'})
  })
})

describe('rooms: the pool', () => {
  test('a JOIN is admitted by the member of that room and key, and answered ACCEPT; LEAVE reaches it', async () => {
    const tag = await roomTag('b')
    const {atA, atB, a, b} = linkPair()
    const poolA = new ConnectionPool()
    const poolB = new ConnectionPool()
    const mA = member(KEY_A, ID_A, tag)
    const mB = member(KEY_B, ID_B, tag)
    poolA.register(mA)
    poolB.register(mB)
    poolA.add(a, KEY_A, null)
    poolB.add(b, KEY_B, null)
    assert.equal(poolA.find(KEY_A, KEY_B, tag), a)
    assert.equal(poolA.find(KEY_B, KEY_A, tag), undefined, 'keys are directed: ours, then theirs')
    poolA.join(a, mA, tag)
    await until(() => mA.answers.length === 1, 'the answer')
    assert.deepEqual(mA.answers, [true])
    assert.equal(mB.peers.length, 1)
    assert.equal(mB.peers[0].id, ID_A)
    assert.equal(mB.peers[0].state, 'connected')
    assert.equal(poolB.stats.sharedRooms, 1)
    assert.equal(poolA.find(KEY_A, KEY_B, tag), undefined, 'a room already on the connection does not join it again')
    poolA.leave(a, mA, tag)
    await until(() => mB.leaves.length === 1, 'the leave')
    assert.deepEqual(mB.leaves, [ID_A])
    assert.equal(poolB.stats.sharedRooms, 0)
    atA.destroy()
    atB.destroy()
    assert.equal(poolA.find(KEY_A, KEY_B, tag), undefined, 'a closed connection leaves the pool')
  })

  test("a room never joins a connection its own room made (a reloaded page's old one, say)", async () => {
    const tag = await roomTag('a')
    const {atA, atB, a} = linkPair()
    const pool = new ConnectionPool()
    pool.add(a, KEY_A, tag)
    assert.equal(pool.find(KEY_A, KEY_B, tag), undefined)
    assert.equal(pool.find(KEY_A, KEY_B, await roomTag('b')), a)
    atA.destroy()
    atB.destroy()
  })

  test('a JOIN for a room nobody here is in, or that refuses, is answered REFUSE and counted', async () => {
    const tag = await roomTag('nobody')
    const {atA, b} = linkPair()
    const poolB = new ConnectionPool()
    poolB.register(member(KEY_B, ID_B, await roomTag('other')))
    poolB.add(b, KEY_B, null)
    // A's end is raw: the test speaks for it.
    const got = tap(atA)
    sendRaw(atA, encodeRoomMessage({type: RoomMessageType.JOIN, tag, id: ID_A}))
    await until(() => got.length === 1, 'the refusal')
    assert.deepEqual(decodeRoomMessage(got[0]), {type: RoomMessageType.REFUSE, tag, id: ID_A})
    assert.equal(poolB.stats.refused, 1)
    const refusing = member(KEY_B, ID_B, tag, false)
    poolB.register(refusing)
    sendRaw(atA, encodeRoomMessage({type: RoomMessageType.JOIN, tag, id: ID_A}))
    await until(() => got.length === 2, 'the second refusal')
    assert.equal(decodeRoomMessage(got[1]).type, RoomMessageType.REFUSE)
    assert.equal(poolB.stats.refused, 2)
  })

  test('a malformed room message drops the connection with MALFORMED_MESSAGE', async () => {
    const {atA, atB, b} = linkPair()
    const poolB = new ConnectionPool()
    poolB.add(b, KEY_B, null)
    tap(atA)
    sendRaw(atA, Uint8Array.of(9, 9, 9))
    await until(() => atB.destroyed, 'the drop')
    assert.equal(atB.closedWith?.code, 'ERR_MALFORMED_MESSAGE')
    assert.equal(poolB.stats.malformed, 1)
  })

  test('rooms per connection are capped: past the cap every JOIN is refused before any member is asked', async () => {
    const {atA, b} = linkPair()
    const poolB = new ConnectionPool()
    poolB.add(b, KEY_B, null)
    const got = tap(atA)
    const tags: string[] = []
    for (let i = 0; i < MAX_ROOMS_PER_CONNECTION + 5; i++) tags.push(toHex(new Uint8Array(32).fill(i + 1)))
    const members = tags.map(t => member(KEY_B, ID_B, t))
    for (const m of members) poolB.register(m)
    for (const t of tags) sendRaw(atA, encodeRoomMessage({type: RoomMessageType.JOIN, tag: t, id: ID_A}))
    await until(() => got.length === tags.length, 'an answer to every join')
    const answers = got.map(decodeRoomMessage)
    assert.equal(answers.filter(m => m.type === RoomMessageType.ACCEPT).length, MAX_ROOMS_PER_CONNECTION)
    assert.equal(answers.filter(m => m.type === RoomMessageType.REFUSE).length, 5)
    assert.equal(poolB.stats.sharedRooms, MAX_ROOMS_PER_CONNECTION)
    assert.equal(members.slice(MAX_ROOMS_PER_CONNECTION).some(m => m.peers.length > 0), false, 'no member past the cap was asked')
  })
})

describe('rooms: a swarm on the pool', () => {
  test('answers to JOINs it never sent, and a LEAVE of another room, change nothing: its room peer stays', async () => {
    const hub = await startHub()
    const room = `rooms-${toHex(new Uint8Array(4).map(() => Math.random() * 256))}`
    const tag = await roomTag(room)
    const {atA, atB, b} = linkPair()
    const pool = new ConnectionPool()
    const swarm = new Swarm({hubs: [hub.url], room, pool, iceServers: [], identity: await createIdentity()})
    try {
      pool.add(b, swarm.publicKey, null)
      const got = tap(atA)
      // The remote's room joins ours over the shared connection (again, should our
      // JOIN come before the swarm registered its room with the pool).
      await until(() => {
        if (got.length === 0 || decodeRoomMessage(got.at(-1)!).type === RoomMessageType.REFUSE) {
          got.length = 0
          sendRaw(atA, encodeRoomMessage({type: RoomMessageType.JOIN, tag, id: ID_A}))
        }
        return swarm.peers.length === 1
      }, 'the swarm to take the remote in', {every: 50})
      const [peer] = swarm.peers
      assert.deepEqual([peer.id, peer.publicKey, peer.state], [ID_A, KEY_A, 'connected'])
      const closedBefore = swarm.stats.connectionsClosed
      got.length = 0
      // Answers to a JOIN the swarm never sent, and a LEAVE of a room nobody here is in.
      sendRaw(atA, encodeRoomMessage({type: RoomMessageType.REFUSE, tag, id: ID_A}))
      sendRaw(atA, encodeRoomMessage({type: RoomMessageType.ACCEPT, tag, id: ID_A}))
      sendRaw(atA, encodeRoomMessage({type: RoomMessageType.LEAVE, tag: await roomTag(`${room}-other`), id: ID_A}))
      // The sentinel: a JOIN for a room nobody is in, answered after everything before it.
      const nobody = await roomTag(`${room}-nobody`)
      sendRaw(atA, encodeRoomMessage({type: RoomMessageType.JOIN, tag: nobody, id: ID_A}))
      await until(() => got.length === 1, 'the answer to the sentinel')
      assert.deepEqual(decodeRoomMessage(got[0]), {type: RoomMessageType.REFUSE, tag: nobody, id: ID_A})
      assert.deepEqual(swarm.peers, [peer], 'the room peer stays')
      assert.equal(peer.state, 'connected')
      assert.equal(swarm.stats.connectionsClosed, closedBefore)
      assert.equal(atB.destroyed, false)
      // A LEAVE of the swarm's own room is the remote leaving: that one closes the room peer.
      sendRaw(atA, encodeRoomMessage({type: RoomMessageType.LEAVE, tag, id: ID_A}))
      await until(() => swarm.peers.length === 0, 'the room peer to close on LEAVE')
      assert.equal(atB.destroyed, false, 'the shared connection stays')
    } finally {
      swarm.destroy()
      atA.destroy()
      await hub.close()
    }
  })
})

describe('rooms: RoomPeer', () => {
  test('prefixes its channels with the room, closes with the connection, and says LEAVE when it leaves', async () => {
    const tag = await roomTag('b')
    const {atA, atB, a} = linkPair()
    const leaves: number[] = []
    const peer = new RoomPeer(ID_B, a, tag, true, () => leaves.push(1))
    assert.throws(() => peer.channel('x', {onmessage() {}}), {code: 'ERR_INVALID_ARGUMENT'})
    peer.open()
    const opened: string[] = []
    atB.mux.on('remoteopen', name => opened.push(name))
    peer.channel('p2p/files/1', {onmessage() {}}).send(new Uint8Array(1))
    await until(() => opened.length === 1, 'the channel to open on the remote')
    assert.deepEqual(opened, [`room/${tag.slice(0, 16)}/p2p/files/1`])
    assert.equal(peer.publicKey, KEY_B)
    peer.destroy()
    peer.destroy()
    assert.deepEqual(leaves, [1])
    const other = new RoomPeer(ID_B, a, tag, true, () => leaves.push(2))
    other.open()
    let closedWith: P2PError | undefined
    other.on('close', err => { closedWith = err })
    atA.destroy(P2PError.PEER_TIMEOUT('gone'))
    assert.equal(closedWith?.code, 'ERR_PEER_TIMEOUT', 'the connection\'s failure is the room\'s')
    assert.deepEqual(leaves, [1], 'no LEAVE over a dead connection')
    // A connection closed with a goodbye (the room that made it left) is a break for
    // the rooms riding on it: they did not leave, and should find each other again.
    const second = linkPair()
    const third = new RoomPeer(ID_B, second.a, tag, true, () => leaves.push(3))
    third.open()
    third.on('close', err => { closedWith = err })
    second.atA.destroy()
    assert.equal(closedWith?.code, 'ERR_CONNECTION_CLOSED')
    assert.deepEqual(leaves, [1])
    second.atB.destroy()
  })
})

describe('rooms: the page pool, loaded with a second seat', () => {
  const load = (): Promise<RoomsCode> => import('../../src/core/swarm/room-links.js')

  /** A swarm stand-in in a PagePool: what it was given, and the member it registers once attached. */
  function seat(room?: RoomMember) {
    const s: PoolSeat & {pools: ConnectionPool[], failed: P2PError[]} = {
      pools: [], failed: [],
      attach(_code, pool) {
        s.pools.push(pool)
        if (room) pool.register(room)
      },
      fail(err) { s.failed.push(err) },
    }
    return s
  }

  test('a JOIN sent to a one-seat page waits in the mux hold, and the second seat\'s room admits it once loaded', async () => {
    const [tagA, tagB] = [await roomTag('a'), await roomTag('b')]
    const {atA, atB, a, b} = linkPair()
    let loads = 0
    const page = new PagePool(() => {
      loads++
      return load()
    })
    const first = seat()
    page.seat(first)
    page.add(a, KEY_A, tagA)
    // The remote page, sharing already, asks room b of ours to meet it on that connection.
    const remote = new ConnectionPool()
    const mB = member(KEY_B, ID_B, tagB)
    remote.register(mB)
    remote.add(b, KEY_B, tagA)
    remote.join(b, mB, tagB)
    await until(() => atA.mux.stats.messagesIn === 1, 'the JOIN, held by our mux')
    assert.equal(loads, 0, 'one seat loads nothing')
    assert.equal(page.loading, null)
    assert.deepEqual(mB.answers, [], 'no rooms channel open: nobody answered')
    const mA = member(KEY_A, ID_A, tagB)
    const second = seat(mA)
    page.seat(second)
    assert.equal(loads, 1)
    await page.loading
    assert.equal(page.loaded, true)
    assert.equal(first.pools[0], second.pools[0], 'both seats on one real pool')
    await until(() => mB.answers.length === 1, 'the answer')
    assert.deepEqual(mB.answers, [true], 'the held JOIN found room b')
    assert.equal(mA.peers.length, 1)
    assert.equal(first.pools[0].find(KEY_A, KEY_B, await roomTag('c')), a, 'the remembered connection is shared')
    const third = seat()
    page.seat(third)
    assert.equal(third.pools[0], first.pools[0], 'a later seat is attached at once')
    assert.equal(loads, 1)
    atA.destroy()
    atB.destroy()
  })

  test('a failed load fails the seats that needed it, and the page can try again with the next', async () => {
    let fail = true
    const page = new PagePool(() => fail ? Promise.reject(new Error('the network went away')) : load())
    const [first, second] = [seat(), seat()]
    page.seat(first)
    page.seat(second)
    await page.loading
    assert.deepEqual(first.failed, [], 'the first room ran without it and still does')
    assert.equal(second.failed.length, 1)
    assert.equal(second.failed[0].code, 'ERR_CONNECTION_FAILED')
    assert.equal(page.loaded, false)
    page.unseat(second)
    fail = false
    const third = seat()
    page.seat(third)
    await page.loading
    assert.equal(page.loaded, true)
    assert.equal(first.pools.length + third.pools.length, 2)
  })
})

describe('page identity', () => {
  test('one key for every room of the page; a second swarm in one room gets its own', async () => {
    const a = claimPageIdentity('room-a')
    const b = claimPageIdentity('room-b')
    const a2 = claimPageIdentity('room-a')
    assert.equal(a.identity, b.identity, 'one page key, made once')
    assert.notEqual(await a2.identity, await a.identity)
    a.release()
    a.release()
    const again = claimPageIdentity('room-a')
    assert.equal(await again.identity, await b.identity, 'released: the room takes the page key again')
    for (const c of [b, a2, again]) c.release()
  })
})

/** Sends raw bytes on the rooms channel of a hostile end (see `tap`); they arrive in order. */
function sendRaw(link: FakeLink, bytes: Uint8Array): void {
  const ch = rawChannels.get(link)
  if (!ch) throw new Error('tap() the link first')
  ch.send(bytes)
}
