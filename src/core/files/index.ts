export {
  DEFAULT_CHUNK_SIZE, HASH_BYTES, LARGE_FILE_BYTES, defaultChunkSize, MANIFEST_DOMAIN, MAX_CHUNKS, MAX_CHUNK_SIZE, MAX_MANIFEST_BYTES,
  // The mux has a MAX_NAME_BYTES of its own (channel names); the core barrel exports both.
  MAX_NAME_BYTES as MAX_FILE_NAME_BYTES, MAX_TYPE_BYTES, MIN_CHUNK_SIZE, chunkCount, chunkRange, createManifest, decodeManifest, encodeManifest, isFileId,
  manifestId, verifyChunk, verifyManifest,
} from './manifest.js'
export type {ChunkRange, CreateManifestOptions, CreatedManifest, FileManifest} from './manifest.js'
export {Bitfield, FileMessageType, MANIFEST_INDEX, MAX_BATCH_REQUESTS, RejectReason} from './messages.js'
export type {FileMessage} from './messages.js'
export {ChunkStore} from './chunk-store.js'
export {isQuotaError} from '../storage/quota.js'
export type {ChunkStoreOptions, FileDatabase} from './chunk-store.js'
export * as fileMessages from './messages.js'
export {DEFAULT_MAX_REQUESTS, FilePeer, MAX_HAVES_PER_PEER} from './file-peer.js'
export type {FileChannel, FilePeerEvents, FilePeerOptions, FilePeerStats} from './file-peer.js'
export {FILES_PROTOCOL, attachFiles} from './swarm.js'
export type {AttachFilesOptions, AttachedFiles, AttachedFilesEvents, FilesPeerConnection, FilesSwarm} from './swarm.js'
export {Download, INITIAL_WINDOW, MAX_WINDOW, MIN_WINDOW, PIPELINE_SECONDS} from './download.js'
export type {DownloadEvents, DownloadOptions} from './download.js'
export {BLAME_LIMIT, FileShare, MAX_REMOTE_ONLY_FILES} from './share.js'
export {OPAQUE_TYPE, SVG_TYPE, mimeEssence, safeBlobType} from './blob-type.js'
export type {AddFileOptions, DownloadFileOptions, FileInfo, FileShareEvents, FileShareOptions, FileShareStats, FileState} from './share.js'
