// The one polling wait of the test tree, for node, browser and e2e tests and the
// benches. Poll only state that has no event of its own (a page asked over CDP, a
// hub's counters, stats): where an event says it, wait for the event (in the browser
// tests, test/browser/helpers/swarm.ts's until() re-checks on a core emitter's events).

export interface UntilOptions {
  /** Milliseconds before giving up. */
  timeout?: number
  /** Milliseconds between checks; 0 checks again on the next macrotask. */
  every?: number
}

/**
 * Resolves once `check()` holds; rejects after `timeout` ms naming `what`, so a
 * failure says what never happened. The deadline reads `performance.now()`, which
 * node:test's mocked timers leave alone, so it holds under a fake clock too.
 */
export async function until(check: () => boolean | Promise<boolean>, what: string, {timeout = 30_000, every = 20}: UntilOptions = {}): Promise<void> {
  const deadline = performance.now() + timeout
  while (!(await check())) {
    if (performance.now() > deadline) throw new Error(`timed out after ${timeout} ms waiting for ${what}`)
    await next(every)
  }
}

/** Resolves with the value `read()` gives once it is not undefined (see `until`). */
export async function untilValue<T>(read: () => T | undefined | Promise<T | undefined>, what: string, options?: UntilOptions): Promise<T> {
  let value: T | undefined
  await until(async () => (value = await read()) !== undefined, what, options)
  return value!
}

function next(ms: number): Promise<void> {
  // setImmediate runs after pending I/O in Node; browsers lack it and get setTimeout's tick.
  if (ms === 0 && typeof setImmediate === 'function') return new Promise(resolve => setImmediate(resolve))
  return new Promise(resolve => setTimeout(resolve, ms))
}
