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
import {RtcLink, resolveWebRTC, type RtcSignal, type WebRTC} from './rtc-link.js'

const debug = createDebug('p2p:peer')

/**
 * ICE that stays `disconnected` this long is restarted. Chromium reports
 * `disconnected` after a few seconds without STUN answers and often recovers on
 * its own from a short blip; a restart costs one signalling round trip.
 */
const RESTART_AFTER = 1000
/** An ICE restart that has not brought the connection back by then has failed. */
const RESTART_TIMEOUT = 10_000
/** In a page: the browser's own RTCPeerConnection, whose setConfiguration applies ICE servers (Node's ignores it). */
const BROWSER = 'window' in globalThis
/** Candidates held while the remote's attempt is not known yet (an initiator waiting for its answer). */
const MAX_EARLY_CANDIDATES = 32
/**
 * Our offer or answer waits for its candidates, so that one hub message carries
 * them all instead of one POST each: until ICE gathering completes, or this
 * long after the latest candidate (a network's host candidates come together;
 * Chromium reports gathering complete only a second or more after them), and
 * never past GATHER_WAIT. Candidates found later trickle as before.
 */
const GATHER_QUIET = 100
const GATHER_WAIT = 2000

/**
 * Whether `sdp` carries the trickled candidate `signal`: the same foundation,
 * component, transport, priority, address, port and type (browsers add
 * attributes to one form and not the other, Node prefixes `a=`).
 */
function inSdp(sdp: string, signal: RtcSignal): boolean {
  const line = (signal.candidate as {candidate?: unknown} | null)?.candidate
  if (typeof line !== 'string') return false
  const fields = line.replace(/^a=/, '').split(' ').slice(0, 8).join(' ')
  return sdp.includes(`a=${fields}`)
}

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
  /** The WebRTC implementation: the platform's (`globalThis.RTCPeerConnection`) by default. */
  webrtc?: WebRTC
}

export type PeerConnectionEvents = {
  /** A signalling message to deliver to the remote through the hub. */
  signal: (signal: RtcSignal) => void
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
 * One WebRTC connection to one remote peer: an RtcLink for the connection,
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
  /** Answers dropped because they answered another offer of ours (one we gave up before its answer came). */
  staleAnswers = 0

  readonly #opts: PeerConnectionOptions
  readonly #clock: Clock
  #destroyed = false
  /** A description (offer or answer) came from the remote: someone is at the other end. */
  #answered = false
  readonly #link: RtcLink
  readonly #ticket: BudgetTicket
  #localFingerprint = ''
  #remoteFingerprint = ''
  #timer: unknown
  #transport: FrameTransport | null = null
  /** While an ICE restart runs: the ICE credentials it must replace (see #ufrags), and its deadline. */
  #restart: {local: string, remote: string, deadline: unknown} | null = null
  #restartTimer: unknown = null
  /** The remote's attempt this connection follows: from its offer (responder) or answer (initiator). */
  #remoteAttempt: string | null = null
  /** Candidates that came before the remote's attempt was known, with their attempt. */
  #early: Array<{signal: RtcSignal, attempt: string}> = []
  /** Our offer or answer waiting for its candidates (see GATHER_QUIET), those candidates, and its two timers. */
  #held: {signal: RtcSignal, candidates: RtcSignal[], quiet: unknown, wait: unknown} | null = null

  constructor(opts: PeerConnectionOptions) {
    super()
    this.#opts = opts
    this.id = opts.id
    this.initiator = opts.initiator
    const clock = this.#clock = opts.clock ?? systemClock
    this.createdAt = clock.now()
    const {RTCPeerConnection} = resolveWebRTC(opts.webrtc)
    // The budget counts the RTCPeerConnection made here, or throws
    // ERR_CONNECTION_BUDGET (then no connection exists and nothing is listening).
    const {pc, ticket} = (opts.budget ?? pageBudget).take(() => {
      // In a page the ICE servers go in through setConfiguration, so an unusable
      // list is told apart from the browser refusing one more connection (the
      // budget's concern). Node's implementation ignores setConfiguration: there
      // they go to the constructor.
      const pc = new RTCPeerConnection(BROWSER ? {...opts.rtcConfig, iceServers: []} : opts.rtcConfig)
      if (BROWSER) {
        try {
          pc.setConfiguration(opts.rtcConfig)
        } catch (err) {
          pc.close()
          // The browser's reason (a syntax error, or the bad URL) carries no credential.
          throw P2PError.INVALID_ARGUMENT(`unusable ICE servers: ${(err as Error).message}`)
        }
      }
      return pc
    }, opts.trusted)
    this.#ticket = ticket
    // The channel's label names the wire format, so a peer that speaks something
    // else (a plain webrtc-swarm app) is told apart before any frame is parsed.
    const link = this.#link = new RtcLink({pc, initiator: opts.initiator, label: MUX_PROTOCOL})
    link.on('signal', this.#onLocalSignal)
    link.on('connect', this.#onConnect)
    link.on('error', err => this.destroy(err))
    link.on('close', this.#onLinkClose)
    link.on('iceStateChange', this.#onIceState)
    pc.addEventListener('signalingstatechange', this.#checkRestarted)
    pc.addEventListener('icegatheringstatechange', this.#onGathering)
    // The mux reads the data channel from the moment it exists: the remote may
    // report the connection first and start its handshake before the channel
    // opens here.
    if (link.channel) this.#adopt(link.channel)
    else link.on('channel', channel => this.#adopt(channel))
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
    return this.#link.pc
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
   * `answers`, on an answer, is the attempt whose offer it answers: an answer
   * to another offer of ours (given up, and offered again under a new attempt
   * before the hub brought its answer) is dropped, or it would pair this
   * offer with the wrong answer and the attempt could only time out.
   */
  signal(signal: RtcSignal, attempt?: string, answers?: string): void {
    if (this.destroyed) return
    if (signal.type === 'answer' && answers !== undefined && answers !== this.attempt) {
      this.staleAnswers++
      return
    }
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
    if (this.#remoteAttempt !== null) for (const e of this.takeEarlyCandidates()) this.signal(e.signal, e.attempt)
  }

  /**
   * The candidates held while the remote's attempt was unknown, handed over
   * (and forgotten here): when this connection is given up for another (a
   * glare lost), they may belong to the attempt that one follows.
   */
  takeEarlyCandidates(): Array<{signal: RtcSignal, attempt: string}> {
    const early = this.#early
    this.#early = []
    return early
  }

  #feed(signal: RtcSignal): void {
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
        this.#link.pc.restartIce()
      }
    }
    this.#link.signal(signal)
  }

  /**
   * Whether an offer from the remote belongs to this connection (a renegotiation,
   * such as an ICE restart) rather than starting a new one: it carries the DTLS
   * fingerprint this connection already uses. A reloaded tab has a new one.
   */
  isRenegotiation(signal: RtcSignal): boolean {
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
    if (this.initiator) this.#link.pc.restartIce()
    // The link offers as the initiator, or sends a `renegotiate` request as the responder.
    this.#link.negotiate()
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
    this.#clock.clearTimeout(this.#restartTimer)
    this.#clock.clearTimeout(this.#restart?.deadline)
    this.#restart = null
    this.#link.pc.removeEventListener('signalingstatechange', this.#checkRestarted)
    this.#link.pc.removeEventListener('icegatheringstatechange', this.#onGathering)
    this.#clearHeld()
    const wasOpen = this.state === 'connected'
    this.state = 'closed'
    debug('close', shortId(this.id), err?.message ?? 'by us')
    const mux = this.mux
    if (mux && !mux.destroyed && wasOpen && !err) {
      // The mux closes the data channel once its GOODBYE has left the buffer
      // (or after its linger); the connection goes after that, or the GOODBYE
      // would be lost with it. The mux's own `close` event comes at once, too early.
      const channel = this.#link.channel
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

  #onLocalSignal = (signal: RtcSignal) => {
    if (this.destroyed) return
    if (signal.sdp) {
      this.#localFingerprint = sdpFingerprint(signal.sdp)
      this.#sendHeld()
      if (this.#link.pc.iceGatheringState === 'complete') return this.emit('signal', signal)
      // Sent once its candidates are in it (or GATHER_WAIT has passed), with one POST.
      const wait = this.#clock.setTimeout(this.#sendHeld, GATHER_WAIT)
      this.#held = {signal, candidates: [], quiet: null, wait}
      return
    }
    const held = this.#held
    if (held && signal.candidate !== undefined) {
      held.candidates.push(signal)
      this.#clock.clearTimeout(held.quiet)
      held.quiet = this.#clock.setTimeout(this.#sendHeld, GATHER_QUIET)
      return
    }
    this.emit('signal', signal)
  }

  #onGathering = () => {
    if (this.#link.pc.iceGatheringState === 'complete') this.#sendHeld()
  }

  /**
   * Sends the held offer or answer as the connection now describes itself,
   * with the candidates gathered meanwhile in its SDP; a candidate the SDP does
   * not carry (an implementation that leaves them out) follows on its own.
   */
  #sendHeld = () => {
    const held = this.#held
    if (!held || this.destroyed) return
    this.#clearHeld()
    // The connection's description now, candidates and all, while it is still the one held (the same ICE credentials).
    const local = this.#link.pc.localDescription?.sdp
    const sdp = local && sdpIceUfrag(local) === sdpIceUfrag(held.signal.sdp!) ? local : held.signal.sdp!
    this.emit('signal', {...held.signal, sdp})
    for (const c of held.candidates) if (!inSdp(sdp, c)) this.emit('signal', c)
  }

  #clearHeld(): void {
    if (!this.#held) return
    this.#clock.clearTimeout(this.#held.quiet)
    this.#clock.clearTimeout(this.#held.wait)
    this.#held = null
  }

  /** The link closes its RTCPeerConnection; the budget's ticket then counts it closed. Idempotent. */
  #closePeer(): void {
    this.#link.destroy()
    this.#ticket.close()
  }

  #ufrags(): {local: string, remote: string} {
    const pc = this.#link.pc
    return {local: sdpIceUfrag(pc.localDescription?.sdp ?? ''), remote: sdpIceUfrag(pc.remoteDescription?.sdp ?? '')}
  }

  #beginRestart(): void {
    if (this.#restart) return
    const deadline = this.#clock.setTimeout(() => {
      this.destroy(P2PError.CONNECTION_FAILED(`an ICE restart did not bring ${shortId(this.id)} back within ${RESTART_TIMEOUT} ms`))
    }, RESTART_TIMEOUT)
    this.#restart = {...this.#ufrags(), deadline}
    this.emit('update')
  }

  /**
   * A restart is done once both sides use new ICE credentials (the offer and
   * answer are applied) and ICE is connected again.
   */
  #checkRestarted = () => {
    const r = this.#restart
    if (this.destroyed || !r) return
    const pc = this.#link.pc
    const ice = pc.iceConnectionState
    if (pc.signalingState !== 'stable' || (ice !== 'connected' && ice !== 'completed')) return
    const {local, remote} = this.#ufrags()
    if (local === r.local || remote === r.remote) return
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
        if (!this.destroyed && this.#link.pc.iceConnectionState === 'disconnected') this.restartIce()
      }, this.#restartAfter)
    }
    if (ice === 'connected' || ice === 'completed') {
      this.#clock.clearTimeout(this.#restartTimer)
      this.#restartTimer = null
      this.#checkRestarted()
    }
  }

  get #restartAfter(): number {
    return this.#opts.restartAfter ?? RESTART_AFTER
  }

  #onLinkClose = () => {
    if (this.destroyed) return
    this.destroy(this.state === 'connected' ? P2PError.CONNECTION_CLOSED('the connection closed') : P2PError.CONNECTION_FAILED('closed before it opened'))
  }

  #adopt(channel: RTCDataChannel): void {
    if (this.destroyed || this.#transport) return
    this.#transport = fromDataChannel(channel, this.#link.pc)
  }

  #onConnect = () => {
    if (this.destroyed) return
    const channel = this.#link.channel
    if (!channel || !this.#transport) return this.destroy(P2PError.CONNECTION_FAILED('no data channel'))
    if (channel.label !== MUX_PROTOCOL) return this.destroy(P2PError.HANDSHAKE(`the remote speaks ${JSON.stringify(channel.label.slice(0, 64))}, not ${MUX_PROTOCOL}`))
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
