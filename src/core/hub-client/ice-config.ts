/**
 * The ICE servers a hub hands out on `GET /v1/ice` (src/server/ice.ts): STUN
 * URLs and TURN entries whose credentials expire. The first hub that answers
 * wins; a hub without the route (signalhub's own server) or none at all means
 * no ICE servers, as before. Credentials are fetched again ahead of their
 * expiry, so a connection made later still gets a working one.
 */
import {createDebug} from '../debug.js'
import {systemClock, type Clock} from '../clock.js'
import {checkNumber} from '../check.js'
import {normalizeHubUrl} from './protocol.js'
import type {EventStream, OpenStream} from './sse.js'

const debug = createDebug('p2p:hub-client')

/** At most this long before expiry, a credential is fetched again (5 min); less for a short-lived one. */
const MAX_MARGIN_MS = 5 * 60_000
/**
 * After no hub answered, the next read waits this long before asking again: a
 * hub without the route (signalhub's) or a rate-limited one is not asked once
 * per new connection, taking the tokens its POSTs need.
 */
const RETRY_MS = 60_000

export interface HubIceConfigOptions {
  /** Hub URLs, tried in order. */
  hubs: string[]
  fetch?: typeof fetch
  /** Timers (the refresh ahead of expiry). The system's by default. */
  clock?: Clock
  /** Milliseconds since the epoch, compared with the hub's `expires` (Unix seconds). `Date.now` by default. */
  epochNow?: () => number
  /** Milliseconds one hub may take to answer before the next is tried. Default 10 000. */
  timeout?: number
}

interface IceAnswer {
  iceServers: RTCIceServer[]
  /** Unix seconds, when a credential is in the list. */
  expires?: number
}

export class HubIceConfig {
  readonly #hubs: string[]
  readonly #fetch: typeof fetch
  readonly #clock: Clock
  readonly #epochNow: () => number
  readonly #timeout: number
  #servers: RTCIceServer[] = []
  /** Epoch milliseconds from which the list is fetched again: ahead of expiry, a while after a failure, never (Infinity) when nothing expires. */
  #staleAt = 0
  #inFlight: Promise<void> | null = null
  #timer: unknown = null
  readonly #first: Promise<RTCIceServer[]>
  #destroyed = false

  constructor({hubs, fetch: fetchImpl, clock = systemClock, epochNow = Date.now, timeout = 10_000}: HubIceConfigOptions) {
    checkNumber('timeout', timeout, 1)
    this.#hubs = hubs.map(normalizeHubUrl)
    this.#fetch = fetchImpl ?? globalThis.fetch.bind(globalThis)
    this.#clock = clock
    this.#epochNow = epochNow
    this.#timeout = timeout
    this.#first = this.#refresh().then(() => this.#servers)
  }

  get destroyed(): boolean {
    return this.#destroyed
  }

  /** Resolves with the first list, once the hubs answered or failed (never rejects: no answer is no servers). */
  ready(): Promise<RTCIceServer[]> {
    return this.#first
  }

  /**
   * The list for a connection made now. Read past the refresh time (the timer
   * ahead of expiry failed, or a minute after a fetch that did), it starts
   * another fetch and answers the current list, which the margin keeps valid a
   * while longer.
   */
  get servers(): RTCIceServer[] {
    if (!this.#destroyed && this.#epochNow() >= this.#staleAt) void this.#refresh()
    return this.#servers
  }

  /**
   * `open`, holding each stream back until the first list is in. A swarm hears
   * of peers only through its streams, so none of its connections can be made
   * before it has the ICE servers: a relay-only page never dials with none.
   */
  gate(open: OpenStream): OpenStream {
    return (url, handlers, target) => {
      let stream: EventStream | null = null
      let closed = false
      void this.#first.then(() => {
        if (!closed) stream = open(url, handlers, target)
      })
      return {
        close: () => {
          closed = true
          stream?.close()
        },
      }
    }
  }

  destroy(): void {
    if (this.#destroyed) return
    this.#destroyed = true
    if (this.#timer !== null) this.#clock.clearTimeout(this.#timer)
    this.#timer = null
  }

  #refresh(): Promise<void> {
    this.#inFlight ??= this.#fetchFirst().finally(() => { this.#inFlight = null })
    return this.#inFlight
  }

  async #fetchFirst(): Promise<void> {
    for (const hub of this.#hubs) {
      const answer = await this.#fetchFrom(hub)
      if (this.#destroyed) return
      if (answer === null) continue
      this.#use(answer)
      return
    }
    this.#staleAt = this.#epochNow() + RETRY_MS
  }

  async #fetchFrom(hub: string): Promise<IceAnswer | null> {
    try {
      const res = await this.#fetch(`${hub}/v1/ice`, {signal: AbortSignal.timeout(this.#timeout), cache: 'no-store'})
      if (!res.ok) {
        debug('no ICE servers from', hub, res.status)
        return null
      }
      return parseAnswer(await res.json())
    } catch (err) {
      debug('no ICE servers from', hub, (err as Error).message)
      return null
    }
  }

  #use({iceServers, expires}: IceAnswer): void {
    this.#servers = iceServers
    if (this.#timer !== null) this.#clock.clearTimeout(this.#timer)
    this.#timer = null
    if (expires === undefined) {
      this.#staleAt = Infinity
      return
    }
    const now = this.#epochNow()
    const expiresAt = expires * 1000
    // Half the lifetime for short-lived credentials, so a refresh is never due at once.
    const margin = Math.min(MAX_MARGIN_MS, Math.max(0, expiresAt - now) / 2)
    this.#staleAt = expiresAt - margin
    this.#timer = this.#clock.setTimeout(() => {
      this.#timer = null
      void this.#refresh()
    }, this.#staleAt - now)
  }
}

/** The hub's answer, or null when it is not one (a list of servers with string URLs, a finite expiry). */
function parseAnswer(value: unknown): IceAnswer | null {
  if (typeof value !== 'object' || value === null) return null
  const {iceServers, expires} = value as {iceServers?: unknown, expires?: unknown}
  if (!Array.isArray(iceServers)) return null
  const valid = iceServers.every(server => {
    const urls = (server as {urls?: unknown} | null)?.urls
    return typeof urls === 'string' || (Array.isArray(urls) && urls.every(url => typeof url === 'string'))
  })
  if (!valid) return null
  if (expires !== undefined && !(typeof expires === 'number' && Number.isFinite(expires))) return null
  return {iceServers: iceServers as RTCIceServer[], expires}
}
