// Importing this module registers <p2p-swarm> alone: a page that uses only some elements
// imports their entries and carries none of the others' code.
export {P2PSwarmElement} from './elements/p2p-swarm/p2p-swarm.js'
