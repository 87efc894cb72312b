// The DOM-free core as a user meets it: the main classes with their option, event and
// stats types, and the error they throw. It runs in Chromium and in Node. The wire
// encoders, frame constants, transports, parsers and page singletons under them are
// p2p-elements/protocol (src/protocol.ts); the sub-barrels (./swarm/index.js …) hold
// every piece for the kit's own modules, tests and benchmarks.
export {P2PError, type P2PErrorCode} from './errors.js'
export {createIdentity, type Identity} from './crypto/identity.js'
export {KeyPairIdentity, exportIdentity, importIdentity, type Ed25519PrivateJwk} from './crypto/seed-identity.js'
export {pageIdentity, pageLogIdentity, setPageIdentity} from './swarm/page-identity.js'
export {HubClient} from './hub-client/hub-client.js'
export type {HubClientEvents, HubClientOptions, HubClientStats, HubConnectionStats, HubState, Subscription} from './hub-client/hub-client.js'
export {Swarm} from './swarm/swarm.js'
export type {NetworkStatus, SwarmEvents, SwarmOptions, SwarmPeer, SwarmState, SwarmStats} from './swarm/swarm.js'
export {Gossip} from './gossip/router.js'
export type {GossipEvents, GossipMessage, GossipMode, GossipOptions, GossipStats, PublishOptions} from './gossip/router.js'
export {attachGossip} from './gossip/swarm.js'
export type {AttachOptions} from './gossip/swarm.js'
export {GossipSource} from './gossip/source.js'
export type {GossipSourceOptions, GossipSourceStats} from './gossip/source.js'
export {FileShare} from './files/share.js'
export type {AddFileOptions, DownloadFileOptions, FileInfo, FileShareEvents, FileShareOptions, FileShareStats, FileState} from './files/share.js'
export {ChunkStore} from './files/chunk-store.js'
export type {ChunkStoreOptions, FileDatabase} from './files/chunk-store.js'
export type {MessageSource, SourceItem} from './source/message-source.js'
export {Log, EntryKind, readValue} from './log/index.js'
export type {AddResult, Entry, EntryFields, ForkEvidence, LogDatabase, LogEvents, LogIteratorOptions, LogOptions, LogStats} from './log/index.js'
export {LogPeer, attachLog, logProtocol} from './log/index.js'
export type {AttachLogOptions, AttachedLog, AttachedLogEvents, LogPeerEvents, LogPeerOptions, LogProgress, ReplicaLog} from './log/index.js'
