import type {FileEventDetail} from './file-add-event.js'

/** A download finished: every chunk is verified and stored, and the file opens as a Blob. */
export class FileCompleteEvent extends Event {
  static readonly eventName = 'p2p-file-complete' as const
  readonly detail: FileEventDetail

  constructor(detail: FileEventDetail) {
    super(FileCompleteEvent.eventName, {bubbles: true, composed: true})
    this.detail = detail
  }
}

declare global {
  interface HTMLElementEventMap {
    'p2p-file-complete': FileCompleteEvent
  }
}
