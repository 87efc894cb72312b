/**
 * Time and chance, injected: every core object that waits, times out or draws
 * lots takes a `Clock`, so a test or a simulation drives it on virtual time
 * with seeded randomness and asserts outcomes, never wall-clock durations.
 */
export interface Clock {
  /** Milliseconds, monotonic. */
  now(): number
  /** Runs `callback` once after `ms` milliseconds; the handle goes to `clearTimeout`. */
  setTimeout(callback: () => void, ms: number): unknown
  clearTimeout(handle: unknown): void
  /** A uniform number in [0, 1): jitter and tie-breaks, not secrets. */
  random(): number
}

/** The platform's own: performance.now, the global timers, Math.random. */
export const systemClock: Clock = Object.freeze({
  now: () => performance.now(),
  // Looked up at each call, so a test that mocks the global timers still reaches them.
  setTimeout: (callback: () => void, ms: number): unknown => globalThis.setTimeout(callback, ms),
  clearTimeout: (handle: unknown): void => globalThis.clearTimeout(handle as ReturnType<typeof globalThis.setTimeout>),
  random: () => Math.random(),
})
