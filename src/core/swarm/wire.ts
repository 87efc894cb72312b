/**
 * Every encoding the swarm speaks, as `swarmMessages` of the protocol entry
 * (index.ts): the hub's and the handshake's (messages.ts) with those of rooms
 * sharing a connection (room-messages.ts), which stay a module of their own so
 * that a page with one room does not load them.
 */
export * from './messages.js'
export * from './room-messages.js'
