/**
 * The signalling hub: signalhub's HTTP protocol on a plain Node http server,
 * hardened for the open internet.
 *
 * - `GET /` answers `{name, version, subscribers, channels, broadcastsPerSecond}`,
 *   and the backplane's state and counts in a fleet (`backplane`).
 * - `GET /metrics` answers the same and more in Prometheus's text format.
 * - `GET /v1/:app/:ch1,ch2…` is a server-sent-events stream: an `:ok` comment
 *   at once, a `:heartbeat signal` comment every 30 s, each message as
 *   `data: <json>`. SSE clients skip comments, signalhub's included.
 * - `POST /v1/:app/:channel` with a JSON body sends it to that channel's
 *   subscribers in that app; 200 even when nobody listens.
 * - `GET /v1/ice` answers `{iceServers, expires?}`: the deployment's STUN and
 *   TURN servers, TURN with credentials minted per request (ice.ts).
 * - The app is the first path segment after `/v1/`; everything after the next
 *   `/` is the channel (list), so a channel name may contain `/`, as signalhub's
 *   own suite tests (`hello/people`).
 *
 * Beyond signalhub: bodies are parsed and re-serialised, so a body can never
 * smuggle a line break (and with it extra SSE fields or events) into the
 * stream; sizes, rates, channel lists and subscriber counts are bounded; every
 * refusal is a JSON `{error, message}` with a P2PError code; the subscriber
 * registry (registry.ts) shrinks back to nothing when clients leave; `close()`
 * ends every stream cleanly. With a `backplane` (backplane.ts: Redis), several
 * hub processes behind one address share their channels (docs/hub-fleet.md).
 */
import {createServer} from 'node:http'
import type {IncomingMessage, Server, ServerResponse} from 'node:http'
import type {AddressInfo, Socket} from 'node:net'
import {readFileSync} from 'node:fs'
import {P2PError} from '../core/errors.js'
import {createDebug} from '../core/debug.js'
import {Emitter, type EventMap} from '../core/emitter.js'
import {checkInteger, checkNumber} from '../core/check.js'
import {MAX_BODY_BYTES, MAX_NAME_LENGTH, isValidName} from '../core/hub-client/protocol.js'
import {CorsPolicy, PREFLIGHT_HEADERS} from './cors.js'
import type {CorsHeaders, CorsOrigins} from './cors.js'
import {TokenBuckets} from './rate-limit.js'
import {SubscriberRegistry, type Subscription} from './registry.js'
import {IceServers, checkIceOptions, type IceOptions} from './ice.js'
import type {Backplane, BackplaneStats} from './backplane.js'

const debug = createDebug('p2p:hub')

export const HUB_NAME = 'p2p-elements-hub'

// src/server/ and dist/server/ are both two levels below the package root.
export const HUB_VERSION: string = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {version: string}
).version

export interface HubOptions {
  /** Web origins allowed to use the hub: `'*'` (default) or a list; others get 403. */
  cors?: CorsOrigins
  /** POSTs per second per client address, 0 or more; `0` or `Infinity` turns the limit off. Default 50. */
  rateLimit?: number
  /** POSTs a client may send back to back before the rate applies, 1 or more. Default 2 × `rateLimit`. */
  burst?: number
  /** Largest POST body in bytes, a whole number from 1. Default 64 KiB. */
  maxBodySize?: number
  /** Most channels one event stream may name, a whole number from 1. Default 64. */
  maxChannels?: number
  /** Most event streams open at once, all clients together, a whole number from 1. Default 10 000. */
  maxSubscribers?: number
  /** Most event streams one client address may hold, a whole number from 1. Default 100. */
  maxStreamsPerClient?: number
  /** Milliseconds between heartbeat comments, a whole number from 1 to 2³¹−1. Default 30 000, as signalhub. */
  heartbeatInterval?: number
  /** Bytes a subscriber may leave unread before it is dropped, a whole number from 1. Default 1 MiB. */
  maxBufferedBytes?: number
  /** Milliseconds `close()` waits for requests in flight before cutting connections, 0 to 2³¹−1. Default 5000. */
  closeTimeout?: number
  /** STUN and TURN servers for `GET /v1/ice` (see ice.ts); none by default. */
  ice?: IceOptions
  /**
   * The fleet's backplane (`redisBackplane`, backplane.ts): broadcasts reach the
   * subscribers of every hub process on it. The hub closes it when it closes.
   */
  backplane?: Backplane
}

// Node runs a timer of more than 2³¹−1 ms after 1 ms instead (with a warning):
// a heartbeat "every month" would flood every stream.
const MAX_TIMER_MS = 2 ** 31 - 1

type NumericOption = Exclude<keyof HubOptions, 'cors' | 'ice' | 'backplane'>

/** The range of each numeric option. */
const OPTION_CHECKS: Record<NumericOption, (name: string, value: number) => void> = {
  rateLimit: (name, value) => checkNumber(name, value, 0),
  burst: (name, value) => checkNumber(name, value, 1),
  maxBodySize: (name, value) => checkInteger(name, value, 1),
  maxChannels: (name, value) => checkInteger(name, value, 1),
  maxSubscribers: (name, value) => checkInteger(name, value, 1),
  maxStreamsPerClient: (name, value) => checkInteger(name, value, 1),
  heartbeatInterval: (name, value) => checkInteger(name, value, 1, MAX_TIMER_MS),
  maxBufferedBytes: (name, value) => checkInteger(name, value, 1),
  closeTimeout: (name, value) => checkInteger(name, value, 0, MAX_TIMER_MS),
}

/**
 * Misuse throws INVALID_ARGUMENT at once, naming the first option out of its
 * range (NaN, strings, 2.5 streams and negative sizes included). `nameOf` names
 * an option in the message: the CLI names its flags. `createHub` runs it too.
 */
export function checkHubOptions(options: HubOptions, nameOf: (option: keyof HubOptions) => string = option => option): void {
  const {cors} = options
  if (cors !== undefined && cors !== '*' && !(Array.isArray(cors) && cors.every(origin => typeof origin === 'string'))) {
    throw P2PError.INVALID_ARGUMENT(`${nameOf('cors')} must be '*' or a list of origins`)
  }
  for (const key of Object.keys(OPTION_CHECKS) as NumericOption[]) {
    const value = options[key]
    if (value !== undefined) OPTION_CHECKS[key](nameOf(key), value)
  }
  if (options.ice !== undefined) checkIceOptions(options.ice, option => `${nameOf('ice')}.${option}`)
}

/** Why requests were refused, one counter per answer code. */
export interface HubRejections {
  tooLarge: number
  malformed: number
  rateLimited: number
  tooManyChannels: number
  tooManySubscribers: number
  badChannel: number
  notFound: number
  methodNotAllowed: number
  forbidden: number
}

export interface HubStats {
  /** Event streams open now. */
  subscribers: number
  /** Channels with at least one subscriber now, counted per app. */
  channels: number
  /** Apps with at least one subscriber now. */
  apps: number
  /** POSTs accepted since start. */
  broadcasts: number
  /** Broadcasts from other hub processes of the fleet, through the backplane, since start. */
  fromFleet: number
  /** Messages written to event streams since start. */
  messagesDelivered: number
  /** Subscribers cut off because they left too much unread. */
  slowSubscribersDropped: number
  rejected: HubRejections
}

/** Sizes of every internal structure, for leak tests and diagnostics. */
export interface HubInternals {
  apps: number
  channels: number
  streams: number
  clients: number
  buckets: number
  heartbeat: boolean
  sweeping: boolean
}

export interface HubEvents extends EventMap {
  /** Why the hub was destroyed, when `destroy(err)` was given one; just before `close`. */
  error: (err: Error) => void
  /** The server is closed and every event stream ended. */
  close: () => void
}

export interface Hub extends Pick<Emitter<HubEvents>, 'on' | 'once' | 'off'> {
  /** The underlying http.Server (for `address()`, extra listeners, TLS front ends). */
  readonly server: Server
  /** Live counters; the object keeps its shape, its numbers change. */
  readonly stats: HubStats
  /** True from the first `destroy()` or `close()` on. */
  readonly destroyed: boolean
  /** Broadcasts accepted a second, over the last ten whole seconds. */
  readonly broadcastsPerSecond: number
  listen(port?: number, host?: string): Promise<{url: string, port: number}>
  /**
   * Stops accepting and ends every event stream at once; requests in flight get
   * `closeTimeout` to finish. Then emits `error` (if `err`) and `close`. Idempotent.
   */
  destroy(err?: Error): void
  /** `destroy()`, resolving once the server is closed. Returns the same promise every time. */
  close(): Promise<void>
  internals(): HubInternals
}

/** A hub with `options`; an option out of range throws INVALID_ARGUMENT here (see `checkHubOptions`). */
export function createHub(options: HubOptions = {}): Hub {
  return new SignalHub(options)
}

type Stream = Subscription<ServerResponse>

const HEARTBEAT = Buffer.from(':heartbeat signal\n\n')
// A frame around JSON that came as bytes (from the fleet's backplane).
const DATA = Buffer.from('data: ')
const END = Buffer.from('\n\n')
// Firefox's EventSource fires `open` only once body bytes arrive (Chromium on
// the headers): a stream that stayed silent until its first message would never
// open there, and a page waiting for `open` to announce would never announce.
const OPENED = Buffer.from(':ok\n\n')
const JSON_TYPE = 'application/json; charset=utf-8'
// A name percent-encoded byte by byte is at most 12 characters per UTF-16 unit;
// anything longer cannot decode to a valid name, so it is refused undecoded.
const MAX_RAW_NAME = MAX_NAME_LENGTH * 12

function decodeName(raw: string): string | null {
  if (raw.length > MAX_RAW_NAME) return null
  let name = raw
  if (raw.includes('%')) {
    try {
      name = decodeURIComponent(raw)
    } catch {
      return null
    }
  }
  return isValidName(name) ? name : null
}

function clientOf(req: IncomingMessage): string {
  return req.socket.remoteAddress ?? 'unknown'
}

class SignalHub extends Emitter<HubEvents> implements Hub {
  readonly server: Server
  readonly stats: HubStats = {
    subscribers: 0,
    channels: 0,
    apps: 0,
    broadcasts: 0,
    fromFleet: 0,
    messagesDelivered: 0,
    slowSubscribersDropped: 0,
    rejected: {
      tooLarge: 0,
      malformed: 0,
      rateLimited: 0,
      tooManyChannels: 0,
      tooManySubscribers: 0,
      badChannel: 0,
      notFound: 0,
      methodNotAllowed: 0,
      forbidden: 0,
    },
  }

  readonly #cors: CorsPolicy
  readonly #buckets: TokenBuckets | null
  readonly #maxBodySize: number
  readonly #maxChannels: number
  readonly #maxSubscribers: number
  readonly #maxStreamsPerClient: number
  readonly #heartbeatInterval: number
  readonly #maxBufferedBytes: number
  readonly #closeTimeout: number
  readonly #ice: IceServers

  readonly #registry: SubscriberRegistry<ServerResponse>
  readonly #backplane: Backplane | null
  /** Broadcasts accepted in each of the last RATE_WINDOW seconds (a ring, by second). */
  readonly #perSecond = new Array<number>(RATE_WINDOW).fill(0)
  #second = 0
  #heartbeat: ReturnType<typeof setInterval> | null = null
  readonly #corked = new Set<Socket>()
  #flush: ReturnType<typeof setImmediate> | null = null
  #destroyed = false
  #closed: Promise<void> | null = null

  // Header objects built once per CORS answer rather than once per request:
  // the POST path is the hot one and each spread would allocate.
  readonly #okHeaders = new WeakMap<CorsHeaders, Record<string, string>>()
  readonly #sseHeaders = new WeakMap<CorsHeaders, Record<string, string>>()

  constructor(options: HubOptions) {
    super()
    checkHubOptions(options)
    const {
      cors = '*',
      rateLimit = 50,
      // At least one request gets through, whatever a slow rate would give.
      burst = Math.max(1, rateLimit * 2),
      maxBodySize = MAX_BODY_BYTES,
      maxChannels = 64,
      maxSubscribers = 10_000,
      maxStreamsPerClient = 100,
      heartbeatInterval = 30_000,
      maxBufferedBytes = 1024 * 1024,
      closeTimeout = 5000,
    } = options
    this.#cors = new CorsPolicy(cors)
    // 0 and Infinity both mean no limit (checked above: never NaN or negative).
    this.#buckets = rateLimit > 0 && rateLimit !== Infinity ? new TokenBuckets({rate: rateLimit, burst}) : null
    this.#maxBodySize = maxBodySize
    this.#maxChannels = maxChannels
    this.#maxSubscribers = maxSubscribers
    this.#maxStreamsPerClient = maxStreamsPerClient
    this.#heartbeatInterval = heartbeatInterval
    this.#maxBufferedBytes = maxBufferedBytes
    this.#closeTimeout = closeTimeout
    this.#ice = new IceServers(options.ice)
    this.#backplane = options.backplane ?? null
    const backplane = this.#backplane
    if (backplane) backplane.deliver = (app, channel, json) => this.#fromFleet(app, channel, json)
    this.#registry = new SubscriberRegistry<ServerResponse>(backplane ? (app, channel, live) => backplane.watch(app, channel, live) : undefined)
    this.server = createServer({
      noDelay: true,
      // Bounds slow-loris bodies; an event stream's request is complete once
      // its headers are in, so these never cut a long-lived stream.
      headersTimeout: 15_000,
      requestTimeout: 30_000,
    }, this.#onRequest)
  }

  get destroyed(): boolean {
    return this.#destroyed
  }

  listen(port = 9000, host = '127.0.0.1'): Promise<{url: string, port: number}> {
    checkInteger('port', port, 0, 65535)
    if (this.#destroyed) return Promise.reject(P2PError.DESTROYED('the hub was closed'))
    return new Promise((resolve, reject) => {
      const onError = (err: Error) => reject(err)
      this.server.once('error', onError)
      this.server.listen(port, host, () => {
        this.server.off('error', onError)
        const actual = (this.server.address() as AddressInfo).port
        const shown = host.includes(':') ? `[${host}]` : host
        debug('listening on', `http://${shown}:${actual}`)
        resolve({url: `http://${shown}:${actual}`, port: actual})
      })
    })
  }

  close(): Promise<void> {
    this.destroy()
    return this.#closed!
  }

  destroy(err?: Error): void {
    if (this.#destroyed) return
    this.#destroyed = true
    this.#closed = new Promise(resolve => {
      let force: ReturnType<typeof setTimeout> | null = null
      const done = () => {
        if (force) clearTimeout(force)
        this.#buckets?.clear()
        this.#stopHeartbeat()
        debug('closed')
        void this.#backplane?.close().then(resolve, resolve)
        if (!this.#backplane) resolve()
        if (err) this.emit('error', err)
        this.emit('close')
      }
      if (this.#flush !== null) {
        clearImmediate(this.#flush)
        this.#uncorkAll()
      }
      for (const stream of [...this.#registry]) {
        const socket = stream.target.socket
        stream.target.end()
        // The stream's connection would otherwise idle in keep-alive and hold close() up.
        socket?.end()
      }
      if (!this.server.listening) {
        done()
        return
      }
      this.server.close(() => done())
      this.server.closeIdleConnections()
      force = setTimeout(() => this.server.closeAllConnections(), this.#closeTimeout)
      force.unref()
    })
  }

  internals(): HubInternals {
    return {
      apps: this.#registry.apps,
      channels: this.#registry.channels,
      streams: this.#registry.streams,
      clients: this.#registry.clients,
      buckets: this.#buckets?.size ?? 0,
      heartbeat: this.#heartbeat !== null,
      sweeping: this.#buckets?.sweeping ?? false,
    }
  }

  #onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    const cors = this.#cors.headersFor(req.headers.origin)
    if (cors === null) {
      this.#refuse(res, {vary: 'Origin'}, 403, P2PError.ORIGIN_NOT_ALLOWED('this origin may not use the hub'), 'forbidden')
      return
    }
    const url = req.url ?? '/'
    const query = url.indexOf('?')
    const path = query === -1 ? url : url.slice(0, query)
    const method = req.method

    if (path === '/') {
      if (method === 'GET' || method === 'HEAD') this.#info(res, cors)
      else if (method === 'OPTIONS') this.#preflight(req, res, cors)
      else this.#refuse(res, cors, 405, P2PError.METHOD_NOT_ALLOWED(`${method} is not allowed on /`), 'methodNotAllowed', {allow: 'GET, HEAD, OPTIONS'})
      return
    }

    if (path === '/metrics') {
      if (method === 'GET' || method === 'HEAD') this.#metrics(res, cors)
      else this.#refuse(res, cors, 405, P2PError.METHOD_NOT_ALLOWED(`${method} is not allowed on /metrics`), 'methodNotAllowed', {allow: 'GET, HEAD'})
      return
    }

    if (path === '/v1/ice') {
      if (method === 'GET' || method === 'HEAD') this.#iceServers(req, res, cors)
      else if (method === 'OPTIONS') this.#preflight(req, res, cors)
      else this.#refuse(res, cors, 405, P2PError.METHOD_NOT_ALLOWED(`${method} is not allowed on /v1/ice`), 'methodNotAllowed', {allow: 'GET, HEAD, OPTIONS'})
      return
    }

    // The app is the first segment; the rest, slashes included, names the channel(s).
    const slash = path.startsWith('/v1/') ? path.indexOf('/', 4) : -1
    if (slash === -1) {
      this.#refuse(res, cors, 404, P2PError.NOT_FOUND('use /v1/<app>/<channel>[,<channel>…]'), 'notFound')
      return
    }
    const rawApp = path.slice(4, slash)
    const rawChannels = path.slice(slash + 1)

    if (method === 'POST') this.#publish(req, res, cors, rawApp, rawChannels)
    else if (method === 'GET') this.#subscribe(req, res, cors, rawApp, rawChannels)
    else if (method === 'OPTIONS') this.#preflight(req, res, cors)
    else this.#refuse(res, cors, 405, P2PError.METHOD_NOT_ALLOWED(`${method} is not allowed on /v1/`), 'methodNotAllowed', {allow: 'GET, POST, OPTIONS'})
  }

  #info(res: ServerResponse, cors: CorsHeaders): void {
    const body = JSON.stringify({
      name: HUB_NAME,
      version: HUB_VERSION,
      subscribers: this.stats.subscribers,
      channels: this.stats.channels,
      broadcastsPerSecond: this.broadcastsPerSecond,
      ...this.#backplane ? {backplane: this.#backplane.stats} : {},
    })
    this.#answer(res, 200, {...cors, 'content-type': JSON_TYPE, 'content-length': String(Buffer.byteLength(body))}, body)
  }

  /** Broadcasts accepted a second, over the last RATE_WINDOW whole seconds. */
  get broadcastsPerSecond(): number {
    this.#tick()
    // The current second is still counting: the window is the ones before it.
    const total = this.#perSecond.reduce((sum, n) => sum + n, 0) - this.#perSecond[this.#second % RATE_WINDOW]
    return Math.round(total / (RATE_WINDOW - 1) * 10) / 10
  }

  /** Moves the ring to the current second, clearing the seconds passed since. */
  #tick(): void {
    const now = Math.floor(Date.now() / 1000)
    if (now === this.#second) return
    for (let s = Math.max(this.#second + 1, now - RATE_WINDOW + 1); s <= now; s++) this.#perSecond[s % RATE_WINDOW] = 0
    this.#second = now
  }

  #metrics(res: ServerResponse, cors: CorsHeaders): void {
    const body = prometheusText(this.stats, this.broadcastsPerSecond, this.#backplane?.stats)
    this.#answer(res, 200, {...cors, 'content-type': 'text/plain; version=0.0.4; charset=utf-8', 'content-length': String(Buffer.byteLength(body))}, body)
  }

  /** Rate-limited as POSTs are: each answer costs an HMAC, and credentials are not to be harvested in bulk. */
  #iceServers(req: IncomingMessage, res: ServerResponse, cors: CorsHeaders): void {
    if (this.#rateLimited(req, res, cors)) return
    const body = JSON.stringify(this.#ice.answer())
    // A credential is per visitor and short-lived: no shared cache may keep it.
    this.#answer(res, 200, {...cors, 'content-type': JSON_TYPE, 'cache-control': 'no-store', 'content-length': String(Buffer.byteLength(body))}, body)
  }

  /** True (and answered 429) when the client is over its rate. */
  #rateLimited(req: IncomingMessage, res: ServerResponse, cors: CorsHeaders): boolean {
    if (this.#buckets === null) return false
    const wait = this.#buckets.take(clientOf(req))
    if (wait <= 0) return false
    this.#refuse(res, cors, 429, P2PError.RATE_LIMITED(`at most ${this.#buckets.rate} messages per second`), 'rateLimited', {'retry-after': String(Math.ceil(wait))})
    return true
  }

  #preflight(req: IncomingMessage, res: ServerResponse, cors: CorsHeaders): void {
    const headers: Record<string, string> = {...cors, ...PREFLIGHT_HEADERS, 'content-length': '0'}
    // Chromium asks before a public page may reach a hub on a private address.
    if (req.headers['access-control-request-private-network'] === 'true') {
      headers['access-control-allow-private-network'] = 'true'
    }
    this.#answer(res, 204, headers)
  }

  #subscribe(req: IncomingMessage, res: ServerResponse, cors: CorsHeaders, rawApp: string, rawChannels: string): void {
    if (this.#destroyed) {
      this.#answer(res, 503, {...cors, 'content-type': JSON_TYPE}, errorBody(P2PError.CONNECTION_CLOSED('the hub is shutting down')))
      return
    }
    const app = decodeName(rawApp)
    if (app === null) {
      this.#refuse(res, cors, 400, P2PError.BAD_CHANNEL(`app names are 1-${MAX_NAME_LENGTH} characters without control characters`), 'badChannel')
      return
    }
    const rawList = rawChannels.split(',')
    if (rawList.length > this.#maxChannels) {
      this.#refuse(res, cors, 400, P2PError.TOO_MANY_CHANNELS(`at most ${this.#maxChannels} channels per stream`), 'tooManyChannels')
      return
    }
    const channels: string[] = []
    for (const raw of rawList) {
      const channel = decodeName(raw)
      if (channel === null) {
        this.#refuse(res, cors, 400, P2PError.BAD_CHANNEL(`channel names are 1-${MAX_NAME_LENGTH} characters without control characters`), 'badChannel')
        return
      }
      if (!channels.includes(channel)) channels.push(channel)
    }
    if (this.#registry.streams >= this.#maxSubscribers) {
      this.#refuse(res, cors, 503, P2PError.TOO_MANY_SUBSCRIBERS('the hub is full'), 'tooManySubscribers', {'retry-after': '30'})
      return
    }
    const client = clientOf(req)
    if (this.#registry.heldBy(client) >= this.#maxStreamsPerClient) {
      this.#refuse(res, cors, 429, P2PError.TOO_MANY_SUBSCRIBERS(`at most ${this.#maxStreamsPerClient} streams per client`), 'tooManySubscribers', {'retry-after': '30'})
      return
    }

    req.socket.setNoDelay(true)
    res.writeHead(200, this.#sseHeadersFor(cors))
    res.write(OPENED)

    const stream: Stream = {target: res, app, channels, client}
    this.#registry.add(stream)
    this.#count()
    if (this.#heartbeat === null) this.#startHeartbeat()
    res.once('close', () => this.#unsubscribe(stream))
    debug('subscribe', app, channels.join(','), client)
  }

  #unsubscribe(stream: Stream): void {
    if (!this.#registry.remove(stream)) return
    this.#count()
    if (this.#registry.streams === 0) this.#stopHeartbeat()
  }

  #count(): void {
    this.stats.subscribers = this.#registry.streams
    this.stats.channels = this.#registry.channels
    this.stats.apps = this.#registry.apps
  }

  #publish(req: IncomingMessage, res: ServerResponse, cors: CorsHeaders, rawApp: string, rawChannel: string): void {
    const app = decodeName(rawApp)
    const channel = decodeName(rawChannel)
    if (app === null || channel === null) {
      this.#refuse(res, cors, 400, P2PError.BAD_CHANNEL(`app and channel names are 1-${MAX_NAME_LENGTH} characters without control characters`), 'badChannel')
      return
    }
    if (this.#rateLimited(req, res, cors)) return
    const tooLarge = () => {
      // Connection: close lets the server stop reading a body it will never use.
      this.#refuse(res, cors, 413, P2PError.BODY_TOO_LARGE(`bodies are at most ${this.#maxBodySize} bytes`), 'tooLarge', {connection: 'close'})
    }
    const declared = req.headers['content-length']
    if (declared !== undefined && Number(declared) > this.#maxBodySize) {
      tooLarge()
      return
    }

    const chunks: Buffer[] = []
    let size = 0
    const onData = (chunk: Buffer) => {
      size += chunk.length
      if (size <= this.#maxBodySize) {
        chunks.push(chunk)
        return
      }
      req.off('data', onData)
      req.off('end', onEnd)
      chunks.length = 0
      tooLarge()
    }
    const onEnd = () => {
      const text = chunks.length === 1 ? chunks[0].toString('utf8') : Buffer.concat(chunks, size).toString('utf8')
      let value: unknown
      try {
        value = JSON.parse(text)
      } catch {
        this.#refuse(res, cors, 400, P2PError.MALFORMED_JSON('the body must be JSON'), 'malformed')
        return
      }
      this.#deliver(app, channel, value)
      this.#answer(res, 200, this.#okHeadersFor(cors))
    }
    req.on('data', onData)
    req.on('end', onEnd)
    // A client that hangs up mid-body needs no answer; the listener keeps the
    // abort from surfacing as an unhandled error.
    req.on('error', () => {})
  }

  #deliver(app: string, channel: string, value: unknown): void {
    this.stats.broadcasts++
    this.#tick()
    this.#perSecond[this.#second % RATE_WINDOW]++
    // Nobody to write it to, here or in a fleet: not even serialised.
    if (!this.#backplane && this.#registry.subscribers(app, channel) === undefined) return
    // Serialised once, written as the same buffer to every subscriber.
    // JSON.stringify escapes every control character inside strings and adds
    // no whitespace, so the frame is exactly one `data:` line.
    const json = JSON.stringify(value)
    this.#backplane?.publish(app, channel, json)
    this.#writeAll(app, channel, json)
  }

  /** A broadcast another process of the fleet took (its JSON one line: the backplane checked). */
  #fromFleet(app: string, channel: string, json: Uint8Array): void {
    if (this.#destroyed) return
    this.stats.fromFleet++
    this.#writeAll(app, channel, json)
  }

  #writeAll(app: string, channel: string, json: string | Uint8Array): void {
    const subscribers = this.#registry.subscribers(app, channel)
    if (subscribers === undefined) return
    const frame = typeof json === 'string' ? Buffer.from(`data: ${json}\n\n`) : Buffer.concat([DATA, json, END])
    let delivered = 0
    for (const stream of subscribers) {
      if (this.#write(stream, frame)) delivered++
    }
    this.stats.messagesDelivered += delivered
  }

  #write(stream: Stream, frame: Buffer): boolean {
    const res = stream.target
    if (res.destroyed) return false
    if (res.writableLength > this.#maxBufferedBytes) {
      this.stats.slowSubscribersDropped++
      debug('dropping slow subscriber', stream.client)
      // Removed at once (not on 'close') so the loop that is writing skips it;
      // deleting from a Set while iterating it is safe.
      this.#unsubscribe(stream)
      res.destroy()
      return false
    }
    // Frames written during one turn of the event loop leave in one syscall per
    // subscriber: under load many POSTs land in the same turn, and one write
    // per message per subscriber is what bounds a fan-out server. Uncorking at
    // setImmediate still sends before any timer or new I/O gets a turn.
    const socket = res.socket
    if (socket !== null && !this.#corked.has(socket)) {
      socket.cork()
      this.#corked.add(socket)
      if (this.#flush === null) this.#flush = setImmediate(this.#uncorkAll)
    }
    res.write(frame)
    return true
  }

  #uncorkAll = (): void => {
    this.#flush = null
    for (const socket of this.#corked) socket.uncork()
    this.#corked.clear()
  }

  #startHeartbeat(): void {
    this.#heartbeat = setInterval(() => {
      // #write may drop the stream it is at; deleting the current entry of a Set is safe.
      for (const stream of this.#registry) this.#write(stream, HEARTBEAT)
    }, this.#heartbeatInterval)
    this.#heartbeat.unref()
  }

  #stopHeartbeat(): void {
    if (this.#heartbeat === null) return
    clearInterval(this.#heartbeat)
    this.#heartbeat = null
  }

  #refuse(
    res: ServerResponse,
    cors: CorsHeaders,
    status: number,
    err: P2PError,
    reason: keyof HubRejections,
    extra: Record<string, string> = {},
  ): void {
    this.stats.rejected[reason]++
    debug('refused', status, err.message)
    const body = errorBody(err)
    const headers: Record<string, string> = {...cors, ...extra, 'content-type': JSON_TYPE, 'content-length': String(Buffer.byteLength(body))}
    // Browsers hide response headers from scripts unless they are exposed.
    if (extra['retry-after'] !== undefined && cors['access-control-allow-origin'] !== undefined) {
      headers['access-control-expose-headers'] = 'Retry-After'
    }
    this.#answer(res, status, headers, body)
  }

  #answer(res: ServerResponse, status: number, headers: Record<string, string>, body?: string): void {
    // While closing, connections must not go back to keep-alive idling.
    res.writeHead(status, this.#destroyed ? {...headers, connection: 'close'} : headers)
    res.end(body)
  }

  #okHeadersFor(cors: CorsHeaders): Record<string, string> {
    let headers = this.#okHeaders.get(cors)
    if (headers === undefined) {
      headers = {...cors, 'content-length': '0'}
      this.#okHeaders.set(cors, headers)
    }
    return headers
  }

  #sseHeadersFor(cors: CorsHeaders): Record<string, string> {
    let headers = this.#sseHeaders.get(cors)
    if (headers === undefined) {
      headers = {
        ...cors,
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache, no-transform',
        // Keeps nginx-style proxies from buffering the stream.
        'x-accel-buffering': 'no',
      }
      this.#sseHeaders.set(cors, headers)
    }
    return headers
  }
}

/** Seconds the broadcast rate of `GET /` is taken over (the one counting now left out). */
const RATE_WINDOW = 11

/** The hub's figures in Prometheus's text exposition format. */
function prometheusText(stats: HubStats, perSecond: number, backplane: BackplaneStats | undefined): string {
  const lines: string[] = []
  const metric = (name: string, type: 'gauge' | 'counter', help: string, value: number, labels = ''): void => {
    if (!lines.some(line => line.startsWith(`# TYPE ${name} `))) lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`)
    lines.push(`${name}${labels} ${value}`)
  }
  metric('p2p_hub_subscribers', 'gauge', 'Event streams open now.', stats.subscribers)
  metric('p2p_hub_channels', 'gauge', 'Channels with a subscriber now, per app.', stats.channels)
  metric('p2p_hub_apps', 'gauge', 'Apps with a subscriber now.', stats.apps)
  metric('p2p_hub_broadcasts_total', 'counter', 'Broadcasts accepted (POSTs).', stats.broadcasts)
  metric('p2p_hub_broadcasts_per_second', 'gauge', 'Broadcasts accepted a second, over the last ten seconds.', perSecond)
  metric('p2p_hub_fleet_broadcasts_total', 'counter', 'Broadcasts from other hub processes, through the backplane.', stats.fromFleet)
  metric('p2p_hub_messages_delivered_total', 'counter', 'Messages written to event streams.', stats.messagesDelivered)
  metric('p2p_hub_slow_subscribers_dropped_total', 'counter', 'Subscribers cut off for leaving too much unread.', stats.slowSubscribersDropped)
  for (const [reason, n] of Object.entries(stats.rejected)) {
    metric('p2p_hub_rejected_total', 'counter', 'Requests refused, by reason.', n, `{reason="${reason}"}`)
  }
  if (backplane) {
    metric('p2p_hub_backplane_up', 'gauge', '1 while the backplane (Redis) is up, 0 while connecting or degraded.', backplane.state === 'up' ? 1 : 0)
    metric('p2p_hub_backplane_published_total', 'counter', 'Broadcasts published to the backplane.', backplane.published)
    metric('p2p_hub_backplane_received_total', 'counter', 'Broadcasts received from other processes.', backplane.received)
    metric('p2p_hub_backplane_dropped_total', 'counter', 'Broadcasts not published: the backplane was down or not answering, or too many waited on it.', backplane.dropped)
    metric('p2p_hub_backplane_malformed_total', 'counter', 'Backplane messages skipped as malformed.', backplane.malformed)
    metric('p2p_hub_backplane_channels', 'gauge', 'Backplane channels subscribed now.', backplane.channels)
    metric('p2p_hub_backplane_outages_total', 'counter', 'Times the backplane was lost after it had been up.', backplane.outages)
  }
  return lines.join('\n') + '\n'
}

function errorBody(err: P2PError): string {
  return JSON.stringify({error: err.code, message: err.message})
}
