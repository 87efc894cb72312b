/**
 * An in-memory FrameTransport pair that behaves like two ends of an
 * RTCDataChannel where it matters to the mux: frames arrive asynchronously and
 * in order, sends pile up in `bufferedAmount` and leave at a configurable rate,
 * `onbufferedamountlow` fires on the way down through the threshold, and a
 * close delivers what was sent before it, then closes both ends. Tests and core
 * objects pair muxes through it without a browser.
 */
import type {FrameTransport} from './transport.js'
import {P2PError} from '../errors.js'
import {Fifo} from './fifo.js'

export interface MemoryTransportOptions {
  /** Largest frame accepted, as SCTP's max-message-size (Chromium: 256 KiB). */
  maxMessageSize?: number
  /**
   * Bytes that leave each end's send buffer per tick (a macrotask); whole frames,
   * so a tick may overshoot by one. Infinity empties the buffer every tick.
   */
  bytesPerTick?: number
  /** Milliseconds between a frame leaving the buffer and its arrival. */
  latency?: number
}

type State = 'open' | 'closing' | 'closed'

// setImmediate runs after I/O in Node; browsers lack it and get setTimeout's clamped tick.
const macrotask: (fn: () => void) => void = typeof setImmediate === 'function'
  ? fn => { setImmediate(fn) }
  : fn => { setTimeout(fn, 0) }

export class MemoryTransport implements FrameTransport {
  readonly maxMessageSize: number
  bufferedAmountLowThreshold = 0
  onbufferedamountlow: (() => void) | null = null
  onclose: (() => void) | null = null
  /** The largest `bufferedAmount` ever reached: what a backpressure test checks. */
  peakBufferedAmount = 0
  /** Frames and bytes this end sent. */
  framesSent = 0
  bytesSent = 0

  #remote!: MemoryTransport
  #state: State = 'open'
  readonly #queue = new Fifo<Uint8Array>()
  #buffered = 0
  #scheduled = false
  readonly #bytesPerTick: number
  readonly #latency: number
  #onmessage: ((frame: Uint8Array) => void) | null = null
  /** Frames that arrived while nobody read them, handed over when `onmessage` is set. */
  readonly #inbox: Uint8Array[] = []

  constructor(options: MemoryTransportOptions = {}) {
    this.maxMessageSize = options.maxMessageSize ?? 256 * 1024
    this.#bytesPerTick = options.bytesPerTick ?? Infinity
    this.#latency = options.latency ?? 0
    if (!(this.#bytesPerTick > 0)) throw P2PError.INVALID_ARGUMENT('bytesPerTick must be positive')
    if (!(this.#latency >= 0)) throw P2PError.INVALID_ARGUMENT('latency must be ≥ 0')
  }

  /** Makes two connected ends. */
  static pair(options: MemoryTransportOptions = {}): [MemoryTransport, MemoryTransport] {
    const a = new MemoryTransport(options)
    const b = new MemoryTransport(options)
    a.#remote = b
    b.#remote = a
    return [a, b]
  }

  get open(): boolean {
    return this.#state === 'open'
  }

  get bufferedAmount(): number {
    return this.#buffered
  }

  get onmessage(): ((frame: Uint8Array) => void) | null {
    return this.#onmessage
  }

  set onmessage(fn: ((frame: Uint8Array) => void) | null) {
    this.#onmessage = fn
    if (fn && this.#inbox.length > 0) queueMicrotask(() => this.#drainInbox())
  }

  send(frame: Uint8Array): void {
    if (this.#state !== 'open') throw P2PError.CONNECTION_CLOSED('the transport is not open')
    if (frame.length > this.#remote.maxMessageSize) {
      throw P2PError.MESSAGE_TOO_LARGE(`frame of ${frame.length} bytes exceeds maxMessageSize ${this.#remote.maxMessageSize}`)
    }
    // A copy, as a data channel takes one: the caller may reuse its buffer.
    this.#queue.push(frame.slice())
    this.#buffered += frame.length
    if (this.#buffered > this.peakBufferedAmount) this.peakBufferedAmount = this.#buffered
    this.framesSent++
    this.bytesSent += frame.length
    this.#schedule()
  }

  /** Closes both ends once the frames already sent have arrived. */
  close(): void {
    if (this.#state !== 'open') return
    this.#state = 'closing'
    this.#schedule()
  }

  #schedule(): void {
    if (this.#scheduled) return
    this.#scheduled = true
    macrotask(() => this.#transmit())
  }

  #transmit(): void {
    this.#scheduled = false
    if (this.#state === 'closed') return
    const before = this.#buffered
    const batch: Uint8Array[] = []
    let budget = this.#bytesPerTick
    while (budget > 0 && this.#queue.length > 0) {
      const frame = this.#queue.shift() as Uint8Array
      budget -= frame.length
      this.#buffered -= frame.length
      batch.push(frame)
    }
    const done = this.#queue.length === 0 && this.#state === 'closing'
    const arrive = () => {
      this.#remote.#receive(batch)
      if (done) this.#finishClose()
    }
    if (this.#latency > 0) setTimeout(arrive, this.#latency)
    else arrive()
    if (this.#queue.length > 0) this.#schedule()
    const threshold = this.bufferedAmountLowThreshold
    if (before > threshold && this.#buffered <= threshold && this.#state === 'open') this.onbufferedamountlow?.()
  }

  #receive(batch: Uint8Array[]): void {
    for (const frame of batch) {
      if (this.#state === 'closed') return
      if (this.#onmessage && this.#inbox.length === 0) this.#onmessage(frame)
      else this.#inbox.push(frame)
    }
  }

  #drainInbox(): void {
    while (this.#onmessage && this.#inbox.length > 0 && this.#state !== 'closed') {
      this.#onmessage(this.#inbox.shift() as Uint8Array)
    }
  }

  #finishClose(): void {
    for (const end of [this, this.#remote]) {
      if (end.#state === 'closed') continue
      end.#state = 'closed'
      end.#queue.clear()
      end.#buffered = 0
      macrotask(() => end.onclose?.())
    }
  }
}

/** Two connected in-memory transports. */
export function createMemoryTransportPair(options: MemoryTransportOptions = {}): [MemoryTransport, MemoryTransport] {
  return MemoryTransport.pair(options)
}
