// Importing this module registers <p2p-feed> alone: a page that uses only some elements
// imports their entries and carries none of the others' code. The class lives in its own
// module, which registers nothing: the script-tag build puts <p2p-swarm>'s class in the
// core every element's file shares (scripts/kit-build.ts), and an app may register a
// subclass under a name of its own.
import {P2PFeedElement} from './elements/p2p-feed/p2p-feed.js'

export {P2PFeedElement}
export type {FeedRenderer} from './elements/p2p-feed/p2p-feed.js'

customElements.define('p2p-feed', P2PFeedElement)
