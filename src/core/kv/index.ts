// The multi-value key/value store on a log (issue 18): hyperkv's semantics, kept as a view.
export {KV, MAX_KV_HEADS, MAX_KV_KEY_LENGTH, checkKvKey, parseKvEntry} from './kv.js'
export type {KvChange, KvEvents, KvOptions, KvStats, KvValue} from './kv.js'
