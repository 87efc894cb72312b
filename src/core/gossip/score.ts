/**
 * How much a peer is trusted, after gossipsub's peer scoring: invalid and
 * oversized messages cost a lot, redundant traffic beyond what an honest peer
 * could send costs a little, useful first deliveries earn trust back slowly up
 * to a ceiling, and penalties fade with time. Below `muteThreshold` the router
 * ignores the peer; below `dropThreshold` it drops the connection.
 *
 * Every value decays lazily, computed from the clock when read: no timers, so a
 * thousand idle peers cost nothing and a simulation on a virtual clock stays exact.
 */
import {P2PError} from '../errors.js'

export interface ScoreOptions {
  /** A bad signature or a malformed frame. */
  invalidPenalty?: number
  /** A payload over `maxMessageBytes`. */
  oversizedPenalty?: number
  /** Each redundant frame past the tolerance (see `redundantTolerance`). */
  redundantPenalty?: number
  /**
   * Redundant frames a peer may send per new id we accepted, from anyone. An honest
   * peer mentions each id at most once (one DATA or one IHAVE, plus rarely the
   * answer to our GRAFT), so its redundant frames stay under the number of fresh ids.
   */
  redundantTolerance?: number
  /** Redundant frames always tolerated: a quiet room has few fresh ids to compare with. */
  redundantSlack?: number
  /** Each new id over the peer's rate limit. */
  rateLimitPenalty?: number
  /** Each frame a muted peer keeps sending: a peer that does not stop ends up dropped. */
  mutedPenalty?: number
  /** Each first delivery of a valid message. */
  deliveryReward?: number
  /** Trust earned never exceeds this, so good behaviour cannot bank credit for a storm. */
  maxScore?: number
  /** Below this, the peer's frames are ignored. */
  muteThreshold?: number
  /** Below this, the peer is dropped. */
  dropThreshold?: number
  /** Milliseconds for penalties and counters to fade by half. */
  halfLife?: number
}

export type ScoreParams = Required<ScoreOptions>

export const DEFAULT_SCORE: Readonly<ScoreParams> = Object.freeze({
  invalidPenalty: 10,
  oversizedPenalty: 10,
  redundantPenalty: 0.5,
  redundantTolerance: 2,
  redundantSlack: 32,
  rateLimitPenalty: 0.5,
  mutedPenalty: 0.5,
  deliveryReward: 0.1,
  maxScore: 10,
  muteThreshold: -20,
  dropThreshold: -50,
  halfLife: 60_000,
})

export function scoreParams(options: ScoreOptions = {}): ScoreParams {
  const params = {...DEFAULT_SCORE, ...options}
  for (const [name, value] of Object.entries(params)) {
    if (typeof value !== 'number' || Number.isNaN(value)) throw P2PError.INVALID_ARGUMENT(`score.${name} must be a number`)
  }
  if (!(params.halfLife > 0)) throw P2PError.INVALID_ARGUMENT('score.halfLife must be positive')
  if (!(params.dropThreshold < params.muteThreshold && params.muteThreshold < 0)) {
    throw P2PError.INVALID_ARGUMENT('score thresholds must satisfy dropThreshold < muteThreshold < 0')
  }
  return params
}

/** A count that fades by half every `halfLife` ms. */
export class DecayingCounter {
  #value = 0
  #at: number
  readonly #halfLife: number
  readonly #now: () => number

  constructor(halfLife: number, now: () => number) {
    this.#halfLife = halfLife
    this.#now = now
    this.#at = now()
  }

  get value(): number {
    this.#decay()
    return this.#value
  }

  add(amount = 1): number {
    this.#decay()
    return (this.#value += amount)
  }

  #decay(): void {
    const now = this.#now()
    if (now > this.#at && this.#value !== 0) this.#value *= 2 ** ((this.#at - now) / this.#halfLife)
    this.#at = now
  }
}

/**
 * One peer's score. Penalties subtract and fade toward zero; rewards add up to
 * the ceiling and do not fade (they are earned by steady work, and a ceiling
 * already keeps them small).
 */
export class PeerScore {
  /** Redundant frames lately (duplicate DATA, repeated IHAVEs, needless PRUNEs and GRAFTs). */
  readonly redundant: DecayingCounter
  readonly #params: ScoreParams
  readonly #penalty: DecayingCounter
  #reward = 0

  constructor(params: ScoreParams, now: () => number) {
    this.#params = params
    this.#penalty = new DecayingCounter(params.halfLife, now)
    this.redundant = new DecayingCounter(params.halfLife, now)
  }

  get value(): number {
    return this.#reward - this.#penalty.value
  }

  get muted(): boolean {
    return this.value < this.#params.muteThreshold
  }

  get dropped(): boolean {
    return this.value < this.#params.dropThreshold
  }

  penalize(amount: number): void {
    if (amount > 0) this.#penalty.add(amount)
  }

  /** A first delivery: trust grows back, to the ceiling. */
  reward(): void {
    this.#reward = Math.min(this.#params.maxScore, this.#reward + this.#params.deliveryReward)
  }

  /**
   * Counts one redundant frame, with `fresh` the (decayed) number of new ids the
   * router accepted lately; past the tolerance it costs `redundantPenalty`.
   */
  countRedundant(fresh: number): void {
    const count = this.redundant.add(1)
    if (count > this.#params.redundantSlack + this.#params.redundantTolerance * fresh) {
      this.penalize(this.#params.redundantPenalty)
    }
  }
}
