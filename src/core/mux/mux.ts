/**
 * The per-connection multiplexer: every protocol (identity handshake, gossip,
 * log replication, files, DHT, rooms) runs on its own named channel over one
 * FrameTransport. It frames messages of any size, shares the link fairly between
 * channels, keeps the transport's send buffer under a cap, and watches the peer's
 * liveness. Wire format and guarantees: docs/mux.md.
 */
import type {FrameTransport} from './transport.js'
import {Emitter} from '../emitter.js'
import {P2PError, toP2PError} from '../errors.js'
import {concat} from '../bytes.js'
import {createDebug, shortId} from '../debug.js'
import {Fifo} from './fifo.js'
import {rethrowLater} from '../rethrow-later.js'
import {checkInteger, checkNumber} from '../check.js'
import {systemClock, type Clock} from '../clock.js'
import {
  FrameType, MAX_CHANNEL_ID, MAX_CONTROL_FRAME, MAX_DATA_HEADER,
  channelNameBytes, createFrame, decodeFrame, encodeClose, encodeDataHeader, encodeGoodbye,
  encodeOpen, encodePing, encodePong, writeNonce,
  type Frame,
} from './messages.js'

const debug = createDebug('p2p:mux')

const KiB = 1024
const MiB = 1024 * KiB
/** Unanswered PINGs remembered for RTT; older ones are forgotten. */
const MAX_PINGS_IN_FLIGHT = 8
/**
 * Liveness is checked this many times per `timeout`, so silence is noticed at
 * most timeout/8 after it lasted `timeout`: 4.5 s after the last frame by default.
 */
const CHECKS_PER_TIMEOUT = 8
/**
 * A tick this many intervals after the previous one ran more than two ticks
 * late: this side was asleep (a hidden tab's timers throttled to one wake-up a
 * minute, a blocked event loop), which says nothing about the peer. Chromium's
 * ordinary hidden-tab throttling (one wake-up a second) stays under it.
 */
const LATE_TICKS = 3

export interface MuxOptions {
  /**
   * Largest payload of one DATA frame, in bytes (the header comes on top, so a
   * 64 KiB chunk stays one frame). Capped by the transport's `maxMessageSize`.
   * Smaller frames interleave channels more finely; larger ones cost less per byte.
   */
  frameSize?: number
  /** Largest message either side may send. Sending more throws; receiving more drops the peer. */
  maxMessageBytes?: number
  /**
   * Never queue more than this (plus one frame) in the transport's send buffer.
   * Chromium's data channel got slower with more buffered (measured: 1 MiB cost
   * ~20 % against 64–256 KiB, raw loops alike); raise it for links so fast that
   * this drains before the event loop comes back.
   */
  highWaterMark?: number
  /** Refill the transport once its send buffer drains to this. */
  lowWaterMark?: number
  /** Default for each channel's `highWaterMark`: `ready()` waits while a channel queues this much. */
  channelHighWaterMark?: number
  /** Milliseconds between PINGs; 0 turns them off. */
  pingInterval?: number
  /**
   * Close with PEER_TIMEOUT when nothing at all arrives for this long (ms); 0 turns
   * it off. Noticed within timeout/8 more, unless this side's timers were asleep.
   */
  timeout?: number
  /** Messages held for channels this side has not opened yet, across all of them. */
  maxPendingMessages?: number
  /** Bytes held for channels this side has not opened yet, across all of them. */
  maxPendingBytes?: number
  /** Channels the remote may have open at once. */
  maxChannels?: number
  /** Least milliseconds between two `update` events. */
  updateInterval?: number
  /**
   * Time and timers for RTT, keep-alive and liveness (the system's by default);
   * `now` is also how the liveness check tells that its timer slept.
   */
  clock?: Clock
  /** Names this mux in debug logs (for example the remote's peer id). */
  label?: string
  /** After `close()`, longest wait (ms) for the GOODBYE to leave before the transport closes. */
  closeLinger?: number
}

/** Counters of one mux, one fixed shape so UIs can bind to it. */
export interface MuxStats {
  /** Bytes received and sent on the transport, frame headers included. */
  bytesIn: number
  bytesOut: number
  /** Whole messages received (delivered, held or dropped) and sent. */
  messagesIn: number
  messagesOut: number
  framesIn: number
  framesOut: number
  /** Smoothed round-trip time in ms; 0 until the first PONG. */
  rtt: number
  /** Malformed frames received (each one also closes the mux). */
  malformed: number
  /** Received messages that were dropped: held past the pending bound, or for a channel that closed. */
  dropped: number
}

/** Counters of one channel, payload bytes only. */
export interface ChannelStats {
  bytesIn: number
  bytesOut: number
  messagesIn: number
  messagesOut: number
}

export interface ChannelHandlers {
  /**
   * A whole message from the remote. It may be a view into a larger buffer
   * (mind `byteOffset`); it is the receiver's to keep.
   */
  onmessage(bytes: Uint8Array): void
  /** The channel closed: by `close()`, because the remote closed its side, or with the mux. */
  onclose?(): void
}

export interface ChannelOptions extends ChannelHandlers {
  /** `ready()` waits while this many bytes are queued on the channel. */
  highWaterMark?: number
}

/** One named, message-oriented, ordered, reliable channel over a mux. */
export interface Channel {
  readonly name: string
  /** True once closed by either side or with the mux; `send` then throws. */
  readonly closed: boolean
  /** Bytes passed to `send` that have not been handed to the transport yet. */
  readonly bufferedAmount: number
  /** `ready()` waits while `bufferedAmount` is at least this. */
  readonly highWaterMark: number
  readonly stats: ChannelStats
  /**
   * Queues a message (any size up to `maxMessageBytes`) and returns at once;
   * never throws for backpressure. The mux keeps a reference until the bytes
   * are framed: do not modify them after sending.
   *
   * An array of parts is sent as one message, their bytes in order, framed
   * straight from the parts: a header and a large body need no copy into one
   * buffer first (the remote receives one message either way).
   */
  send(bytes: Uint8Array | readonly Uint8Array[]): void
  /** Resolves when `bufferedAmount` is under the channel's high-water mark; rejects if it closes first. */
  ready(): Promise<void>
  /**
   * Closes this side. Messages already sent are still delivered; messages from
   * the remote are no longer. The remote's channel of the same name closes too.
   */
  close(): void
}

export type MuxEvents = {
  /** Stats changed; throttled to one per `updateInterval`. */
  update: (stats: MuxStats) => void
  /** A new RTT sample was taken; the argument is the smoothed RTT in ms. */
  rtt: (ms: number) => void
  /** A channel's queue fell under its high-water mark. */
  drain: (channel: Channel) => void
  /** The remote opened a channel; open the same name to talk on it. */
  remoteopen: (name: string) => void
  /** The remote closed a channel. */
  remoteclose: (name: string) => void
  /** The remote leaves on purpose; `close` follows at once. */
  goodbye: (reason: string) => void
  error: (err: P2PError) => void
  /** The mux is gone; `err` is what `error` carried, if anything. */
  close: (err?: P2PError) => void
}

/** What a channel object calls back into its mux for. */
interface ChannelCore {
  send(ch: LocalChannel, bytes: Uint8Array | readonly Uint8Array[]): void
  ready(ch: LocalChannel): Promise<void>
  close(ch: LocalChannel): void
}

interface Waiter {
  promise: Promise<void>
  resolve(): void
  reject(err: Error): void
}

function createWaiter(): Waiter {
  let resolve!: () => void
  let reject!: (err: Error) => void
  const promise = new Promise<void>((res, rej) => {
    resolve = res
    reject = rej
  })
  return {promise, resolve, reject}
}

function closeQuietly(t: FrameTransport): void {
  try {
    if (t.open) t.close()
  } catch {
    // A transport that throws on close is gone already.
  }
}

/**
 * Closes `t` once what was sent has left its buffer, or after `maxWait` ms.
 * Chromium drops frames sent in the same task as `close()` (measured: a GOODBYE
 * sent just before it never arrived), so the last words need a moment.
 */
function closeWhenSent(t: FrameTransport, maxWait: number, clock: Clock): void {
  const done = () => {
    clock.clearTimeout(timer)
    t.onbufferedamountlow = null
    t.onclose = null
    closeQuietly(t)
  }
  const timer = clock.setTimeout(done, maxWait)
  t.onclose = done
  t.onbufferedamountlow = done
  try {
    t.bufferedAmountLowThreshold = 0
  } catch {
    // The channel went away underneath (node-datachannel throws then): nothing left to wait for.
    done()
  }
}

/**
 * A message sent as parts, read front to back as its frames are cut: where the
 * next frame starts is kept, so each frame costs only the parts it spans.
 */
class Gather {
  readonly length: number
  readonly #parts: readonly Uint8Array[]
  #part = 0
  #at = 0

  constructor(parts: readonly Uint8Array[]) {
    this.#parts = parts
    let length = 0
    for (const p of parts) {
      if (!(p instanceof Uint8Array)) throw P2PError.INVALID_ARGUMENT('send() takes a Uint8Array or an array of them')
      length += p.length
    }
    this.length = length
  }

  /** Copies the next `n` bytes into `out` at `offset`. */
  copyNext(n: number, out: Uint8Array, offset: number): void {
    const parts = this.#parts
    while (n > 0) {
      const p = parts[this.#part]
      const take = Math.min(n, p.length - this.#at)
      out.set(take === p.length ? p : p.subarray(this.#at, this.#at + take), offset)
      offset += take
      n -= take
      this.#at += take
      if (this.#at === p.length) {
        this.#part++
        this.#at = 0
      }
    }
  }
}

class LocalChannel implements Channel {
  readonly stats: ChannelStats = {bytesIn: 0, bytesOut: 0, messagesIn: 0, messagesOut: 0}
  closed = false
  bufferedAmount = 0
  /** Messages not fully framed yet; the head one is `offset` bytes in. */
  readonly queue = new Fifo<Uint8Array | Gather>()
  offset = 0
  /** In the scheduler's round-robin ring (it has frames to send and its OPEN went out). */
  inRing = false
  /** Its OPEN was queued. A channel reopened under a name whose CLOSE is still pending waits. */
  announced = false
  /** Closed with messages queued: its CLOSE goes out after the last of them. */
  closing = false
  /** The next channel of the same name, announced once this one's CLOSE is queued. */
  successor: LocalChannel | null = null
  /** The remote's channel of the same name this one receives from. */
  remote: Remote | null = null
  /** Messages held before it opened are being delivered; newer ones queue behind them. */
  flushing = false
  /** The queue reached the high-water mark since the last `drain`. */
  overMark = false
  /** The pending `ready()` promise, shared by every caller until the queue drains. */
  waiter: Waiter | null = null

  readonly #core: ChannelCore

  constructor(
    core: ChannelCore,
    readonly id: number,
    readonly name: string,
    readonly nameBytes: Uint8Array,
    readonly handlers: ChannelHandlers,
    readonly highWaterMark: number,
  ) {
    this.#core = core
  }

  send(bytes: Uint8Array | readonly Uint8Array[]): void {
    this.#core.send(this, bytes)
  }

  ready(): Promise<void> {
    return this.#core.ready(this)
  }

  close(): void {
    this.#core.close(this)
  }
}

/** A channel the remote announced, by its id. */
interface Remote {
  readonly id: number
  readonly name: string
  /** The local channel of the same name, once open. */
  local: LocalChannel | null
  /** Frames of the message being reassembled. */
  readonly parts: Uint8Array[]
  /** Bytes of the message being reassembled. */
  size: number
  /** Of those, bytes charged to the pending budget (while no local channel listens). */
  charged: number
  /** The message being reassembled is dropped; skip to its last frame. */
  discard: boolean
  /** Whole messages waiting for the local channel. */
  readonly pending: Fifo<Uint8Array>
}

/** Mux durations are finite, where 0 (when allowed) turns a feature off. */
function checkDuration(name: string, value: number, min: number): void {
  checkNumber(name, value, min, Number.MAX_VALUE)
}

export class Mux extends Emitter<MuxEvents> {
  readonly transport: FrameTransport
  readonly stats: MuxStats = {
    bytesIn: 0, bytesOut: 0, messagesIn: 0, messagesOut: 0, framesIn: 0, framesOut: 0,
    rtt: 0, malformed: 0, dropped: 0,
  }

  /** Largest payload per DATA frame actually used (the option, capped by the transport). */
  readonly frameSize: number
  readonly maxMessageBytes: number
  readonly highWaterMark: number
  readonly lowWaterMark: number

  readonly #channelHighWaterMark: number
  readonly #timeout: number
  readonly #maxPendingMessages: number
  readonly #maxPendingBytes: number
  readonly #maxChannels: number
  readonly #updateInterval: number
  readonly #clock: Clock
  readonly #label: string
  readonly #closeLinger: number
  readonly #core: ChannelCore

  #destroyed = false

  /** One frame buffer reused for every DATA frame (transports copy on send). */
  readonly #frame: Uint8Array
  /** Views of `frame` for a full frame, by header length, so the hot path allocates nothing. */
  readonly #fullFrames: Uint8Array[] = []
  /** Decoded frames land here: the receive path allocates only the payload view. */
  readonly #scratch: Frame = createFrame()

  #nextId = 1
  /** Open local channels by name. */
  readonly #local = new Map<string, LocalChannel>()
  /** By name, the newest local channel whose CLOSE is not queued yet (open, flushing or waiting). */
  readonly #tails = new Map<string, LocalChannel>()
  readonly #remotes = new Map<number, Remote>()
  readonly #remotesByName = new Map<string, Remote>()
  #pendingMessages = 0
  #pendingBytes = 0

  /** Control frames go before any data, in order. */
  readonly #control = new Fifo<Uint8Array>()
  /** A PONG still queued answers the newest PING instead of queueing another. */
  #pongFrame: Uint8Array | null = null
  /** Channels with frames to send, served one frame each per turn. */
  readonly #ring: LocalChannel[] = []
  #cursor = 0
  #pumping = false
  #queued = 0
  #drained: LocalChannel[] = []

  #timer: unknown = null
  #updateTimer: unknown = null
  /** Milliseconds between ticks of `timer`, which serves both PINGs and the liveness check. */
  readonly #tick: number
  #ticksPerPing = 0
  #ticksSincePing = 0
  #pingNonce = 0
  /**
   * PINGs awaiting their PONG, oldest first (a few at most). A PING goes out
   * every interval even while earlier ones are unanswered: the keep-alive must
   * keep this side audible when the remote's answers are what is lost, and
   * under load an answer may take longer than the interval.
   */
  readonly #pings: Array<{nonce: number, sentAt: number}> = []
  #framesSeen = 0
  #lastActivity: number
  /** When the previous tick ran, to tell a tick that comes late. */
  #lastTick: number
  /**
   * A late tick pinged instead of judging; until a tick on time hears from the
   * peer, silence for `timeout` since then is the peer's, however late the tick.
   */
  #graced = false

  constructor(transport: FrameTransport, options: MuxOptions = {}) {
    super()
    const {
      frameSize = 64 * KiB,
      maxMessageBytes = 16 * MiB,
      highWaterMark = 256 * KiB,
      lowWaterMark = 128 * KiB,
      channelHighWaterMark = 256 * KiB,
      pingInterval = 1000,
      timeout = 4000,
      maxPendingMessages = 64,
      maxPendingBytes = 1 * MiB,
      maxChannels = 1024,
      updateInterval = 250,
      clock = systemClock,
      label = '',
      closeLinger = 1000,
    } = options
    checkInteger('frameSize', frameSize, 1)
    checkInteger('maxMessageBytes', maxMessageBytes, 0)
    checkInteger('highWaterMark', highWaterMark, 1)
    checkInteger('lowWaterMark', lowWaterMark, 0)
    if (lowWaterMark >= highWaterMark) throw P2PError.INVALID_ARGUMENT('lowWaterMark must be below highWaterMark')
    checkInteger('channelHighWaterMark', channelHighWaterMark, 1)
    checkDuration('pingInterval', pingInterval, 0)
    checkDuration('timeout', timeout, 0)
    checkInteger('maxPendingMessages', maxPendingMessages, 0)
    checkInteger('maxPendingBytes', maxPendingBytes, 0)
    checkInteger('maxChannels', maxChannels, 1)
    checkDuration('updateInterval', updateInterval, 0)
    checkDuration('closeLinger', closeLinger, 0)
    if (!(transport.maxMessageSize >= 2 * MAX_CONTROL_FRAME)) {
      throw P2PError.INVALID_ARGUMENT(`transport.maxMessageSize must be at least ${2 * MAX_CONTROL_FRAME}`)
    }

    this.transport = transport
    this.frameSize = Math.floor(Math.min(frameSize, transport.maxMessageSize - MAX_DATA_HEADER))
    this.maxMessageBytes = maxMessageBytes
    this.highWaterMark = highWaterMark
    this.lowWaterMark = lowWaterMark
    this.#channelHighWaterMark = channelHighWaterMark
    this.#timeout = timeout
    this.#maxPendingMessages = maxPendingMessages
    this.#maxPendingBytes = maxPendingBytes
    this.#maxChannels = maxChannels
    this.#updateInterval = updateInterval
    this.#clock = clock
    this.#label = shortId(label)
    this.#closeLinger = closeLinger
    this.#core = {
      send: (ch, bytes) => this.#enqueue(ch, bytes),
      ready: ch => this.#waitReady(ch),
      close: ch => this.#closeChannel(ch, false),
    }

    this.#frame = new Uint8Array(MAX_DATA_HEADER + this.frameSize)
    for (let h = 0; h <= MAX_DATA_HEADER; h++) this.#fullFrames.push(this.#frame.subarray(0, h + this.frameSize))

    this.#lastActivity = this.#lastTick = clock.now()
    transport.bufferedAmountLowThreshold = lowWaterMark
    transport.onmessage = this.#onFrame
    transport.onbufferedamountlow = this.#onLow
    transport.onclose = this.#onTransportClose

    // One timer serves both PINGs and the liveness check. It ticks often enough
    // that a timeout is noticed within timeout/8, and divides the PING interval.
    const check = timeout > 0 ? Math.max(1, timeout / CHECKS_PER_TIMEOUT) : Infinity
    if (pingInterval > 0) {
      this.#ticksPerPing = Math.ceil(pingInterval / Math.min(pingInterval, check))
      this.#tick = pingInterval / this.#ticksPerPing
    } else {
      this.#tick = check
    }
    if (this.#tick !== Infinity) this.#timer = clock.setTimeout(this.#onTick, this.#tick)

    if (!transport.open) {
      queueMicrotask(() => this.destroy(P2PError.CONNECTION_CLOSED('the transport is not open')))
      return
    }
    // A first RTT sample right away, so a peer list has a figure within one round trip.
    if (pingInterval > 0) this.#ping()
    debug(this.#label, 'open', {frameSize: this.frameSize, highWaterMark, lowWaterMark})
  }

  /** True once closed or destroyed; read-only. */
  get destroyed(): boolean {
    return this.#destroyed
  }

  /** Smoothed round-trip time in ms (RFC 6298 weights); 0 until the first PONG. */
  get rtt(): number {
    return this.stats.rtt
  }

  /** Bytes queued in the mux across all channels, not yet handed to the transport. */
  get bufferedAmount(): number {
    return this.#queued
  }

  /** Names of the channels the remote has open now. */
  get remoteChannels(): string[] {
    return [...this.#remotesByName.keys()]
  }

  /**
   * Opens the channel `name` (1 … 255 bytes of UTF-8). Both sides open a channel
   * by the same name to talk on it; messages the remote sent before this side
   * opened it are held (within `maxPendingMessages`/`maxPendingBytes`) and
   * delivered first, in order, right after this call returns.
   */
  channel(name: string, options: ChannelOptions): Channel {
    if (this.#destroyed) throw P2PError.DESTROYED('the mux is closed')
    if (!options || typeof options.onmessage !== 'function') throw P2PError.INVALID_ARGUMENT('channel() needs an onmessage handler')
    const nameBytes = channelNameBytes(name)
    if (this.#local.has(name)) throw P2PError.INVALID_ARGUMENT(`channel ${name} is already open`)
    const hwm = options.highWaterMark ?? this.#channelHighWaterMark
    checkInteger('highWaterMark', hwm, 1)
    if (this.#nextId > MAX_CHANNEL_ID) throw P2PError.TOO_MANY_CHANNELS('channel ids are exhausted on this connection')
    const ch = new LocalChannel(this.#core, this.#nextId++, name, nameBytes, options, hwm)
    this.#local.set(name, ch)
    const tail = this.#tails.get(name)
    this.#tails.set(name, ch)
    // The remote allows one open channel per name, so a reopened name waits for the old CLOSE.
    if (tail) tail.successor = ch
    else this.#announce(ch)
    const remote = this.#remotesByName.get(name)
    if (remote) this.#bind(ch, remote)
    debug(this.#label, 'channel', name, ch.id)
    this.#pump()
    return ch
  }

  /**
   * Leaves on purpose: tells the remote GOODBYE (so it drops this peer at once
   * rather than waiting for a timeout), then closes. Queued messages are dropped.
   */
  close(reason = ''): void {
    if (this.#destroyed) return
    const t = this.transport
    let said = false
    if (t.open) {
      try {
        this.#send(encodeGoodbye(reason))
        said = true
      } catch {
        // The transport is failing already; it is closed below either way.
      }
    }
    this.#teardown(undefined, !said)
    if (said) closeWhenSent(t, this.#closeLinger, this.#clock)
  }

  /** Closes at once; idempotent. Emits `error` (if `err`), closes every channel, then emits `close`. */
  destroy(err?: Error): void {
    this.#teardown(err, true)
  }

  #teardown(err: Error | undefined, closeTransport: boolean): void {
    if (this.#destroyed) return
    this.#destroyed = true
    const error = err === undefined ? undefined : toP2PError(err)
    debug(this.#label, 'destroy', error?.message ?? '')
    if (this.#timer !== null) this.#clock.clearTimeout(this.#timer)
    if (this.#updateTimer !== null) this.#clock.clearTimeout(this.#updateTimer)
    this.#timer = this.#updateTimer = null
    if (closeTransport) closeQuietly(this.transport)
    const channels = [...this.#local.values()]
    this.#local.clear()
    this.#tails.clear()
    this.#remotes.clear()
    this.#remotesByName.clear()
    this.#ring.length = 0
    this.#control.clear()
    this.#pendingMessages = this.#pendingBytes = this.#queued = 0
    for (const ch of channels) {
      ch.closed = true
      ch.queue.clear()
      ch.bufferedAmount = 0
      ch.waiter?.reject(error ?? P2PError.DESTROYED('the mux closed'))
      ch.waiter = null
    }
    if (error) this.emit('error', error)
    for (const ch of channels) this.#callOnClose(ch)
    this.emit('close', error)
  }

  // ---- receiving ------------------------------------------------------------

  readonly #onFrame = (bytes: Uint8Array): void => {
    if (this.#destroyed) return
    const stats = this.stats
    stats.framesIn++
    stats.bytesIn += bytes.length
    const frame = this.#scratch
    try {
      decodeFrame(bytes, frame)
    } catch (err) {
      this.#protocolError(toP2PError(err, 'ERR_MALFORMED_MESSAGE'))
      return
    }
    if (frame.type === FrameType.DATA) this.#onData(frame)
    else this.#onControl(frame)
    this.#scheduleUpdate()
  }

  #onData(frame: Frame): void {
    const r = this.#remotes.get(frame.id)
    if (r === undefined) return this.#protocolError(P2PError.MALFORMED_MESSAGE(`DATA for unknown channel ${frame.id}`))
    const payload = frame.payload
    const len = payload.length
    const size = r.size + len
    if (size > this.maxMessageBytes) {
      return this.#protocolError(P2PError.MESSAGE_TOO_LARGE(`message on ${r.name} exceeds ${this.maxMessageBytes} bytes`))
    }
    const fin = frame.fin
    r.size = fin ? 0 : size
    if (r.discard) {
      if (fin) this.#dropMessage(r)
      return
    }
    const ch = r.local
    if (ch === null) {
      // Nobody listens yet: hold the message within the pending budget, or drop it whole.
      if (this.#pendingBytes + len > this.#maxPendingBytes || (fin && this.#pendingMessages >= this.#maxPendingMessages)) {
        this.#uncharge(r)
        if (fin) this.#dropMessage(r)
        else r.discard = true
        return
      }
      this.#pendingBytes += len
      r.charged += len
    }
    if (!fin) {
      r.parts.push(payload)
      return
    }
    let msg = payload
    if (r.parts.length > 0) {
      r.parts.push(payload)
      msg = concat(r.parts)
      r.parts.length = 0
    }
    this.stats.messagesIn++
    if (ch === null || ch.flushing) {
      // Held: with no listener its bytes are charged already and stay so while it waits.
      if (ch === null) r.charged = 0
      else this.#pendingBytes += msg.length
      this.#pendingMessages++
      r.pending.push(msg)
    } else {
      this.#deliver(ch, msg)
    }
  }

  #onControl(frame: Frame): void {
    switch (frame.type) {
      case FrameType.OPEN: return this.#onOpen(frame.id, frame.name)
      case FrameType.CLOSE: return this.#onClose(frame.id, frame.reply)
      case FrameType.PING: return this.#onPing(frame.nonce)
      case FrameType.PONG: return this.#onPong(frame.nonce)
      case FrameType.GOODBYE:
        debug(this.#label, 'goodbye', frame.reason)
        this.emit('goodbye', frame.reason)
        this.destroy()
    }
  }

  #onOpen(id: number, name: string): void {
    if (this.#remotes.has(id)) return this.#protocolError(P2PError.MALFORMED_MESSAGE(`channel id ${id} opened twice`))
    if (this.#remotesByName.has(name)) return this.#protocolError(P2PError.MALFORMED_MESSAGE(`channel ${name} opened twice`))
    if (this.#remotes.size >= this.#maxChannels) return this.#protocolError(P2PError.MALFORMED_MESSAGE(`more than ${this.#maxChannels} channels`))
    const r: Remote = {id, name, local: null, parts: [], size: 0, charged: 0, discard: false, pending: new Fifo()}
    this.#remotes.set(id, r)
    this.#remotesByName.set(name, r)
    const ch = this.#local.get(name)
    if (ch) this.#bind(ch, r)
    this.emit('remoteopen', name)
  }

  #onClose(id: number, reply: boolean): void {
    const r = this.#remotes.get(id)
    if (r === undefined) return this.#protocolError(P2PError.MALFORMED_MESSAGE(`CLOSE of unknown channel ${id}`))
    this.#remotes.delete(id)
    this.#remotesByName.delete(r.name)
    this.#releasePending(r)
    if (r.size > 0 && !r.discard) this.stats.dropped++
    this.#uncharge(r)
    const ch = r.local
    if (ch) {
      r.local = null
      ch.remote = null
      // A reply answers a channel we closed, maybe before reopening the name:
      // it must not close the new one. A decision by the remote closes ours too.
      if (!reply) this.#closeChannel(ch, true)
    }
    this.emit('remoteclose', r.name)
  }

  #onPing(nonce: number): void {
    if (this.#pongFrame) {
      writeNonce(this.#pongFrame, nonce)
      return
    }
    this.#pongFrame = encodePong(nonce)
    this.#control.push(this.#pongFrame)
    this.#pump()
  }

  #onPong(nonce: number): void {
    // A PONG nobody asked for is harmless noise, not a protocol error.
    const i = this.#pings.findIndex(p => p.nonce === nonce)
    if (i < 0) return
    const sample = Math.max(0, this.#clock.now() - this.#pings[i].sentAt)
    // Earlier PINGs still unanswered were lost or overtaken; they no longer tell anything.
    this.#pings.splice(0, i + 1)
    const stats = this.stats
    stats.rtt = stats.rtt === 0 ? sample : 0.875 * stats.rtt + 0.125 * sample
    this.emit('rtt', stats.rtt)
  }

  /** Connects a local channel to the remote's channel of the same name and hands over what was held. */
  #bind(ch: LocalChannel, r: Remote): void {
    ch.remote = r
    r.local = ch
    // The message being reassembled now has a listener; it no longer counts as pending.
    this.#pendingBytes -= r.charged
    r.charged = 0
    if (r.pending.length > 0 && !ch.flushing) {
      ch.flushing = true
      // Not before channel() returns: handlers may want the channel object.
      queueMicrotask(() => this.#flush(ch))
    }
  }

  #flush(ch: LocalChannel): void {
    // A handler may close the channel or the mux, or the remote its side, between two messages.
    for (let msg; !this.#destroyed && !ch.closed && ch.remote && (msg = this.#unhold(ch.remote));) this.#deliver(ch, msg)
    ch.flushing = false
  }

  #deliver(ch: LocalChannel, msg: Uint8Array): void {
    ch.stats.messagesIn++
    ch.stats.bytesIn += msg.length
    try {
      ch.handlers.onmessage(msg)
    } catch (err) {
      rethrowLater(err)
    }
  }

  #releasePending(r: Remote): void {
    while (this.#unhold(r)) this.stats.dropped++
  }

  /** Takes the oldest message held for `r` off the pending budget. */
  #unhold(r: Remote): Uint8Array | undefined {
    const msg = r.pending.shift()
    if (msg) {
      this.#pendingMessages--
      this.#pendingBytes -= msg.length
    }
    return msg
  }

  /** Forgets the frames of the message being reassembled and refunds their budget. */
  #uncharge(r: Remote): void {
    this.#pendingBytes -= r.charged
    r.charged = 0
    r.parts.length = 0
  }

  #dropMessage(r: Remote): void {
    r.discard = false
    this.stats.messagesIn++
    this.stats.dropped++
  }

  #protocolError(err: P2PError): void {
    this.stats.malformed++
    debug(this.#label, 'protocol error', err.message)
    this.destroy(err)
  }

  // ---- sending --------------------------------------------------------------

  #enqueue(ch: LocalChannel, message: Uint8Array | readonly Uint8Array[]): void {
    if (this.#destroyed) throw P2PError.DESTROYED('the mux is closed')
    if (ch.closed) throw P2PError.DESTROYED(`channel ${ch.name} is closed`)
    let bytes: Uint8Array | Gather
    if (message instanceof Uint8Array) bytes = message
    else if (Array.isArray(message)) bytes = message.length === 1 && message[0] instanceof Uint8Array ? message[0] : new Gather(message)
    else throw P2PError.INVALID_ARGUMENT('send() takes a Uint8Array or an array of them')
    if (bytes.length > this.maxMessageBytes) {
      throw P2PError.MESSAGE_TOO_LARGE(`${bytes.length} bytes is more than maxMessageBytes (${this.maxMessageBytes})`)
    }
    ch.queue.push(bytes)
    ch.bufferedAmount += bytes.length
    this.#queued += bytes.length
    if (ch.bufferedAmount >= ch.highWaterMark) ch.overMark = true
    if (ch.announced) this.#enterRing(ch)
    this.#pump()
  }

  #waitReady(ch: LocalChannel): Promise<void> {
    if (this.#destroyed || ch.closed) return Promise.reject(P2PError.DESTROYED(`channel ${ch.name} is closed`))
    if (ch.bufferedAmount < ch.highWaterMark) return Promise.resolve()
    ch.overMark = true
    ch.waiter ??= createWaiter()
    return ch.waiter.promise
  }

  #closeChannel(ch: LocalChannel, remoteClosed: boolean): void {
    if (ch.closed || this.#destroyed) return
    ch.closed = true
    this.#local.delete(ch.name)
    const r = ch.remote
    if (r) {
      ch.remote = null
      r.local = null
      // What the remote sent for this channel has no reader any more.
      this.#releasePending(r)
      if (r.size > 0) {
        r.parts.length = 0
        r.discard = true
      }
    }
    ch.waiter?.reject(P2PError.DESTROYED(`channel ${ch.name} closed`))
    ch.waiter = null
    // Flush what was sent, unless the remote closed: it would drop it anyway.
    if (remoteClosed || ch.queue.length === 0) {
      this.#discardQueue(ch)
      // A channel still waiting behind an older one of its name is skipped when that one finishes.
      if (ch.announced) this.#finish(ch, remoteClosed)
    } else {
      ch.closing = true
    }
    debug(this.#label, 'close channel', ch.name, remoteClosed ? 'by the remote' : '')
    this.#callOnClose(ch)
    this.#pump()
  }

  #discardQueue(ch: LocalChannel): void {
    this.#queued -= ch.bufferedAmount
    ch.queue.clear()
    ch.bufferedAmount = 0
    ch.offset = 0
    if (ch.inRing) {
      const i = this.#ring.indexOf(ch)
      this.#ring.splice(i, 1)
      if (i < this.#cursor) this.#cursor--
      ch.inRing = false
    }
  }

  /** Queues OPEN for a channel, then its frames may follow. */
  #announce(ch: LocalChannel): void {
    if (ch.closed && ch.queue.length === 0) {
      // Closed before the remote ever heard of it: nothing to say.
      this.#finish(ch, false)
      return
    }
    ch.announced = true
    this.#control.push(encodeOpen(ch.id, ch.nameBytes))
    if (ch.queue.length > 0) this.#enterRing(ch)
  }

  #enterRing(ch: LocalChannel): void {
    if (ch.inRing) return
    ch.inRing = true
    this.#ring.push(ch)
  }

  /** Queues a channel's CLOSE (if it was announced) and lets the next channel of its name announce itself. */
  #finish(ch: LocalChannel, reply: boolean): void {
    if (ch.announced) this.#control.push(encodeClose(ch.id, reply))
    if (this.#tails.get(ch.name) === ch) this.#tails.delete(ch.name)
    const next = ch.successor
    ch.successor = null
    if (next) this.#announce(next)
  }

  // #pump returns at once after destroy.
  readonly #onLow = (): void => this.#pump()

  /**
   * Moves frames into the transport while its buffer is under the high-water
   * mark: control frames first, then one DATA frame per channel per turn.
   */
  #pump(): void {
    if (this.#pumping || this.#destroyed) return
    const t = this.transport
    if (!t.open) return
    this.#pumping = true
    try {
      const control = this.#control
      const ring = this.#ring
      const hwm = this.highWaterMark
      while (t.bufferedAmount < hwm) {
        if (control.length > 0) {
          const frame = control.shift() as Uint8Array
          if (frame === this.#pongFrame) this.#pongFrame = null
          this.#send(frame)
          continue
        }
        if (ring.length === 0) break
        if (this.#cursor >= ring.length) this.#cursor = 0
        this.#sendFrame(ring[this.#cursor])
      }
    } catch (err) {
      this.#pumping = false
      this.destroy(toP2PError(err, 'ERR_CONNECTION_FAILED'))
      return
    }
    this.#pumping = false
    if (this.#drained.length > 0) this.#notifyDrained()
    this.#scheduleUpdate()
  }

  #send(frame: Uint8Array): void {
    this.transport.send(frame)
    this.stats.framesOut++
    this.stats.bytesOut += frame.length
  }

  /** Sends the next frame of `ch`, the channel at the cursor. */
  #sendFrame(ch: LocalChannel): void {
    const msg = ch.queue.peek() as Uint8Array | Gather
    const offset = ch.offset
    const remaining = msg.length - offset
    const frameSize = this.frameSize
    const fin = remaining <= frameSize
    const n = fin ? remaining : frameSize
    const buf = this.#frame
    const h = encodeDataHeader(buf, ch.id, fin)
    if (n > 0) {
      if (msg instanceof Uint8Array) buf.set(n === msg.length ? msg : msg.subarray(offset, offset + n), h)
      else msg.copyNext(n, buf, h)
    }
    this.#send(n === frameSize ? this.#fullFrames[h] : buf.subarray(0, h + n))
    ch.stats.bytesOut += n
    ch.bufferedAmount -= n
    this.#queued -= n
    if (fin) {
      ch.queue.shift()
      ch.offset = 0
      ch.stats.messagesOut++
      this.stats.messagesOut++
    } else {
      ch.offset = offset + n
    }
    if (ch.queue.length === 0) {
      this.#ring.splice(this.#cursor, 1)
      ch.inRing = false
      if (ch.closing) {
        ch.closing = false
        this.#finish(ch, false)
      }
    } else {
      this.#cursor++
    }
    if (ch.overMark && ch.bufferedAmount < ch.highWaterMark) {
      ch.overMark = false
      this.#drained.push(ch)
    }
  }

  /** Outside the send loop, so handlers that send again start a fresh one. */
  #notifyDrained(): void {
    const list = this.#drained
    this.#drained = []
    for (const ch of list) {
      if (ch.closed || this.#destroyed) continue
      const waiter = ch.waiter
      ch.waiter = null
      waiter?.resolve()
      this.emit('drain', ch)
    }
  }

  // ---- liveness and stats ---------------------------------------------------

  #ping(): void {
    this.#pingNonce = (this.#pingNonce + 1) >>> 0
    if (this.#pings.length >= MAX_PINGS_IN_FLIGHT) this.#pings.shift()
    this.#pings.push({nonce: this.#pingNonce, sentAt: this.#clock.now()})
    this.#ticksSincePing = 0
    this.#control.push(encodePing(this.#pingNonce))
    this.#pump()
  }

  readonly #onTick = (): void => {
    if (this.#destroyed) return
    this.#timer = this.#clock.setTimeout(this.#onTick, this.#tick)
    const now = this.#clock.now()
    const late = now - this.#lastTick > LATE_TICKS * this.#tick
    this.#lastTick = now
    // Any frame counts as liveness; comparing a counter keeps the receive path free of clock reads.
    const heard = this.stats.framesIn !== this.#framesSeen
    this.#framesSeen = this.stats.framesIn
    if (!heard && this.#timeout > 0 && now - this.#lastActivity >= this.#timeout && (!late || this.#graced)) {
      this.destroy(P2PError.PEER_TIMEOUT(`nothing received for ${Math.round(now - this.#lastActivity)} ms`))
      return
    }
    if (late) {
      // We slept: the silence may be ours (a remote hidden too pings as rarely),
      // and what did arrive may be a minute old. Ask now and judge the answer:
      // message events are not throttled, so a live peer's PONG arrives within a
      // round trip even if our timer sleeps again. An answer earns another grace;
      // silence does not, or a dead peer would be hidden for as long as we sleep.
      if (heard || !this.#graced) {
        debug(this.#label, 'late tick', Math.round(now - this.#lastActivity), 'ms after the last activity: pinging before judging')
        this.#lastActivity = now
        this.#graced = true
      }
    } else if (heard) {
      this.#lastActivity = now
      this.#graced = false
    }
    if (late || (this.#ticksPerPing > 0 && ++this.#ticksSincePing >= this.#ticksPerPing)) this.#ping()
  }

  // destroy() does nothing the second time.
  readonly #onTransportClose = (): void => this.destroy()

  #scheduleUpdate(): void {
    if (this.#updateTimer !== null || this.#destroyed) return
    this.#updateTimer = this.#clock.setTimeout(this.#emitUpdate, this.#updateInterval)
  }

  readonly #emitUpdate = (): void => {
    this.#updateTimer = null
    if (this.#destroyed) return
    this.emit('update', this.stats)
  }

  #callOnClose(ch: LocalChannel): void {
    try {
      ch.handlers.onclose?.()
    } catch (err) {
      rethrowLater(err)
    }
  }
}
