/**
 * A DHT node over a swarm's connections (docs/dht.md): its routing table holds
 * its connected peers, it answers FIND with the ones closest to a target,
 * forwards RELAYs along their routes (rewriting request ids, rate-limited per
 * source), and looks up targets through routes: a node learned from Y's answer
 * is reached through Y, which is connected to it. No connection is opened here:
 * a lookup crosses the ones there are.
 */
import {Emitter} from '../emitter.js'
import {P2PError} from '../errors.js'
import {fromHex, toHex} from '../bytes.js'
import {shortId} from '../debug.js'
import {systemClock, type Clock} from '../clock.js'
import {ExpiringMap} from '../expiring-map.js'
import {TokenBucket} from '../token-bucket.js'
import type {Channel} from '../mux/mux.js'
import {hostProtocol, type ProtocolHost, type ProtocolPeer, type ProtocolSwarm} from '../swarm/protocol-host.js'
import {nodeIdOf} from './node-id.js'
import {RoutingTable, type Contact} from './routing-table.js'
import {lookup, type LookupResult} from './lookup.js'
import {
  DHT_PROTOCOL, DhtMessageType, MAX_NODES, MAX_ROUTE, decodeDhtMessage, encodeFind, encodeNodes, encodePing, encodeRelay, encodeRelayReply,
  type DhtMessage,
} from './messages.js'

export interface DhtOptions {
  swarm: ProtocolSwarm
  /** This node's proven public key (hex): the swarm's identity's. */
  publicKey: string
  /** Contacts per bucket, and results per lookup. */
  k?: number
  alpha?: number
  /** Disjoint paths per lookup. */
  paths?: number
  /** A request unanswered this long (ms) fails. */
  timeout?: number
  /** RELAYs a peer may send per second, and in a burst. */
  relayRate?: number
  relayBurst?: number
  /** Bad messages (malformed, unsolicited, over the relay limit) a peer may send before it is dropped. */
  maxStrikes?: number
  clock?: Clock
}

export interface DhtStats {
  /** Requests this node sent (FIND and PING, direct or relayed) and how many failed. */
  requests: number
  failures: number
  /** RELAYs forwarded for others, and refused (over a source's limit, a next hop not connected). */
  relayed: number
  refused: number
  /** Bad messages received: malformed, unsolicited answers, relays over the limit. */
  strikes: number
}

export type DhtEvents = {
  /** A peer was dropped for what it sent; the node goes on. */
  error: (err: P2PError) => void
}

/** A node found by a lookup, with the route to it (the relays to cross, nearest first; empty for a connected peer). */
export interface DhtContact extends Contact {
  via: string[]
}

interface Session {
  key: string
  /** Its node id, once computed (then it is in the table). */
  id?: Uint8Array
  peer: ProtocolPeer
  channel: Channel
  relayLimit: TokenBucket
  strikes: number
}

interface Pending {
  resolve(message: DhtMessage): void
  reject(err: P2PError): void
  timer: unknown
  /** The session the answer must come from. */
  session: Session
}

interface Forwarded {
  /** Where the RELAY came from, and its id there. */
  from: Session
  id: number
  /** The session it went on to: the only one whose reply is taken. */
  to: Session
}

export class Dht extends Emitter<DhtEvents> {
  readonly publicKey: string
  /** The node's id, and its table, once computed. */
  readonly ready: Promise<void>
  table!: RoutingTable
  readonly #options: Required<Omit<DhtOptions, 'swarm' | 'publicKey'>>
  readonly #clock: Clock
  readonly #sessions = new Map<string, Session>()
  readonly #ids = new Map<string, Uint8Array>()
  readonly #pending = new Map<number, Pending>()
  readonly #forwarded: ExpiringMap<number, Forwarded>
  #nextId = 1
  #host: ProtocolHost<Session> | undefined
  #closed = false
  readonly #stats: DhtStats = {requests: 0, failures: 0, relayed: 0, refused: 0, strikes: 0}

  constructor({swarm, publicKey, k = 8, alpha = 3, paths = 1, timeout = 5_000, relayRate = 20, relayBurst = 40, maxStrikes = 5, clock = systemClock}: DhtOptions) {
    super()
    this.publicKey = publicKey
    this.#clock = clock
    this.#options = {k, alpha, paths, timeout, relayRate, relayBurst, maxStrikes, clock}
    this.#forwarded = new ExpiringMap({ttl: timeout, max: 4096, now: () => clock.now()})
    this.ready = nodeIdOf(fromHex(publicKey)).then(self => {
      this.table = new RoutingTable({self, k, clock})
      if (this.#closed) return
      this.#host = hostProtocol<Session>(swarm, {
        start: (peer, key, ended) => this.#start(peer, key, ended),
        stop: session => this.#stop(session),
        active: () => !this.#closed,
      })
    })
  }

  get stats(): DhtStats {
    return {...this.#stats}
  }

  /** Connected peers speaking the DHT. */
  get peers(): number {
    return this.#sessions.size
  }

  /**
   * The k nodes closest to `target` that answered, found through the
   * connections there are, each with its route.
   */
  async lookup(target: Uint8Array): Promise<Omit<LookupResult, 'closest'> & {closest: DhtContact[]}> {
    await this.ready
    if (this.#closed) throw P2PError.DESTROYED('the DHT was closed')
    const {k, alpha, paths, timeout} = this.#options
    const via = new Map<string, string[]>()
    const seeds = this.table.closest(target)
    for (const seed of seeds) via.set(seed.key, [])
    const result = await lookup({
      target, seeds, k, alpha, paths, timeout: timeout * MAX_ROUTE, clock: this.#clock,
      query: async (contact, t) => {
        const route = via.get(contact.key)!
        const answer = await this.#request(route, contact.key, (id: number) => encodeFind(id, t))
        if (answer.type !== DhtMessageType.NODES) throw P2PError.PEER_MISBEHAVING('an answer to FIND that is not NODES')
        const found: Contact[] = []
        for (const key of answer.keys) {
          const hex = toHex(key)
          if (hex === this.publicKey) continue
          // The first route to a node is kept; one past the longest route cannot be used.
          if (!via.has(hex)) {
            const next = [...route, contact.key]
            if (next.length >= MAX_ROUTE) continue
            via.set(hex, next)
          }
          found.push({key: hex, id: await this.#idOf(hex)})
        }
        return found
      },
    })
    return {...result, closest: result.closest.map(c => ({...c, via: via.get(c.key) ?? []}))}
  }

  /** Round trip in ms to the node `key` through `via` (relays, nearest first). */
  async ping(key: string, via: string[] = []): Promise<number> {
    await this.ready
    const start = this.#clock.now()
    const answer = await this.#request(via, key, id => encodePing(id))
    if (answer.type !== DhtMessageType.PONG) throw P2PError.PEER_MISBEHAVING('an answer to PING that is not PONG')
    return this.#clock.now() - start
  }

  close(): void {
    if (this.#closed) return
    this.#closed = true
    this.#host?.detach()
    for (const [id, pending] of [...this.#pending]) {
      this.#pending.delete(id)
      this.#clock.clearTimeout(pending.timer)
      pending.reject(P2PError.DESTROYED('the DHT was closed'))
    }
    this.#forwarded.clear()
    this.removeAllListeners()
  }

  // ---- sessions ---------------------------------------------------------------

  #start(peer: ProtocolPeer, key: string, ended: () => boolean): Session {
    const {relayRate, relayBurst} = this.#options
    const session = {key, peer, strikes: 0, relayLimit: new TokenBucket(relayRate, relayBurst, () => this.#clock.now())} as Session
    session.channel = peer.channel(DHT_PROTOCOL, {
      onmessage: bytes => this.#receive(session, bytes),
      onclose: () => {
        if (ended()) this.#stop(session)
      },
    })
    this.#sessions.set(key, session)
    void this.#idOf(key).then(id => {
      if (this.#sessions.get(key) !== session) return
      session.id = id
      this.table.add({id, key})
    })
    return session
  }

  #stop(session: Session): void {
    if (this.#sessions.get(session.key) !== session) return
    this.#sessions.delete(session.key)
    if (!session.channel.closed) session.channel.close()
    if (session.id) this.table.remove(session.id)
    for (const [requestId, pending] of [...this.#pending]) {
      if (pending.session !== session) continue
      this.#pending.delete(requestId)
      this.#clock.clearTimeout(pending.timer)
      pending.reject(P2PError.CONNECTION_CLOSED(`the connection to ${shortId(session.key)} closed`))
    }
  }

  async #idOf(key: string): Promise<Uint8Array> {
    let id = this.#ids.get(key)
    if (!id) {
      id = await nodeIdOf(fromHex(key))
      // Ids of nodes met in lookups are kept for later lookups; a session keeps its own, so forgetting them all costs only hashing again.
      if (this.#ids.size > 10_000) this.#ids.clear()
      this.#ids.set(key, id)
    }
    return id
  }

  /** A peer sent what no honest node sends: counted, and at maxStrikes it is dropped. */
  #strike(session: Session, err: P2PError): void {
    this.#stats.strikes++
    if (++session.strikes < this.#options.maxStrikes) return
    const dropped = P2PError.PEER_MISBEHAVING(`dht: peer ${shortId(session.key)} dropped after ${session.strikes} bad messages (${err.message})`)
    session.peer.destroy(dropped)
    this.emit('error', dropped)
  }

  #send(session: Session, bytes: Uint8Array): void {
    if (!session.channel.closed) session.channel.send(bytes)
  }

  // ---- requests ---------------------------------------------------------------

  /** Sends the message `make(id)` to `key`, directly or along `via`, and resolves with its answer. */
  #request(via: string[], key: string, make: (id: number) => Uint8Array): Promise<DhtMessage> {
    const first = this.#sessions.get(via[0] ?? key)
    this.#stats.requests++
    if (!first) {
      this.#stats.failures++
      return Promise.reject(P2PError.CONNECTION_CLOSED(`not connected to ${shortId(via[0] ?? key)}`))
    }
    const id = this.#takeId()
    return new Promise<DhtMessage>((resolve, reject) => {
      const timer = this.#clock.setTimeout(() => {
        this.#pending.delete(id)
        this.#stats.failures++
        reject(P2PError.PEER_TIMEOUT(`no answer from ${shortId(key)} in ${this.#options.timeout * (via.length + 1)} ms`))
      }, this.#options.timeout * (via.length + 1))
      this.#pending.set(id, {resolve, reject, timer, session: first})
      const inner = make(id)
      this.#send(first, via.length === 0 ? inner : encodeRelay(id, [...via, key].map(fromHex), inner))
    })
  }

  /** A request id of this node's: its own requests and the relays it forwards share them, so they never collide. */
  #takeId(): number {
    const id = this.#nextId
    this.#nextId = this.#nextId >= 0xffffffff ? 1 : this.#nextId + 1
    return id
  }

  #answered(session: Session, id: number, message: DhtMessage): void {
    const pending = this.#pending.get(id)
    if (!pending || pending.session !== session) {
      this.#strike(session, P2PError.MALFORMED_MESSAGE(`an answer to no request (${id})`))
      return
    }
    this.#pending.delete(id)
    this.#clock.clearTimeout(pending.timer)
    pending.resolve(message)
  }

  // ---- receiving --------------------------------------------------------------

  /** Decodes a peer's message; what is not one is a strike, and undefined. */
  #decode(session: Session, bytes: Uint8Array): DhtMessage | undefined {
    try {
      return decodeDhtMessage(bytes)
    } catch (err) {
      this.#strike(session, err as P2PError)
      return undefined
    }
  }

  #receive(session: Session, bytes: Uint8Array): void {
    if (this.#closed) return
    const message = this.#decode(session, bytes)
    if (!message) return
    switch (message.type) {
      case DhtMessageType.FIND:
      case DhtMessageType.PING: {
        const answer = this.#answer(message, session.key)
        if (answer) this.#send(session, answer)
        return
      }
      case DhtMessageType.NODES:
      case DhtMessageType.PONG:
        this.#answered(session, message.id, message)
        return
      case DhtMessageType.RELAY:
        this.#relay(session, message.id, message.route.map(toHex), message.inner)
        return
      case DhtMessageType.RELAY_REPLY:
        this.#relayReply(session, message.id, message.inner)
        return
      default:
        // Signals come with relayed signalling (docs/dht.md, not built yet).
        this.#strike(session, P2PError.MALFORMED_MESSAGE(`a message of type ${message.type} this node does not take yet`))
    }
  }

  /** The answer to a FIND or a PING, from here: for a FIND, the connected peers closest to its target (not the asker). */
  #answer(message: DhtMessage, asker: string): Uint8Array | undefined {
    if (message.type === DhtMessageType.PING) return encodePing(message.id, true)
    if (message.type !== DhtMessageType.FIND) return undefined
    const closest = this.table.closest(message.target, Math.min(this.#options.k, MAX_NODES), contact => contact.key === asker)
    return encodeNodes(message.id, closest.map(contact => fromHex(contact.key)))
  }

  /**
   * A RELAY names this node first in its route: with nothing after it, the inner
   * message is for this node; else it goes on to the next key, a connected peer,
   * under an id of this node's.
   */
  #relay(from: Session, id: number, route: string[], inner: Uint8Array): void {
    if (route[0] !== this.publicKey) {
      this.#strike(from, P2PError.MALFORMED_MESSAGE('a RELAY whose route does not start here'))
      return
    }
    if (route.length === 1) {
      const message = this.#decode(from, inner)
      if (!message) return
      const answer = this.#answer(message, from.key)
      if (answer) this.#send(from, encodeRelayReply(id, answer))
      else this.#strike(from, P2PError.MALFORMED_MESSAGE('a relayed message that is not a request'))
      return
    }
    if (!from.relayLimit.take()) {
      this.#stats.refused++
      this.#strike(from, P2PError.RATE_LIMITED(`peer ${shortId(from.key)} relays more than ${this.#options.relayRate} a second`))
      return
    }
    const next = this.#sessions.get(route[1])
    if (!next) {
      this.#stats.refused++
      return
    }
    const forwardId = this.#takeId()
    this.#forwarded.set(forwardId, {from, id, to: next})
    this.#stats.relayed++
    this.#send(next, encodeRelay(forwardId, route.slice(1).map(fromHex), inner))
  }

  /** An answer coming back: to the request this node made, or to the one it forwarded under that id. */
  #relayReply(session: Session, id: number, inner: Uint8Array): void {
    const forwarded = this.#forwarded.get(id)
    if (forwarded) {
      if (forwarded.to !== session) {
        this.#strike(session, P2PError.MALFORMED_MESSAGE(`a reply to a relay it was not sent (${id})`))
        return
      }
      this.#forwarded.delete(id)
      this.#send(forwarded.from, encodeRelayReply(forwarded.id, inner))
      return
    }
    const message = this.#decode(session, inner)
    if (!message) return
    if (message.type !== DhtMessageType.NODES && message.type !== DhtMessageType.PONG) {
      this.#strike(session, P2PError.MALFORMED_MESSAGE('a relayed reply that is not an answer'))
      return
    }
    this.#answered(session, id, message)
  }
}
