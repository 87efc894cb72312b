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
 * option: `new Swarm({room, hubs, identity: await createIdentity(), webrtc: await loadNodeWebRTC()})`. Throws
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
  let polyfill: {RTCPeerConnection?: unknown, RTCSessionDescription?: unknown}
  let native: {cleanup?: unknown}
  try {
    [polyfill, native] = await Promise.all([import('node-datachannel/polyfill'), import('node-datachannel')])
  } catch (err) {
    throw P2PError.WEBRTC_UNSUPPORTED(
      `Node has no WebRTC of its own: \`npm install ${NODE_WEBRTC_PACKAGE}\` (${(err as Error).message})`, err)
  }
  const Base = polyfill.RTCPeerConnection
  const Description = polyfill.RTCSessionDescription
  const cleanup = native.cleanup
  if (typeof Base !== 'function' || typeof Description !== 'function' || typeof cleanup !== 'function') {
    throw P2PError.WEBRTC_UNSUPPORTED(`node-datachannel has no RTCPeerConnection: install ${NODE_WEBRTC_PACKAGE}`)
  }
  // node-datachannel's threads keep the process alive until its cleanup() runs,
  // which its polyfill never calls: a program whose connections are all closed
  // would never exit. Cleaned up when the last open connection closes; a new
  // connection after that starts the library again.
  let open = 0
  class NodeRTCPeerConnection extends (Base as PeerConnectionClass) {
    #counted = true
    /** Our candidates gathered while our offer waits for its answer (see #offering). */
    #held: Event[] = []

    constructor(configuration?: RTCConfiguration) {
      super(configuration)
      open++
    }

    // libdatachannel (0.24.5, under node-datachannel 0.33.4) gives its ICE agent
    // the remote's credentials before it stores the remote description, whose
    // fingerprint its DTLS checks the remote's certificate against. A remote that
    // already knows our candidates has been checking them since our offer, so on
    // a busy machine ICE and the whole DTLS handshake can finish in that gap: the
    // certificate is refused, and the answer with it ("Got a remote candidate
    // without ICE transport"), or the connection dies unreported. Without our
    // candidates the remote has nothing to check until the answer is set here, so
    // the offer goes without them and they follow the answer.
    get #offering(): boolean {
      return this.signalingState === 'have-local-offer'
    }

    override get localDescription(): RTCSessionDescription | null {
      const description = super.localDescription
      if (!description || !this.#offering) return description
      return new (Description as typeof RTCSessionDescription)({type: description.type, sdp: withoutCandidates(description.sdp)})
    }

    override dispatchEvent(event: Event): boolean {
      if (event.type === 'icecandidate' && this.#offering) {
        this.#held.push(event)
        return true
      }
      return super.dispatchEvent(event)
    }

    override async setRemoteDescription(description: RTCSessionDescriptionInit): Promise<void> {
      await super.setRemoteDescription(description)
      for (const event of this.#held.splice(0)) super.dispatchEvent(event)
    }

    override close(): void {
      this.#held = []
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

/** An SDP without its candidates and end-of-candidates lines. */
function withoutCandidates(sdp: string): string {
  return sdp.replace(/^a=(?:candidate:|end-of-candidates).*\r?\n/gm, '')
}
