// The event-stream reader over `fetch`, for runtimes without EventSource (Node,
// workers) and callers who pass their own `fetch`; sse.ts loads it on demand.
import {P2PError, toP2PError} from '../errors.js'
import {errorFromResponse} from './refusal.js'
import {SseParser} from './sse-parser.js'
import type {EventStream, EventStreamHandlers} from './sse.js'

export function openWithFetch(
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
