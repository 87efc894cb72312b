import type {FileEventDetail} from './file-add-event.js'

/** A chunk of a download arrived, was verified and stored: `detail.file.bytes` grew. */
export class FileProgressEvent extends Event {
  static readonly eventName = 'p2p-file-progress' as const
  readonly detail: FileEventDetail

  constructor(detail: FileEventDetail) {
    super(FileProgressEvent.eventName, {bubbles: true, composed: true})
    this.detail = detail
  }
}

declare global {
  interface HTMLElementEventMap {
    'p2p-file-progress': FileProgressEvent
  }
}
