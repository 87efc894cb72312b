// The DOM-free core: runs in Chromium and in Node.
export {P2PError, toP2PError, type P2PErrorCode} from './errors.js'
export {Emitter, once, type EventMap} from './emitter.js'
export {createDebug, shortId} from './debug.js'
export {KeyPairIdentity, generateIdentity, verify, sha256, type Identity} from './crypto/identity.js'
export {RoomCipher} from './crypto/room-cipher.js'
export * from './hub-client/index.js'
export * from './mux/index.js'
export * from './swarm/index.js'
