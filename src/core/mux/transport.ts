/**
 * What the multiplexer needs from a message channel: an ordered, reliable,
 * message-preserving pipe with a send buffer it can watch. An RTCDataChannel
 * is one (see `fromDataChannel`); tests use an in-memory pair.
 */
export interface FrameTransport {
  /** True while frames can be sent. */
  readonly open: boolean
  /** Bytes queued but not yet handed to the network. */
  readonly bufferedAmount: number
  /** Largest frame the remote accepts, in bytes (SCTP max-message-size); `Infinity` for no limit. */
  readonly maxMessageSize: number
  /** `onbufferedamountlow` fires when `bufferedAmount` drops to this. */
  bufferedAmountLowThreshold: number
  /**
   * Sends one frame. The transport copies or consumes it before returning, so
   * the caller may reuse the buffer at once (the mux writes every frame into one).
   */
  send(frame: Uint8Array): void
  close(): void
  onmessage: ((frame: Uint8Array) => void) | null
  onbufferedamountlow: (() => void) | null
  onclose: (() => void) | null
}

/** Chromium's data channel limit; 16 KiB is the floor every browser accepts. */
export const SAFE_MESSAGE_SIZE = 16 * 1024

/** Frames held before the mux attaches; a peer that sends more before we listen is flooding. */
const MAX_BACKLOG = 1024

/**
 * Adapts an RTCDataChannel, open or about to open: adapt it as soon as it
 * exists, so no frame arrives before anyone listens. `maxMessageSize` comes
 * from the connection's negotiated SCTP transport, read when asked (it is
 * known once the remote description is applied): the smaller of the remote's
 * SDP `a=max-message-size` and what this browser can send, `Infinity` when
 * neither has a limit. Unknown (no SCTP transport yet, or an engine without
 * `pc.sctp`), it is the cross-browser safe floor.
 */
export function fromDataChannel(channel: RTCDataChannel, pc?: RTCPeerConnection): FrameTransport {
  channel.binaryType = 'arraybuffer'
  // Frames that arrive before anyone reads them (between the channel opening and
  // the mux attaching) are held and handed over once `onmessage` is set, so the
  // remote's first OPEN is never lost. Past a bound the peer is flooding: close.
  let onmessage: ((frame: Uint8Array) => void) | null = null
  const backlog: Uint8Array[] = []
  const drainBacklog = () => {
    while (onmessage && backlog.length > 0) onmessage(backlog.shift() as Uint8Array)
  }
  const transport: FrameTransport = {
    get open() { return channel.readyState === 'open' },
    get bufferedAmount() { return channel.bufferedAmount },
    get maxMessageSize() {
      const negotiated = pc?.sctp?.maxMessageSize
      return typeof negotiated === 'number' && negotiated > 0 ? negotiated : SAFE_MESSAGE_SIZE
    },
    get bufferedAmountLowThreshold() { return channel.bufferedAmountLowThreshold },
    set bufferedAmountLowThreshold(v: number) { channel.bufferedAmountLowThreshold = v },
    // Chromium copies the bytes into its send queue during send().
    send(frame) { channel.send(frame as Uint8Array<ArrayBuffer>) },
    close() { channel.close() },
    get onmessage() { return onmessage },
    set onmessage(fn) {
      onmessage = fn
      if (fn && backlog.length > 0) queueMicrotask(drainBacklog)
    },
    onbufferedamountlow: null,
    onclose: null,
  }
  const receive = (frame: Uint8Array) => {
    if (onmessage && backlog.length === 0) onmessage(frame)
    else if (backlog.length < MAX_BACKLOG) backlog.push(frame)
    else channel.close()
  }
  channel.addEventListener('message', (e: MessageEvent) => {
    const data = e.data
    if (data instanceof ArrayBuffer) receive(new Uint8Array(data))
    else if (ArrayBuffer.isView(data)) receive(new Uint8Array(data.buffer, data.byteOffset, data.byteLength))
    // Text frames are not part of the protocol; the mux only speaks binary.
  })
  channel.addEventListener('bufferedamountlow', () => transport.onbufferedamountlow?.())
  channel.addEventListener('close', () => transport.onclose?.())
  return transport
}
