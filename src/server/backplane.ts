/**
 * A hub fleet's backplane (docs/hub-fleet.md): hub processes behind one address
 * share their channels through Redis pub/sub, the way socket.io's Redis adapter
 * does. Every broadcast that enters a process is delivered to its own
 * subscribers at once and published on a Redis channel of its app and channel;
 * each process subscribes to a Redis channel while it has subscribers there, and
 * delivers what the others publish to them. A message names the process it
 * entered through, which skips it coming back: each subscriber gets a broadcast
 * once, and nothing is published twice.
 *
 * Redis is never waited on: a publish while it is down is dropped and counted,
 * the process goes on serving its own subscribers (state `degraded`), and the
 * client reconnects with back-off and subscribes again to every channel held.
 * A Redis that holds its connections open but stops answering (frozen, paused,
 * or behind a network that went silent) is found by a PING left unanswered past
 * `stallTimeout`: degraded the same way until it answers again, with what waits
 * on its replies meanwhile bounded (`maxInFlight`).
 * The client is `@redis/client` (node-redis), an optional peer dependency:
 * only a fleet installs it.
 */
import {randomBytes} from 'node:crypto'
import {P2PError} from '../core/errors.js'
import {createDebug} from '../core/debug.js'
import {Emitter, type EventMap} from '../core/emitter.js'

const debug = createDebug('p2p:hub:backplane')

/** The package a fleet installs for `--redis`. */
export const REDIS_PACKAGE = '@redis/client'

/** Redis channels of the fleet start with this, then the app, a line feed (never in a name) and the channel. */
export const CHANNEL_PREFIX = 'p2p-elements/hub/1:'

/**
 * `connecting` until Redis first answers; `up` while both connections to it are
 * ready; `degraded` while either is lost (the process serves its own
 * subscribers, and broadcasts to other processes are dropped); `closed`.
 */
export type BackplaneState = 'connecting' | 'up' | 'degraded' | 'closed'

export interface BackplaneStats {
  state: BackplaneState
  /** Broadcasts sent to Redis, and received from other processes. */
  published: number
  received: number
  /** Broadcasts not published: Redis was down or not answering, refused them, or maxInFlight waited on it already. */
  dropped: number
  /** Messages from Redis that were not a fleet message (malformed): skipped. */
  malformed: number
  /** Redis channels subscribed now (Redis confirmed it): one per app and channel with subscribers here. */
  channels: number
  /** Times Redis was lost after it had been up. */
  outages: number
}

export type BackplaneEvents = {
  /** The state changed (a line in the hub's log). */
  state: (state: BackplaneState, err?: Error) => void
} & EventMap

/** What the hub gives and takes: a broadcast, as its JSON text (one line, as JSON.stringify writes it). */
export interface Backplane extends Pick<Emitter<BackplaneEvents>, 'on' | 'off' | 'once'> {
  readonly stats: BackplaneStats
  /** Where broadcasts from other processes go, their JSON as the bytes Redis brought (checked: one line): set by the hub. */
  deliver: (app: string, channel: string, json: Uint8Array) => void
  /** Publishes a broadcast that entered this process; never waits. */
  publish(app: string, channel: string, json: string): void
  /** This process has subscribers to `channel` of `app` from now on, or (false) no longer. */
  watch(app: string, channel: string, watching: boolean): void
  close(): Promise<void>
}

export interface RedisBackplaneOptions {
  /** `redis://host:port` (or `rediss://`, with a user and password in it if Redis wants them). */
  url: string
  /** Longest wait between two reconnection attempts (ms); they start at 100 ms and double. Default 5000. */
  maxBackoff?: number
  /** A Redis that has not answered a PING for this long (ms) is taken as down (`degraded`) until it answers. Default 5000. */
  stallTimeout?: number
  /** Publishes waiting on Redis's reply at once, at most; past it one is dropped (counted). Default 10,000. */
  maxInFlight?: number
}

/** The part of node-redis's client the backplane uses. */
interface RedisClient {
  connect(): Promise<unknown>
  ping(): Promise<unknown>
  publish(channel: string, message: string): Promise<unknown>
  /** In buffer mode (`true`): the listener gets the bytes, not strings decoded to be encoded again. */
  subscribe(channel: string, listener: (message: Buffer, channel: Buffer) => void, bufferMode: true): Promise<void>
  unsubscribe(channel: string, listener: (message: Buffer, channel: Buffer) => void, bufferMode: true): Promise<void>
  duplicate(): RedisClient
  close(): Promise<void>
  destroy(): void
  on(event: string, listener: (...args: any[]) => void): unknown
  readonly isReady: boolean
}

const redisChannel = (app: string, channel: string) => `${CHANNEL_PREFIX}${app}\n${channel}`

const LF = 0x0a
const CR = 0x0d

/**
 * A backplane on the Redis at `url`: resolves at once, connecting in the
 * background (a Redis down at start is an outage like any other). Throws
 * ERR_INVALID_ARGUMENT naming the package when @redis/client is not installed.
 */
export async function redisBackplane({url, maxBackoff = 5000, stallTimeout = 5000, maxInFlight = 10_000}: RedisBackplaneOptions): Promise<Backplane> {
  let createClient: (options: object) => RedisClient
  try {
    ({createClient} = await import('@redis/client') as unknown as {createClient: typeof createClient})
  } catch (err) {
    throw P2PError.INVALID_ARGUMENT(`a hub fleet needs \`npm install ${REDIS_PACKAGE}\` (${(err as Error).message})`)
  }
  if (!/^rediss?:\/\//.test(url)) throw P2PError.INVALID_ARGUMENT('the Redis URL is redis://host:port or rediss://host:port')
  const client = createClient({
    url,
    // Never queue a publish while Redis is away: it is dropped and counted, and memory stays flat.
    disableOfflineQueue: true,
    // No timer per command (node-redis's default of 5 s makes an AbortSignal for each: a tenth of a fleet
    // broadcast's cost in a profile); a Redis that stopped answering is found by PING (stallTimeout), and what
    // waits on it meanwhile is bounded by maxInFlight.
    commandOptions: {timeout: 0},
    socket: {connectTimeout: 5000, reconnectStrategy: (retries: number) => Math.min(100 * 2 ** Math.min(retries, 16), maxBackoff)},
  })
  return new RedisBackplane(client, stallTimeout, maxInFlight)
}

class RedisBackplane extends Emitter<BackplaneEvents> implements Backplane {
  readonly stats: BackplaneStats = {state: 'connecting', published: 0, received: 0, dropped: 0, malformed: 0, channels: 0, outages: 0}
  deliver: (app: string, channel: string, json: Uint8Array) => void = () => {}
  /** This process's id in the messages it publishes, and as bytes, to know its own coming back. */
  readonly #origin = randomBytes(8).toString('hex')
  readonly #originBytes = Buffer.from(this.#origin)
  #inFlight = 0
  readonly #maxInFlight: number
  readonly #stallTimeout: number
  /** When the PING now waiting for its answer was sent (0: none waits). */
  #pingSent = 0
  /** A PING went unanswered past the stall timeout: Redis is taken as down until one is answered. */
  #stalled = false
  readonly #pinger: ReturnType<typeof setInterval>
  readonly #pub: RedisClient
  /** Subscribing takes a connection of its own. Its commands wait offline: it subscribes again on reconnecting. */
  readonly #sub: RedisClient
  readonly #watched = new Set<string>()
  /** Of those, the ones Redis confirmed. */
  readonly #subscribed = new Set<string>()
  #everUp = false

  constructor(client: RedisClient, stallTimeout: number, maxInFlight: number) {
    super()
    this.#stallTimeout = stallTimeout
    this.#maxInFlight = maxInFlight
    this.#pub = client
    this.#sub = client.duplicate()
    for (const [name, c] of [['publisher', this.#pub], ['subscriber', this.#sub]] as const) {
      // Without an 'error' listener node-redis throws; errors come with every failed attempt while Redis is away.
      c.on('error', (err: Error) => this.#update(err))
      c.on('ready', () => {
        // A new connection: a PING sent on the one before is moot (its answer, if ever, is ignored).
        if (c === this.#pub) this.#pingSent = 0
        this.#update()
      })
      c.on('end', () => this.#update())
      c.on('reconnecting', () => debug(name, 'reconnecting'))
      // A first connection that fails goes on trying (reconnectStrategy); its error is an outage, not a crash.
      c.connect().catch((err: Error) => this.#update(err))
    }
    // A quarter of the stall timeout between checks: a stall is seen within 1.25 stallTimeout of Redis's last answer.
    this.#pinger = setInterval(() => this.#probe(), Math.max(50, stallTimeout / 4))
    this.#pinger.unref?.()
  }

  publish(app: string, channel: string, json: string): void {
    if (this.stats.state === 'closed') return
    if (this.stats.state !== 'up' || this.#inFlight >= this.#maxInFlight) {
      this.stats.dropped++
      return
    }
    // Counted as it leaves (a subscriber elsewhere may have it before Redis's reply is back here); a refusal takes it back.
    this.stats.published++
    this.#inFlight++
    this.#pub.publish(redisChannel(app, channel), `${this.#origin}\n${json}`).catch(() => {
      this.stats.published--
      this.stats.dropped++
    }).finally(() => {
      this.#inFlight--
    })
  }

  watch(app: string, channel: string, watching: boolean): void {
    if (this.stats.state === 'closed') return
    const name = redisChannel(app, channel)
    if (watching === this.#watched.has(name)) return
    if (watching) this.#watched.add(name)
    else this.#watched.delete(name)
    this.#subscribed.delete(name)
    this.stats.channels = this.#subscribed.size
    // Queued while Redis is away; node-redis subscribes again to every channel held once it is back.
    const done = watching ? this.#sub.subscribe(name, this.#onMessage, true) : this.#sub.unsubscribe(name, this.#onMessage, true)
    done.then(() => {
      if (watching && this.#watched.has(name)) this.#subscribed.add(name)
      this.stats.channels = this.#subscribed.size
    }, (err: Error) => debug('subscription change failed', err.message))
  }

  async close(): Promise<void> {
    if (this.stats.state === 'closed') return
    this.#set('closed')
    clearInterval(this.#pinger)
    this.#watched.clear()
    this.#subscribed.clear()
    this.stats.channels = 0
    await Promise.all([this.#pub, this.#sub].map(c => c.close().catch(() => c.destroy())))
  }

  #onMessage = (message: Buffer, channel: Buffer): void => {
    const origin = this.#originBytes
    // Its own, back from Redis: skipped before anything else is read.
    if (message.length > origin.length && message[origin.length] === LF && origin.equals(message.subarray(0, origin.length))) return
    const newline = message.indexOf(LF)
    const name = channel.toString()
    const split = name.indexOf('\n', CHANNEL_PREFIX.length)
    // A fleet message is `origin\njson`, its JSON one line (as the hub wrote it): anything else is skipped.
    if (newline === -1 || split === -1 || !name.startsWith(CHANNEL_PREFIX) || message.indexOf(LF, newline + 1) !== -1 || message.indexOf(CR) !== -1) {
      this.stats.malformed++
      return
    }
    this.stats.received++
    this.deliver(name.slice(CHANNEL_PREFIX.length, split), name.slice(split + 1), message.subarray(newline + 1))
  }

  /** Sends a PING when none waits; one unanswered for stallTimeout marks Redis as not answering until it answers. */
  #probe(): void {
    if (!this.#pub.isReady) return
    if (this.#pingSent === 0) {
      const sent = this.#pingSent = Date.now()
      this.#pub.ping().then(() => {
        if (this.#pingSent !== sent) return
        this.#pingSent = 0
        if (!this.#stalled) return
        this.#stalled = false
        this.#update()
      }, () => {
        // The connection was lost: its 'end' or 'error' says so; the next PING goes on the next connection.
        if (this.#pingSent === sent) this.#pingSent = 0
      })
    } else if (!this.#stalled && Date.now() - this.#pingSent >= this.#stallTimeout) {
      this.#stalled = true
      this.#update(new Error(`Redis has not answered for ${Math.round((Date.now() - this.#pingSent) / 1000)} s`))
    }
  }

  #update(err?: Error): void {
    if (this.stats.state === 'closed') return
    if (this.#pub.isReady && this.#sub.isReady && !this.#stalled) {
      this.#everUp = true
      this.#set('up')
    } else if (this.#everUp || err) {
      if (this.stats.state === 'up') this.stats.outages++
      this.#set('degraded', err)
    }
  }

  #set(state: BackplaneState, err?: Error): void {
    if (this.stats.state === state) return
    this.stats.state = state
    debug('state', state, err?.message ?? '')
    this.emit('state', state, err)
  }
}
