// WebRTC for Node: node-datachannel's RTCPeerConnection, loaded when asked for.
// The browser build never reaches this file, so a browser-only app installs no
// native module; a Node app that connects to peers (a bot, a mirror, a test)
// declares node-datachannel itself (an optional peer dependency of the kit).
import {P2PError} from '../core/errors.js'
import type {WebRTC} from '../core/swarm/rtc-link.js'

/** The package and version known to ship its native binary in the registry package (no download at install). */
export const NODE_WEBRTC_PACKAGE = 'node-datachannel@0.33.4'

type PeerConnectionClass = WebRTC['RTCPeerConnection']

let loaded: Promise<WebRTC> | null = null

/**
 * Loads node-datachannel's standard WebRTC API, to pass as a swarm's `webrtc`
 * option: `new Swarm({room, hubs, webrtc: await loadNodeWebRTC()})`. Throws
 * ERR_WEBRTC_UNSUPPORTED, naming the package to install, when it is missing.
 */
export function loadNodeWebRTC(): Promise<WebRTC> {
  loaded ??= load().catch(err => {
    loaded = null
    throw err
  })
  return loaded
}

async function load(): Promise<WebRTC> {
  let polyfill: {RTCPeerConnection?: unknown}
  let native: {cleanup?: unknown}
  try {
    [polyfill, native] = await Promise.all([import('node-datachannel/polyfill'), import('node-datachannel')])
  } catch (err) {
    throw P2PError.WEBRTC_UNSUPPORTED(
      `Node has no WebRTC of its own: \`npm install ${NODE_WEBRTC_PACKAGE}\` (${(err as Error).message})`, err)
  }
  const Base = polyfill.RTCPeerConnection
  const cleanup = native.cleanup
  if (typeof Base !== 'function' || typeof cleanup !== 'function') {
    throw P2PError.WEBRTC_UNSUPPORTED(`node-datachannel has no RTCPeerConnection: install ${NODE_WEBRTC_PACKAGE}`)
  }
  // node-datachannel's threads keep the process alive until its cleanup() runs,
  // which its polyfill never calls: a program whose connections are all closed
  // would never exit. Cleaned up when the last open connection closes; a new
  // connection after that starts the library again.
  let open = 0
  class NodeRTCPeerConnection extends (Base as PeerConnectionClass) {
    #counted = true
    constructor(configuration?: RTCConfiguration) {
      super(configuration)
      open++
    }

    override close(): void {
      try {
        super.close()
      } finally {
        if (this.#counted) {
          this.#counted = false
          if (--open === 0) (cleanup as () => void)()
        }
      }
    }
  }
  return {RTCPeerConnection: NodeRTCPeerConnection}
}
