export {HubClient} from './hub-client.js'
export type {
  HubClientEvents,
  HubClientOptions,
  HubClientStats,
  HubConnectionStats,
  HubState,
  Subscription,
} from './hub-client.js'
export {openEventStream} from './sse.js'
export {SharedStreams, pageStreams} from './shared-streams.js'
export {TAB_STREAM_PREFIX, TabStreams, type TabStreamsEvents} from './tab-streams.js'
export {decodeTabMessage, type TabMessage} from './tab-relay.js'
export type {
  BroadcastChannelConstructor,
  BroadcastChannelLike,
  LockManagerLike,
  PageStreams,
  TabStreamsOptions,
  TabStreamsStats,
} from './tab-streams.js'
export type {
  EventSourceConstructor,
  EventSourceLike,
  EventStream,
  EventStreamHandlers,
  OpenEventStreamOptions,
  OpenStream,
  StreamTarget,
} from './sse.js'
export {SseParser} from './sse-parser.js'
export {CrossHubDedupe} from './dedupe.js'
export type {CrossHubDedupeOptions} from './dedupe.js'
export {
  MAX_BODY_BYTES,
  MAX_NAME_LENGTH,
  broadcastUrl,
  isValidName,
  normalizeHubUrl,
  streamUrl,
} from './protocol.js'
export {errorFromResponse, type HubErrorBody} from './refusal.js'
