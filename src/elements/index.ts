export {P2PSwarmElement} from '../p2p-swarm.js'
export {P2PPeersElement} from '../p2p-peers.js'
// Elements that provide a source by context (<p2p-gossip>, <p2p-log>) are defined
// before <p2p-feed>, which consumes it: markup already in the page upgrades in the
// order elements are defined, and a feed that asks for its source before the element
// around it has upgraded is never answered (@lit/context answers only providers
// already connected).
export {P2PGossipElement} from '../p2p-gossip.js'
export {P2PLogElement} from '../p2p-log.js'
export {P2PFeedElement, type FeedRenderer} from '../p2p-feed.js'
export {P2PFileDropElement} from '../p2p-file-drop.js'
// After <p2p-log>, whose log they read.
export {P2PViewElement, defineView} from '../p2p-view.js'
export {P2PKVElement} from '../p2p-kv.js'
export {P2PKvValueElement} from '../p2p-kv-value.js'
export {P2PMirrorControlElement} from '../p2p-mirror-control.js'
export {P2PDhtElement} from '../p2p-dht.js'
