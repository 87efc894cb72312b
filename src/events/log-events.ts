import type {Entry} from '../core/log/entry.js'
import type {Log} from '../core/log/log.js'
import type {ForkEvidence} from '../core/log/store.js'

export interface LogAppendEventDetail {
  /** The log they were stored in: this page's own, or one of the room's. */
  log: Log
  /** Entries stored, in the log's order: written here or received from a peer. */
  entries: Entry[]
}

/** Entries were stored in one of the element's logs: appended here, or replicated from a peer. */
export class LogAppendEvent extends Event {
  static readonly eventName = 'p2p-log-append' as const
  readonly detail: LogAppendEventDetail

  constructor(detail: LogAppendEventDetail) {
    super(LogAppendEvent.eventName, {bubbles: true, composed: true})
    this.detail = detail
  }
}

export interface LogProgressEventDetail {
  /** Entries that connected peers hold and this page does not yet. */
  behind: number
  /** Nothing known to be missing (see `RoomLogs.progress`). */
  synced: boolean
}

/** How far along replication is changed. */
export class LogProgressEvent extends Event {
  static readonly eventName = 'p2p-log-progress' as const
  readonly detail: LogProgressEventDetail

  constructor(detail: LogProgressEventDetail) {
    super(LogProgressEvent.eventName, {bubbles: true, composed: true})
    this.detail = detail
  }
}

export interface LogConflictEventDetail {
  log: Log
  /** The author's two entries at one sequence number, each run on to a signed entry: the author is frozen from there. */
  evidence: ForkEvidence
}

/** An author of one of the element's logs forked it (two entries at one sequence number). */
export class LogConflictEvent extends Event {
  static readonly eventName = 'p2p-log-conflict' as const
  readonly detail: LogConflictEventDetail

  constructor(detail: LogConflictEventDetail) {
    super(LogConflictEvent.eventName, {bubbles: true, composed: true})
    this.detail = detail
  }
}

declare global {
  interface HTMLElementEventMap {
    'p2p-log-append': LogAppendEvent
    'p2p-log-progress': LogProgressEvent
    'p2p-log-conflict': LogConflictEvent
  }
}
