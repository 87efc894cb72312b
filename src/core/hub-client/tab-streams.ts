import {createDebug, shortId} from '../debug.js'
import {P2PError} from '../errors.js'
import {Emitter} from '../emitter.js'
import {checkInteger} from '../check.js'
import {randomBytes, toHex} from '../bytes.js'
import {MAX_BODY_BYTES, isValidName} from './protocol.js'
import type {SharedStreams} from './shared-streams.js'
import type {EventStream, EventStreamHandlers, OpenStream} from './sse.js'

const debug = createDebug('p2p:tab-streams')

/** Prefix of the Web Lock and BroadcastChannel names, one of each per hub and app. */
export const TAB_STREAM_PREFIX = 'p2p-hub-stream:'

// The hub's own default cap on the channels of one stream: a union larger than
// this would be refused by the hub anyway, for every tab at once.
const MAX_CHANNELS = 64
// What a message between tabs may list, whatever a leader is configured to carry.
const MAX_WIRE_CHANNELS = 1024
const MAX_TABS = 64
const MAX_ID_LENGTH = 64
// The hub re-serialises bodies of at most 64 KiB; escaping may lengthen them a little.
const MAX_DATA_LENGTH = 4 * MAX_BODY_BYTES

/** The part of the Web Locks API used here (`navigator.locks`). */
export interface LockManagerLike {
  request(name: string, options: {mode: 'exclusive', signal?: AbortSignal}, callback: (lock: unknown) => Promise<void>): Promise<unknown>
}

/** The part of `BroadcastChannel` used here. */
export interface BroadcastChannelLike {
  onmessage: ((event: {data: unknown}) => void) | null
  postMessage(message: unknown): void
  close(): void
}

export type BroadcastChannelConstructor = new (name: string) => BroadcastChannelLike

/**
 * What tabs tell each other about one hub and app. A follower says which
 * channels it needs (`want`, on joining, on each change and to each new
 * leader, with whether it still waits to be served); the leader says what
 * its stream covers (`state`) and relays each event (`message`); either says
 * `leave` when it stops taking part.
 */
export type TabMessage =
  | {type: 'want', from: string, channels: string[], waiting: boolean}
  | {type: 'state', from: string, open: boolean, channels: string[]}
  | {type: 'message', from: string, data: string}
  | {type: 'leave', from: string}

/**
 * Checks the shape of a message from another tab. Same-origin tabs can still
 * run other code (another version of this kit, a bug, a script); anything that
 * is not exactly a TabMessage throws ERR_MALFORMED_MESSAGE, data past its bound
 * ERR_MESSAGE_TOO_LARGE.
 */
export function decodeTabMessage(value: unknown): TabMessage {
  const bad = (why: string) => P2PError.MALFORMED_MESSAGE(`tab message ${why}`)
  if (typeof value !== 'object' || value === null) throw bad('is not an object')
  const m = value as Record<string, unknown>
  if (typeof m.from !== 'string' || m.from.length === 0 || m.from.length > MAX_ID_LENGTH) throw bad('has no valid sender')
  const channels = () => {
    if (!Array.isArray(m.channels) || m.channels.length > MAX_WIRE_CHANNELS) throw bad('has no valid channel list')
    for (const c of m.channels) if (typeof c !== 'string' || !isValidName(c)) throw bad('names an invalid channel')
    return [...m.channels] as string[]
  }
  switch (m.type) {
    case 'want':
      if (typeof m.waiting !== 'boolean') throw bad('has no waiting flag')
      return {type: 'want', from: m.from, channels: channels(), waiting: m.waiting}
    case 'state':
      if (typeof m.open !== 'boolean') throw bad('has no open flag')
      return {type: 'state', from: m.from, open: m.open, channels: channels()}
    case 'message':
      if (typeof m.data !== 'string') throw bad('has no valid data')
      if (m.data.length > MAX_DATA_LENGTH) throw P2PError.MESSAGE_TOO_LARGE(`tab message data of ${m.data.length} characters is more than ${MAX_DATA_LENGTH}`)
      return {type: 'message', from: m.from, data: m.data}
    case 'leave':
      return {type: 'leave', from: m.from}
    default:
      throw bad('has an unknown type')
  }
}

/** The page-level sharing a tab's own streams go through: a `SharedStreams`. */
export type PageStreams = Pick<SharedStreams, 'open'>

export interface TabStreamsOptions {
  /** Default `navigator.locks`; `null` (or none available) keeps streams to this page. */
  locks?: LockManagerLike | null
  /** Default `globalThis.BroadcastChannel`; `null` (or none available) keeps streams to this page. */
  BroadcastChannel?: BroadcastChannelConstructor | null
  /** Most other tabs a leader serves. Default 64. */
  maxTabs?: number
  /** Most channels a leader's stream carries for other tabs. Default 64, the hub's own cap; at most 1024. */
  maxChannels?: number
}

export interface TabStreamsStats {
  /** Hubs and apps whose stream this tab holds for the origin. */
  leading: number
  /** Hubs and apps for which this tab relies on another tab's stream. */
  following: number
  /** Other tabs the streams this tab leads serve now. */
  tabs: number
  /** Events this tab relayed to other tabs, as leader. */
  relayed: number
  /** Messages from other tabs dropped for their shape. */
  malformed: number
  /** Announcements refused because the leader's bounds (tabs, channels) were reached. */
  refused: number
}

/**
 * One event stream per hub and app for all the tabs of an origin.
 *
 * A browser opens at most 6 HTTP/1.1 connections per host across all its tabs,
 * so a stream per tab leaves the seventh tab without one. The tabs that need a
 * stream to a hub and app queue for a Web Lock named after them; the holder,
 * the leader, opens one stream with the union of every tab's channels and
 * relays its events over a BroadcastChannel of the same name. The others,
 * followers, announce their channels and deliver what the leader relays to
 * their own subscriptions.
 *
 * Tabs die without a word, and timers in background tabs are throttled (to
 * once a minute in Chromium), so liveness does not rest on repeated
 * announcements: every taking part tab holds a lock of its own, and the leader
 * queues for each follower's lock, which the browser grants it the moment
 * that tab closes. When the leader's tab closes, its lock goes to the next tab
 * in the queue, which opens the stream and says so; the followers announce
 * themselves to it, their subscriptions staying open across the short gap (the
 * swarms above re-announce on their own schedule).
 *
 * Inside a tab the leader shares its stream between its own subscriptions and
 * the relay through the `SharedStreams` it is given (which opens the real
 * stream). Where Web Locks or BroadcastChannel are missing (Node, old
 * browsers), `open` is just that page-level sharing.
 *
 * As with `SharedStreams`, every subscription sees every event of the union:
 * messages must name their recipient.
 */
export type TabStreamsEvents = {
  /** Only from `destroy(err)`: what ended this tab's part. */
  error: (err: Error) => void
  /** Destroyed: locks released, channels and streams closed. */
  close: (err?: Error) => void
}

export class TabStreams extends Emitter<TabStreamsEvents> {
  /** This tab's id on the BroadcastChannels, random per instance. */
  readonly id = toHex(randomBytes(8))
  readonly #direct: PageStreams
  readonly #locks: LockManagerLike | null
  readonly #Channel: BroadcastChannelConstructor | null
  readonly #groups = new Map<string, TabGroup>()
  readonly #config: GroupConfig
  readonly #counters = {relayed: 0, malformed: 0, refused: 0}
  #destroyed = false

  constructor(page: PageStreams, {
    locks = (globalThis as {navigator?: {locks?: LockManagerLike}}).navigator?.locks ?? null,
    BroadcastChannel: Channel = (globalThis as {BroadcastChannel?: BroadcastChannelConstructor}).BroadcastChannel ?? null,
    maxTabs = MAX_TABS,
    maxChannels = MAX_CHANNELS,
  }: TabStreamsOptions = {}) {
    super()
    checkInteger('maxTabs', maxTabs, 1)
    checkInteger('maxChannels', maxChannels, 1, MAX_WIRE_CHANNELS)
    this.#direct = page
    this.#locks = locks
    this.#Channel = Channel
    this.#config = {id: this.id, maxTabs, maxChannels, counters: this.#counters}
  }

  /** True once destroyed; read-only. */
  get destroyed(): boolean {
    return this.#destroyed
  }

  /** Whether streams are shared across tabs here (else only within the page). */
  get crossTab(): boolean {
    return this.#locks !== null && this.#Channel !== null
  }

  get stats(): TabStreamsStats {
    let leading = 0
    let tabs = 0
    for (const group of this.#groups.values()) {
      if (group.leading) leading++
      tabs += group.tabs
    }
    return {leading, following: this.#groups.size - leading, tabs, ...this.#counters}
  }

  /** An `OpenStream` for HubClient's `openStream` option. */
  readonly open: OpenStream = (url, handlers, target) => {
    if (this.#destroyed) throw P2PError.DESTROYED('tab streams were destroyed')
    if (this.#locks === null || this.#Channel === null) return this.#direct.open(url, handlers, target)
    const key = `${TAB_STREAM_PREFIX}${target.hub}\n${target.app}`
    let group = this.#groups.get(key)
    if (!group) {
      group = new TabGroup(key, target.hub, target.app, this.#config, this.#direct, this.#locks, new this.#Channel(key),
        () => this.#groups.delete(key))
      this.#groups.set(key, group)
    }
    return group.add(handlers, target.channels)
  }

  /**
   * Leaves as a closing tab does: locks released, channels closed, streams
   * closed, no goodbye, nothing delivered any more. Idempotent; emits `error`
   * (with `err`), then `close`.
   */
  destroy(err?: Error): void {
    if (this.#destroyed) return
    this.#destroyed = true
    for (const group of [...this.#groups.values()]) group.destroy()
    if (err) this.emit('error', err)
    this.emit('close', err)
    this.removeAllListeners()
  }
}

interface GroupConfig {
  id: string
  maxTabs: number
  maxChannels: number
  counters: {relayed: number, malformed: number, refused: number}
}

interface Local {
  handlers: EventStreamHandlers
  channels: readonly string[]
  opened: boolean
  // Opened under a leader that has gone: kept open while the next one catches up.
  adrift: boolean
  // Set while this tab leads: the subscription's share of the real stream.
  direct: EventStream | null
}

interface Relay {
  channels: Set<string>
  stream: EventStream | null
}

interface Tab {
  channels: string[]
}

/** The tabs' shared stream for one hub and app, as this tab takes part in it. */
class TabGroup {
  readonly #locals = new Set<Local>()
  // Withdraws this tab's pending lock requests, and the leader's watches on other tabs.
  readonly #abort = new AbortController()
  readonly #locks: LockManagerLike
  // Leader: other tabs in the order they first announced, and the relay serving them.
  readonly #tabs = new Map<string, Tab>()
  #relay: Relay | null = null
  #nextRelay: Relay | null = null
  // Follower: the leader last heard, and the channels its stream covers (null: none open).
  #leader: string | null = null
  #covered: Set<string> | null = null
  #release: (() => void) | null = null
  // Held for as long as this tab takes part, so a leader learns at once when it is gone.
  #releaseTabLock: (() => void) | null = null
  #announceScheduled = false
  #ended = false

  constructor(
    readonly key: string,
    readonly hub: string,
    readonly app: string,
    readonly config: GroupConfig,
    readonly direct: PageStreams,
    locks: LockManagerLike,
    readonly channel: BroadcastChannelLike,
    readonly onEmpty: () => void,
  ) {
    this.#locks = locks
    channel.onmessage = event => this.#receive(event.data)
    this.#hold(tabLockName(key, config.id), release => {
      this.#releaseTabLock = release
      // Announcements wait for this lock: a leader watching it must not find it free.
      if (!this.leading) this.#announce()
    })
    this.#hold(key, release => {
      this.#release = release
      this.#lead()
    })
  }

  get leading(): boolean {
    return this.#release !== null
  }

  get tabs(): number {
    return this.leading ? this.#tabs.size : 0
  }

  add(handlers: EventStreamHandlers, channels: readonly string[]): EventStream {
    const local: Local = {handlers, channels, opened: false, adrift: false, direct: null}
    this.#locals.add(local)
    if (this.leading) {
      this.#attach(local)
    } else {
      if (this.#covers(local)) queueMicrotask(() => this.#greet(local))
      // Even when covered (by another tab's channels): the leader must keep them for this one.
      this.#scheduleAnnounce()
    }
    return {
      close: () => {
        if (!this.#locals.delete(local)) return
        local.direct?.close()
        if (this.#locals.size === 0) this.#end(true)
        else if (!this.leading) this.#scheduleAnnounce()
      },
    }
  }

  destroy(): void {
    this.#end(false)
  }

  /** Queues for the lock `name` and holds it, once granted, until this tab stops taking part. */
  #hold(name: string, granted: (release: () => void) => void): void {
    this.#locks.request(name, {mode: 'exclusive', signal: this.#abort.signal}, () => {
      if (this.#ended) return Promise.resolve()
      return new Promise<void>(resolve => granted(resolve))
    }).catch(() => {
      // Aborted: this tab stopped needing the stream before its turn came.
    })
  }

  #greet(local: Local): void {
    if (local.opened || !this.#locals.has(local)) return
    local.opened = true
    local.handlers.onopen()
  }

  #fail(local: Local, err: P2PError): void {
    if (!this.#locals.delete(local)) return
    local.direct?.close()
    local.handlers.onerror(err)
  }

  /**
   * A tab takes part only while it has subscriptions: once the last one closed
   * or failed, it leaves (handing the lock on) and starts afresh when its hub
   * client reopens one, after that client's back-off.
   */
  #endIfIdle(): void {
    if (this.#locals.size === 0) this.#end(true)
  }

  #covers(local: Local): boolean {
    const covered = this.#covered
    return covered !== null && local.channels.every(c => covered.has(c))
  }

  #post(message: TabMessage): void {
    if (this.#ended) return
    try {
      this.channel.postMessage(message)
    } catch (err) {
      // A closing tab's channel may refuse; the others find out through the locks.
      debug('cannot post to other tabs:', (err as Error)?.message ?? err)
    }
  }

  // ---- follower ----

  /** Coalesces the subscriptions of one turn into one announcement. */
  #scheduleAnnounce(): void {
    if (this.#announceScheduled) return
    this.#announceScheduled = true
    queueMicrotask(() => {
      this.#announceScheduled = false
      if (!this.#ended && !this.leading) this.#announce()
    })
  }

  #announce(): void {
    if (this.#releaseTabLock === null) return
    const channels = new Set<string>()
    let waiting = false
    for (const local of this.#locals) {
      for (const c of local.channels) channels.add(c)
      if (!local.opened || local.adrift) waiting = true
    }
    this.#post({type: 'want', from: this.config.id, channels: [...channels].sort(), waiting})
  }

  #onState(message: TabMessage & {type: 'state'}): void {
    const fresh = message.from !== this.#leader
    if (fresh) this.#adrift(message.from)
    this.#covered = message.open ? new Set(message.channels) : null
    const err = P2PError.CONNECTION_CLOSED(`the tab holding the stream to ${this.hub} lost it`)
    for (const local of [...this.#locals]) {
      if (this.#covers(local)) {
        local.adrift = false
        this.#greet(local)
      } else if (local.opened && !fresh && (!message.open || !local.adrift)) {
        // This leader's stream failed, or no longer carries this subscription:
        // its hub client reopens it on its back-off.
        this.#fail(local, err)
      }
    }
    this.#endIfIdle()
    // Tell a new leader at once what this tab needs.
    if (fresh && !this.#ended) this.#announce()
  }

  /**
   * The leader changed. Subscriptions it served stay open, without an error:
   * the next leader opens a stream for them as soon as it hears this tab, and
   * the swarms above re-announce on their own schedule to cover the gap.
   */
  #adrift(next: string | null): void {
    if (this.#leader !== null) debug(this.app, 'leader', shortId(this.#leader), 'gone', next === null ? '' : `- now ${shortId(next)}`)
    this.#leader = next
    this.#covered = null
    for (const local of this.#locals) if (local.opened) local.adrift = true
  }

  // ---- leader ----

  #lead(): void {
    if (this.#ended) return
    debug(this.app, 'leading the stream to', this.hub)
    this.#adrift(this.config.id)
    for (const local of this.#locals) this.#attach(local)
    // Followers hear of the new leader and announce themselves to it.
    this.#post({type: 'state', from: this.config.id, open: false, channels: []})
  }

  #attach(local: Local): void {
    local.direct = this.direct.open('', {
      onopen: () => {
        local.adrift = false
        this.#greet(local)
      },
      onmessage: data => {
        if (local.opened && this.#locals.has(local)) local.handlers.onmessage(data)
      },
      onerror: err => {
        this.#fail(local, err)
        // After the relay heard of the failure too (the same stream failed it in
        // this turn), so the followers fail once as well instead of each leading
        // in turn on a stream that fails.
        queueMicrotask(() => this.#endIfIdle())
      },
    }, {hub: this.hub, app: this.app, channels: local.channels})
  }

  #onWant(message: TabMessage & {type: 'want'}): void {
    let tab = this.#tabs.get(message.from)
    let changed = true
    if (tab === undefined) {
      if (this.#tabs.size >= this.config.maxTabs) {
        this.config.counters.refused++
        return
      }
      tab = {channels: message.channels}
      this.#tabs.set(message.from, tab)
      this.#watch(message.from, tab)
    } else {
      changed = !sameList(tab.channels, message.channels)
      tab.channels = message.channels
    }
    if (changed) this.#updateRelay()
    if (!changed && !message.waiting) return
    // A tab whose channels the open relay already covers needs only to hear so.
    const relay = this.#relay
    if (this.#nextRelay === null && relay !== null && message.channels.every(c => relay.channels.has(c))) {
      this.#post({type: 'state', from: this.config.id, open: true, channels: [...relay.channels]})
    }
  }

  /**
   * Every tab holds a lock of its own while it takes part; asking for it
   * returns when that tab has left or died, which tabs do without a word.
   */
  #watch(id: string, tab: Tab): void {
    this.#locks.request(tabLockName(this.key, id), {mode: 'exclusive', signal: this.#abort.signal}, () => {
      if (!this.#ended && this.#tabs.get(id) === tab) {
        debug(this.app, 'tab', shortId(id), 'gone')
        this.#forget(id)
      }
      return Promise.resolve()
    }).catch(() => {
      // Aborted: this tab no longer leads.
    })
  }

  #forget(id: string): void {
    if (this.#tabs.delete(id)) this.#updateRelay()
  }

  /** The channels the other tabs need, tab by tab in the order they came, within the bound. */
  #wanted(): Set<string> {
    const channels = new Set<string>()
    for (const tab of this.#tabs.values()) {
      const added = tab.channels.filter(c => !channels.has(c))
      if (channels.size + added.length > this.config.maxChannels) {
        this.config.counters.refused++
        continue
      }
      for (const c of added) channels.add(c)
    }
    return channels
  }

  /**
   * Keeps one share of this tab's stream for all the other tabs, with the
   * union of their channels. A changed union takes a new share; the old one
   * keeps relaying until the new one opens, so nothing is relayed twice.
   */
  #updateRelay(): void {
    const wanted = this.#wanted()
    const current = this.#nextRelay ?? this.#relay
    if (current !== null && sameSet(current.channels, wanted)) return
    this.#nextRelay?.stream?.close()
    this.#nextRelay = null
    // Back to what the open relay carries (a tab came and went before the new one opened).
    if (this.#relay !== null && sameSet(this.#relay.channels, wanted)) return
    if (wanted.size === 0) {
      this.#relay?.stream?.close()
      this.#relay = null
      return
    }
    const relay: Relay = {channels: wanted, stream: null}
    this.#nextRelay = relay
    relay.stream = this.direct.open('', {
      onopen: () => {
        if (relay !== this.#nextRelay) return
        this.#relay?.stream?.close()
        this.#relay = relay
        this.#nextRelay = null
        this.#post({type: 'state', from: this.config.id, open: true, channels: [...relay.channels]})
      },
      onmessage: data => {
        if (relay !== this.#relay) return
        this.config.counters.relayed++
        this.#post({type: 'message', from: this.config.id, data})
      },
      onerror: () => {
        if (relay === this.#nextRelay) this.#nextRelay = null
        else if (relay === this.#relay) this.#relay = null
        else return
        if (this.#relay !== null || this.#nextRelay !== null) return
        // The followers' subscriptions fail and come back on their hub clients'
        // back-off; until they announce again, this tab does not reopen for them.
        for (const tab of this.#tabs.values()) tab.channels = []
        this.#post({type: 'state', from: this.config.id, open: false, channels: []})
      },
    }, {hub: this.hub, app: this.app, channels: [...wanted].sort()})
  }

  // ---- both ----

  #receive(data: unknown): void {
    if (this.#ended) return
    let message: TabMessage
    try {
      message = decodeTabMessage(data)
    } catch (err) {
      this.config.counters.malformed++
      debug('dropped a tab message:', (err as Error).message)
      return
    }
    if (message.from === this.config.id) return
    if (this.leading) {
      if (message.type === 'want') this.#onWant(message)
      else if (message.type === 'leave') this.#forget(message.from)
      // Another tab's state or messages: not ours to act on while we hold the lock.
      return
    }
    switch (message.type) {
      case 'state':
        this.#onState(message)
        break
      case 'message':
        if (message.from !== this.#leader) return
        for (const local of [...this.#locals]) {
          if (local.opened && this.#locals.has(local)) local.handlers.onmessage(message.data)
        }
        break
      case 'leave':
        // The leader resigned: the next in the queue takes over, as if it had died.
        if (message.from === this.#leader) this.#adrift(null)
        break
      case 'want':
        break
    }
  }

  /** Stops taking part: with a goodbye when the tab is only done with this stream, without one when it dies. */
  #end(polite: boolean): void {
    if (this.#ended) return
    if (polite) this.#post({type: 'leave', from: this.config.id})
    this.#ended = true
    this.#abort.abort()
    this.#release?.()
    this.#release = null
    this.#releaseTabLock?.()
    this.#releaseTabLock = null
    this.#nextRelay?.stream?.close()
    this.#relay?.stream?.close()
    this.#nextRelay = this.#relay = null
    for (const local of this.#locals) local.direct?.close()
    this.#locals.clear()
    this.#tabs.clear()
    this.channel.onmessage = null
    this.channel.close()
    this.onEmpty()
  }
}

function tabLockName(key: string, id: string): string {
  return `${key}\n${id}`
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((c, i) => c === b[i])
}

function sameSet(a: Set<string>, b: Set<string>): boolean {
  return a.size === b.size && [...a].every(c => b.has(c))
}

