// p2p-elements/protocol: the pieces under the elements and the main classes, for code
// that speaks the wire protocols itself or builds its own kind of peer (a bot, a
// benchmark, another transport): wire encoders and decoders, frame constants, the mux
// and its transports, the event-stream parser, the page-wide singletons (connection
// budget, bans, pool, hub streams) and the small tools they share. These follow the
// protocols and may change with them; the root entry's API is the stable one. It holds
// the main classes too, the same objects as the root's, so one import is enough.
export * from './core/index.js'
export {toP2PError} from './core/errors.js'
export {Emitter, once, type EventMap} from './core/emitter.js'
export {createDebug, shortId} from './core/debug.js'
export {TokenBucket, checkRateLimit} from './core/token-bucket.js'
export {Deadlines, ExpiringMap, type ExpiringMapOptions} from './core/expiring-map.js'
export {verify, sha256} from './core/crypto/identity.js'
export {RoomCipher} from './core/crypto/room-cipher.js'
export * from './core/hub-client/index.js'
export * from './core/mux/index.js'
export * from './core/swarm/index.js'
export * from './core/gossip/index.js'
export * from './core/files/index.js'
export * as logMessages from './core/log/messages.js'
export {
  RoomLogs, roomLogsProtocol, checkLogName, encodeLogsMessage, decodeLogsMessage, DEFAULT_MAX_LOGS, MAX_KEYS_PER_MESSAGE,
  MAX_LOGS_MESSAGE_BYTES, type LogsMessage, type RoomLogsEvents, type RoomLogsOptions, type RoomLogsProgress, type RoomLogsStats,
} from './core/log/room-logs.js'
export {LogSource, type LogItem, type LogSourceOptions} from './core/log/log-source.js'
