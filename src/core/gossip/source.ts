/**
 * One topic of a gossip router as a `MessageSource`: what `<p2p-feed>` renders
 * and what a `<form>` publishes to. Payloads are UTF-8 JSON; anything else from
 * a peer is dropped and counted, never shown.
 */
import {P2PError} from '../errors.js'
import {checkInteger} from '../check.js'
import {fromUtf8, utf8} from '../bytes.js'
import {rethrowLater} from '../rethrow-later.js'
import type {MessageSource, SourceItem} from '../source/message-source.js'
import type {Gossip, GossipMessage, PublishOptions} from './router.js'

export interface GossipSourceOptions extends PublishOptions {
  /** Items kept, newest last; older ones fall off the front. */
  limit?: number
  /**
   * Milliseconds since the epoch, for `receivedAt`: wall time, shown to people,
   * unlike a `Clock`'s monotonic `now` (which is why it is not one).
   */
  epochNow?: () => number
}

export interface GossipSourceStats {
  /** Items taken in (own ones included). */
  items: number
  /** Messages dropped because their payload was not UTF-8 JSON. */
  invalid: number
  /** Messages dropped because an item with their id is still held (a replay past the seen-set's memory). */
  repeated: number
}

export class GossipSource implements MessageSource {
  readonly topic: string
  readonly limit: number
  readonly stats: GossipSourceStats = {items: 0, invalid: 0, repeated: 0}
  readonly #items: SourceItem[] = []
  readonly #ids = new Set<string>()
  readonly #listeners = new Set<(item: SourceItem) => void>()
  readonly #gossip: Gossip
  readonly #publishOptions: PublishOptions
  readonly #epochNow: () => number
  readonly #unsubscribe: () => void
  #closed = false

  constructor(gossip: Gossip, topic: string, {limit = 500, epochNow = Date.now, ...publishOptions}: GossipSourceOptions = {}) {
    checkInteger('limit', limit, 1)
    this.#gossip = gossip
    this.topic = topic
    this.limit = limit
    this.#epochNow = epochNow
    this.#publishOptions = publishOptions
    this.#unsubscribe = gossip.subscribe(topic, this.#onMessage)
  }

  get items(): readonly SourceItem[] {
    return this.#items
  }

  /** Publishes `value` as JSON on the topic; it comes back as an item with `local: true`. */
  async publish(value: unknown): Promise<void> {
    if (this.#closed) throw P2PError.DESTROYED('the source was closed')
    let text: string | undefined
    try {
      text = JSON.stringify(value)
    } catch (err) {
      throw P2PError.INVALID_ARGUMENT(`value is not JSON: ${(err as Error).message}`)
    }
    if (text === undefined) throw P2PError.INVALID_ARGUMENT('value is not JSON')
    await this.#gossip.publish(this.topic, utf8(text), this.#publishOptions)
  }

  subscribe(listener: (item: SourceItem) => void): () => void {
    this.#listeners.add(listener)
    return () => {
      this.#listeners.delete(listener)
    }
  }

  /** Stops listening to the router (which lives on); items stay readable. */
  close(): void {
    if (this.#closed) return
    this.#closed = true
    this.#unsubscribe()
    this.#listeners.clear()
  }

  readonly #onMessage = (message: GossipMessage): void => {
    let value: unknown
    try {
      value = JSON.parse(fromUtf8(message.payload))
    } catch {
      this.stats.invalid++
      return
    }
    if (this.#ids.has(message.id)) {
      this.stats.repeated++
      return
    }
    const item: SourceItem = {
      id: message.id,
      value,
      ...(message.author ? {author: message.author} : {}),
      receivedAt: this.#epochNow(),
      local: message.from === null,
    }
    this.#items.push(item)
    this.#ids.add(item.id)
    this.stats.items++
    if (this.#items.length > this.limit) this.#ids.delete(this.#items.shift()!.id)
    for (const listener of [...this.#listeners]) {
      try {
        listener(item)
      } catch (err) {
        rethrowLater(err)
      }
    }
  }
}
