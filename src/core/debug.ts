/**
 * Namespaced debug logs (`p2p:swarm`, `p2p:mux`, `p2p:hub`), off by default.
 * Turn them on with `localStorage.debug = 'p2p:*'` in a browser or
 * `DEBUG=p2p:*` in Node, as with the `debug` package, without its weight.
 */
export type Logger = ((...args: unknown[]) => void) & {enabled: boolean}

function readPattern(): string {
  try {
    const fromStorage = (globalThis as {localStorage?: Storage}).localStorage?.getItem('debug')
    if (fromStorage) return fromStorage
  } catch {
    // localStorage throws in opaque origins and sandboxed frames
  }
  const proc = (globalThis as {process?: {env?: Record<string, string | undefined>}}).process
  return proc?.env?.DEBUG ?? ''
}

// A part turns on the namespaces its glob matches; a `-name` part turns none on.
function matches(pattern: string, namespace: string): boolean {
  return pattern.split(/[\s,]+/).filter(Boolean).some(part => !part.startsWith('-') &&
    new RegExp('^' + part.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*') + '$').test(namespace))
}

export function createDebug(namespace: string): Logger {
  const log = ((...args: unknown[]) => {
    if (log.enabled) console.debug(namespace, ...args)
  }) as Logger
  log.enabled = matches(readPattern(), namespace)
  return log
}

/** The first 8 hex characters of a key or id: enough to tell peers apart in logs and UIs. */
export function shortId(id: string): string {
  return id.slice(0, 8)
}
