/**
 * Keys that each hold until a moment and are then gone: the swarm's bans,
 * the rooms that refused to share a connection, the peers lost lately. One
 * place prunes them, so none of those tables grows with keys long expired.
 */
export class Deadlines<K> {
  readonly #until = new Map<K, number>()

  constructor(private readonly now: () => number = Date.now) {}

  /** Holds `key` for `ms` from now, whatever it held before. */
  set(key: K, ms: number): void {
    this.#prune()
    this.#until.set(key, this.now() + ms)
  }

  /** Whether `key` still holds; an expired key is forgotten here. */
  has(key: K): boolean {
    const until = this.#until.get(key)
    if (until === undefined) return false
    if (until > this.now()) return true
    this.#until.delete(key)
    return false
  }

  delete(key: K): void {
    this.#until.delete(key)
  }

  /** Keys that still hold. */
  get size(): number {
    this.#prune()
    return this.#until.size
  }

  #prune(): void {
    const now = this.now()
    for (const [key, until] of this.#until) if (until <= now) this.#until.delete(key)
  }
}
