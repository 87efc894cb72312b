// Importing this module registers <p2p-kv> alone (see src/p2p-log.ts).
import {P2PKVElement} from './elements/p2p-kv/p2p-kv.js'

export {P2PKVElement}

customElements.define('p2p-kv', P2PKVElement)
