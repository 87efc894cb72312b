import type {P2PError} from '../core/errors.js'

/** Something failed asynchronously: a hub, a connection, a peer's proof. */
export class P2PErrorEvent extends Event {
  static readonly eventName = 'p2p-error' as const
  readonly detail: {error: P2PError}

  constructor(error: P2PError) {
    super(P2PErrorEvent.eventName, {bubbles: true, composed: true})
    this.detail = {error}
  }
}

declare global {
  interface HTMLElementEventMap {
    'p2p-error': P2PErrorEvent
  }
}
