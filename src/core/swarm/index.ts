export {Swarm, type SwarmOptions, type SwarmStats, type SwarmEvents} from './swarm.js'
export {PeerConnection, type PeerState, type PeerConnectionEvents, type PeerConnectionOptions} from './peer-connection.js'
export {Authenticator, type AuthOptions} from './auth.js'
export * as swarmMessages from './messages.js'
