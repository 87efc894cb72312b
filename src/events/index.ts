export {PeerConnectEvent, type PeerEventDetail} from './peer-connect-event.js'
export {PeerDisconnectEvent, type PeerDisconnectEventDetail} from './peer-disconnect-event.js'
export {P2PErrorEvent} from './error-event.js'
export {GossipMessageEvent, type GossipMessageEventDetail} from './gossip-message-event.js'
