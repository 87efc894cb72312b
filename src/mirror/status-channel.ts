/**
 * A mirror's status, told to the pages that ask (`<p2p-mirror-control>`), on a
 * mux channel of its own: a page sends one WATCH message to the peer whose
 * proven key is the mirror's, and the mirror answers with its status (JSON)
 * now and after each change, at most every STATUS_INTERVAL ms, the newest
 * only. The status comes over a connection whose key the handshake proved, so
 * only the mirror can say it; anything else on the channel is a typed error and
 * drops the sender. This is the mirror's side; the page's is status-watch.ts.
 * docs/mirror.md "Status in the browser".
 */
import {P2PError} from '../core/errors.js'
import {shortId} from '../core/debug.js'
import {hostProtocol, type ProtocolHost, type ProtocolPeer, type ProtocolSwarm} from '../core/swarm/protocol-host.js'
import type {Channel} from '../core/mux/mux.js'
import type {MirrorStatus} from './mirror.js'
import {MAX_STATUS_BYTES, MIRROR_STATUS_PROTOCOL, WATCH} from './status-watch.js'

export {MAX_STATUS_BYTES, MIRROR_STATUS_PROTOCOL, MirrorWatch, parseMirrorStatus} from './status-watch.js'
/** Least milliseconds between two statuses sent to one page. */
export const STATUS_INTERVAL = 500

const encoder = new TextEncoder()

// ---- the mirror's side ----------------------------------------------------------

interface Watcher {
  channel: Channel
  peer: ProtocolPeer
  watching: boolean
  /** A status is due once the interval has passed. */
  timer: ReturnType<typeof setTimeout> | undefined
  last: number
}

export interface StatusServer {
  /** The status changed: each watcher gets it, at most every STATUS_INTERVAL ms. */
  changed(): void
  /** Ends every session and stops following the swarm. */
  detach(): void
}

/**
 * Serves `status()` on MIRROR_STATUS_PROTOCOL to every peer of `swarm` that
 * watches. A second WATCH, or any other message, drops the peer
 * (PEER_MISBEHAVING, MALFORMED_MESSAGE): one WATCH is all an honest page sends.
 */
export function serveMirrorStatus(swarm: ProtocolSwarm, status: () => MirrorStatus): StatusServer {
  const send = (watcher: Watcher): void => {
    watcher.timer = undefined
    if (watcher.channel.closed) return
    watcher.last = Date.now()
    const bytes = encoder.encode(JSON.stringify(status()))
    // Only a mirror keeping thousands of logs gets here; the page would refuse it anyway.
    if (bytes.length <= MAX_STATUS_BYTES) watcher.channel.send(bytes)
  }
  const schedule = (watcher: Watcher): void => {
    if (!watcher.watching || watcher.timer !== undefined) return
    watcher.timer = setTimeout(() => send(watcher), Math.max(0, watcher.last + STATUS_INTERVAL - Date.now()))
  }
  const host: ProtocolHost<Watcher> = hostProtocol<Watcher>(swarm, {
    start(peer, key, ended) {
      const watcher: Watcher = {peer, watching: false, timer: undefined, last: 0} as Watcher
      watcher.channel = peer.channel(MIRROR_STATUS_PROTOCOL, {
        onmessage(bytes) {
          if (bytes.length !== 1 || bytes[0] !== WATCH) {
            peer.destroy(P2PError.MALFORMED_MESSAGE(`peer ${shortId(key)} sent ${bytes.length} bytes that are not a watch request on the mirror's status channel`))
          } else if (watcher.watching) {
            peer.destroy(P2PError.PEER_MISBEHAVING(`peer ${shortId(key)} asked for the mirror's status twice`))
          } else {
            watcher.watching = true
            send(watcher)
          }
        },
        onclose() {
          if (watcher.timer !== undefined) clearTimeout(watcher.timer)
          ended()
        },
      })
      return watcher
    },
    stop(watcher) {
      if (watcher.timer !== undefined) clearTimeout(watcher.timer)
      watcher.timer = undefined
      if (!watcher.channel.closed) watcher.channel.close()
    },
  })
  return {
    changed: () => {
      for (const watcher of host.sessions().values()) schedule(watcher)
    },
    detach: () => host.detach(),
  }
}
