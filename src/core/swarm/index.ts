export {PagePool} from './room-pool.js'
export {Swarm, pagePool, type SwarmOptions, type SwarmStats, type SwarmEvents, type SwarmPeer, type SwarmState, type NetworkStatus} from './swarm.js'
export {
  ConnectionBudget, pageBudget, DEFAULT_CONNECTION_BUDGET, DEFAULT_RESERVE, DEFAULT_DIALS_PER_MINUTE, DEFAULT_DIAL_BURST,
  type ConnectionBudgetStats, type ConnectionBudgetOptions, type BudgetTicket,
} from './budget.js'
export {BanList, pageBans, type BanListEvents} from './bans.js'
export {ConnectionPool, RoomPeer, MAX_ROOMS_PER_CONNECTION, type ConnectionPoolStats, type RoomPeerEvents, type RoomMember} from './rooms.js'
export {claimPageIdentity, pageIdentity, pageLogIdentity, setPageIdentity, type IdentityClaim} from './page-identity.js'
export {PeerConnection, type PeerState, type PeerConnectionEvents, type PeerConnectionOptions} from './peer-connection.js'
export {Authenticator, type AuthOptions} from './auth.js'
export * as swarmMessages from './wire.js'
export {hostProtocol, type ProtocolPeer, type ProtocolSwarm, type ProtocolHost, type ProtocolHostOptions} from './protocol-host.js'
