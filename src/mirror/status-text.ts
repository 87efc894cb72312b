/**
 * A kept log's and a kept file's state in words, the same wherever a mirror's
 * status is shown: `p2p-elements mirror`'s text lines and `<p2p-mirror-control>`.
 * Platform-free and DOM-free.
 */
import type {MirrorFileStatus, MirrorLogStatus} from './mirror.js'

/** "storage full", "over quota", "no peer has it", "N behind" or "in sync", the first that holds. */
export function logState(log: MirrorLogStatus): string {
  return log.paused ? 'storage full' : log.overQuota ? 'over quota' : log.remote === null ? 'no peer has it' : log.behind > 0 ? `${log.behind} behind` : 'in sync'
}

/** "over quota", "no peer has it" (no manifest yet), or the file's state: downloading, paused, complete. */
export function fileState(file: MirrorFileStatus): string {
  return file.overQuota ? 'over quota' : file.state === 'waiting' ? 'no peer has it' : file.state
}
