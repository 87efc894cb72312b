// p2p-elements/node: what a Node program needs beside the core to join swarms.
export {loadNodeWebRTC, NODE_WEBRTC_PACKAGE} from './webrtc.js'
export type {WebRTC} from '../core/swarm/rtc-link.js'
export {openNodeDatabase, NODE_LEVEL_PACKAGE} from './level.js'
