import {createDebug} from '../debug.js'
import {P2PError} from '../errors.js'
import {Emitter} from '../emitter.js'
import {checkInteger} from '../check.js'
import {randomBytes, toHex} from '../bytes.js'
import type {SharedStreams} from './shared-streams.js'
import type {EventStream, EventStreamHandlers, OpenStream} from './sse.js'
import type {TabMessage, TabRelay} from './tab-relay.js'

const debug = createDebug('p2p:tab-streams')

/** Prefix of the Web Lock and BroadcastChannel names, one of each per hub and app. */
export const TAB_STREAM_PREFIX = 'p2p-hub-stream:'

// The hub's own default cap on the channels of one stream: a union larger than
// this would be refused by the hub anyway, for every tab at once.
const MAX_CHANNELS = 64
/** What a message between tabs may list, whatever a leader is configured to carry. */
export const MAX_WIRE_CHANNELS = 1024
const MAX_TABS = 64
// Messages from other tabs held while the relay code loads. Far more than a room's
// signalling in that moment; a flood past it is dropped rather than held.
const MAX_PENDING = 1024

/** The part of the Web Locks API used here (`navigator.locks`). */
export interface LockManagerLike {
  request(name: string, options: {mode: 'exclusive', signal?: AbortSignal, ifAvailable?: boolean}, callback: (lock: unknown) => Promise<void>): Promise<unknown>
}

/** The part of `BroadcastChannel` used here. */
export interface BroadcastChannelLike {
  onmessage: ((event: {data: unknown}) => void) | null
  postMessage(message: unknown): void
  close(): void
}

export type BroadcastChannelConstructor = new (name: string) => BroadcastChannelLike

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
  /**
   * Loads the relay and follower code (tab-relay.ts) once a second tab shows
   * up. Default: a dynamic import, so a page open in one tab never fetches it.
   */
  loadRelay?: () => Promise<typeof import('./tab-relay.js')>
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
    loadRelay = () => import('./tab-relay.js'),
  }: TabStreamsOptions = {}) {
    super()
    checkInteger('maxTabs', maxTabs, 1)
    checkInteger('maxChannels', maxChannels, 1, MAX_WIRE_CHANNELS)
    this.#direct = page
    this.#locks = locks
    this.#Channel = Channel
    this.#config = {id: this.id, maxTabs, maxChannels, counters: this.#counters, loadRelay}
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

/** @internal What every group of a tab shares. */
export interface GroupConfig {
  id: string
  maxTabs: number
  maxChannels: number
  counters: {relayed: number, malformed: number, refused: number}
  loadRelay: () => Promise<typeof import('./tab-relay.js')>
}

/** @internal One subscription of this tab. */
export interface Local {
  handlers: EventStreamHandlers
  channels: readonly string[]
  opened: boolean
  // Opened under a leader that has gone: kept open while the next one catches up.
  adrift: boolean
  // Set while this tab leads: the subscription's share of the real stream.
  direct: EventStream | null
}

/**
 * @internal The tabs' shared stream for one hub and app, as this tab takes
 * part in it: the locks, the channel, this tab's own subscriptions and, while
 * it leads, their shares of the real stream. That is all a tab alone runs.
 * The relay to other tabs and the follower's side (TabRelay) load the moment
 * another tab shows up: a message from one, or the lock held by one.
 */
export class TabGroup {
  readonly locals = new Set<Local>()
  // Withdraws this tab's pending lock requests, and the leader's watches on other tabs.
  readonly abort = new AbortController()
  ended = false
  #relay: TabRelay | null = null
  // What other tabs said while the relay code loads (null: not loading).
  #pending: unknown[] | null = null
  #release: (() => void) | null = null
  // Held for as long as this tab takes part, so a leader learns at once when it is gone.
  #releaseTabLock: (() => void) | null = null
  #announceScheduled = false

  constructor(
    readonly key: string,
    readonly hub: string,
    readonly app: string,
    readonly config: GroupConfig,
    readonly direct: PageStreams,
    readonly locks: LockManagerLike,
    readonly channel: BroadcastChannelLike,
    readonly onEmpty: () => void,
  ) {
    channel.onmessage = event => {
      if (this.#relay) this.#relay.receive(event.data)
      else this.#wait(event.data)
    }
    this.#hold(tabLockName(key, config.id), release => {
      this.#releaseTabLock = release
      // Announcements wait for this lock: a leader watching it must not find it free.
      if (!this.leading) this.announce()
    })
    // Asked first without queueing: a tab that finds it held follows another
    // tab, and loads the follower's code while it queues.
    this.#hold(key, release => {
      this.#release = release
      this.#lead()
    }, true)
  }

  get leading(): boolean {
    return this.#release !== null
  }

  get tabs(): number {
    return this.leading ? this.#relay?.tabs.size ?? 0 : 0
  }

  add(handlers: EventStreamHandlers, channels: readonly string[]): EventStream {
    const local: Local = {handlers, channels, opened: false, adrift: false, direct: null}
    this.locals.add(local)
    if (this.leading) {
      this.#attach(local)
    } else {
      if (this.#relay?.covers(local)) queueMicrotask(() => this.greet(local))
      // Even when covered (by another tab's channels): the leader must keep them for this one.
      this.#scheduleAnnounce()
    }
    return {
      close: () => {
        if (!this.locals.delete(local)) return
        local.direct?.close()
        if (this.locals.size === 0) this.#end(true)
        else if (!this.leading) this.#scheduleAnnounce()
      },
    }
  }

  destroy(): void {
    this.#end(false)
  }

  /**
   * Queues for the lock `name` and holds it, once granted, until this tab
   * stops taking part. `ifAvailable`: asks once without queueing first (the
   * Web Locks API takes no signal then), and queues only if it is held.
   */
  #hold(name: string, granted: (release: () => void) => void, ifAvailable = false): void {
    this.locks.request(name, ifAvailable ? {mode: 'exclusive', ifAvailable} : {mode: 'exclusive', signal: this.abort.signal}, lock => {
      if (this.ended) return Promise.resolve()
      if (lock === null) {
        this.#load()
        this.#hold(name, granted)
        return Promise.resolve()
      }
      return new Promise<void>(resolve => granted(resolve))
    }).catch(() => {
      // Aborted: this tab stopped needing the stream before its turn came.
    })
  }

  /** Holds what another tab said until the relay code is there to hear it. */
  #wait(data: unknown): void {
    if (this.ended) return
    this.#load()
    if (this.#pending!.length < MAX_PENDING) this.#pending!.push(data)
    else debug('dropped a tab message: more than', MAX_PENDING, 'while loading')
  }

  #load(): void {
    if (this.#relay || this.#pending) return
    this.#pending = []
    this.config.loadRelay().then(({TabRelay}) => {
      if (this.ended) return
      const relay = this.#relay = new TabRelay(this)
      const pending = this.#pending!
      this.#pending = null
      for (const data of pending) relay.receive(data)
    }, err => {
      if (this.ended) return
      // Without it this tab can neither serve nor follow: its subscriptions
      // fail, and its hub client tries again on its back-off.
      const failure = P2PError.CONNECTION_FAILED(`cannot load the relay between tabs: ${(err as Error)?.message ?? err}`, err)
      for (const local of [...this.locals]) this.fail(local, failure)
      this.endIfIdle()
    })
  }

  greet(local: Local): void {
    if (local.opened || !this.locals.has(local)) return
    local.opened = true
    local.handlers.onopen()
  }

  fail(local: Local, err: P2PError): void {
    if (!this.locals.delete(local)) return
    local.direct?.close()
    local.handlers.onerror(err)
  }

  /**
   * A tab takes part only while it has subscriptions: once the last one closed
   * or failed, it leaves (handing the lock on) and starts afresh when its hub
   * client reopens one, after that client's back-off.
   */
  endIfIdle(): void {
    if (this.locals.size === 0) this.#end(true)
  }

  post(message: TabMessage): void {
    if (this.ended) return
    try {
      this.channel.postMessage(message)
    } catch (err) {
      // A closing tab's channel may refuse; the others find out through the locks.
      debug('cannot post to other tabs:', (err as Error)?.message ?? err)
    }
  }

  /** Coalesces the subscriptions of one turn into one announcement. */
  #scheduleAnnounce(): void {
    if (this.#announceScheduled) return
    this.#announceScheduled = true
    queueMicrotask(() => {
      this.#announceScheduled = false
      if (!this.ended && !this.leading) this.announce()
    })
  }

  /** Tells the leader which channels this tab needs, and whether it still waits to be served. */
  announce(): void {
    if (this.#releaseTabLock === null) return
    const channels = new Set<string>()
    let waiting = false
    for (const local of this.locals) {
      for (const c of local.channels) channels.add(c)
      if (!local.opened || local.adrift) waiting = true
    }
    this.post({type: 'want', from: this.config.id, channels: [...channels].sort(), waiting})
  }

  #lead(): void {
    if (this.ended) return
    debug(this.app, 'leading the stream to', this.hub)
    // The follower's view (a leader, subscriptions adrift) no longer matters:
    // from here on each subscription has a share of this tab's own stream.
    for (const local of this.locals) this.#attach(local)
    // Followers hear of the new leader and announce themselves to it.
    this.post({type: 'state', from: this.config.id, open: false, channels: []})
  }

  #attach(local: Local): void {
    local.direct = this.direct.open('', {
      onopen: () => this.greet(local),
      onmessage: data => {
        if (local.opened && this.locals.has(local)) local.handlers.onmessage(data)
      },
      onerror: err => {
        this.fail(local, err)
        // After the relay heard of the failure too (the same stream failed it in
        // this turn), so the followers fail once as well instead of each leading
        // in turn on a stream that fails.
        queueMicrotask(() => this.endIfIdle())
      },
    }, {hub: this.hub, app: this.app, channels: local.channels})
  }

  /** Stops taking part: with a goodbye when the tab is only done with this stream, without one when it dies. */
  #end(polite: boolean): void {
    if (this.ended) return
    if (polite) this.post({type: 'leave', from: this.config.id})
    this.ended = true
    this.abort.abort()
    this.#release?.()
    this.#release = null
    this.#releaseTabLock?.()
    this.#releaseTabLock = null
    this.#relay?.close()
    this.#pending = null
    for (const local of this.locals) local.direct?.close()
    this.locals.clear()
    this.channel.onmessage = null
    this.channel.close()
    this.onEmpty()
  }
}

/** @internal The lock a tab holds while it takes part, named after the group's and the tab's id. */
export function tabLockName(key: string, id: string): string {
  return `${key}\n${id}`
}
