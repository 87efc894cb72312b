// A swarm without WebRTC for protocol tests: peers are real muxes over an
// in-memory transport pair, named by the keys the tests choose.
import {Emitter} from '../../src/core/emitter.js'
import type {P2PError} from '../../src/core/errors.js'
import {Mux, createMemoryTransportPair, type Channel, type ChannelHandlers, type MemoryTransportOptions} from '../../src/core/mux/index.js'
import {KeyPairIdentity} from '../../src/core/crypto/seed-identity.js'
import type {ProtocolPeer, ProtocolSwarm} from '../../src/core/swarm/protocol-host.js'
import type {SignalledConnection} from '../../src/core/dht/dht.js'
import type {RtcSignal} from '../../src/core/swarm/rtc-link.js'

/** One end of a connection: a real mux, named by the remote's key. */
export class FakePeer implements ProtocolPeer {
  destroyed: P2PError | undefined | null = null
  /** Sees each message this end receives, by channel name, before the protocol does: for tests that watch the traffic. */
  onreceive: ((channel: string, bytes: Uint8Array) => void) | null = null
  constructor(readonly publicKey: string, readonly mux: Mux, private readonly onDestroy: (peer: FakePeer) => void) {}
  channel(name: string, handlers: ChannelHandlers): Channel {
    return this.mux.channel(name, {
      onmessage: bytes => {
        this.onreceive?.(name, bytes)
        handlers.onmessage(bytes)
      },
      onclose: () => handlers.onclose?.(),
    })
  }
  destroy(err?: P2PError): void {
    if (this.destroyed !== null) return
    this.destroyed = err
    this.mux.destroy()
    this.onDestroy(this)
  }
}

/** Fake swarms that take signalled connections, by key. */
const signalling = new Map<string, FakeSwarm>()

export class FakeSwarm extends Emitter<{connect: (peer: ProtocolPeer) => void, disconnect: (peer: ProtocolPeer) => void}> implements ProtocolSwarm {
  readonly peers: FakePeer[] = []
  readonly identity = new KeyPairIdentity()
  /** Set by `signalsAs`: the key this swarm's signalled connections are made under. */
  key: string | null = null
  /** Peers and signalled connections on their way, at most. */
  maxPeers = Infinity
  /** Ms a signalled connection may take to connect before it is given up, as a real one's connectTimeout. */
  connectTimeout = 5_000
  /** Signalled connections made (initiated or answered), and every signal each side received. */
  signalledMade = 0
  readonly signalsIn: RtcSignal[] = []
  readonly #pending = new Set<string>()

  /** Takes signalled connections (`Swarm.signalled`'s contract) as `key`: an offer and an answer that carry nothing, then a linked pair of muxes. */
  signalsAs(key: string): this {
    this.key = key
    signalling.set(key, this)
    return this
  }

  connectedTo(key: string): boolean {
    return this.peers.some(p => p.publicKey === key)
  }

  signalled(key: string, initiator: boolean, send: (signal: RtcSignal) => void): SignalledConnection | null {
    const self = this.key
    if (self === null || this.#pending.has(key) || this.peers.some(p => p.publicKey === key) || this.peers.length + this.#pending.size >= this.maxPeers) return null
    this.signalledMade++
    this.#pending.add(key)
    let settle!: (connected: boolean) => void
    const done = new Promise<boolean>(resolve => {
      settle = resolve
    })
    const timer = setTimeout(() => finish(false), this.connectTimeout)
    const finish = (connected: boolean): void => {
      clearTimeout(timer)
      this.off('connect', onConnect)
      if (!this.#pending.delete(key)) return
      settle(connected)
    }
    const onConnect = (peer: ProtocolPeer): void => {
      if (peer.publicKey === key) finish(true)
    }
    this.on('connect', onConnect)
    if (initiator) queueMicrotask(() => send({type: 'offer', sdp: `offer from ${self}`}))
    return {
      signal: signal => {
        this.signalsIn.push(signal)
        if (!this.#pending.has(key)) return
        if (signal.type === 'offer' && !initiator) send({type: 'answer', sdp: `answer from ${self}`})
        const remote = signalling.get(key)
        if (signal.type === 'answer' && initiator && remote) connect(this, self, remote, key)
      },
      close: () => finish(false),
      done,
    }
  }

  add(peer: FakePeer): void {
    this.peers.push(peer)
    this.emit('connect', peer)
  }
  remove(peer: FakePeer): void {
    const i = this.peers.indexOf(peer)
    if (i === -1) return
    this.peers.splice(i, 1)
    this.emit('disconnect', peer)
  }
}

/** Connects two swarms with a pair of muxes, as a data channel would; each side names the remote by its key. */
export function connect(a: FakeSwarm, aKey: string, b: FakeSwarm, bKey: string, options?: MemoryTransportOptions): {atA: FakePeer, atB: FakePeer} {
  const [ta, tb] = createMemoryTransportPair(options)
  const quiet = {pingInterval: 0, timeout: 0}
  const atA = new FakePeer(bKey, new Mux(ta, quiet), peer => a.remove(peer))
  const atB = new FakePeer(aKey, new Mux(tb, quiet), peer => b.remove(peer))
  atA.mux.on('close', () => atA.destroy())
  atB.mux.on('close', () => atB.destroy())
  a.add(atA)
  b.add(atB)
  return {atA, atB}
}
