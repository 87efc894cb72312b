// Importing this module registers <p2p-peers> alone: a page that uses only some elements
// imports their entries and carries none of the others' code.
export {P2PPeersElement} from './elements/p2p-peers/p2p-peers.js'
