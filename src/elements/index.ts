export {P2PSwarmElement} from './p2p-swarm/p2p-swarm.js'
export {P2PPeersElement} from './p2p-peers/p2p-peers.js'
