// Importing this module registers <p2p-file-drop> alone: a page that uses only some elements
// imports their entries and carries none of the others' code.
export {P2PFileDropElement} from './elements/p2p-file-drop/p2p-file-drop.js'
