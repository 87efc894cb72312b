// Helpers shared by the files bench page and its webtorrent half.

/** A stalled transfer fails the run instead of hanging it (under puppeteer's 180 s limit on one call). */
export const TIMEOUT = 150_000

/** Rejects after `ms`, with `state()` (where things stood) in the message. */
export function within<T>(promise: Promise<T>, what: string, state?: () => string, ms = TIMEOUT): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms${state ? `: ${state()}` : ''}`)), ms)
    }),
  ]).finally(() => clearTimeout(timer))
}

/** A transfer that makes no progress this long has stalled. */
export const STALL = 20_000

/**
 * `within`, and also rejects once `progress()` (bytes or chunks done) has not
 * moved for `stall` ms, so a stuck transfer fails fast with where it stood.
 */
export function progressing<T>(promise: Promise<T>, what: string, progress: () => number, state?: () => string, stall = STALL): Promise<T> {
  let last = progress()
  let since = Date.now()
  let timer: ReturnType<typeof setInterval> | undefined
  const stalled = new Promise<never>((_, reject) => {
    timer = setInterval(() => {
      const now = progress()
      if (now !== last) {
        last = now
        since = Date.now()
      } else if (Date.now() - since >= stall) {
        reject(new Error(`${what} made no progress for ${stall} ms${state ? `: ${state()}` : ''}`))
      }
    }, 1000)
  })
  return within(Promise.race([promise, stalled]), what, state).finally(() => clearInterval(timer))
}

/** MB/s (10^6 bytes) from bytes and milliseconds. */
export function rate(bytes: number, ms: number): number {
  return bytes / ms / 1000
}

/** Incompressible bytes, made once per size and shared by every run (ours and webtorrent's). */
const files = new Map<number, Uint8Array<ArrayBuffer>>()
export function fileOf(size: number): Uint8Array<ArrayBuffer> {
  let bytes = files.get(size)
  if (!bytes) {
    bytes = new Uint8Array(size)
    // getRandomValues fills at most 64 KiB a call.
    for (let offset = 0; offset < size; offset += 65536) crypto.getRandomValues(bytes.subarray(offset, Math.min(size, offset + 65536)))
    // A per-size marker, so two sizes never share a content id.
    new DataView(bytes.buffer).setFloat64(0, size)
    files.set(size, bytes)
  }
  return bytes
}

export interface OneToOne {
  /** MB/s from download() until it resolves. */
  mbps: number
  ms: number
  /** Time the seeder took to hash and store the file (not part of the transfer). */
  addMs: number
  uploaded: number
}

export interface Scaling {
  /** Seeder's uploaded bytes / file size. */
  uploadFactor: number
  uploaded: number
  /** From the downloads' start until the last resolves. */
  ms: number
  /** When each downloader finished, ms from the start, sorted. */
  finishedMs: number[]
  /** Each downloader's uploaded bytes / file size. */
  downloaderUploadFactors: number[]
  /** Set up (connections, databases, seeding): not part of ms. */
  setupMs: number
}
