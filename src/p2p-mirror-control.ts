// Importing this module registers <p2p-mirror-control> alone (see src/p2p-log.ts).
import {P2PMirrorControlElement} from './elements/p2p-mirror-control/p2p-mirror-control.js'

export {P2PMirrorControlElement}

customElements.define('p2p-mirror-control', P2PMirrorControlElement)
