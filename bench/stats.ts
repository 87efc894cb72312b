/** The middle value (the mean of the two middle ones for an even count). */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

/** The arithmetic mean (NaN for none). */
export function mean(values: number[]): number {
  return values.reduce((sum, x) => sum + x, 0) / values.length
}
