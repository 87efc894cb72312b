// A network of DHT nodes on the wire protocol, for tests and benchmarks: each
// node a Dht with its bucket upkeep on a fake swarm (real muxes over in-memory
// transports, test/node/fake-swarm.ts) whose connections after the first are
// signalled through the DHT itself. Nodes join through given peers, as a hub's
// room or a bootstrap peer would give them, leave, and keep their buckets in
// rounds run on all of them at once.
import {KeyPairIdentity} from '../../src/core/crypto/seed-identity.js'
import {fromHex, toHex} from '../../src/core/bytes.js'
import {commonPrefix, compareDistance, nodeIdOf} from '../../src/core/dht/node-id.js'
import {Dht, type DhtOptions} from '../../src/core/dht/dht.js'
import {DhtUpkeep, type UpkeepOptions} from '../../src/core/dht/upkeep.js'
import {hostProtocol} from '../../src/core/swarm/protocol-host.js'
import type {Channel} from '../../src/core/mux/mux.js'
import {DHT_PROTOCOL, DhtMessageType, decodeDhtMessage, encodeNodes, encodePing, encodeRelayReply, type DhtMessage} from '../../src/core/dht/messages.js'
import {FakeSwarm, connect} from '../node/fake-swarm.js'
import {until} from './until.js'

export interface DhtSimNode {
  key: string
  id: Uint8Array
  swarm: FakeSwarm
  dht: Dht
  upkeep: DhtUpkeep
}

/**
 * A hostile node: in the room (its first peers link to it), it answers PING so
 * it looks alive, but never relays nor takes a signal; 'silent' answers no FIND
 * either, 'liar' answers every FIND with made-up keys.
 */
export interface HostileSimNode {
  key: string
  id: Uint8Array
  swarm: FakeSwarm
  kind: 'silent' | 'liar'
}

export interface DhtNetworkOptions {
  random: () => number
  /** Peers and signalled connections a node may have at once (a browser's budget). */
  maxPeers?: number
  dht?: Partial<DhtOptions>
  upkeep?: UpkeepOptions
}

export interface LookupFigures {
  /** Lookups that found the true k closest live nodes, and that found the closest one. */
  exact: number
  closest: number
  /** Each lookup's hops (see lookup.ts). */
  hops: number[]
}

export class DhtNetwork {
  /** Nodes that joined and did not leave. */
  readonly live: DhtSimNode[] = []
  /** Every node ever made. */
  readonly all: DhtSimNode[] = []
  readonly hostile: HostileSimNode[] = []
  readonly #options: DhtNetworkOptions
  #seed = 0

  constructor(options: DhtNetworkOptions) {
    this.#options = options
  }

  /** A new node, linked to `through` (its first peers, as a hub or a bootstrap peer gives them). */
  async join(through: Array<DhtSimNode | HostileSimNode> = []): Promise<DhtSimNode> {
    const {random, dht: dhtOptions, upkeep} = this.#options
    const {identity, key, swarm} = this.#swarm()
    const dht = new Dht({swarm, publicKey: key, identity, connector: swarm, timeout: 2_000, ...dhtOptions})
    await dht.ready
    const node = {key, id: await nodeIdOf(fromHex(key)), swarm, dht, upkeep: new DhtUpkeep(dht, {random, ...upkeep})}
    for (const peer of through) connect(swarm, key, peer.swarm, peer.key)
    this.live.push(node)
    this.all.push(node)
    return node
  }

  /** A hostile node (see HostileSimNode), linked to `through`. */
  async joinHostile(through: Array<DhtSimNode | HostileSimNode>, kind: HostileSimNode['kind']): Promise<HostileSimNode> {
    const {random} = this.#options
    const {key, swarm} = this.#swarm()
    const node = {key, id: await nodeIdOf(fromHex(key)), swarm, kind}
    const made = (): Uint8Array => Uint8Array.from({length: 32}, () => Math.floor(random() * 256))
    const respond = (message: DhtMessage): Uint8Array | undefined => {
      if (message.type === DhtMessageType.PING) return encodePing(message.id, true)
      if (message.type === DhtMessageType.FIND && kind === 'liar') return encodeNodes(message.id, Array.from({length: 8}, made))
      return undefined
    }
    hostProtocol<Channel>(swarm, {
      start: peer => {
        const channel: Channel = peer.channel(DHT_PROTOCOL, {onmessage: bytes => {
          let message: DhtMessage
          try {
            message = decodeDhtMessage(bytes)
          } catch {
            return
          }
          if (message.type === DhtMessageType.RELAY) {
            if (message.route.length !== 1) return
            let inner: DhtMessage
            try {
              inner = decodeDhtMessage(message.inner)
            } catch {
              return
            }
            const answer = respond(inner)
            if (answer) channel.send(encodeRelayReply(message.id, answer))
            return
          }
          const answer = respond(message)
          if (answer) channel.send(answer)
        }})
        return channel
      },
      stop: channel => {
        if (!channel.closed) channel.close()
      },
    })
    for (const peer of through) connect(swarm, key, peer.swarm, peer.key)
    this.hostile.push(node)
    return node
  }

  #swarm(): {identity: KeyPairIdentity, key: string, swarm: FakeSwarm} {
    const {random, maxPeers = 24} = this.#options
    const seed = Uint8Array.from({length: 32}, () => Math.floor(random() * 256))
    seed[0] = ++this.#seed & 0xff
    const identity = new KeyPairIdentity(seed)
    const key = toHex(identity.publicKey)
    const swarm = new FakeSwarm().signalsAs(key)
    swarm.maxPeers = maxPeers
    return {identity, key, swarm}
  }

  /** The node leaves: its connections close, its DHT stops. */
  leave(node: DhtSimNode): void {
    const i = this.live.indexOf(node)
    if (i === -1) return
    this.live.splice(i, 1)
    node.upkeep.stop()
    for (const peer of [...node.swarm.peers]) peer.destroy()
    node.dht.close()
  }

  /**
   * Waits until every live node's table holds its peers (their ids are hashed
   * asynchronously): all of them, but k a bucket (a full bucket keeps its own).
   */
  async tables(): Promise<void> {
    const ids = new Map([...this.all, ...this.hostile].map(n => [n.key, n.id]))
    const fits = (node: DhtSimNode): number => {
      const buckets = new Map<number, number>()
      for (const peer of node.swarm.peers) {
        const prefix = commonPrefix(node.id, ids.get(peer.publicKey)!)
        buckets.set(prefix, (buckets.get(prefix) ?? 0) + 1)
      }
      return [...buckets.values()].reduce((n, size) => n + Math.min(size, node.dht.table.k), 0)
    }
    const off = (): string => this.live.filter(n => n.dht.table.size !== fits(n))
      .map(n => `${n.key.slice(0, 8)}: ${n.dht.table.size} in its table, ${fits(n)} fit, ${n.swarm.peers.length} peers, ${n.dht.peers} sessions`).join('; ')
    try {
      await until(() => this.live.every(n => n.dht.table.size === fits(n)), 'every table holds its peers')
    } catch (err) {
      throw new Error(`${(err as Error).message}: ${off()}`)
    }
  }

  /** Bootstrap connections made again (see `settle`). */
  rejoined = 0

  /**
   * Upkeep rounds on every live node at once, until one opens nothing anywhere
   * or `most` ran; how many ran. A node left with no peer at all (its only
   * peers left before it made links of its own) is linked to a random live
   * node first, as its hub would give it one.
   */
  async settle(most = 30): Promise<number> {
    const {random} = this.#options
    for (const node of this.live) {
      if (node.swarm.peers.length > 0 || this.live.length < 2) continue
      let other = node
      while (other === node) other = this.live[Math.floor(random() * this.live.length)]
      connect(node.swarm, node.key, other.swarm, other.key)
      this.rejoined++
    }
    await this.tables()
    for (let round = 1; round <= most; round++) {
      const opened = await Promise.all(this.live.map(node => node.upkeep.round()))
      if (opened.every(n => n === 0)) return round
    }
    return most
  }

  /**
   * `count` lookups from random live nodes for random targets, each checked
   * against the true closest live (honest) nodes: what hostile nodes answer is
   * left out of a result before it is checked.
   */
  async lookups(count: number, random: () => number): Promise<LookupFigures> {
    const figures: LookupFigures = {exact: 0, closest: 0, hops: []}
    const honest = new Set(this.live.map(n => n.key))
    for (let i = 0; i < count; i++) {
      const node = this.live[Math.floor(random() * this.live.length)]
      const target = Uint8Array.from({length: 32}, () => Math.floor(random() * 256))
      const result = await node.dht.lookup(target)
      const hops = result.hops
      const closest = result.closest.filter(c => honest.has(c.key))
      const truth = this.live.filter(n => n !== node).sort((a, b) => compareDistance(target, a.id, b.id)).slice(0, 8).map(n => n.key)
      // Exact: a full answer whose honest nodes are the nearest honest nodes there are, in order.
      const full = result.closest.length === Math.min(8, this.live.length - 1 + this.hostile.length)
      if (full && closest.length > 0 && closest.map(c => c.key).join() === truth.slice(0, closest.length).join()) figures.exact++
      if (closest[0]?.key === truth[0]) figures.closest++
      figures.hops.push(hops)
    }
    return figures
  }

  /** RTCPeerConnections the nodes made (each end of a connection counts one, as each tab makes its own). */
  get connectionsMade(): number {
    return this.all.reduce((n, node) => n + node.swarm.signalledMade, 0)
  }

  close(): void {
    for (const node of this.all) {
      node.upkeep.stop()
      node.dht.close()
    }
  }
}
