// The parts of @thaunknown/simple-peer (lite build) the tests use: it is a dev
// dependency only, the foreign app of test/browser/swarm.test.ts and the peer the
// kit's own WebRTC driver connects to in test/browser/rtc-link.test.ts. The kit
// itself drives RTCPeerConnection through src/core/swarm/rtc-link.ts.
declare module '@thaunknown/simple-peer/lite.js' {
  export interface SimplePeerOptions {
    initiator?: boolean
    config?: RTCConfiguration
    channelName?: string
  }
  export default class SimplePeer {
    constructor(opts?: SimplePeerOptions)
    signal(data: object | string): void
    send(data: Uint8Array | string): void
    destroy(err?: Error): void
    on(event: 'signal', listener: (data: object) => void): this
    once(event: 'data', listener: (data: Uint8Array) => void): this
    once(event: 'connect', listener: () => void): this
  }
}
