import {createDebug} from '../debug.js'
import {CrossHubDedupe} from './dedupe.js'
import {streamUrl} from './protocol.js'
import {openEventStream, type EventStream, type EventStreamHandlers, type OpenStream} from './sse.js'
import {TabStreams} from './tab-streams.js'

const debug = createDebug('p2p:hub-streams')

/**
 * One event stream per hub and app for a whole page, shared by every
 * subscription that asks for one (the page's swarms).
 *
 * A browser opens at most 6 HTTP/1.1 connections per host, across tabs: with a
 * stream per swarm, the seventh swarm's stream never opens and, worse, the
 * page's POSTs queue behind the open streams. So the subscriptions of a page
 * share one stream whose channels are the union of theirs, reopened when the
 * union changes (the new stream opens before the old one closes, and a message
 * both carry is delivered once).
 *
 * The event stream does not say which channel a message came on, so every
 * subscription sharing a stream sees every message of the union: messages
 * must name their recipient (the swarm's signals carry `to`).
 */
export class SharedStreams {
  readonly #open: OpenStream
  readonly #groups = new Map<string, Group>()

  constructor(open: OpenStream = (url, handlers) => openEventStream(url, handlers)) {
    this.#open = open
  }

  /** Streams held open right now (one per hub and app in use). */
  get size(): number {
    return this.#groups.size
  }

  /** An `OpenStream` for HubClient's `openStream` option. */
  readonly open: OpenStream = (_url, handlers, target) => {
    const key = `${target.hub}\n${target.app}`
    let group = this.#groups.get(key)
    if (!group) {
      group = new Group(target.hub, target.app, this.#open, () => this.#groups.delete(key))
      this.#groups.set(key, group)
    }
    return group.add(handlers, target.channels)
  }
}

interface Member {
  handlers: EventStreamHandlers
  channels: readonly string[]
  opened: boolean
}

class Group {
  readonly #members = new Set<Member>()
  readonly #dedupe = new CrossHubDedupe({window: 5000})
  #stream: EventStream | null = null
  #streamChannels = new Set<string>()
  // The stream being opened to replace the current one, if any.
  #next: EventStream | null = null
  #generation = 0
  #scheduled = false

  constructor(
    readonly hub: string,
    readonly app: string,
    readonly openStream: OpenStream,
    readonly onEmpty: () => void,
  ) {}

  add(handlers: EventStreamHandlers, channels: readonly string[]): EventStream {
    const member: Member = {handlers, channels, opened: false}
    this.#members.add(member)
    if (this.#stream && channels.every(c => this.#streamChannels.has(c))) {
      queueMicrotask(() => this.#greet(member))
    } else {
      this.#schedule()
    }
    return {
      close: () => {
        if (!this.#members.delete(member)) return
        if (this.#members.size === 0) return this.#shutdown()
        // Shrink the union later, so a page that churns swarms does not grow it without bound.
        this.#schedule()
      },
    }
  }

  #greet(member: Member): void {
    if (member.opened || !this.#members.has(member)) return
    member.opened = true
    member.handlers.onopen()
  }

  #wanted(): Set<string> {
    const channels = new Set<string>()
    for (const m of this.#members) for (const c of m.channels) channels.add(c)
    return channels
  }

  /** Coalesces the changes of one turn (several swarms created together) into one reopen. */
  #schedule(): void {
    if (this.#scheduled) return
    this.#scheduled = true
    queueMicrotask(() => {
      this.#scheduled = false
      if (this.#members.size === 0) return
      const wanted = this.#wanted()
      const same = wanted.size === this.#streamChannels.size && [...wanted].every(c => this.#streamChannels.has(c))
      if (same && (this.#stream || this.#next)) return
      this.#reopen(wanted)
    })
  }

  #reopen(channels: Set<string>): void {
    const generation = ++this.#generation
    this.#next?.close()
    const list = [...channels].sort()
    debug(this.hub, this.app, 'stream for', list.length, 'channels')
    const current = () => generation === this.#generation
    const stream = this.openStream(streamUrl(this.hub, this.app, list), {
      onopen: () => {
        if (!current()) return
        this.#stream?.close()
        this.#stream = stream
        this.#next = null
        this.#streamChannels = channels
        for (const m of [...this.#members]) {
          if (m.channels.every(c => channels.has(c))) this.#greet(m)
        }
      },
      onmessage: text => {
        // The old stream keeps delivering until the new one opens; both may carry a message.
        if (!this.#dedupe.accept(generation, text)) return
        for (const m of [...this.#members]) if (m.opened) m.handlers.onmessage(text)
      },
      onerror: err => {
        if (stream !== this.#stream && stream !== this.#next) return
        // Failed, so not closed again by #shutdown.
        if (stream === this.#next) this.#next = null
        else this.#stream = null
        // Each member reconnects on its own schedule (the hub client's back-off) and rejoins.
        const members = [...this.#members]
        this.#members.clear()
        this.#shutdown()
        for (const m of members) m.handlers.onerror(err)
      },
    }, {hub: this.hub, app: this.app, channels: list})
    if (current() && this.#stream !== stream) this.#next = stream
  }

  #shutdown(): void {
    this.#generation++
    this.#next?.close()
    this.#stream?.close()
    this.#next = this.#stream = null
    this.#streamChannels = new Set()
    this.onEmpty()
  }
}

/**
 * The page's shared streams: every swarm of the page uses this one by default.
 * Shared with the other tabs of the origin where the browser has Web Locks and
 * BroadcastChannel (tab-streams.ts), within the page elsewhere.
 */
export const pageStreams = new TabStreams(new SharedStreams())
