// A page with the DHT (src/core/dht/page-dht.ts), driven by end-to-end tests
// through window.p2pTest: rooms joined on a hub and made findable through the
// DHT, the page's DHT node, and connections opened through it.
import {Swarm} from '../../../src/core/swarm/swarm.js'
import {createIdentity, type Identity} from '../../../src/core/crypto/identity.js'
import {fromHex} from '../../../src/core/bytes.js'
import {nodeIdOf} from '../../../src/core/dht/node-id.js'
import {pageDht, type PageDht, type PageDhtStats} from '../../../src/core/dht/page-dht.js'
import type {DhtStats} from '../../../src/core/dht/dht.js'
import {PeerConnection} from '../../../src/core/swarm/peer-connection.js'

let identity: Identity | null = null
let node: PageDht | null = null
const rooms = new Map<string, Swarm>()

const api = {
  /** Joins `room` on `hubs` (maxPeers at most), with the page's DHT following it; the page's key. */
  async join(hubs: string[], room: string, maxPeers: number): Promise<string> {
    identity ??= await createIdentity()
    const swarm = new Swarm({hubs, room, identity, iceServers: [], maxPeers, announceInterval: {min: 100, max: 1000}})
    rooms.set(room, swarm)
    node ??= pageDht(swarm, {tabs: true})
    node.follow(swarm)
    return swarm.publicKey
  },
  /** The keys of a room's peers, and of those whose connection was signalled through the DHT. */
  room(room: string): {peers: string[], throughDht: number, viaDht: string[]} {
    const peers = rooms.get(room)?.peers ?? []
    const viaDht = peers.filter(p => p instanceof PeerConnection && p.id.startsWith('dht:')).map(p => p.publicKey!)
    return {peers: peers.map(p => p.publicKey!), throughDht: viaDht.length, viaDht}
  },
  /** The DHT node's figures. */
  dht(): (PageDhtStats & {self: string, dhtPeers: number, keys: Array<string | null>, wire: DhtStats}) | null {
    return node ? {...node.stats, self: node.swarm.publicKey, dhtPeers: node.dht.peers, keys: node.swarm.peers.map(p => p.publicKey), wire: node.dht.stats} : null
  },
  /** Joins `room` and resolves with the ms until it has `n` peers there (the DHT benchmark's measure). */
  async timeToPeers(hubs: string[], room: string, maxPeers: number, n: number): Promise<number> {
    const start = performance.now()
    await api.join(hubs, room, maxPeers)
    const swarm = rooms.get(room)!
    await new Promise<void>(resolve => {
      const check = () => {
        if (swarm.peers.length < n) return
        swarm.off('connect', check)
        resolve()
      }
      swarm.on('connect', check)
      check()
    })
    return performance.now() - start
  },
  /** Whether the page's DHT has `key` as a peer, over any of its connections. */
  connected(key: string): boolean {
    return node?.dht.connected(key) ?? false
  },
  /** Looks `key` up and connects the DHT's swarm to it through the route found; whether it connected, and the route's length. */
  async connect(key: string): Promise<{connected: boolean, relays: number}> {
    const found = (await node!.dht.lookup(await nodeIdOf(fromHex(key)))).closest.find(c => c.key === key)
    if (!found) return {connected: false, relays: -1}
    return {connected: await node!.dht.connect(key, found.via), relays: found.via.length}
  },
}

;(window as unknown as {p2pTest: typeof api}).p2pTest = api

/** What the tests call (through `callTestApi`). */
export type DhtPageApi = typeof api
