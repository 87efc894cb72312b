export {Mux} from './mux.js'
export type {MuxOptions, MuxStats, MuxEvents, Channel, ChannelHandlers, ChannelOptions, ChannelStats} from './mux.js'
export {fromDataChannel, SAFE_MESSAGE_SIZE} from './transport.js'
export type {FrameTransport} from './transport.js'
export {MemoryTransport, createMemoryTransportPair} from './memory-transport.js'
export type {MemoryTransportOptions} from './memory-transport.js'
export {
  MUX_PROTOCOL, FrameType, FLAG_FIN, FLAG_REPLY, MAX_NAME_BYTES, MAX_REASON_BYTES, MAX_CHANNEL_ID,
  createFrame, decodeFrame, encodeData, encodeDataHeader, encodeOpen, encodeClose, encodePing, encodePong,
  encodeGoodbye, encodeVarint, varintLength, channelNameBytes,
} from './messages.js'
export type {Frame} from './messages.js'
