/**
 * The timing and ordering rules of signalling on the hub, apart from the
 * swarm's bookkeeping of connections: when to announce (a back-off), which
 * offer wins when both ends offer at once (glare), and where candidates that
 * overtook their offer wait for it. See docs/swarm.md, "Discovery on the hub".
 */
import type {RtcSignal} from './rtc-link.js'
import type {Clock} from '../clock.js'
import {ExpiringMap} from '../expiring-map.js'

/** Minimum intervals an announcer waits for its stream to open before it announces anyway. */
const PRE_OPEN_WAIT = 3

export interface AnnouncerOptions {
  /** Milliseconds: the first wait, and the longest. */
  bounds: {min: number, max: number}
  clock: Clock
  /** Posts one announcement. */
  announce: () => void
  /** Whether the swarm is full: it then announces only every `max`. */
  full: () => boolean
}

/**
 * Announces, then again with doubling delays: quick to find the first peers,
 * quiet once settled. A full peer still announces every `max`, so the others
 * keep it on their view of the room's ring. The caller stops it while offline
 * and when done.
 */
export class Announcer {
  readonly #opts: AnnouncerOptions
  #delay: number
  #timer: unknown = null

  constructor(opts: AnnouncerOptions) {
    this.#opts = opts
    this.#delay = opts.bounds.min
  }

  /** Announces now and restarts the back-off from `min`. */
  restart(): void {
    this.#delay = this.#opts.bounds.min
    this.#fire()
  }

  /**
   * Announces within `delay` ms and restarts the back-off: a slot came free or
   * a peer was lost, and the room should hear it now, not when the settled
   * cadence (up to `max`) comes round.
   */
  soon(delay = this.#opts.bounds.min): void {
    this.#delay = this.#opts.bounds.min
    this.stop()
    this.#timer = this.#opts.clock.setTimeout(this.#fire, delay)
  }

  /**
   * The first announcement, and the first back online, wait for a hub stream
   * to open (the caller then restarts): offers that answer it are posted to
   * our channel, and the hub delivers only to streams open at that moment, so
   * one posted before ours opened is lost (seen: twelve tabs sharing a stream,
   * a tab's channel joining it a second after it announced, two tabs waiting
   * out two connect timeouts). But Firefox sees a stream open only once its
   * first bytes arrive, and a hub may send none before its first message
   * (signalhub's own server; ours sends a comment at once): so, without an
   * open stream for three minimum intervals, it announces anyway, which
   * brings those bytes.
   */
  onceOpen(): void {
    this.soon(this.#opts.bounds.min * PRE_OPEN_WAIT)
  }

  /** No announcement until `restart` or `soon`. */
  stop(): void {
    if (this.#timer) this.#opts.clock.clearTimeout(this.#timer)
    this.#timer = null
  }

  #fire = () => {
    const {bounds: {max}, clock} = this.#opts
    this.stop()
    this.#opts.announce()
    if (this.#opts.full()) this.#delay = max
    // Full jitter keeps a roomful of peers that joined together from announcing in step.
    const delay = this.#delay * (0.5 + clock.random() * 0.5)
    this.#delay = Math.min(this.#delay * 2, max)
    this.#timer = clock.setTimeout(this.#fire, delay)
  }
}

/**
 * Glare: both ends offered at once. The end with the greater hub id keeps its
 * offer and the other yields and answers it; both reach the same verdict, so
 * one connection forms.
 */
export function keepsOwnOffer(ownId: string, remoteId: string): boolean {
  return ownId > remoteId
}

/** A candidate held for the offer of its `attempt`. */
export interface EarlyCandidate {
  signal: RtcSignal
  attempt: string
}

/**
 * Candidates that overtook their offer wait this long for it, at most this
 * many per sender and senders (past that, the oldest sender's go first).
 */
const EARLY_TTL = 10_000
const MAX_EARLY_PER_SENDER = 32
const MAX_EARLY_SENDERS = 64

/**
 * Candidates from a hub id that came before any offer from it: the hub keeps
 * no order between two POSTs. They wait, bounded, for the connection that
 * answers the offer; those of an abandoned attempt expire.
 */
export class EarlyCandidates {
  readonly #held: ExpiringMap<string, EarlyCandidate[]>

  constructor(clock: Clock) {
    this.#held = new ExpiringMap<string, EarlyCandidate[]>({ttl: EARLY_TTL, max: MAX_EARLY_SENDERS, now: () => clock.now()})
  }

  hold(from: string, signal: RtcSignal, attempt: string): void {
    let candidates = this.#held.get(from)
    if (!candidates) {
      candidates = []
      this.#held.add(from, candidates)
    }
    if (candidates.length < MAX_EARLY_PER_SENDER) candidates.push({signal, attempt})
  }

  /** The candidates held from `from`, handed over and forgotten here. */
  take(from: string): EarlyCandidate[] {
    const candidates = this.#held.get(from) ?? []
    this.#held.delete(from)
    return candidates
  }
}
