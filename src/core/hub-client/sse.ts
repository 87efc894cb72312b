import {P2PError} from '../errors.js'

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
  return openWithFetchLater(url, handlers, fetchImpl, options.maxLength)
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

/**
 * The fetch reader, loaded when first needed: Node and workers, which have no
 * EventSource, and callers who pass `fetch`. A page reads its streams with
 * EventSource and never loads it (nor the parser under it).
 */
function openWithFetchLater(url: string, handlers: EventStreamHandlers, fetchImpl: typeof fetch, maxLength: number | undefined): EventStream {
  let stream: EventStream | null = null
  let closed = false
  import('./sse-fetch.js').then(({openWithFetch}) => {
    if (!closed) stream = openWithFetch(url, handlers, fetchImpl, maxLength)
  }, err => {
    if (closed) return
    closed = true
    handlers.onerror(P2PError.HUB_UNREACHABLE(`cannot load the event-stream reader for ${url}`, err))
  })
  return {
    close() {
      closed = true
      stream?.close()
    },
  }
}
