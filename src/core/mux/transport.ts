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
  /** Largest frame the remote accepts, in bytes (SCTP max-message-size). */
  readonly maxMessageSize: number
  /** `onbufferedamountlow` fires when `bufferedAmount` drops to this. */
  bufferedAmountLowThreshold: number
  send(frame: Uint8Array): void
  close(): void
  onmessage: ((frame: Uint8Array) => void) | null
  onbufferedamountlow: (() => void) | null
  onclose: (() => void) | null
}

/** Chromium's data channel limit; 16 KiB is the floor every browser accepts. */
export const SAFE_MESSAGE_SIZE = 16 * 1024

/**
 * Adapts an open RTCDataChannel. `maxMessageSize` comes from the connection's
 * negotiated SCTP transport when known, else the cross-browser safe floor.
 */
export function fromDataChannel(channel: RTCDataChannel, pc?: RTCPeerConnection): FrameTransport {
  channel.binaryType = 'arraybuffer'
  const negotiated = pc?.sctp?.maxMessageSize
  const maxMessageSize = negotiated && Number.isFinite(negotiated) && negotiated > 0
    ? negotiated
    : SAFE_MESSAGE_SIZE
  const transport: FrameTransport = {
    get open() { return channel.readyState === 'open' },
    get bufferedAmount() { return channel.bufferedAmount },
    maxMessageSize,
    get bufferedAmountLowThreshold() { return channel.bufferedAmountLowThreshold },
    set bufferedAmountLowThreshold(v: number) { channel.bufferedAmountLowThreshold = v },
    send(frame) { channel.send(frame as Uint8Array<ArrayBuffer>) },
    close() { channel.close() },
    onmessage: null,
    onbufferedamountlow: null,
    onclose: null,
  }
  channel.addEventListener('message', (e: MessageEvent) => {
    const data = e.data
    if (data instanceof ArrayBuffer) transport.onmessage?.(new Uint8Array(data))
    else if (ArrayBuffer.isView(data)) transport.onmessage?.(new Uint8Array(data.buffer, data.byteOffset, data.byteLength))
    // Text frames are not part of the protocol; the mux only speaks binary.
  })
  channel.addEventListener('bufferedamountlow', () => transport.onbufferedamountlow?.())
  channel.addEventListener('close', () => transport.onclose?.())
  return transport
}
