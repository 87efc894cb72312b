/**
 * Reports an error thrown by someone else's code (a handler, a listener) the way
 * the host reports an event listener's: thrown again in a microtask, so it reaches
 * the console or the process's uncaught-exception handler without breaking ours.
 */
export function rethrowLater(err: unknown): void {
  queueMicrotask(() => {
    throw err
  })
}
