/**
 * Signed logs as a `MessageSource`: what `<p2p-feed>` renders and what a
 * `<form>` appends to. Several logs (a room's logs of one name) are merged
 * into one list ordered by entry time, then author, then sequence number, so
 * every peer shows the same order whatever order the entries reached it in.
 * Only JSON entries are items; control entries and bytes are not shown.
 */
import {P2PError} from '../errors.js'
import {checkInteger} from '../check.js'
import {toHex} from '../bytes.js'
import {rethrowLater} from '../rethrow-later.js'
import type {MessageSource, SourceItem} from '../source/message-source.js'
import {EntryKind, readValue, type Entry} from './entry.js'
import type {Log} from './log.js'

export interface LogSourceOptions {
  /** Items kept, the latest by order; older ones fall off the front. */
  limit?: number
  /**
   * Where `publish` appends: this page's log. Without it, or while this page is
   * not a writer of it (checked at each publish: a key opened before the entry
   * admitting it arrived becomes writable then), publishing fails with ERR_NOT_A_WRITER.
   */
  target?: Log
  /** The key (hex) this page writes with: its items are `local`. */
  author?: string
  /** Called when an entry sorts before items already given out, so a feed renders the list again from `items`. */
  onreorder?: () => void
}

/** A log entry as a feed item: `receivedAt` is the author's claimed time, which orders the list. */
export interface LogItem extends SourceItem {
  readonly author: string
  readonly seq: number
}

export class LogSource implements MessageSource {
  readonly limit: number
  #items: LogItem[] = []
  readonly #ids = new Set<string>()
  readonly #listeners = new Set<(item: SourceItem) => void>()
  readonly #logs = new Map<Log, () => void>()
  readonly #target: Log | undefined
  readonly #onreorder: (() => void) | undefined
  readonly #author: string | undefined
  #closed = false

  constructor({limit = 500, target, author, onreorder}: LogSourceOptions = {}) {
    checkInteger('limit', limit, 1)
    this.limit = limit
    this.#target = target
    this.#onreorder = onreorder
    this.#author = author
  }

  get items(): readonly SourceItem[] {
    return this.#items
  }

  /** Merges `log`: its latest `limit` items now, the rest as they are stored. */
  async add(log: Log): Promise<void> {
    if (this.#closed || this.#logs.has(log)) return
    // Listen first, so nothing stored while the history is read is missed (ids dedupe).
    const early: Entry[] = []
    let reading = true
    const onUpdate = (entries: Entry[]): void => {
      if (reading) early.push(...entries)
      else this.#take(entries, log)
    }
    log.on('update', onUpdate)
    this.#logs.set(log, () => log.off('update', onUpdate))
    const history: Entry[] = []
    for await (const {entry} of log.entries({reverse: true})) {
      if (this.#closed || !this.#logs.has(log)) return
      if (entry.kind !== EntryKind.Json) continue
      history.push(entry)
      if (history.length >= this.limit) break
    }
    reading = false
    this.#take([...history.reverse(), ...early], log)
  }

  /** Appends `value` to this page's log; it comes back as an item with `local: true`. */
  async publish(value: unknown): Promise<void> {
    if (this.#closed) throw P2PError.DESTROYED('the source was closed')
    if (!this.#target) throw P2PError.NOT_A_WRITER('this page writes to none of these logs')
    if (!this.#target.writable) throw P2PError.NOT_A_WRITER('this page is not a writer of this log (not admitted, or not yet seen admitted)')
    if (value instanceof Uint8Array) throw P2PError.INVALID_ARGUMENT('a feed item is JSON, not bytes')
    await this.#target.append(value)
  }

  subscribe(listener: (item: SourceItem) => void): () => void {
    this.#listeners.add(listener)
    return () => {
      this.#listeners.delete(listener)
    }
  }

  /** Stops following the logs (they stay open); items stay readable. */
  close(): void {
    if (this.#closed) return
    this.#closed = true
    for (const off of this.#logs.values()) off()
    this.#logs.clear()
    this.#listeners.clear()
  }

  #take(entries: Entry[], log: Log): void {
    if (this.#closed || !this.#logs.has(log)) return
    const fresh: LogItem[] = []
    for (const entry of entries) {
      if (entry.kind !== EntryKind.Json) continue
      const id = toHex(entry.hash)
      if (this.#ids.has(id)) continue
      this.#ids.add(id)
      const author = toHex(entry.author)
      fresh.push({id, value: readValue(entry), author, seq: entry.seq, receivedAt: entry.time, local: author === this.#author})
    }
    if (fresh.length === 0) return
    fresh.sort(compare)
    const last = this.#items.at(-1)
    const inOrder = !last || compare(last, fresh[0]) <= 0
    this.#items = inOrder ? this.#items.concat(fresh) : [...this.#items, ...fresh].sort(compare)
    const dropped = this.#items.length - this.limit
    if (dropped > 0) for (const item of this.#items.splice(0, dropped)) this.#ids.delete(item.id)
    if (!inOrder) {
      this.#onreorder?.()
      return
    }
    const shown = new Set(this.#items)
    for (const item of fresh) {
      if (!shown.has(item)) continue
      for (const listener of [...this.#listeners]) {
        try {
          listener(item)
        } catch (err) {
          rethrowLater(err)
        }
      }
    }
  }
}

/** Entry time, then author, then sequence number: the same order on every peer. */
function compare(a: LogItem, b: LogItem): number {
  return a.receivedAt - b.receivedAt || (a.author < b.author ? -1 : a.author > b.author ? 1 : a.seq - b.seq)
}
