import SimplePeer, {type SimplePeerSignal} from '@thaunknown/simple-peer/lite.js'
import {Emitter} from '../emitter.js'
import {P2PError, toP2PError} from '../errors.js'
import {randomBytes, toHex} from '../bytes.js'
import {createDebug, shortId} from '../debug.js'
import {systemClock, type Clock} from '../clock.js'
import type {Identity} from '../crypto/identity.js'
import {Mux, type MuxOptions, type Channel, type ChannelHandlers} from '../mux/mux.js'
import {fromDataChannel, type FrameTransport} from '../mux/transport.js'
import {MUX_PROTOCOL} from '../mux/messages.js'
import {Authenticator} from './auth.js'
import {pageBudget, type BudgetTicket, type ConnectionBudget} from './budget.js'
import {AUTH_PROTOCOL, sdpFingerprint, sdpIceUfrag} from './messages.js'

const debug = createDebug('p2p:peer')

/**
 * ICE that stays `disconnected` this long is restarted. Chromium reports
 * `disconnected` after a few seconds without STUN answers and often recovers on
 * its own from a short blip; a restart costs one signalling round trip.
 */
const RESTART_AFTER = 1000
/** An ICE restart that has not brought the connection back by then has failed. */
const RESTART_TIMEOUT = 10_000
/** A browser's own RTCPeerConnection (not Node's polyfill), whose setConfiguration applies ICE servers. */
const BROWSER_RTC = 'window' in globalThis && typeof globalThis.RTCPeerConnection === 'function'
/** Candidates held while the remote's attempt is not known yet (an initiator waiting for its answer). */
const MAX_EARLY_CANDIDATES = 32

export type PeerState = 'connecting' | 'authenticating' | 'connected' | 'closed'

export interface PeerConnectionOptions {
  /** The remote's hub id (random, no authority). */
  id: string
  initiator: boolean
  identity: Identity
  rtcConfig: RTCConfiguration
  /** Whole set-up (ICE + DTLS + identity proof) must finish within this. */
  connectTimeout: number
  mux?: MuxOptions
  /** Called with the verified remote key; throw (or reject) to refuse the peer. */
  admit?: (publicKey: string) => void | Promise<void>
  /** Milliseconds of ICE `disconnected` before an ICE restart; 0 turns automatic restarts off. */
  restartAfter?: number
  /** Where the RTCPeerConnection is counted; the page-wide budget by default. */
  budget?: ConnectionBudget
  /** To a key the page has met: may spend the budget's reserve and is not paced (see budget.ts). */
  trusted?: boolean
  /**
   * Timers (connect timeout, ICE restart, goodbye linger) and `createdAt` /
   * `connectedAt`; the mux's too unless `mux.clock` names another. The system's by default.
   */
  clock?: Clock
}

export type PeerConnectionEvents = {
  /** A signalling message to deliver to the remote through the hub. */
  signal: (signal: SimplePeerSignal) => void
  /** The remote proved its key and was admitted: protocols may start. */
  open: () => void
  /** RTT, byte counters or state changed. */
  update: () => void
  /** An ICE restart brought the connection back; the mux and its channels carried on. */
  reconnect: () => void
  error: (err: P2PError) => void
  close: (err?: P2PError) => void
}

/**
 * One WebRTC connection to one remote peer: simple-peer for the connection,
 * a multiplexer over its data channel, and the identity proof before anything
 * else may use it. Socket-like: `destroy(err)` emits `error` then `close`.
 */
export class PeerConnection extends Emitter<PeerConnectionEvents> {
  readonly id: string
  readonly initiator: boolean
  /** When it was made and when it opened, on its clock (monotonic ms). */
  readonly createdAt: number
  state: PeerState = 'connecting'
  /** The remote's ed25519 public key (hex), once proven. */
  publicKey: string | null = null
  connectedAt: number | null = null
  mux: Mux | null = null
  /** ICE restarts that brought this connection back. */
  restarts = 0
  /** This connection's attempt id, sent with every signal of it (see encodeSignal). */
  readonly attempt = toHex(randomBytes(8))
  /** Candidates dropped because they belonged to another attempt of the remote's. */
  staleCandidates = 0

  readonly #opts: PeerConnectionOptions
  readonly #clock: Clock
  #destroyed = false
  /** A description (offer or answer) came from the remote: someone is at the other end. */
  #answered = false
  readonly #peer: SimplePeer
  readonly #ticket: BudgetTicket
  #peerClosing = false
  #localFingerprint = ''
  #remoteFingerprint = ''
  #timer: unknown
  #transport: FrameTransport | null = null
  /** While an ICE restart runs: the ICE credentials it must replace, and its deadline. */
  #restart: {localUfrag: string, remoteUfrag: string, deadline: unknown} | null = null
  #restartTimer: unknown = null
  /** The remote's attempt this connection follows: from its offer (responder) or answer (initiator). */
  #remoteAttempt: string | null = null
  /** Candidates that came before the remote's attempt was known, with their attempt. */
  #early: Array<{signal: SimplePeerSignal, attempt: string}> = []

  constructor(opts: PeerConnectionOptions) {
    super()
    this.#opts = opts
    this.id = opts.id
    this.initiator = opts.initiator
    const clock = this.#clock = opts.clock ?? systemClock
    this.createdAt = clock.now()
    // The channel's label names the wire format, so a peer that speaks something
    // else (a plain webrtc-swarm app) is told apart before any frame is parsed.
    // The budget counts the RTCPeerConnection simple-peer creates, or throws
    // ERR_CONNECTION_BUDGET (then no connection exists and nothing is listening).
    let peer: SimplePeer | undefined
    const {ticket} = (opts.budget ?? pageBudget).take(() => {
      // simple-peer logs the options it is given under its own debug namespace:
      // in a browser the ICE servers (TURN credentials) go to the connection
      // directly instead (an explicit empty list, or simple-peer fills in public
      // STUN servers). Node's WebRTC polyfill ignores setConfiguration, so there
      // they go in as options (and DEBUG=simple-peer would print them).
      peer = new SimplePeer({
        initiator: opts.initiator, config: BROWSER_RTC ? {...opts.rtcConfig, iceServers: []} : opts.rtcConfig,
        trickle: true, channelName: MUX_PROTOCOL,
      })
      // simple-peer reports a constructor failure later, as an error event; it is ours now.
      if (!peer._pc) {
        peer.removeAllListeners()
        throw new Error('the RTCPeerConnection could not be created')
      }
      // Gathering starts at the first setLocalDescription, a task later: the servers are in place for it.
      if (BROWSER_RTC) {
        try {
          peer._pc.setConfiguration(opts.rtcConfig)
        } catch (err) {
          peer.removeAllListeners()
          peer.destroy()
          // The browser's reason (a syntax error, or the bad URL) carries no credential.
          throw P2PError.INVALID_ARGUMENT(`unusable ICE servers: ${(err as Error).message}`)
        }
      }
      return peer._pc
    }, opts.trusted)
    this.#peer = peer!
    this.#ticket = ticket
    // simple-peer emits its first signal synchronously for an initiator: listen in this tick.
    this.#peer.on('signal', this.#onLocalSignal)
    this.#peer.on('connect', this.#onConnect)
    this.#peer.on('error', this.#onPeerError)
    this.#peer.on('close', this.#onPeerClose)
    this.#peer.on('iceStateChange', this.#onIceState)
    // simple-peer owns the on… handlers; listening beside it changes nothing for it.
    this.#peer._pc.addEventListener('signalingstatechange', this.#checkRestarted)
    // The mux reads the data channel itself, from the moment it exists: the
    // remote may report the connection first and start its handshake before
    // simple-peer reports it here. (simple-peer's own reader would only pile
    // every frame up in a stream nobody reads.)
    if (this.#peer._channel) this.#adopt(this.#peer._channel)
    else this.#peer._pc.addEventListener('datachannel', e => this.#adopt(e.channel))
    this.#timer = clock.setTimeout(() => {
      this.destroy(P2PError.CONNECTION_FAILED(`no connection to ${shortId(this.id)} within ${opts.connectTimeout} ms`))
    }, opts.connectTimeout)
    debug('new', shortId(this.id), opts.initiator ? 'initiator' : 'responder')
  }

  get destroyed(): boolean {
    return this.#destroyed
  }

  /** The remote's attempt this connection follows, once its offer or answer came (null before). */
  get remoteAttempt(): string | null {
    return this.#remoteAttempt
  }

  /** Whether the remote ever sent a description: an initiator without one was never answered. */
  get answered(): boolean {
    return this.#answered
  }

  /** The underlying RTCPeerConnection, for getStats() and diagnostics. */
  get rtc(): RTCPeerConnection {
    return this.#peer._pc
  }

  get rtt(): number | null {
    return this.mux?.rtt ?? null
  }

  get bytesIn(): number {
    return this.mux?.stats.bytesIn ?? 0
  }

  get bytesOut(): number {
    return this.mux?.stats.bytesOut ?? 0
  }

  /** Opens a named protocol channel on this connection (see Mux.channel). */
  channel(name: string, handlers: ChannelHandlers): Channel {
    if (!this.mux || this.state !== 'connected') throw P2PError.INVALID_ARGUMENT('the peer is not connected')
    return this.mux.channel(name, handlers)
  }

  /**
   * Feeds a signalling message received from the remote through the hub.
   * `attempt` is the remote's connection attempt it belongs to (kit peers send
   * one): candidates of another attempt than the one this connection follows
   * are dropped, and candidates that come before that is known wait for it.
   */
  signal(signal: SimplePeerSignal, attempt?: string): void {
    if (this.destroyed) return
    if (attempt !== undefined) {
      if (signal.sdp) {
        if (this.#remoteAttempt === null) this.#remoteAttempt = attempt
        else if (attempt !== this.#remoteAttempt) return
      } else if (signal.candidate !== undefined) {
        if (this.#remoteAttempt === null) {
          if (this.#early.length < MAX_EARLY_CANDIDATES) this.#early.push({signal, attempt})
          return
        }
        if (attempt !== this.#remoteAttempt) {
          this.staleCandidates++
          return
        }
      }
    }
    this.#feed(signal)
    if (this.#remoteAttempt !== null && this.#early.length > 0) {
      for (const e of this.takeEarlyCandidates()) this.signal(e.signal, e.attempt)
    }
  }

  /**
   * The candidates held while the remote's attempt was unknown, handed over
   * (and forgotten here): when this connection is given up for another (a
   * glare lost), they may belong to the attempt that one follows.
   */
  takeEarlyCandidates(): Array<{signal: SimplePeerSignal, attempt: string}> {
    const early = this.#early
    this.#early = []
    return early
  }

  #feed(signal: SimplePeerSignal): void {
    if (this.destroyed) return
    if (signal.sdp) {
      this.#remoteFingerprint = sdpFingerprint(signal.sdp)
      this.#answered = true
    }
    if (this.state === 'connected') {
      if (signal.type === 'offer' && signal.sdp && sdpIceUfrag(signal.sdp) !== this.#ufrags().remote) {
        // The remote restarts ICE (new credentials in its offer): our answer completes it.
        this.#beginRestart()
      } else if (signal.type === 'renegotiate' && this.initiator) {
        // The responder asks for a restart; only the initiator offers, so both never offer at once.
        this.#beginRestart()
        this.#peer._pc.restartIce()
      }
    }
    try {
      this.#peer.signal(signal)
    } catch (err) {
      this.destroy(P2PError.CONNECTION_FAILED('bad signal from the remote', err))
    }
  }

  /**
   * Whether an offer from the remote belongs to this connection (a renegotiation,
   * such as an ICE restart) rather than starting a new one: it carries the DTLS
   * fingerprint this connection already uses. A reloaded tab has a new one.
   */
  isRenegotiation(signal: SimplePeerSignal): boolean {
    return this.state === 'connected' && typeof signal.sdp === 'string' &&
      this.#remoteFingerprint !== '' && sdpFingerprint(signal.sdp) === this.#remoteFingerprint
  }

  /**
   * Repairs the connection's transport with an ICE restart (new ICE credentials
   * and candidates, the same DTLS and SCTP session, so the mux and its channels
   * carry on). The initiator offers; the responder asks it to through the hub.
   * Emits `reconnect` once the connection is back; a restart that does not
   * bring it back within 10 s ends the connection (CONNECTION_FAILED).
   * Called on its own when ICE stays `disconnected`; callable on purpose.
   */
  restartIce(): void {
    if (this.destroyed || this.state !== 'connected' || this.#restart) return
    debug('ice restart', shortId(this.id), this.initiator ? '(offering)' : '(asking the initiator)')
    this.#beginRestart()
    if (this.initiator) this.#peer._pc.restartIce()
    // simple-peer offers as the initiator, or sends a `renegotiate` request as the responder.
    this.#peer.negotiate()
  }

  /** True while an ICE restart is under way. */
  get restarting(): boolean {
    return this.#restart !== null
  }

  /**
   * Closes the connection. Without an error the remote is told goodbye first
   * (so it drops us at once); with one, `error` is emitted before `close`.
   */
  destroy(err?: P2PError): void {
    if (this.#destroyed) return
    this.#destroyed = true
    this.#clock.clearTimeout(this.#timer)
    if (this.#restartTimer) this.#clock.clearTimeout(this.#restartTimer)
    if (this.#restart) this.#clock.clearTimeout(this.#restart.deadline)
    this.#restart = null
    this.#peer._pc?.removeEventListener('signalingstatechange', this.#checkRestarted)
    const wasOpen = this.state === 'connected'
    this.state = 'closed'
    debug('close', shortId(this.id), err?.message ?? 'by us')
    const mux = this.mux
    if (mux && !mux.destroyed && wasOpen && !err) {
      // The mux closes the data channel once its GOODBYE has left the buffer
      // (or after its linger); the connection goes after that, or the GOODBYE
      // would be lost with it. The mux's own `close` event comes at once, too early.
      const channel = this.#peer._channel
      const linger = this.#clock.setTimeout(() => this.#closePeer(), (this.#opts.mux?.closeLinger ?? 1000) + 500)
      channel?.addEventListener('close', () => {
        this.#clock.clearTimeout(linger)
        this.#closePeer()
      }, {once: true})
      mux.close('bye')
    } else {
      mux?.destroy()
      this.#closePeer()
    }
    if (err) this.emit('error', err)
    this.emit('close', err)
    this.removeAllListeners()
  }

  #onLocalSignal = (signal: SimplePeerSignal) => {
    if (this.destroyed) return
    if (signal.sdp) this.#localFingerprint = sdpFingerprint(signal.sdp)
    this.emit('signal', signal)
  }

  /**
   * simple-peer lets go of its RTCPeerConnection; the budget's ticket then makes
   * sure it is closed and counts it. simple-peer closes it a task later, after
   * its own timers: closing it under them first throws in Node (a pending offer
   * meets a destroyed connection). Idempotent.
   */
  #closePeer(): void {
    if (this.#peerClosing) return
    this.#peerClosing = true
    if (this.#peer.destroyed) {
      this.#ticket.close()
    } else {
      this.#peer.once('close', () => this.#ticket.close())
      // Should simple-peer never get there, the ticket closes it anyway (without
      // keeping Node up). On the platform's time whatever this connection's clock:
      // it waits out simple-peer's own timers, and closing under them throws.
      ;(systemClock.setTimeout(() => this.#ticket.close(), 2000) as {unref?: () => void}).unref?.()
    }
    this.#peer.destroy()
  }

  #ufrags(): {local: string, remote: string} {
    const pc = this.#peer._pc
    return {local: sdpIceUfrag(pc.localDescription?.sdp ?? ''), remote: sdpIceUfrag(pc.remoteDescription?.sdp ?? '')}
  }

  #beginRestart(): void {
    if (this.#restart) return
    const {local, remote} = this.#ufrags()
    const deadline = this.#clock.setTimeout(() => {
      this.destroy(P2PError.CONNECTION_FAILED(`an ICE restart did not bring ${shortId(this.id)} back within ${RESTART_TIMEOUT} ms`))
    }, RESTART_TIMEOUT)
    this.#restart = {localUfrag: local, remoteUfrag: remote, deadline}
    this.emit('update')
  }

  /**
   * A restart is done once both sides use new ICE credentials (the offer and
   * answer are applied) and ICE is connected again.
   */
  #checkRestarted = () => {
    const r = this.#restart
    if (this.destroyed || !r) return
    const pc = this.#peer._pc
    const ice = pc.iceConnectionState
    if (pc.signalingState !== 'stable' || (ice !== 'connected' && ice !== 'completed')) return
    const {local, remote} = this.#ufrags()
    if (local === r.localUfrag || remote === r.remoteUfrag) return
    this.#clock.clearTimeout(r.deadline)
    this.#restart = null
    this.restarts++
    debug('ice restarted', shortId(this.id))
    this.emit('reconnect')
    this.emit('update')
  }

  #onIceState = (ice: RTCIceConnectionState) => {
    if (this.destroyed) return
    if (ice === 'disconnected' && this.state === 'connected' && !this.#restart && !this.#restartTimer && this.#restartAfter > 0) {
      this.#restartTimer = this.#clock.setTimeout(() => {
        this.#restartTimer = null
        if (!this.destroyed && this.#peer._pc.iceConnectionState === 'disconnected') this.restartIce()
      }, this.#restartAfter)
    }
    if (ice === 'connected' || ice === 'completed') {
      if (this.#restartTimer) this.#clock.clearTimeout(this.#restartTimer)
      this.#restartTimer = null
      this.#checkRestarted()
    }
  }

  get #restartAfter(): number {
    return this.#opts.restartAfter ?? RESTART_AFTER
  }

  #onPeerError = (err: Error & {code?: string}) => {
    if (this.destroyed) return
    this.destroy(P2PError.CONNECTION_FAILED(`${err.code ?? 'webrtc'}: ${err.message}`, err))
  }

  #onPeerClose = () => {
    if (this.destroyed) return
    this.destroy(this.state === 'connected' ? P2PError.CONNECTION_CLOSED('the connection closed') : P2PError.CONNECTION_FAILED('closed before it opened'))
  }

  #adopt(channel: RTCDataChannel): void {
    if (this.destroyed || this.#transport) return
    channel.onmessage = null
    this.#transport = fromDataChannel(channel, this.#peer._pc)
  }

  #onConnect = () => {
    if (this.destroyed) return
    const channel = this.#peer._channel
    if (!channel || !this.#transport) return this.destroy(P2PError.CONNECTION_FAILED('no data channel'))
    if (channel.label !== MUX_PROTOCOL) return this.destroy(P2PError.HANDSHAKE(`the remote speaks ${JSON.stringify(channel.label.slice(0, 64))}, not ${MUX_PROTOCOL}`))
    // Where simple-peer's handler was installed after ours, it read copies
    // into its stream: switch it off again and let the copies go.
    channel.onmessage = null
    while (this.#peer.read() !== null);
    const mux = new Mux(this.#transport, {...this.#opts.mux, clock: this.#opts.mux?.clock ?? this.#clock})
    this.mux = mux
    mux.on('update', () => this.emit('update'))
    let saidGoodbye = false
    mux.on('goodbye', () => { saidGoodbye = true })
    mux.on('close', (err?: P2PError) => {
      if (this.destroyed) return
      // A goodbye is a clean leave, not a failure: no error to report.
      this.destroy(err ?? (saidGoodbye ? undefined : P2PError.CONNECTION_CLOSED('the connection closed')))
    })
    this.state = 'authenticating'
    this.emit('update')
    void this.#authenticate(mux)
  }

  async #authenticate(mux: Mux): Promise<void> {
    const auth = new Authenticator({
      identity: this.#opts.identity,
      send: bytes => authChannel.send(bytes),
      localFingerprint: this.#localFingerprint,
      remoteFingerprint: this.#remoteFingerprint,
    })
    // The channel stays open after the handshake: closing it could overtake our
    // own PROOF still queued, and late auth messages are ignored anyway.
    const authChannel = mux.channel(AUTH_PROTOCOL, {onmessage: bytes => void auth.receive(bytes)})
    auth.start()
    try {
      const key = toHex(await auth.result)
      if (this.destroyed) return
      await this.#opts.admit?.(key)
      if (this.destroyed) return
      this.publicKey = key
      this.state = 'connected'
      this.connectedAt = this.#clock.now()
      this.#clock.clearTimeout(this.#timer)
      debug('open', shortId(this.id), 'key', shortId(key))
      this.emit('open')
      this.emit('update')
    } catch (err) {
      this.destroy(toP2PError(err, 'ERR_HANDSHAKE'))
    }
  }
}
