export interface ViewProgressEventDetail {
  /** Entries of the log folded into the view. */
  indexed: number
  /** Entries in the log. */
  total: number
}

/** A view folded a slice of its log's entries: how far along it is. */
export class ViewProgressEvent extends Event {
  static readonly eventName = 'p2p-view-progress' as const
  readonly detail: ViewProgressEventDetail

  constructor(detail: ViewProgressEventDetail) {
    super(ViewProgressEvent.eventName, {bubbles: true, composed: true})
    this.detail = detail
  }
}

declare global {
  interface HTMLElementEventMap {
    'p2p-view-progress': ViewProgressEvent
  }
}
