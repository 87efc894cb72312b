// Signed append-only logs (issue 17): the entry, its storage and the Log.
export {Log, MAX_RUN, DEFAULT_MAX_PENDING} from './log.js'
export type {AddResult, LogEvents, LogIteratorOptions, LogOptions, LogStats} from './log.js'
export type {ForkEvidence, LogDatabase} from './store.js'
export {EntryKind, readValue} from './entry.js'
export type {Entry, EntryFields} from './entry.js'
