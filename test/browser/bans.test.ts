// A ban is page-wide: a peer caught misbehaving in one room loses every room of
// the page, and the connection the page's rooms share with it.
import {expect} from '@open-wc/testing'
import type {Swarm} from '../../src/core/swarm/swarm.js'
import {ConnectionBudget} from '../../src/core/swarm/budget.js'
import {ConnectionPool, RoomPeer} from '../../src/core/swarm/rooms.js'
import {BanList} from '../../src/core/swarm/bans.js'
import {createIdentity} from '../../src/core/crypto/identity.js'
import {P2PError} from '../../src/core/errors.js'
import {toHex} from '../../src/core/bytes.js'
import {createSwarm, destroyAll, freshRoom, fullMesh, until} from './helpers/swarm.js'

describe('bans are page-wide', () => {
  let swarms: Swarm[] = []
  afterEach(() => {
    destroyAll(swarms)
    swarms = []
  })

  /** Two "pages", each with one key, its own ban list, in rooms a and b; they share one pool and budget here. */
  async function twoPagesInTwoRooms() {
    const budget = new ConnectionBudget({limit: 100, dialsPerMinute: Infinity, reserve: 0})
    const pool = new ConnectionPool()
    const pages = await Promise.all([0, 1].map(async () => ({identity: await createIdentity(), bans: new BanList()})))
    const [roomA, roomB] = [freshRoom('a'), freshRoom('b')]
    const join = (room: string, page: typeof pages[0]) => {
      const s = createSwarm(room, {identity: page.identity, bans: page.bans, budget, pool})
      swarms.push(s)
      return s
    }
    const [a1, a2] = [join(roomA, pages[0]), join(roomA, pages[1])]
    await fullMesh([a1, a2])
    const [b1, b2] = [join(roomB, pages[0]), join(roomB, pages[1])]
    await fullMesh([b1, b2])
    expect(b1.peers[0]).to.be.instanceOf(RoomPeer, 'room b rides room a\'s connection')
    return {pages, a1, a2, b1, b2, culprit: toHex(pages[1].identity.publicKey)}
  }

  it('banning a key in one room drops it in every room of the page, and the shared connection', async () => {
    const {pages, a1, b1, culprit} = await twoPagesInTwoRooms()
    const link = a1.peers[0]
    b1.ban(culprit)
    await until([a1, b1], ['update'], () => a1.peers.length === 0 && b1.peers.length === 0, 'both rooms to drop the banned key')
    expect(link.destroyed).to.equal(true, 'the shared connection is gone')
    expect(a1.isBanned(culprit)).to.equal(true)
    expect(pages[0].bans.has(culprit)).to.equal(true)
    expect(pages[1].bans.size).to.equal(0, 'the other page bans nobody')
    // The culprit's page keeps announcing in room a; its proven key is refused there now.
    await until(a1, ['update'], () => a1.stats.admissionRefused >= 1, 'a refused reconnect in the other room')
    expect(a1.peers).to.have.length(0)
  })

  it('a peer dropped for misbehaving in one room is banned in the other, which drops it too', async () => {
    const {a1, b1, culprit} = await twoPagesInTwoRooms()
    // What a protocol in room b does when the peer breaks it (forged gossip, bad chunks).
    b1.peers[0].destroy(P2PError.PEER_MISBEHAVING('test: broke a protocol in room b'))
    await until(a1, ['update'], () => a1.peers.length === 0, 'room a to drop the culprit')
    expect(a1.isBanned(culprit)).to.equal(true)
    expect(a1.stats.banned).to.equal(1)
  })
})
