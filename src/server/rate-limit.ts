/**
 * Token buckets keyed by client address. Each bucket holds up to `burst`
 * tokens and refills at `rate` tokens per second; a request takes one.
 *
 * Buckets are kept only while they matter: a bucket that has refilled to the
 * brim is indistinguishable from a fresh one, so a sweep drops it, and the
 * sweep timer itself runs only while some bucket exists. Memory and timers go
 * back to nothing once clients stop sending.
 */
export interface TokenBucketsOptions {
  /** Tokens added per second. */
  rate: number
  /** Bucket size: how many requests may arrive back to back. */
  burst: number
  /** Monotonic milliseconds; injectable for tests. */
  now?: () => number
}

interface Bucket {
  tokens: number
  updated: number
}

export class TokenBuckets {
  readonly rate: number
  readonly burst: number
  private readonly now: () => number
  private readonly buckets = new Map<string, Bucket>()
  private sweeper: ReturnType<typeof setInterval> | null = null
  private readonly sweepEvery: number

  constructor({rate, burst, now = () => performance.now()}: TokenBucketsOptions) {
    if (!(rate > 0) || !(burst >= 1)) throw new RangeError('rate must be > 0 and burst >= 1')
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
    const now = this.now()
    let bucket = this.buckets.get(key)
    if (bucket === undefined) {
      bucket = {tokens: this.burst, updated: now}
      this.buckets.set(key, bucket)
      this.startSweeping()
    } else {
      bucket.tokens = Math.min(this.burst, bucket.tokens + ((now - bucket.updated) * this.rate) / 1000)
      bucket.updated = now
    }
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1
      return 0
    }
    return (1 - bucket.tokens) / this.rate
  }

  /** Drops every bucket that has refilled completely. */
  sweep(): void {
    const now = this.now()
    for (const [key, bucket] of this.buckets) {
      const tokens = bucket.tokens + ((now - bucket.updated) * this.rate) / 1000
      if (tokens >= this.burst) this.buckets.delete(key)
    }
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
