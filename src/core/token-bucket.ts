/**
 * A token bucket: `burst` tokens, refilled at `rate` per second, one taken per
 * request. The one copy behind gossip's per-peer limit on new ids and the hub's
 * per-client request limit.
 *
 * It refills lazily, computed from the clock when used: no timer, so a thousand
 * idle buckets cost nothing and a virtual clock drives it exactly.
 */
import {P2PError} from './errors.js'

/** Throws INVALID_ARGUMENT unless `rate` > 0 (Infinity: no limit) and `burst` ≥ 1 (NaN fails both). */
export function checkRateLimit(rate: number, burst: number): void {
  if (!(rate > 0) || !(burst >= 1)) throw P2PError.INVALID_ARGUMENT('a rate limit needs rate > 0 and burst >= 1')
}

export class TokenBucket {
  readonly rate: number
  readonly burst: number
  #tokens: number
  #at: number
  readonly #now: () => number

  /** `now` is in milliseconds. */
  constructor(rate: number, burst: number, now: () => number) {
    checkRateLimit(rate, burst)
    this.rate = rate
    this.burst = burst
    this.#tokens = burst
    this.#now = now
    this.#at = now()
  }

  /** Tokens available now (fractional while refilling). */
  get tokens(): number {
    this.#refill()
    return this.#tokens
  }

  /** True once the bucket has refilled to the brim: it is then no different from a new one. */
  get full(): boolean {
    return this.tokens >= this.burst
  }

  /** Takes one token; false when the bucket is empty. */
  take(): boolean {
    if (this.rate === Infinity) return true
    this.#refill()
    if (this.#tokens < 1) return false
    this.#tokens -= 1
    return true
  }

  /** Seconds until one token is available: 0 when one is (the value of a Retry-After). */
  wait(): number {
    const tokens = this.tokens
    return tokens >= 1 ? 0 : (1 - tokens) / this.rate
  }

  #refill(): void {
    const now = this.#now()
    if (now > this.#at) {
      this.#tokens = Math.min(this.burst, this.#tokens + ((now - this.#at) / 1000) * this.rate)
      this.#at = now
    }
  }
}
