/**
 * Gives the event loop a turn: input, rendering and other tasks run before the
 * caller goes on. Long work cut into slices awaits this between them, so no
 * task of it holds the main thread for long.
 *
 * `scheduler.yield()` where the platform has it (Chromium), then a message
 * port (a task that timers' 4 ms clamp does not delay), then a timer (Node
 * without MessageChannel never gets here: it has one).
 */
export function yieldToEventLoop(): Promise<void> {
  const scheduler = (globalThis as {scheduler?: {yield?: () => Promise<void>}}).scheduler
  if (typeof scheduler?.yield === 'function') return scheduler.yield()
  if (typeof MessageChannel === 'function') {
    return new Promise(resolve => {
      const {port1, port2} = new MessageChannel()
      port1.onmessage = () => {
        port1.close()
        resolve()
      }
      port2.postMessage(null)
    })
  }
  return new Promise(resolve => setTimeout(resolve, 0))
}
