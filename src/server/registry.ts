/**
 * Who listens to what on the hub: event streams by app and channel, and how
 * many streams each client address holds. No HTTP here; the hub asks it where a
 * message goes and tells it when a stream opens or ends.
 *
 * Every map entry exists only while a stream needs it: a channel is dropped with
 * its last subscriber, an app with its last channel, a client with its last
 * stream, so memory goes back to nothing when clients leave.
 */

/** One open event stream; `T` is what the hub writes to (its HTTP response). */
export interface Subscription<T> {
  readonly target: T
  readonly app: string
  readonly channels: readonly string[]
  readonly client: string
}

export class SubscriberRegistry<T> {
  readonly #apps = new Map<string, Map<string, Set<Subscription<T>>>>()
  readonly #streams = new Set<Subscription<T>>()
  readonly #perClient = new Map<string, number>()
  readonly #onChannel: ((app: string, channel: string, live: boolean) => void) | undefined
  #channels = 0

  /** `onChannel` hears when a channel of an app gets its first subscriber (true) and loses its last (false). */
  constructor(onChannel?: (app: string, channel: string, live: boolean) => void) {
    this.#onChannel = onChannel
  }

  /** Streams open now. */
  get streams(): number {
    return this.#streams.size
  }

  /** Channels with at least one subscriber, counted per app. */
  get channels(): number {
    return this.#channels
  }

  /** Apps with at least one subscriber. */
  get apps(): number {
    return this.#apps.size
  }

  /** Client addresses holding at least one stream. */
  get clients(): number {
    return this.#perClient.size
  }

  /** Streams `client` holds now. */
  heldBy(client: string): number {
    return this.#perClient.get(client) ?? 0
  }

  add(stream: Subscription<T>): void {
    this.#streams.add(stream)
    this.#perClient.set(stream.client, this.heldBy(stream.client) + 1)
    let byChannel = this.#apps.get(stream.app)
    if (byChannel === undefined) {
      byChannel = new Map()
      this.#apps.set(stream.app, byChannel)
    }
    for (const channel of stream.channels) {
      let subscribers = byChannel.get(channel)
      if (subscribers === undefined) {
        subscribers = new Set()
        byChannel.set(channel, subscribers)
        this.#channels++
        this.#onChannel?.(stream.app, channel, true)
      }
      subscribers.add(stream)
    }
  }

  /** Forgets `stream`; false when it was already gone (a stream ends once, however many ways it is told). */
  remove(stream: Subscription<T>): boolean {
    if (!this.#streams.delete(stream)) return false
    const byChannel = this.#apps.get(stream.app)
    if (byChannel !== undefined) {
      for (const channel of stream.channels) {
        const subscribers = byChannel.get(channel)
        if (subscribers === undefined) continue
        subscribers.delete(stream)
        if (subscribers.size === 0) {
          byChannel.delete(channel)
          this.#channels--
          this.#onChannel?.(stream.app, channel, false)
        }
      }
      if (byChannel.size === 0) this.#apps.delete(stream.app)
    }
    const held = this.heldBy(stream.client) - 1
    if (held > 0) this.#perClient.set(stream.client, held)
    else this.#perClient.delete(stream.client)
    return true
  }

  /** The subscribers of `channel` in `app`, if any. Deleting from it while iterating is safe. */
  subscribers(app: string, channel: string): ReadonlySet<Subscription<T>> | undefined {
    return this.#apps.get(app)?.get(channel)
  }

  /** Every open stream, live: a walk may remove the stream it is at, or walk a copy. */
  [Symbol.iterator](): IterableIterator<Subscription<T>> {
    return this.#streams[Symbol.iterator]()
  }
}
