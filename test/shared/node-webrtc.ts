// Node's WebRTC for the tests, scripts and benches that make real connections in
// Node: loaded through the kit's own Node entry (src/node/webrtc.ts), as an app
// would, and installed as the platform's RTCPeerConnection so every swarm and
// connection of the process finds it. Import it before making any.
import {loadNodeWebRTC} from '../../src/node/index.js'

export const webrtc = await loadNodeWebRTC()
;(globalThis as {RTCPeerConnection?: unknown}).RTCPeerConnection ??= webrtc.RTCPeerConnection
