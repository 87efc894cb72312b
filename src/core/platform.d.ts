// What the core uses of its platforms beyond ES2022 and the web-worker globals
// (fetch, EventSource, BroadcastChannel, navigator.locks, crypto.subtle, timers,
// TextEncoder, Blob). tsconfig.core.json compiles src/core against this file and
// lib.webworker, with no DOM: `document` or `window` in the core fails the build,
// because the core must run as well in Node (the hub, the bot) as in a page.
// Only that program reads this file; the others have the DOM's full declarations.

type RTCIceTransportPolicy = 'all' | 'relay'
type RTCIceConnectionState = 'checking' | 'closed' | 'completed' | 'connected' | 'disconnected' | 'failed' | 'new'
type RTCPeerConnectionState = 'closed' | 'connected' | 'connecting' | 'disconnected' | 'failed' | 'new'
type RTCIceGatheringState = 'complete' | 'gathering' | 'new'
type RTCSignalingState = 'closed' | 'have-local-offer' | 'have-local-pranswer' | 'have-remote-offer' | 'have-remote-pranswer' | 'stable'

interface RTCIceServer {
  urls: string | string[]
  username?: string
  credential?: string
}

interface RTCConfiguration {
  iceServers?: RTCIceServer[]
  iceTransportPolicy?: RTCIceTransportPolicy
}

interface RTCSctpTransport {
  readonly maxMessageSize: number
}

interface RTCDataChannelEvent extends Event {
  readonly channel: RTCDataChannel
}

type RTCSdpType = 'answer' | 'offer' | 'pranswer' | 'rollback'

interface RTCSessionDescriptionInit {
  type: RTCSdpType
  sdp?: string
}

interface RTCIceCandidateInit {
  candidate?: string
  sdpMLineIndex?: number | null
  sdpMid?: string | null
}

interface RTCPeerConnectionIceEvent extends Event {
  readonly candidate: {readonly candidate: string, readonly sdpMLineIndex: number | null, readonly sdpMid: string | null} | null
}

interface RTCPeerConnectionEventMap {
  datachannel: RTCDataChannelEvent
  icecandidate: RTCPeerConnectionIceEvent
  signalingstatechange: Event
  iceconnectionstatechange: Event
  icegatheringstatechange: Event
  connectionstatechange: Event
}

/** The members of a WebRTC connection the core touches (see swarm/rtc-link.ts). */
interface RTCPeerConnection extends EventTarget {
  readonly connectionState: RTCPeerConnectionState
  readonly iceConnectionState: RTCIceConnectionState
  readonly iceGatheringState: RTCIceGatheringState
  readonly signalingState: RTCSignalingState
  readonly localDescription: {readonly sdp: string} | null
  readonly remoteDescription: {readonly sdp: string} | null
  readonly sctp: RTCSctpTransport | null
  setConfiguration(configuration?: RTCConfiguration): void
  restartIce(): void
  createDataChannel(label: string): RTCDataChannel
  createOffer(): Promise<RTCSessionDescriptionInit>
  createAnswer(): Promise<RTCSessionDescriptionInit>
  setLocalDescription(description: RTCSessionDescriptionInit): Promise<void>
  setRemoteDescription(description: RTCSessionDescriptionInit): Promise<void>
  addIceCandidate(candidate: RTCIceCandidateInit): Promise<void>
  getStats(): Promise<Map<string, Record<string, unknown>>>
  close(): void
  addEventListener<K extends keyof RTCPeerConnectionEventMap>(type: K, listener: (event: RTCPeerConnectionEventMap[K]) => void): void
  removeEventListener<K extends keyof RTCPeerConnectionEventMap>(type: K, listener: (event: RTCPeerConnectionEventMap[K]) => void): void
}

/** Present in pages (absent in Node, where node-datachannel's polyfill stands in: see src/node/webrtc.ts). */
declare var RTCPeerConnection: {
  prototype: RTCPeerConnection
  new (configuration?: RTCConfiguration): RTCPeerConnection
} | undefined

/** Node's: runs a callback after pending I/O (the memory transport prefers it). */
declare function setImmediate(callback: () => void): unknown

/** A page's localStorage, read for the debug pattern when there is one. */
interface Storage {
  getItem(key: string): string | null
}
