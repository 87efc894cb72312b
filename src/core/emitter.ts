/**
 * A tiny typed event emitter shared by every core object. Core code runs in
 * Chromium and in Node, so it cannot lean on Node's `events` nor on `EventTarget`
 * subclassing quirks; this is all the kit needs.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type EventMap = Record<string, (...args: any[]) => void>

export class Emitter<E extends EventMap> {
  // Listener arrays are copied on emit so a listener may remove itself safely.
  #listeners = new Map<keyof E, Array<E[keyof E]>>()

  on<K extends keyof E>(event: K, listener: E[K]): this {
    const list = this.#listeners.get(event)
    if (list) list.push(listener)
    else this.#listeners.set(event, [listener])
    return this
  }

  once<K extends keyof E>(event: K, listener: E[K]): this {
    const wrapper = ((...args: Parameters<E[K]>) => {
      this.off(event, wrapper)
      listener(...args)
    }) as E[K]
    return this.on(event, wrapper)
  }

  off<K extends keyof E>(event: K, listener: E[K]): this {
    const list = this.#listeners.get(event)
    if (!list) return this
    const i = list.indexOf(listener)
    if (i !== -1) list.splice(i, 1)
    if (list.length === 0) this.#listeners.delete(event)
    return this
  }

  listenerCount(event: keyof E): number {
    return this.#listeners.get(event)?.length ?? 0
  }

  protected emit<K extends keyof E>(event: K, ...args: Parameters<E[K]>): void {
    const list = this.#listeners.get(event)
    if (!list) return
    for (const listener of [...list]) listener(...args)
  }

  protected removeAllListeners(): void {
    this.#listeners.clear()
  }
}

/** Resolves with the arguments of the next `event` (the first one if several). */
export function once<E extends EventMap, K extends keyof E>(
  emitter: Emitter<E>, event: K,
): Promise<Parameters<E[K]>[0]> {
  return new Promise(resolve => emitter.once(event, ((...args: Parameters<E[K]>) => resolve(args[0])) as E[K]))
}
