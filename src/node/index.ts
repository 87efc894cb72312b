// p2p-elements/node: what a Node program needs beside the core to join swarms.
export {loadNodeWebRTC, NODE_WEBRTC_PACKAGE} from './webrtc.js'
export type {WebRTC} from '../core/swarm/rtc-link.js'
export {openNodeDatabase, NODE_LEVEL_PACKAGE} from './level.js'
// The always-on mirror (`p2p-elements mirror` runs it): platform-free code, exported here
// beside the WebRTC and LevelDB it runs on in Node.
export {Mirror} from '../mirror/mirror.js'
export type {MirrorOptions, MirrorStatus, MirrorLogStatus, MirrorEvents} from '../mirror/mirror.js'
