import type {MirrorStatus} from '../mirror/mirror.js'

export interface MirrorStatusEventDetail {
  /** What the mirror holds and keeps, as it told it (checked field by field: src/mirror/status-channel.ts). */
  status: MirrorStatus
}

/** A mirror told its status: the first time a page hears it, and after each change. */
export class MirrorStatusEvent extends Event {
  static readonly eventName = 'p2p-mirror-status' as const
  readonly detail: MirrorStatusEventDetail

  constructor(detail: MirrorStatusEventDetail) {
    super(MirrorStatusEvent.eventName, {bubbles: true, composed: true})
    this.detail = detail
  }
}

declare global {
  interface HTMLElementEventMap {
    'p2p-mirror-status': MirrorStatusEvent
  }
}
