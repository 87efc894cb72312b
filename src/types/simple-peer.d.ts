// The parts of @thaunknown/simple-peer (lite build) the kit relies on. The package
// ships no types; the private fields are named here because the swarm drives the
// data channel directly for backpressure (see src/core/swarm/peer-connection.ts).
declare module '@thaunknown/simple-peer/lite.js' {
  export interface SimplePeerSignal {
    type?: 'offer' | 'answer' | 'candidate' | 'renegotiate' | 'transceiverRequest'
    sdp?: string
    candidate?: unknown
    [key: string]: unknown
  }
  export interface SimplePeerOptions {
    initiator?: boolean
    config?: RTCConfiguration
    channelName?: string
    channelConfig?: RTCDataChannelInit
    trickle?: boolean
    objectMode?: boolean
  }
  export default class SimplePeer {
    constructor(opts?: SimplePeerOptions)
    readonly connected: boolean
    readonly destroyed: boolean
    readonly initiator: boolean
    _pc: RTCPeerConnection
    _channel: RTCDataChannel | null
    signal(data: SimplePeerSignal | string): void
    /** Starts a renegotiation: an offer from the initiator, a `renegotiate` request from the responder. */
    negotiate(): void
    /** Next chunk the stream buffered (streamx Readable), or null. */
    read(): Uint8Array | null
    send(data: Uint8Array | string): void
    destroy(err?: Error): void
    on(event: 'signal', listener: (data: SimplePeerSignal) => void): this
    on(event: 'connect' | 'close', listener: () => void): this
    on(event: 'error', listener: (err: Error & {code?: string}) => void): this
    on(event: 'iceStateChange', listener: (ice: RTCIceConnectionState, gathering: RTCIceGatheringState) => void): this
    on(event: string, listener: (...args: any[]) => void): this
    once(event: 'close', listener: () => void): this
    off(event: string, listener: (...args: any[]) => void): this
    removeAllListeners(event?: string): this
  }
}
