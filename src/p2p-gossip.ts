// Importing this module registers <p2p-gossip> alone: a page that uses only some elements
// imports their entries and carries none of the others' code.
export {P2PGossipElement} from './elements/p2p-gossip/p2p-gossip.js'
