import {P2PError, toP2PError} from '../errors.js'
import {errorFromResponse} from './protocol.js'
import {SseParser} from './sse-parser.js'

/**
 * One way to hold an event stream open, whatever carries it: `EventSource`
 * in a page, a `fetch` reader in Node or a worker, or (later) a relay from
 * the tab that owns the page's shared stream.
 *
 * Contract: `onopen` fires at most once, before any message; `onerror` ends
 * the stream for good (no reconnection happens below this interface) and
 * nothing fires after it; after `close()` nothing fires at all.
 */
export interface EventStreamHandlers {
  onopen(): void
  onmessage(data: string): void
  onerror(err: P2PError): void
}

export interface EventStream {
  close(): void
}

/**
 * What a stream is for, besides its URL: enough for an `OpenStream` that
 * shares one connection per hub to merge the channels of several
 * subscriptions without parsing URLs.
 */
export interface StreamTarget {
  hub: string
  app: string
  channels: readonly string[]
}

/** Opens an event stream; the hub client takes one of these so the transport can be swapped. */
export type OpenStream = (url: string, handlers: EventStreamHandlers, target: StreamTarget) => EventStream

/** The part of `EventSource` used here. */
export interface EventSourceLike {
  onopen: ((event: unknown) => void) | null
  onmessage: ((event: {data: string}) => void) | null
  onerror: ((event: unknown) => void) | null
  close(): void
}

export type EventSourceConstructor = new (url: string) => EventSourceLike

export interface OpenEventStreamOptions {
  /** Read the stream with this `fetch` (and never with EventSource). */
  fetch?: typeof fetch
  /** The EventSource to use; `null` forces the fetch reader. Default `globalThis.EventSource`. */
  EventSource?: EventSourceConstructor | null
  /** Longest line or event accepted from the server, in characters. */
  maxLength?: number
}

export function openEventStream(url: string, handlers: EventStreamHandlers, options: OpenEventStreamOptions = {}): EventStream {
  const EventSourceImpl = options.fetch !== undefined
    ? null
    : options.EventSource === undefined
      ? (globalThis as {EventSource?: EventSourceConstructor}).EventSource ?? null
      : options.EventSource
  if (EventSourceImpl !== null) return openWithEventSource(url, handlers, EventSourceImpl)
  const fetchImpl = options.fetch ?? globalThis.fetch.bind(globalThis)
  return openWithFetch(url, handlers, fetchImpl, options.maxLength)
}

function openWithEventSource(url: string, handlers: EventStreamHandlers, EventSourceImpl: EventSourceConstructor): EventStream {
  const source = new EventSourceImpl(url)
  let closed = false
  source.onopen = () => {
    if (!closed) handlers.onopen()
  }
  source.onmessage = event => {
    if (!closed) handlers.onmessage(event.data)
  }
  source.onerror = () => {
    if (closed) return
    closed = true
    // EventSource would retry on its own schedule, and hides why it failed;
    // the hub client owns reconnection (back-off, jitter, stats), so stop here.
    source.close()
    handlers.onerror(P2PError.HUB_UNREACHABLE(`event stream ${url} failed`))
  }
  return {
    close() {
      if (closed) return
      closed = true
      source.close()
    },
  }
}

function openWithFetch(
  url: string,
  handlers: EventStreamHandlers,
  fetchImpl: typeof fetch,
  maxLength: number | undefined,
): EventStream {
  const controller = new AbortController()
  let closed = false
  const fail = (err: P2PError) => {
    if (closed) return
    closed = true
    controller.abort()
    handlers.onerror(err)
  }

  const run = async () => {
    let res: Response
    try {
      res = await fetchImpl(url, {headers: {accept: 'text/event-stream'}, signal: controller.signal})
    } catch (err) {
      fail(P2PError.HUB_UNREACHABLE(`cannot reach ${url}`, err))
      return
    }
    if (closed) {
      await res.body?.cancel().catch(() => {})
      return
    }
    if (!res.ok) {
      fail(await errorFromResponse(url, res))
      return
    }
    const type = res.headers.get('content-type') ?? ''
    if (res.body === null || !type.toLowerCase().startsWith('text/event-stream')) {
      await res.body?.cancel().catch(() => {})
      fail(P2PError.HUB_REJECTED(`${url} answered ${type || 'no content type'}, not an event stream`))
      return
    }
    handlers.onopen()
    const reader = res.body.getReader()
    const decoder = new TextDecoder()
    const parser = new SseParser(data => {
      if (!closed) handlers.onmessage(data)
    }, {maxLength})
    try {
      for (;;) {
        const {done, value} = await reader.read()
        if (closed) return
        if (done) break
        parser.push(decoder.decode(value, {stream: true}))
      }
    } catch (err) {
      if (err instanceof P2PError) fail(err)
      else fail(P2PError.CONNECTION_CLOSED(`event stream ${url} broke: ${(err as Error)?.message ?? err}`))
      return
    }
    fail(P2PError.CONNECTION_CLOSED(`${url} ended the event stream`))
  }
  run().catch(err => fail(toP2PError(err, 'ERR_CONNECTION_CLOSED')))

  return {
    close() {
      if (closed) return
      closed = true
      controller.abort()
    },
  }
}
