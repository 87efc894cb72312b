/** IndexedDB reports a full disk as a DOMException named QuotaExceededError, sometimes wrapped by the level layer. */
export function isQuotaError(err: unknown): boolean {
  for (let e = err, depth = 0; e && depth < 8; e = (e as {cause?: unknown}).cause, depth++) {
    const {name, code} = e as {name?: unknown, code?: unknown}
    if (name === 'QuotaExceededError' || code === 22) return true
  }
  return false
}
