/**
 * Token buckets keyed by client address. Each bucket holds up to `burst`
 * tokens and refills at `rate` tokens per second; a request takes one.
 *
 * Buckets are kept only while they matter: a bucket that has refilled to the
 * brim is indistinguishable from a fresh one, so a sweep drops it, and the
 * sweep timer itself runs only while some bucket exists. Memory and timers go
 * back to nothing once clients stop sending.
 */
import {TokenBucket, checkRateLimit} from '../core/token-bucket.js'

export interface TokenBucketsOptions {
  /** Tokens added per second. */
  rate: number
  /** Bucket size: how many requests may arrive back to back. */
  burst: number
  /** Monotonic milliseconds; injectable for tests. */
  now?: () => number
}

export class TokenBuckets {
  readonly rate: number
  readonly burst: number
  private readonly now: () => number
  private readonly buckets = new Map<string, TokenBucket>()
  private sweeper: ReturnType<typeof setInterval> | null = null
  private readonly sweepEvery: number

  constructor({rate, burst, now = () => performance.now()}: TokenBucketsOptions) {
    checkRateLimit(rate, burst)
    this.rate = rate
    this.burst = burst
    this.now = now
    // A bucket needs burst/rate seconds to refill from empty; sweeping more often
    // than that finds nothing new, much less often keeps idle buckets around.
    this.sweepEvery = Math.min(Math.max((burst / rate) * 1000, 1000), 60_000)
  }

  /** Number of buckets held (clients seen recently). */
  get size(): number {
    return this.buckets.size
  }

  /** True while the sweep timer runs. */
  get sweeping(): boolean {
    return this.sweeper !== null
  }

  /**
   * Takes a token for `key`. Returns 0 when the request may go on, else the
   * seconds after which one token will be available (for Retry-After).
   */
  take(key: string): number {
    let bucket = this.buckets.get(key)
    if (bucket === undefined) {
      bucket = new TokenBucket(this.rate, this.burst, this.now)
      this.buckets.set(key, bucket)
      this.startSweeping()
    }
    return bucket.take() ? 0 : bucket.wait()
  }

  /** Drops every bucket that has refilled completely. */
  sweep(): void {
    for (const [key, bucket] of this.buckets) if (bucket.full) this.buckets.delete(key)
    if (this.buckets.size === 0) this.stopSweeping()
  }

  clear(): void {
    this.buckets.clear()
    this.stopSweeping()
  }

  private startSweeping(): void {
    if (this.sweeper !== null) return
    this.sweeper = setInterval(() => this.sweep(), this.sweepEvery)
    this.sweeper.unref?.()
  }

  private stopSweeping(): void {
    if (this.sweeper === null) return
    clearInterval(this.sweeper)
    this.sweeper = null
  }
}
