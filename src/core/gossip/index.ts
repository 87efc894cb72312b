// The simulation (./simulation.js) is left out on purpose: it is a tool for tests
// and benchmarks, and would only weigh down the page bundle.
export {Gossip} from './router.js'
export type {
  GossipEvents, GossipLink, GossipLinkInfo, GossipMessage, GossipMode, GossipOptions, GossipStats, PublishOptions,
} from './router.js'
export {GOSSIP_PROTOCOL, attachGossip, sharedGossip} from './swarm.js'
export type {AttachOptions, GossipPeer, GossipSwarm, SharedGossip} from './swarm.js'
export {GossipSource} from './source.js'
export type {GossipSourceOptions, GossipSourceStats} from './source.js'
export {DEFAULT_SCORE, DecayingCounter, PeerScore, scoreParams} from './score.js'
export type {ScoreOptions, ScoreParams} from './score.js'
export {MessageCache, SeenSet} from './seen-set.js'
export type {MessageCacheOptions, SeenSetOptions} from './seen-set.js'
export * as gossipMessages from './messages.js'
