import type {FileInfo} from '../core/files/share.js'

export interface FileEventDetail {
  /** The file's listing at the moment of the event: name, size, type, state, progress, holders. */
  file: FileInfo
}

/** A file joined the list: added here by the user, or announced by a peer whose manifest arrived. */
export class FileAddEvent extends Event {
  static readonly eventName = 'p2p-file-add' as const
  readonly detail: FileEventDetail

  constructor(detail: FileEventDetail) {
    super(FileAddEvent.eventName, {bubbles: true, composed: true})
    this.detail = detail
  }
}

declare global {
  interface HTMLElementEventMap {
    'p2p-file-add': FileAddEvent
  }
}
