/**
 * The signalling hub: signalhub's HTTP protocol on a plain Node http server,
 * hardened for the open internet.
 *
 * - `GET /` answers `{name, version, subscribers, channels}`.
 * - `GET /v1/:app/:ch1,ch2…` is a server-sent-events stream: no initial event,
 *   a `:heartbeat signal` comment every 30 s, each message as `data: <json>`.
 * - `POST /v1/:app/:channel` with a JSON body sends it to that channel's
 *   subscribers in that app; 200 even when nobody listens.
 *
 * Beyond signalhub: bodies are parsed and re-serialised, so a body can never
 * smuggle a line break (and with it extra SSE fields or events) into the
 * stream; sizes, rates, channel lists and subscriber counts are bounded; every
 * refusal is a JSON `{error, message}` with a P2PError code; the maps shrink
 * back to nothing when clients leave; `close()` ends every stream cleanly.
 */
import {createServer} from 'node:http'
import type {IncomingMessage, Server, ServerResponse} from 'node:http'
import type {AddressInfo, Socket} from 'node:net'
import {readFileSync} from 'node:fs'
import {P2PError} from '../core/errors.js'
import {createDebug} from '../core/debug.js'
import {MAX_BODY_BYTES, MAX_NAME_LENGTH, isValidName} from '../core/hub-client/protocol.js'
import {CorsPolicy, PREFLIGHT_HEADERS} from './cors.js'
import type {CorsHeaders, CorsOrigins} from './cors.js'
import {TokenBuckets} from './rate-limit.js'

const debug = createDebug('p2p:hub')

export const HUB_NAME = 'p2p-elements-hub'

// src/server/ and dist/server/ are both two levels below the package root.
export const HUB_VERSION: string = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {version: string}
).version

export interface HubOptions {
  /** Web origins allowed to use the hub: `'*'` (default) or a list; others get 403. */
  cors?: CorsOrigins
  /** POSTs per second per client address; `0` or `Infinity` turns the limit off. Default 50. */
  rateLimit?: number
  /** POSTs a client may send back to back before the rate applies. Default 2 × `rateLimit`. */
  burst?: number
  /** Largest POST body in bytes. Default 64 KiB. */
  maxBodySize?: number
  /** Most channels one event stream may name. Default 64. */
  maxChannels?: number
  /** Most event streams open at once, all clients together. Default 10 000. */
  maxSubscribers?: number
  /** Most event streams one client address may hold. Default 100. */
  maxStreamsPerClient?: number
  /** Milliseconds between heartbeat comments. Default 30 000, as signalhub. */
  heartbeatInterval?: number
  /** Bytes a subscriber may leave unread before it is dropped. Default 1 MiB. */
  maxBufferedBytes?: number
  /** Milliseconds `close()` waits for requests in flight before cutting connections. Default 5000. */
  closeTimeout?: number
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

export interface Hub {
  /** The underlying http.Server (for `address()`, extra listeners, TLS front ends). */
  readonly server: Server
  /** Live counters; the object keeps its shape, its numbers change. */
  readonly stats: HubStats
  listen(port?: number, host?: string): Promise<{url: string, port: number}>
  /** Stops accepting, ends every event stream, resolves once the server is closed. Idempotent. */
  close(): Promise<void>
  internals(): HubInternals
}

export function createHub(options: HubOptions = {}): Hub {
  return new SignalHub(options)
}

interface Stream {
  readonly res: ServerResponse
  readonly app: string
  readonly channels: readonly string[]
  readonly client: string
}

type Channels = Map<string, Set<Stream>>

const HEARTBEAT = Buffer.from(':heartbeat signal\n\n')
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

class SignalHub implements Hub {
  readonly server: Server
  readonly stats: HubStats = {
    subscribers: 0,
    channels: 0,
    apps: 0,
    broadcasts: 0,
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

  readonly #apps = new Map<string, Channels>()
  readonly #streams = new Set<Stream>()
  readonly #streamsPerClient = new Map<string, number>()
  #heartbeat: ReturnType<typeof setInterval> | null = null
  readonly #corked = new Set<Socket>()
  #flush: ReturnType<typeof setImmediate> | null = null
  #closing = false
  #closed: Promise<void> | null = null

  // Header objects built once per CORS answer rather than once per request:
  // the POST path is the hot one and each spread would allocate.
  readonly #okHeaders = new WeakMap<CorsHeaders, Record<string, string>>()
  readonly #sseHeaders = new WeakMap<CorsHeaders, Record<string, string>>()

  constructor({
    cors = '*',
    rateLimit = 50,
    burst = rateLimit * 2,
    maxBodySize = MAX_BODY_BYTES,
    maxChannels = 64,
    maxSubscribers = 10_000,
    maxStreamsPerClient = 100,
    heartbeatInterval = 30_000,
    maxBufferedBytes = 1024 * 1024,
    closeTimeout = 5000,
  }: HubOptions = {}) {
    this.#cors = new CorsPolicy(cors)
    this.#buckets = rateLimit > 0 && Number.isFinite(rateLimit)
      ? new TokenBuckets({rate: rateLimit, burst: Math.max(1, burst)})
      : null
    this.#maxBodySize = maxBodySize
    this.#maxChannels = maxChannels
    this.#maxSubscribers = maxSubscribers
    this.#maxStreamsPerClient = maxStreamsPerClient
    this.#heartbeatInterval = heartbeatInterval
    this.#maxBufferedBytes = maxBufferedBytes
    this.#closeTimeout = closeTimeout
    this.server = createServer({
      noDelay: true,
      // Bounds slow-loris bodies; an event stream's request is complete once
      // its headers are in, so these never cut a long-lived stream.
      headersTimeout: 15_000,
      requestTimeout: 30_000,
    }, this.#onRequest)
  }

  listen(port = 9000, host = '127.0.0.1'): Promise<{url: string, port: number}> {
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
    if (this.#closed) return this.#closed
    this.#closing = true
    this.#closed = new Promise(resolve => {
      let force: ReturnType<typeof setTimeout> | null = null
      const done = () => {
        if (force) clearTimeout(force)
        this.#buckets?.clear()
        this.#stopHeartbeat()
        debug('closed')
        resolve()
      }
      if (this.#flush !== null) {
        clearImmediate(this.#flush)
        this.#uncorkAll()
      }
      for (const stream of [...this.#streams]) {
        const socket = stream.res.socket
        stream.res.end()
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
    return this.#closed
  }

  internals(): HubInternals {
    let channels = 0
    for (const app of this.#apps.values()) channels += app.size
    return {
      apps: this.#apps.size,
      channels,
      streams: this.#streams.size,
      clients: this.#streamsPerClient.size,
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

    const slash = path.startsWith('/v1/') ? path.indexOf('/', 4) : -1
    if (slash === -1 || path.indexOf('/', slash + 1) !== -1) {
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
    })
    this.#answer(res, 200, {...cors, 'content-type': JSON_TYPE, 'content-length': String(Buffer.byteLength(body))}, body)
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
    if (this.#closing) {
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
    if (this.#streams.size >= this.#maxSubscribers) {
      this.#refuse(res, cors, 503, P2PError.TOO_MANY_SUBSCRIBERS('the hub is full'), 'tooManySubscribers', {'retry-after': '30'})
      return
    }
    const client = clientOf(req)
    const held = this.#streamsPerClient.get(client) ?? 0
    if (held >= this.#maxStreamsPerClient) {
      this.#refuse(res, cors, 429, P2PError.TOO_MANY_SUBSCRIBERS(`at most ${this.#maxStreamsPerClient} streams per client`), 'tooManySubscribers', {'retry-after': '30'})
      return
    }

    req.socket.setNoDelay(true)
    res.writeHead(200, this.#sseHeadersFor(cors))
    res.flushHeaders()

    const stream: Stream = {res, app, channels, client}
    this.#streams.add(stream)
    this.#streamsPerClient.set(client, held + 1)
    let byChannel = this.#apps.get(app)
    if (byChannel === undefined) {
      byChannel = new Map()
      this.#apps.set(app, byChannel)
      this.stats.apps++
    }
    for (const channel of channels) {
      let subscribers = byChannel.get(channel)
      if (subscribers === undefined) {
        subscribers = new Set()
        byChannel.set(channel, subscribers)
        this.stats.channels++
      }
      subscribers.add(stream)
    }
    this.stats.subscribers = this.#streams.size
    if (this.#heartbeat === null) this.#startHeartbeat()
    res.once('close', () => this.#unsubscribe(stream))
    debug('subscribe', app, channels.join(','), client)
  }

  #unsubscribe(stream: Stream): void {
    if (!this.#streams.delete(stream)) return
    const byChannel = this.#apps.get(stream.app)
    if (byChannel !== undefined) {
      for (const channel of stream.channels) {
        const subscribers = byChannel.get(channel)
        if (subscribers === undefined) continue
        subscribers.delete(stream)
        if (subscribers.size === 0) {
          byChannel.delete(channel)
          this.stats.channels--
        }
      }
      if (byChannel.size === 0) {
        this.#apps.delete(stream.app)
        this.stats.apps--
      }
    }
    const held = (this.#streamsPerClient.get(stream.client) ?? 1) - 1
    if (held > 0) this.#streamsPerClient.set(stream.client, held)
    else this.#streamsPerClient.delete(stream.client)
    this.stats.subscribers = this.#streams.size
    if (this.#streams.size === 0) this.#stopHeartbeat()
  }

  #publish(req: IncomingMessage, res: ServerResponse, cors: CorsHeaders, rawApp: string, rawChannel: string): void {
    const app = decodeName(rawApp)
    const channel = decodeName(rawChannel)
    if (app === null || channel === null) {
      this.#refuse(res, cors, 400, P2PError.BAD_CHANNEL(`app and channel names are 1-${MAX_NAME_LENGTH} characters without control characters`), 'badChannel')
      return
    }
    if (this.#buckets !== null) {
      const wait = this.#buckets.take(clientOf(req))
      if (wait > 0) {
        this.#refuse(res, cors, 429, P2PError.RATE_LIMITED(`at most ${this.#buckets.rate} messages per second`), 'rateLimited', {'retry-after': String(Math.ceil(wait))})
        return
      }
    }
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
    const subscribers = this.#apps.get(app)?.get(channel)
    if (subscribers === undefined) return
    // Serialised once, written as the same buffer to every subscriber.
    // JSON.stringify escapes every control character inside strings and adds
    // no whitespace, so the frame is exactly one `data:` line.
    const frame = Buffer.from(`data: ${JSON.stringify(value)}\n\n`)
    let delivered = 0
    for (const stream of subscribers) {
      if (this.#write(stream, frame)) delivered++
    }
    this.stats.messagesDelivered += delivered
  }

  #write(stream: Stream, frame: Buffer): boolean {
    const {res} = stream
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
      for (const stream of this.#streams) this.#write(stream, HEARTBEAT)
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
    res.writeHead(status, this.#closing ? {...headers, connection: 'close'} : headers)
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

function errorBody(err: P2PError): string {
  return JSON.stringify({error: err.code, message: err.message})
}
