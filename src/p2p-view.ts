// Importing this module registers <p2p-view> alone (see src/p2p-log.ts), and gives
// defineView(), which names the views its elements show.
import {P2PViewElement} from './elements/p2p-view/p2p-view.js'
import {defineView} from './elements/p2p-view/view-registry.js'

export {P2PViewElement, defineView}

customElements.define('p2p-view', P2PViewElement)
