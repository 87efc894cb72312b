import {Emitter} from '../emitter.js'
import {P2PError} from '../errors.js'
import {checkNumber} from '../check.js'
import {TokenBucket} from '../token-bucket.js'
import {ExpiringMap} from '../expiring-map.js'
import {systemClock, type Clock} from '../clock.js'

/**
 * Chromium lets a tab create about 500 RTCPeerConnections over its whole life
 * ("Cannot create so many PeerConnections"): closed ones keep counting until the
 * garbage collector frees them, which may be never. This default leaves room
 * for the page's other WebRTC users. Outside a browser (Node, where no such cap
 * exists and a bot may run for months) the page budget is unlimited.
 */
export const DEFAULT_CONNECTION_BUDGET = 400

/**
 * The share of the budget only trusted connections (to keys the page has met
 * and proven) may spend: a flood of announcements from fresh hub ids can never
 * leave the page unable to reach the peers it knows.
 */
export const DEFAULT_RESERVE = 0.2

/**
 * Untrusted connections per minute, after a burst. A room of 16 joining at
 * once needs 15 connections per page (a few more for glare): the burst covers
 * it. Fake announcements then get one connection every two seconds, so an
 * hour of them would spend the budget down to its reserve, not in a minute.
 */
export const DEFAULT_DIALS_PER_MINUTE = 30
export const DEFAULT_DIAL_BURST = 32

/** Keys proven on a connection, remembered this long and at most this many (trusted for the reserve). */
const MET_TTL = 24 * 60 * 60_000
const MAX_MET = 1024

export interface ConnectionBudgetStats {
  /** Most connections this page may create. */
  limit: number
  /** RTCPeerConnections created so far, closed ones included. */
  created: number
  /** Created and not yet closed. */
  open: number
  /** Closed, each one checked to have reached the `closed` state. */
  closed: number
  /** Connections not created because the budget was spent (or only its reserve was left). */
  refused: number
  /** Connections only peers the page knows may still create (see `reserve`). */
  reserved: number
  /** Untrusted connections not created because too many were made lately (pacing). */
  paced: number
}

export interface ConnectionBudgetOptions {
  limit?: number
  /** Share of `limit` kept for trusted connections (keys met before), 0 to 1. */
  reserve?: number
  /** Untrusted connections allowed per minute once the burst is spent; Infinity: unpaced. */
  dialsPerMinute?: number
  dialBurst?: number
  /** What pacing and the memory of met keys count by; tests drive them on a virtual clock. */
  clock?: Clock
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
  #paced = 0
  readonly #reserve: number
  readonly #dials: TokenBucket
  readonly #met: ExpiringMap<string, true>

  constructor({
    limit = DEFAULT_CONNECTION_BUDGET, reserve = DEFAULT_RESERVE,
    dialsPerMinute = DEFAULT_DIALS_PER_MINUTE, dialBurst = DEFAULT_DIAL_BURST, clock = systemClock,
  }: ConnectionBudgetOptions = {}) {
    super()
    this.#limit = checkLimit(limit)
    checkNumber('reserve', reserve, 0, 1)
    checkNumber('dialsPerMinute', dialsPerMinute, Number.MIN_VALUE)
    checkNumber('dialBurst', dialBurst, 1)
    this.#reserve = reserve
    const now = () => clock.now()
    this.#dials = new TokenBucket(dialsPerMinute / 60, dialBurst, now)
    this.#met = new ExpiringMap<string, true>({ttl: MET_TTL, max: MAX_MET, now})
  }

  /** Whole connections of the limit that untrusted ones may not spend. */
  get reserved(): number {
    return this.#limit === Infinity ? 0 : Math.floor(this.#limit * this.#reserve)
  }

  /** Remembers a key a connection proved: a connection to it later is trusted (may spend the reserve, is not paced). */
  met(publicKey: string): void {
    this.#met.set(publicKey, true)
  }

  /** Whether the page proved `publicKey` on a connection lately. */
  knows(publicKey: string): boolean {
    return this.#met.has(publicKey)
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
    return {
      limit: this.#limit, created: this.#created, open: this.#created - this.#closed, closed: this.#closed,
      refused: this.#refused, reserved: this.reserved, paced: this.#paced,
    }
  }

  /**
   * Counts a connection about to be made by `create`; throws
   * ERR_CONNECTION_BUDGET when none is left (or when the browser refuses it
   * anyway). The ticket closes the connection and gives the count back to `open`.
   * An untrusted connection (to a hub id whose key the page has not met) may
   * not spend the reserve, and is paced: past the burst, ERR_RATE_LIMITED.
   */
  take<T extends RTCPeerConnection>(create: () => T, trusted = false): {pc: T, ticket: BudgetTicket} {
    if (this.#created >= this.#limit) {
      this.#refused++
      this.emit('update')
      throw P2PError.CONNECTION_BUDGET(`this page has created ${this.#created} connections, its budget (${this.#limit})`)
    }
    if (!trusted && this.#limit - this.#created <= this.reserved) {
      this.#refused++
      this.emit('update')
      throw P2PError.CONNECTION_BUDGET(`the rest of this page's budget (${this.reserved}) is kept for peers it knows`)
    }
    if (!trusted && !this.#dials.take()) {
      this.#paced++
      this.emit('update')
      throw P2PError.RATE_LIMITED('too many new connections lately')
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
export const pageBudget = !('window' in globalThis)
  // A Node peer (a bot) has no cap to protect and may serve many peers at once: unpaced.
  ? new ConnectionBudget({limit: Infinity, dialsPerMinute: Infinity})
  : new ConnectionBudget()
