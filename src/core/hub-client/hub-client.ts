import {Emitter} from '../emitter.js'
import {P2PError} from '../errors.js'
import {checkNumber} from '../check.js'
import {systemClock, type Clock} from '../clock.js'
import {createDebug} from '../debug.js'
import {utf8} from '../bytes.js'
import {CrossHubDedupe} from './dedupe.js'
import {MAX_BODY_BYTES, broadcastUrl, isValidName, normalizeHubUrl, streamUrl} from './protocol.js'
import {openEventStream} from './sse.js'
import type {EventStream, EventStreamHandlers, OpenStream, StreamTarget} from './sse.js'

const debug = createDebug('p2p:hub-client')

export type HubState = 'connecting' | 'open' | 'closed'

/** One hub as this client sees it. */
export interface HubConnectionStats {
  /** `open` while at least one of this client's streams to the hub is open. */
  state: HubState
  /** Streams reopened after a failure. */
  reconnects: number
  /** Messages received from this hub, duplicates and malformed ones included. */
  messagesIn: number
  /** Broadcasts this hub accepted. */
  broadcastsOut: number
  /** Failed streams plus failed broadcasts. */
  failures: number
  /** Broadcasts sent again after the hub asked us to slow down (429 with Retry-After). */
  retries: number
}

export interface HubClientStats {
  /** Keyed by hub URL as normalised (scheme added, trailing slash removed). */
  hubs: Record<string, HubConnectionStats>
  /** Copies of a message that another hub had already delivered. */
  duplicatesDropped: number
  /** Messages that were not JSON. */
  malformedDropped: number
}

export type HubClientEvents = {
  /** A hub now serves this client (one of its streams opened). */
  open: (url: string) => void
  /** A hub stopped serving this client (its last open stream failed or was closed). */
  lost: (url: string) => void
  /**
   * A stream failed (P2PError; the client reconnects by itself, this is for
   * diagnostics) or an `onMessage` callback threw (its error, as thrown).
   */
  error: (err: Error) => void
  /** `stats` changed state (not emitted per message). */
  update: () => void
  /** The client was destroyed (with `err` if it failed). */
  close: (err?: Error) => void
}

export interface HubClientOptions {
  /** Hub URLs; the client subscribes on all and broadcasts to all. */
  hubs: readonly string[]
  /** The signalhub "app": the namespace channels live in. */
  app: string
  /** Smallest reconnection back-off ceiling, ms. Default 1000. */
  minDelay?: number
  /** Largest reconnection back-off ceiling, ms. Default 30 000. */
  maxDelay?: number
  /** Copies of a message from other hubs within this many ms are dropped. Default 5000. */
  dedupeWindow?: number
  /** Broadcasts still unanswered after this many ms are abandoned. Default 10 000. */
  timeout?: number
  /** Used for broadcasts, and for streams unless `openStream` is given. */
  fetch?: typeof fetch
  /** How event streams are opened; lets one stream be shared by many clients or tabs. */
  openStream?: OpenStream
  /** Timers for back-off, retries and timeouts, and the jitter's randomness; tests pin it. Default systemClock. */
  clock?: Clock
}

export interface Subscription {
  readonly channels: readonly string[]
  /** Resolves once a stream to at least one hub is open; rejects if closed first. */
  readonly ready: Promise<void>
  /** Closes this subscription's streams on every hub. Idempotent. */
  close(): void
}

/** What a subscription needs from its client; keeps the client's internals private. */
interface SubscriptionHost {
  readonly hubs: readonly string[]
  readonly app: string
  readonly stats: HubClientStats
  readonly dedupeWindow: number
  /** While paused, subscriptions hold no stream and schedule no retry. */
  readonly paused: boolean
  readonly clock: Clock
  open(url: string, handlers: EventStreamHandlers, target: StreamTarget): EventStream
  backoff(attempt: number): number
  error(err: Error): void
  changed(): void
  removed(subscription: HubSubscription): void
}

interface Link {
  state: HubState
  stream: EventStream | null
  timer: unknown
  attempt: number
  // Bumped for every stream opened, so late callbacks of a replaced stream are ignored.
  generation: number
}

/** A broadcast the hub rate-limits is sent again at most this many times. */
const MAX_RATE_RETRIES = 3

/**
 * Loads the wait before a rate-limited broadcast is sent again, on the first
 * 429, and the reader of a hub's refusal, on the first broadcast refused: most
 * pages never meet either. Tests replace them to hold or fail the load.
 */
export const loaders = {
  rateRetry: () => import('./rate-retry.js'),
  refusal: () => import('./refusal.js'),
}

/**
 * A client for signalhub-protocol hubs: subscribes on every hub, reconnects
 * each stream on its own with exponential back-off and full jitter, delivers a
 * message carried by several hubs once, and broadcasts to every hub.
 *
 * @example
 * const client = new HubClient({hubs: ['http://127.0.0.1:9000'], app: 'chat'})
 * const sub = client.subscribe(['all'], message => console.log(message))
 * await sub.ready
 * await client.broadcast('all', {hello: 'world'})
 */
export class HubClient extends Emitter<HubClientEvents> {
  readonly app: string
  readonly hubs: readonly string[]
  readonly stats: HubClientStats

  readonly #timeout: number
  readonly #clock: Clock
  readonly #fetch: typeof fetch
  readonly #openStream: OpenStream
  readonly #subscriptions = new Set<HubSubscription>()
  readonly #pending = new Set<{controller: AbortController, timer: unknown}>()
  readonly #host: SubscriptionHost
  #destroyed = false
  #paused = false

  constructor({
    hubs,
    app,
    minDelay = 1000,
    maxDelay = 30_000,
    dedupeWindow = 5000,
    timeout = 10_000,
    fetch: fetchImpl,
    openStream,
    clock = systemClock,
  }: HubClientOptions) {
    super()
    if (!Array.isArray(hubs) || hubs.length === 0 || !hubs.every(hub => typeof hub === 'string' && hub.trim() !== '')) {
      throw P2PError.INVALID_ARGUMENT('hubs must be a non-empty list of URLs')
    }
    if (typeof app !== 'string' || !isValidName(app)) throw P2PError.INVALID_ARGUMENT('app must be 1-128 characters without control characters')
    checkNumber('minDelay', minDelay, 0, Number.MAX_VALUE)
    checkNumber('maxDelay', maxDelay, minDelay, Number.MAX_VALUE)
    checkNumber('dedupeWindow', dedupeWindow, Number.MIN_VALUE, Number.MAX_VALUE)
    checkNumber('timeout', timeout, Number.MIN_VALUE, Number.MAX_VALUE)
    this.app = app
    this.hubs = [...new Set(hubs.map(normalizeHubUrl))]
    this.stats = {hubs: {}, duplicatesDropped: 0, malformedDropped: 0}
    for (const hub of this.hubs) {
      this.stats.hubs[hub] = {state: 'closed', reconnects: 0, messagesIn: 0, broadcastsOut: 0, failures: 0, retries: 0}
    }
    this.#timeout = timeout
    this.#clock = clock
    this.#fetch = fetchImpl ?? globalThis.fetch.bind(globalThis)
    this.#openStream = openStream ?? ((url, handlers) => openEventStream(url, handlers, {fetch: fetchImpl}))
    const client = this
    this.#host = {
      hubs: this.hubs,
      app,
      stats: this.stats,
      dedupeWindow,
      get paused() { return client.#paused },
      clock,
      open: (url, handlers, target) => this.#openStream(url, handlers, target),
      // Full jitter: anywhere between zero and the exponential ceiling, so the
      // clients of a restarted hub do not come back in one wave.
      backoff: attempt => Math.floor(clock.random() * Math.min(maxDelay, minDelay * 2 ** attempt)),
      error: err => this.emit('error', err),
      changed: () => this.#refreshStates(),
      removed: subscription => this.#subscriptions.delete(subscription),
    }
  }

  get destroyed(): boolean {
    return this.#destroyed
  }

  /**
   * Listens on `channels` of every hub. `onMessage` gets each message's JSON
   * value; text that is not JSON is dropped and counted in `stats`.
   */
  subscribe(channels: readonly string[], onMessage: (data: unknown) => void): Subscription {
    if (this.#destroyed) throw destroyedError()
    if (!Array.isArray(channels) || channels.length === 0) throw P2PError.INVALID_ARGUMENT('channels must be a non-empty list')
    channels.forEach(checkChannel)
    if (typeof onMessage !== 'function') throw P2PError.INVALID_ARGUMENT('onMessage must be a function')
    const subscription = new HubSubscription(this.#host, [...new Set(channels)], onMessage)
    this.#subscriptions.add(subscription)
    subscription.start()
    return subscription
  }

  /**
   * POSTs `data` as JSON to `channel` on every hub. Resolves once one hub has
   * accepted it; rejects with the most telling failure if none did: a hub's
   * refusal (ERR_RATE_LIMITED, ERR_HUB_REJECTED) before ERR_HUB_UNREACHABLE.
   * Misuse (bad channel, data that is not JSON, over 64 KiB) throws at once.
   */
  broadcast(channel: string, data: unknown): Promise<void> {
    if (this.#destroyed) throw destroyedError()
    checkChannel(channel)
    let body: string | undefined
    try {
      body = JSON.stringify(data)
    } catch (err) {
      throw P2PError.INVALID_ARGUMENT(`data must be JSON-serialisable: ${(err as Error).message}`)
    }
    if (body === undefined) throw P2PError.INVALID_ARGUMENT('data must be JSON-serialisable')
    if (utf8(body).length > MAX_BODY_BYTES) throw P2PError.BODY_TOO_LARGE(`a message is at most ${MAX_BODY_BYTES} bytes as JSON`)
    return this.#broadcast(channel, body)
  }

  /** True between `pause()` and `resume()`. */
  get paused(): boolean {
    return this.#paused
  }

  /**
   * Closes every stream and stops retrying, keeping the subscriptions: for a
   * browser that went offline, where retries would only fail and back off
   * further. Broadcasts still try (and fail fast). Idempotent.
   */
  pause(): void {
    if (this.#destroyed || this.#paused) return
    this.#paused = true
    for (const subscription of this.#subscriptions) subscription.pause()
    debug('paused')
  }

  /** Reopens every subscription's streams at once, back-off reset. Idempotent. */
  resume(): void {
    if (this.#destroyed || !this.#paused) return
    this.#paused = false
    for (const subscription of this.#subscriptions) subscription.resume()
    debug('resumed')
  }

  /**
   * Closes every stream, abandons pending broadcasts, clears every timer.
   * Idempotent; emits `error` (with `err`), then `close`.
   */
  destroy(err?: Error): void {
    if (this.#destroyed) return
    this.#destroyed = true
    for (const subscription of [...this.#subscriptions]) subscription.close()
    for (const pending of this.#pending) {
      this.#clock.clearTimeout(pending.timer)
      pending.controller.abort()
    }
    this.#pending.clear()
    debug('destroyed', err?.message ?? '')
    if (err) this.emit('error', err)
    this.emit('close', err)
  }

  #broadcast(channel: string, body: string): Promise<void> {
    const controller = new AbortController()
    const pending = {controller, timer: this.#clock.setTimeout(() => controller.abort(), this.#timeout)}
    this.#pending.add(pending)
    return new Promise((resolve, reject) => {
      let left = this.hubs.length
      let accepted = false
      const errors: P2PError[] = []
      this.hubs.forEach((hub, i) => {
        void this.#post(hub, channel, body, controller.signal).then(err => {
          if (err === null) {
            if (!accepted) resolve()
            accepted = true
          } else {
            errors[i] = err
          }
          if (--left > 0) return
          this.#clock.clearTimeout(pending.timer)
          this.#pending.delete(pending)
          if (accepted) return
          reject(this.#destroyed ? destroyedError() : mostTelling(errors))
        })
      })
    })
  }

  async #post(hub: string, channel: string, body: string, signal: AbortSignal): Promise<P2PError | null> {
    const stats = this.stats.hubs[hub]
    for (let attempt = 0; ; attempt++) {
      let res: Response
      try {
        res = await this.#fetch(broadcastUrl(hub, this.app, channel), {
          method: 'POST',
          // A CORS-safelisted type: browsers send it without a preflight round trip.
          headers: {'content-type': 'text/plain;charset=UTF-8'},
          body,
          signal,
        })
      } catch (err) {
        stats.failures++
        return P2PError.HUB_UNREACHABLE(`cannot reach ${hub}${signal.aborted ? ' (timed out or destroyed)' : ''}`, err)
      }
      if (res.ok) {
        await res.arrayBuffer().catch(() => {})
        stats.broadcastsOut++
        return null
      }
      // Rate limited (say, many tabs behind one address signalling at once): a
      // lost signal costs a whole connection attempt, so wait as the hub asks
      // and send it again, within the broadcast's own timeout.
      // The load counts against that timeout too; a broadcast that cannot load
      // the wait takes the 429 as the hub's answer.
      const waited = res.status === 429 && attempt < MAX_RATE_RETRIES
        ? await loaders.rateRetry().then(({waitToRetry}) => waitToRetry(res, signal, this.#clock), () => null)
        : null
      if (waited) {
        stats.retries++
        continue
      }
      stats.failures++
      if (waited === false) return P2PError.RATE_LIMITED(`${hub} answered 429, and the broadcast timed out waiting to send again`)
      return loaders.refusal().then(({errorFromResponse}) => errorFromResponse(hub, res), err => unreadRefusal(hub, res, err))
    }
  }

  #refreshStates(): void {
    let changed = false
    this.hubs.forEach((hub, i) => {
      let state: HubState = 'closed'
      for (const subscription of this.#subscriptions) {
        const linkState = subscription.stateOf(i)
        if (linkState === 'open') {
          state = 'open'
          break
        }
        if (linkState === 'connecting') state = 'connecting'
      }
      const stats = this.stats.hubs[hub]
      const before = stats.state
      if (before === state) return
      stats.state = state
      changed = true
      debug(hub, before, '->', state)
      if (state === 'open') this.emit('open', hub)
      else if (before === 'open') this.emit('lost', hub)
    })
    if (changed) this.emit('update')
  }
}

/** A refusal whose reader could not load: its status still tells a 429 from other refusals. */
function unreadRefusal(hub: string, res: Response, err: unknown): P2PError {
  res.body?.cancel().catch(() => {})
  return new P2PError(res.status === 429 ? 'ERR_RATE_LIMITED' : 'ERR_HUB_REJECTED', `${hub} answered ${res.status}`, {cause: err})
}

function destroyedError(): P2PError {
  return P2PError.DESTROYED('hub client was destroyed')
}

function checkChannel(channel: unknown): void {
  if (typeof channel !== 'string' || !isValidName(channel)) {
    throw P2PError.BAD_CHANNEL('channel names are 1-128 characters without control characters')
  }
}

function mostTelling(errors: P2PError[]): P2PError {
  const answered = errors.find(err => err !== undefined && err.code !== 'ERR_HUB_UNREACHABLE')
  if (answered) return answered
  const all = errors.filter(Boolean)
  if (all.length === 1) return all[0]
  return P2PError.HUB_UNREACHABLE(`no hub reachable: ${all.map(err => err.message).join('; ')}`, all)
}

class HubSubscription implements Subscription {
  readonly channels: readonly string[]
  readonly ready: Promise<void>
  readonly #host: SubscriptionHost
  readonly #onMessage: (data: unknown) => void
  readonly #links: Link[]
  // One hub cannot duplicate across hubs; skip the bookkeeping then.
  readonly #dedupe: CrossHubDedupe | null
  #resolveReady!: () => void
  #rejectReady!: (err: P2PError) => void
  #closed = false

  constructor(host: SubscriptionHost, channels: readonly string[], onMessage: (data: unknown) => void) {
    this.#host = host
    this.channels = channels
    this.#onMessage = onMessage
    this.#links = host.hubs.map(() => ({state: 'connecting', stream: null, timer: null, attempt: 0, generation: 0}))
    this.#dedupe = host.hubs.length > 1 ? new CrossHubDedupe({window: host.dedupeWindow, now: () => host.clock.now()}) : null
    this.ready = new Promise((resolve, reject) => {
      this.#resolveReady = resolve
      this.#rejectReady = reject
    })
    // Callers who never await `ready` must not see an unhandled rejection on close.
    this.ready.catch(() => {})
  }

  start(): void {
    if (!this.#host.paused) for (let i = 0; i < this.#links.length; i++) this.#connect(i)
    this.#host.changed()
  }

  /** Drops every stream and pending retry; the subscription stays, to `resume()`. */
  pause(): void {
    if (this.#closed) return
    for (const link of this.#links) this.#halt(link)
    this.#host.changed()
  }

  /** Opens every stream now, with the back-off reset. */
  resume(): void {
    if (this.#closed) return
    for (let i = 0; i < this.#links.length; i++) {
      this.#halt(this.#links[i])
      this.#links[i].attempt = 0
      this.#connect(i)
    }
    this.#host.changed()
  }

  #halt(link: Link): void {
    link.generation++
    link.state = 'closed'
    if (link.timer !== null) this.#host.clock.clearTimeout(link.timer)
    link.timer = null
    link.stream?.close()
    link.stream = null
  }

  stateOf(hub: number): HubState {
    return this.#links[hub].state
  }

  close(): void {
    if (this.#closed) return
    this.#closed = true
    for (const link of this.#links) this.#halt(link)
    this.#dedupe?.clear()
    this.#rejectReady(P2PError.DESTROYED('subscription closed before any hub answered'))
    this.#host.removed(this)
    this.#host.changed()
  }

  #connect(i: number): void {
    const link = this.#links[i]
    const hub = this.#host.hubs[i]
    const generation = ++link.generation
    // close() halts every link, so a closed subscription's callbacks fail this too.
    const current = () => link.generation === generation
    link.state = 'connecting'
    const handlers: EventStreamHandlers = {
      onopen: () => {
        if (!current() || link.state === 'open') return
        link.state = 'open'
        link.attempt = 0
        this.#resolveReady()
        this.#host.changed()
      },
      onmessage: text => {
        if (current()) this.#receive(i, text)
      },
      onerror: err => {
        if (current()) this.#failed(i, err)
      },
    }
    try {
      const {app} = this.#host
      const stream = this.#host.open(streamUrl(hub, app, this.channels), handlers, {hub, app, channels: this.channels})
      if (current()) link.stream = stream
      else stream.close()
    } catch (err) {
      if (current()) this.#failed(i, err instanceof P2PError ? err : P2PError.HUB_UNREACHABLE(`cannot open a stream to ${hub}`, err))
    }
  }

  #failed(i: number, err: P2PError): void {
    const link = this.#links[i]
    const hub = this.#host.hubs[i]
    this.#halt(link)
    if (this.#host.paused) return
    link.state = 'connecting'
    this.#host.stats.hubs[hub].failures++
    const delay = this.#host.backoff(link.attempt++)
    debug(hub, 'stream failed:', err.message, `- retrying in ${delay} ms`)
    link.timer = this.#host.clock.setTimeout(() => {
      link.timer = null
      this.#host.stats.hubs[hub].reconnects++
      this.#connect(i)
    }, delay)
    this.#host.changed()
    this.#host.error(err)
  }

  #receive(i: number, text: string): void {
    const stats = this.#host.stats
    stats.hubs[this.#host.hubs[i]].messagesIn++
    if (this.#dedupe !== null && !this.#dedupe.accept(i, text)) {
      stats.duplicatesDropped++
      return
    }
    let data: unknown
    try {
      data = JSON.parse(text)
    } catch {
      stats.malformedDropped++
      debug(this.#host.hubs[i], 'dropped a message that is not JSON')
      return
    }
    try {
      this.#onMessage(data)
    } catch (err) {
      this.#host.error(err instanceof Error ? err : new Error(String(err)))
    }
  }
}
