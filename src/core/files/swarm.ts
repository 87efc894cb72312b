/**
 * Plugs the file protocol into a swarm: one mux channel and one `FilePeer`
 * session per connected peer, keyed by the peer's proven public key. The
 * sessions decode; this file only wires them to connections, as
 * `attachGossip` does for gossip.
 */
import {createDebug, shortId} from '../debug.js'
import {Emitter} from '../emitter.js'
import type {P2PError} from '../errors.js'
import type {Clock} from '../clock.js'
import type {ChunkStore} from './chunk-store.js'
import {FilePeer, UploadCounts} from './file-peer.js'
import {hostProtocol, type ProtocolPeer, type ProtocolSwarm} from '../swarm/protocol-host.js'

export const FILES_PROTOCOL = 'p2p/files/1'

const debug = createDebug('p2p:files')

/** Kept as names of the files API; the shapes are the swarm's, shared by every protocol. */
export type FilesPeerConnection = ProtocolPeer
export type FilesSwarm = ProtocolSwarm

export interface AttachFilesOptions {
  /** The mux channel name; two stores on one swarm need two names. */
  protocol?: string
  /** Requests each remote may have waiting with us. */
  maxRequests?: number
  /** Time for the sessions' seeding holds; the system's by default. */
  clock?: Clock
}

export type AttachedFilesEvents = {
  /** A session started with the peer of this key. */
  peer: (key: string, peer: FilePeer) => void
  /** A session ended; `err` if the remote broke the protocol (its connection is destroyed too). */
  drop: (key: string, peer: FilePeer, err?: P2PError) => void
}

export interface AttachedFiles {
  /** Ends every session and stops following the swarm (the store and the swarm live on). */
  detach(): void
  /** The live sessions, by the remote's public key. */
  peers(): Map<string, FilePeer>
  on<K extends keyof AttachedFilesEvents>(event: K, listener: AttachedFilesEvents[K]): unknown
  off<K extends keyof AttachedFilesEvents>(event: K, listener: AttachedFilesEvents[K]): unknown
}

/** Only a remote that broke the protocol loses its connection; a local storage failure does not. */
const PROTOCOL_ERRORS = new Set(['ERR_MALFORMED_MESSAGE', 'ERR_MESSAGE_TOO_LARGE', 'ERR_PEER_MISBEHAVING'])

class Attached extends Emitter<AttachedFilesEvents> {
  fire<K extends keyof AttachedFilesEvents>(event: K, ...args: Parameters<AttachedFilesEvents[K]>): void {
    this.emit(event, ...args)
  }
}

/**
 * Starts a file session with every connected peer of `swarm`, now and as they
 * connect, serving from `store`, and ends it as they leave. A session that ends
 * with a protocol error destroys that peer's connection with the error.
 */
export function attachFiles(store: ChunkStore, swarm: FilesSwarm, {protocol = FILES_PROTOCOL, maxRequests, clock}: AttachFilesOptions = {}): AttachedFiles {
  const events = new Attached()
  const uploads = new UploadCounts(clock)
  const host = hostProtocol<FilePeer>(swarm, {
    start(conn, key, ended) {
      const session = new FilePeer({store, maxRequests, uploads, open: handlers => conn.channel(protocol, handlers)})
      session.on('close', err => {
        ended()
        debug('drop', shortId(key), err?.message ?? '')
        events.fire('drop', key, session, err)
        if (err && PROTOCOL_ERRORS.has(err.code)) conn.destroy(err)
      })
      debug('peer', shortId(key))
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
