/**
 * Plugs log replication into a swarm: one mux channel and one `LogPeer`
 * session per connected peer for each attached log, keyed by the peer's proven
 * public key. The sessions decode; this file only wires them to connections,
 * as `attachFiles` does for files.
 */
import {createDebug, shortId} from '../debug.js'
import {Emitter} from '../emitter.js'
import {P2PError} from '../errors.js'
import {hostProtocol, type ProtocolPeer, type ProtocolSwarm} from '../swarm/protocol-host.js'
import {LogPeer, type LogProgress, type ReplicaLog} from './replicate.js'

const debug = createDebug('p2p:log')

/** The mux channel of the log with this address (hex). */
export function logProtocol(address: string): string {
  return `p2p/log/2/${address}`
}

export interface AttachLogOptions {
  /** The log's bound on a value, as given to the Log. */
  maxValueBytes?: number
}

export type AttachedLogEvents = {
  /** A session started with the peer of this key. */
  peer: (key: string, peer: LogPeer) => void
  /** How far along replication with that peer is. */
  progress: (key: string, progress: LogProgress) => void
  /** A session ended; `err` if the remote broke the protocol (its connection is destroyed too). */
  drop: (key: string, peer: LogPeer, err?: P2PError) => void
}

export interface AttachedLog {
  /** Ends every session and stops following the swarm (the log and the swarm live on). */
  detach(): void
  /** The live sessions, by the remote's public key. */
  peers(): Map<string, LogPeer>
  on<K extends keyof AttachedLogEvents>(event: K, listener: AttachedLogEvents[K]): unknown
  off<K extends keyof AttachedLogEvents>(event: K, listener: AttachedLogEvents[K]): unknown
}

/**
 * Only a remote that broke the protocol or sent entries no honest peer holds
 * loses its connection; a local storage failure does not.
 */
const PROTOCOL_ERRORS = new Set(['ERR_MALFORMED_MESSAGE', 'ERR_MESSAGE_TOO_LARGE', 'ERR_PEER_MISBEHAVING'])
/**
 * Entries no honest peer holds: every peer checks an entry before it stores or
 * relays it, and the checks depend on the entry and its causal past alone. So
 * the sender forged them, and is dropped as misbehaving (the swarm then bans
 * its key, as for any ERR_PEER_MISBEHAVING) with the finding as the cause;
 * otherwise it would reconnect at once and start again.
 */
const FORGERIES = new Set(['ERR_INVALID_SIGNATURE', 'ERR_HASH_MISMATCH', 'ERR_NOT_A_WRITER'])

class Attached extends Emitter<AttachedLogEvents> {
  fire<K extends keyof AttachedLogEvents>(event: K, ...args: Parameters<AttachedLogEvents[K]>): void {
    this.emit(event, ...args)
  }
}

/**
 * Replicates `log` with one connected peer whose key is proven, live and both
 * ways, until the session is destroyed or ends. A session that ends with a
 * protocol error destroys that peer's connection with the error; `onclose`
 * hears every end.
 */
export function replicatePeer(log: ReplicaLog & {readonly address: string}, peer: ProtocolPeer, {maxValueBytes}: AttachLogOptions = {},
  onclose?: (session: LogPeer, err?: P2PError) => void): LogPeer {
  const key = peer.publicKey
  if (!key) throw P2PError.INVALID_ARGUMENT('a peer replicates once its key is proven')
  const session = new LogPeer({log, source: key, maxValueBytes, open: handlers => peer.channel(logProtocol(log.address), handlers)})
  session.on('close', err => {
    debug('drop', shortId(log.address), shortId(key), err?.message ?? '')
    onclose?.(session, err)
    if (err && FORGERIES.has(err.code)) peer.destroy(P2PError.PEER_MISBEHAVING(`peer ${shortId(key)} sent log entries no honest peer holds`, err))
    else if (err && PROTOCOL_ERRORS.has(err.code)) peer.destroy(err)
  })
  debug('peer', shortId(log.address), shortId(key))
  return session
}

/**
 * Replicates `log` with every connected peer of `swarm` that holds it too (a
 * peer without it never opens the channel, and the mux holds what we sent it
 * within its bound), now and as peers connect. A session that ends with a
 * protocol error destroys that peer's connection with the error.
 */
export function attachLog(log: ReplicaLog & {readonly address: string}, swarm: ProtocolSwarm, options: AttachLogOptions = {}): AttachedLog {
  const events = new Attached()
  const host = hostProtocol<LogPeer>(swarm, {
    start(conn, key, ended) {
      const session = replicatePeer(log, conn, options, (closed, err) => {
        ended()
        events.fire('drop', key, closed, err)
      })
      session.on('progress', progress => events.fire('progress', key, progress))
      events.fire('peer', key, session)
      return session
    },
    stop: session => session.destroy(),
  })

  return {
    detach: () => host.detach(),
    peers: () => host.sessions(),
    on: (event, listener) => events.on(event, listener),
    off: (event, listener) => events.off(event, listener),
  }
}
