// Importing this module registers <p2p-dht> alone (see src/p2p-log.ts).
import {P2PDhtElement} from './elements/p2p-dht/p2p-dht.js'

export {P2PDhtElement}

customElements.define('p2p-dht', P2PDhtElement)
