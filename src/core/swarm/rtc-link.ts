import {Emitter} from '../emitter.js'
import {P2PError} from '../errors.js'
import {createDebug} from '../debug.js'

const debug = createDebug('p2p:rtc')

/**
 * A signalling message, in simple-peer's shapes: the hub carries them for every
 * kit peer, and webrtc-swarm apps send them too (told apart, then refused, by
 * the data channel's label). `transceiverRequest` (media) is accepted and ignored.
 */
export interface RtcSignal {
  type?: 'offer' | 'answer' | 'candidate' | 'renegotiate' | 'transceiverRequest'
  sdp?: string
  candidate?: unknown
  renegotiate?: boolean
  [key: string]: unknown
}

/** A WebRTC implementation: a browser's own, or Node's through `p2p-elements/node`. */
export interface WebRTC {
  RTCPeerConnection: new (configuration?: RTCConfiguration) => RTCPeerConnection
}

/** Misuse throws at once: a `webrtc` option that has no RTCPeerConnection constructor. */
export function checkWebRTC(webrtc: unknown): asserts webrtc is WebRTC {
  if (typeof (webrtc as WebRTC | null)?.RTCPeerConnection !== 'function') {
    throw P2PError.INVALID_ARGUMENT('webrtc must be an object with an RTCPeerConnection constructor')
  }
}

/** The implementation given, else the platform's; ERR_WEBRTC_UNSUPPORTED where there is none. */
export function resolveWebRTC(webrtc?: WebRTC): WebRTC {
  if (webrtc !== undefined) {
    checkWebRTC(webrtc)
    return webrtc
  }
  const own = globalThis.RTCPeerConnection
  if (typeof own === 'function') return {RTCPeerConnection: own}
  throw P2PError.WEBRTC_UNSUPPORTED('no RTCPeerConnection here: in Node, install node-datachannel and pass ' +
    "`webrtc: await loadNodeWebRTC()` (from 'p2p-elements/node') to the swarm")
}

/**
 * Remote candidates held until the remote description is set. A peer trickles
 * a few per network interface (a dozen on a busy machine); past this bound it
 * is flooding, and the extra ones are dropped.
 */
const MAX_PENDING_CANDIDATES = 64

export interface RtcLinkOptions {
  /** A fresh connection; the link drives it and closes it on destroy. */
  pc: RTCPeerConnection
  /** The initiator creates the data channel and makes every offer. */
  initiator: boolean
  /** The data channel's label (the initiator's); the responder takes whatever label comes. */
  label: string
}

export type RtcLinkEvents = {
  /** A signalling message to deliver to the remote. */
  signal: (signal: RtcSignal) => void
  /** The data channel exists (the initiator's at once, the responder's when it arrives); not open yet. */
  channel: (channel: RTCDataChannel) => void
  /** The data channel is open: ICE, DTLS and SCTP are all up. */
  connect: () => void
  iceStateChange: (state: RTCIceConnectionState) => void
  error: (err: P2PError) => void
  close: () => void
}

/**
 * One RTCPeerConnection with one data channel, negotiated by offer and answer
 * with trickle ICE, speaking simple-peer's signal format. The initiator makes
 * every offer, one at a time: a renegotiation asked for while one is in flight
 * waits until signalling is stable again; the responder asks the initiator for
 * one with a `renegotiate` signal. Socket-like: `destroy(err)` emits `error`
 * then `close`, once.
 */
export class RtcLink extends Emitter<RtcLinkEvents> {
  readonly pc: RTCPeerConnection
  readonly initiator: boolean
  channel: RTCDataChannel | null = null
  /** Remote candidates dropped: past the pending bound, or refused by the connection. */
  droppedCandidates = 0

  #destroyed = false
  #remoteSet = false
  #pending: RTCIceCandidateInit[] = []
  #opened = false
  #offering = false
  #offerQueued = false
  /** Remote descriptions are applied in the order they came, each after the one before. */
  #remoteChain: Promise<void> = Promise.resolve()

  constructor(opts: RtcLinkOptions) {
    super()
    this.pc = opts.pc
    this.initiator = opts.initiator
    const pc = this.pc
    pc.addEventListener('icecandidate', this.#onCandidate)
    pc.addEventListener('iceconnectionstatechange', this.#onIceState)
    pc.addEventListener('connectionstatechange', this.#onConnectionState)
    pc.addEventListener('signalingstatechange', this.#onSignalingState)
    if (opts.initiator) {
      // Created before the first offer, so the offer carries the data channel's m-line.
      this.#setChannel(pc.createDataChannel(opts.label))
      this.negotiate()
    } else {
      pc.addEventListener('datachannel', this.#onDataChannel)
    }
  }

  get destroyed(): boolean {
    return this.#destroyed
  }

  /** Feeds a signal from the remote. A malformed one ends the link (ERR_CONNECTION_FAILED). */
  signal(signal: RtcSignal): void {
    if (this.#destroyed) return
    if (typeof signal !== 'object' || signal === null) return this.destroy(P2PError.CONNECTION_FAILED('a signal is an object'))
    if (signal.renegotiate === true || signal.type === 'renegotiate') {
      if (this.initiator) this.negotiate()
      return
    }
    if (signal.transceiverRequest !== undefined || signal.type === 'transceiverRequest') return
    if (signal.candidate !== undefined && signal.candidate !== null) return this.#addCandidate(signal.candidate)
    if ((signal.type === 'offer' || signal.type === 'answer') && typeof signal.sdp === 'string') {
      return this.#setRemote(signal.type, signal.sdp)
    }
    this.destroy(P2PError.CONNECTION_FAILED(`not a signal: ${JSON.stringify(signal).slice(0, 80)}`))
  }

  /**
   * Starts a renegotiation (an ICE restart, after `pc.restartIce()`): an offer
   * from the initiator, once the one in flight is answered; a `renegotiate`
   * request from the responder.
   */
  negotiate(): void {
    if (this.#destroyed) return
    if (!this.initiator) {
      this.emit('signal', {type: 'renegotiate', renegotiate: true})
      return
    }
    if (this.#offering) {
      this.#offerQueued = true
      return
    }
    this.#offering = true
    void this.#describe('offer')
  }

  /** Closes the data channel and the connection. With an error, `error` comes before `close`. */
  destroy(err?: P2PError): void {
    if (this.#destroyed) return
    this.#destroyed = true
    const pc = this.pc
    pc.removeEventListener('icecandidate', this.#onCandidate)
    pc.removeEventListener('iceconnectionstatechange', this.#onIceState)
    pc.removeEventListener('connectionstatechange', this.#onConnectionState)
    pc.removeEventListener('signalingstatechange', this.#onSignalingState)
    pc.removeEventListener('datachannel', this.#onDataChannel)
    this.channel?.removeEventListener('open', this.#onOpen)
    this.channel?.removeEventListener('close', this.#onChannelClose)
    this.#pending = []
    try {
      this.channel?.close()
    } catch {
      // Node's implementation throws on a channel its connection already let go.
    }
    // Even a connection already closed by the remote: close() is what releases it
    // (Node's implementation frees its native side only then, see src/node/webrtc.ts).
    pc.close()
    debug('closed', err?.message ?? '')
    if (err) this.emit('error', err)
    this.emit('close')
    this.removeAllListeners()
  }

  /** Makes our offer or answer, sets it and sends it. */
  async #describe(type: 'offer' | 'answer'): Promise<void> {
    try {
      const description = await (type === 'offer' ? this.pc.createOffer() : this.pc.createAnswer())
      if (this.#destroyed) return
      await this.pc.setLocalDescription(description)
      if (this.#destroyed) return
      this.emit('signal', {type, sdp: this.pc.localDescription?.sdp ?? description.sdp})
    } catch (err) {
      this.#fail(type === 'offer' ? 'could not make an offer' : 'could not answer', err)
    }
  }

  #setRemote(type: 'offer' | 'answer', sdp: string): void {
    this.#remoteChain = this.#remoteChain.then(async () => {
      if (this.#destroyed) return
      try {
        await this.pc.setRemoteDescription({type, sdp})
      } catch (err) {
        return this.#fail(`the remote's ${type} was refused`, err)
      }
      if (this.#destroyed) return
      this.#remoteSet = true
      for (const c of this.#pending.splice(0)) this.#addCandidate(c)
      if (type === 'offer') await this.#describe('answer')
    })
  }

  #addCandidate(candidate: unknown): void {
    if (typeof candidate !== 'object' || candidate === null) {
      return this.destroy(P2PError.CONNECTION_FAILED('a candidate is an object'))
    }
    const init = candidate as RTCIceCandidateInit
    if (!this.#remoteSet) {
      if (this.#pending.length < MAX_PENDING_CANDIDATES) this.#pending.push(init)
      else this.droppedCandidates++
      return
    }
    // A candidate the connection cannot use (another ICE generation after a
    // restart, an mDNS name it cannot resolve, junk) only fails itself: ICE
    // decides on the others, and fails the connection if none works.
    this.pc.addIceCandidate(init).catch((err: unknown) => {
      this.droppedCandidates++
      debug('candidate refused', (err as Error)?.message)
    })
  }

  #fail(what: string, err: unknown): void {
    if (this.#destroyed) return
    this.destroy(P2PError.CONNECTION_FAILED(`${what}: ${(err as Error)?.message ?? err}`, err))
  }

  #setChannel(channel: RTCDataChannel): void {
    this.channel = channel
    channel.addEventListener('open', this.#onOpen)
    channel.addEventListener('close', this.#onChannelClose)
    this.emit('channel', channel)
    // A channel may already be open when it is announced (Node delivers it so).
    if (channel.readyState === 'open') queueMicrotask(this.#onOpen)
  }

  #onDataChannel = (e: RTCDataChannelEvent) => {
    // One channel per link: a second one from the remote is not ours to serve.
    if (this.#destroyed || this.channel) return e.channel.close()
    this.#setChannel(e.channel)
  }

  #onOpen = () => {
    if (this.#destroyed || this.#opened) return
    this.#opened = true
    this.emit('connect')
  }

  #onChannelClose = () => {
    if (this.#destroyed) return
    this.destroy()
  }

  #onCandidate = (e: RTCPeerConnectionIceEvent) => {
    if (this.#destroyed) return
    const c = e.candidate
    // The end of gathering (null, or an empty candidate) tells the remote nothing it needs.
    if (!c || !c.candidate) return
    this.emit('signal', {type: 'candidate', candidate: {candidate: c.candidate, sdpMLineIndex: c.sdpMLineIndex, sdpMid: c.sdpMid}})
  }

  #onIceState = () => {
    if (this.#destroyed) return
    const state = this.pc.iceConnectionState
    this.emit('iceStateChange', state)
    if (state === 'failed' || state === 'closed') this.destroy(P2PError.CONNECTION_FAILED(`ICE ${state}`))
  }

  #onConnectionState = () => {
    if (this.#destroyed) return
    if (this.pc.connectionState === 'failed') this.destroy(P2PError.CONNECTION_FAILED('the connection failed'))
  }

  #onSignalingState = () => {
    if (this.#destroyed || this.pc.signalingState !== 'stable') return
    this.#offering = false
    if (this.#offerQueued) {
      this.#offerQueued = false
      this.negotiate()
    }
  }
}
