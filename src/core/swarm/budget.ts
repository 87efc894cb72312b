import {Emitter} from '../emitter.js'
import {P2PError} from '../errors.js'

/**
 * Chromium lets a tab create about 500 RTCPeerConnections over its whole life
 * ("Cannot create so many PeerConnections"): closed ones keep counting until the
 * garbage collector frees them, which may be never. This default leaves room
 * for the page's other WebRTC users. Outside a browser (Node, where no such cap
 * exists and a bot may run for months) the page budget is unlimited.
 */
export const DEFAULT_CONNECTION_BUDGET = 400

export interface ConnectionBudgetStats {
  /** Most connections this page may create. */
  limit: number
  /** RTCPeerConnections created so far, closed ones included. */
  created: number
  /** Created and not yet closed. */
  open: number
  /** Closed, each one checked to have reached the `closed` state. */
  closed: number
  /** Connections not created because the budget was spent. */
  refused: number
}

export type ConnectionBudgetEvents = {
  /** A counter changed. */
  update: () => void
}

/** One RTCPeerConnection counted against a budget; `close()` closes and uncounts it, once. */
export interface BudgetTicket {
  close(): void
}

/**
 * The page's RTCPeerConnections, counted against one budget shared by every
 * swarm: a swarm asks before it creates one (`take`), and at the limit it is
 * refused, so the page fails with a clear ERR_CONNECTION_BUDGET instead of
 * Chromium's exception deep inside a connection attempt. Every connection it
 * counted is closed through its ticket, and counted as closed only once its
 * state says so.
 */
export class ConnectionBudget extends Emitter<ConnectionBudgetEvents> {
  #limit: number
  #created = 0
  #closed = 0
  #refused = 0

  constructor({limit = DEFAULT_CONNECTION_BUDGET}: {limit?: number} = {}) {
    super()
    this.#limit = checkLimit(limit)
  }

  get limit(): number {
    return this.#limit
  }

  /** A page that creates connections some other way can lower (or raise) it. */
  set limit(limit: number) {
    this.#limit = checkLimit(limit)
    this.emit('update')
  }

  /** Connections that may still be created. */
  get remaining(): number {
    return Math.max(0, this.#limit - this.#created)
  }

  get stats(): ConnectionBudgetStats {
    return {limit: this.#limit, created: this.#created, open: this.#created - this.#closed, closed: this.#closed, refused: this.#refused}
  }

  /**
   * Counts a connection about to be made by `create`; throws
   * ERR_CONNECTION_BUDGET when none is left (or when the browser refuses it
   * anyway). The ticket closes the connection and gives the count back to `open`.
   */
  take<T extends RTCPeerConnection>(create: () => T): {pc: T, ticket: BudgetTicket} {
    if (this.#created >= this.#limit) {
      this.#refused++
      this.emit('update')
      throw P2PError.CONNECTION_BUDGET(`this page has created ${this.#created} connections, its budget (${this.#limit})`)
    }
    let pc: T
    try {
      pc = create()
    } catch (err) {
      // The caller's own verdict (say, an unusable configuration) is not the budget's.
      if (err instanceof P2PError) throw err
      this.#refused++
      this.emit('update')
      throw P2PError.CONNECTION_BUDGET(`the browser refused a new connection: ${(err as Error).message}`, err)
    }
    this.#created++
    this.emit('update')
    let done = false
    return {
      pc,
      ticket: {
        close: () => {
          if (done) return
          done = true
          // Closing twice is not harmless everywhere: Node's WebRTC polyfill frees the
          // native connection on close() and a second close() hit a newer connection
          // (seen: a glare's new connection closed under it). Close only what is open.
          if (!isClosed(pc)) pc.close()
          // close() is synchronous: a connection that still is not closed was not ours to close.
          if (isClosed(pc)) this.#closed++
          this.emit('update')
        },
      },
    }
  }
}

/**
 * Closed by any of its states: browsers set `signalingState` to `closed`; Node's
 * polyfill leaves it and reports `closed` in the connection and ICE states.
 */
function isClosed(pc: RTCPeerConnection): boolean {
  return pc.signalingState === 'closed' || pc.connectionState === 'closed' || pc.iceConnectionState === 'closed'
}

function checkLimit(limit: number): number {
  if (!(limit === Infinity || (Number.isInteger(limit) && limit >= 0))) {
    throw P2PError.INVALID_ARGUMENT('a connection budget is a whole number, 0 or more, or Infinity')
  }
  return limit
}

/** The page-wide budget every swarm uses unless given another. */
export const pageBudget = new ConnectionBudget({limit: typeof window === 'undefined' ? Infinity : DEFAULT_CONNECTION_BUDGET})
