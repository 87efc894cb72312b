import type {Clock} from '../clock.js'

/**
 * What a broadcast does when a hub answers 429: wait as the hub asks, then send
 * again. Most pages never meet a rate-limiting hub, so hub-client.ts loads this
 * on the first 429 rather than carrying it on every page.
 */

/** Longest Retry-After honoured, in seconds; a hub asking for more is treated as refusing. */
const MAX_RETRY_AFTER = 5

/** Milliseconds to wait before sending again: the hub's Retry-After (seconds), jittered up to half again; null when absent or too long. */
function retryDelay(header: string | null, random: () => number): number | null {
  if (header === null) return null
  const seconds = Number(header)
  if (!Number.isFinite(seconds) || seconds < 0 || seconds > MAX_RETRY_AFTER) return null
  return Math.max(50, seconds * 1000) * (1 + random() / 2)
}

/** Resolves true after `ms` on `clock`, or false as soon as `signal` aborts. */
function sleep(ms: number, signal: AbortSignal, clock: Clock): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false)
  return new Promise(resolve => {
    const done = (ok: boolean) => {
      clock.clearTimeout(timer)
      signal.removeEventListener('abort', onAbort)
      resolve(ok)
    }
    const onAbort = () => done(false)
    const timer = clock.setTimeout(() => done(true), ms)
    signal.addEventListener('abort', onAbort)
  })
}

/**
 * Waits as the 429 answer `res` asks: true once it is time to send again, false
 * when `signal` aborted the wait (the broadcast timed out, or its client was
 * destroyed), null when the hub named no pause a signal can wait out: a refusal,
 * whose body is left for the caller to read.
 */
export async function waitToRetry(res: Response, signal: AbortSignal, clock: Clock): Promise<boolean | null> {
  const wait = retryDelay(res.headers.get('retry-after'), () => clock.random())
  if (wait === null) return null
  await res.arrayBuffer().catch(() => {})
  return sleep(wait, signal, clock)
}
