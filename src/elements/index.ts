export {P2PSwarmElement} from './p2p-swarm/p2p-swarm.js'
export {P2PPeersElement} from './p2p-peers/p2p-peers.js'
export {P2PGossipElement} from './p2p-gossip/p2p-gossip.js'
export {P2PFeedElement} from './p2p-feed/p2p-feed.js'
