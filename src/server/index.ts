// The Node side: the signalling hub and the pieces it is built from.
export {checkHubOptions, createHub, HUB_NAME, HUB_VERSION} from './hub.js'
export type {Hub, HubEvents, HubOptions, HubStats, HubRejections, HubInternals} from './hub.js'
export {SubscriberRegistry} from './registry.js'
export type {Subscription} from './registry.js'
export {CorsPolicy} from './cors.js'
export type {CorsOrigins, CorsHeaders} from './cors.js'
export {TokenBuckets} from './rate-limit.js'
export type {TokenBucketsOptions} from './rate-limit.js'
