// Importing this module registers <p2p-log> alone: a page that uses only some elements
// imports their entries and carries none of the others' code. The class lives in its own
// module, which registers nothing (see src/p2p-gossip.ts).
import {P2PLogElement} from './elements/p2p-log/p2p-log.js'

export {P2PLogElement}

customElements.define('p2p-log', P2PLogElement)
