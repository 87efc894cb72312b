// Importing this module registers <p2p-kv-value> alone (see src/p2p-log.ts).
import {P2PKvValueElement} from './elements/p2p-kv-value/p2p-kv-value.js'

export {P2PKvValueElement}

customElements.define('p2p-kv-value', P2PKvValueElement)
