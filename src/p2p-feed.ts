// Importing this module registers <p2p-feed> alone: a page that uses only some elements
// imports their entries and carries none of the others' code.
export {P2PFeedElement, type FeedRenderer} from './elements/p2p-feed/p2p-feed.js'
