/**
 * The tabs of one origin as a hub, with no server: a BroadcastChannel carries
 * what a hub would (docs/dht.md "Bootstrap"). A new tab whose hubs are down
 * signals its first connection to a tab of the same origin that is already in
 * (as y-webrtc does), then reaches everyone else through that tab's DHT. It
 * speaks the signalhub protocol's shape to a `HubClient` (the URL `TAB_HUB`,
 * beside real hubs or alone) through the `fetch` and `openStream` it hands out;
 * nothing on it is trusted more than on a hub: connections still prove keys.
 *
 * @example
 * const client = new HubClient({hubs: [TAB_HUB, ...hubs], app: room, ...tabHub()})
 * const swarm = new Swarm({room, identity, hubClient: client})
 */
import {P2PError} from '../errors.js'
import {openEventStream, type OpenStream} from './sse.js'

/** The hub URL that names this origin's tabs. */
export const TAB_HUB = 'tabs://this-origin'
const CHANNEL = 'p2p-elements/tab-hub/v1'
/** What one tab posts, and the others read. */
interface TabMessage {
  app: string
  channel: string
  body: string
}

const isTabMessage = (data: unknown): data is TabMessage => {
  const m = data as TabMessage | null
  return typeof m === 'object' && m !== null && typeof m.app === 'string' && typeof m.channel === 'string' && typeof m.body === 'string'
}

/**
 * A `fetch` and an `openStream` for a HubClient that answer for `TAB_HUB` over
 * a BroadcastChannel, and hand every other hub to `fetch` and `openStream`
 * (the platform's by default).
 */
export function tabHub({fetch: given, openStream}: {fetch?: typeof fetch, openStream?: OpenStream} = {}): {fetch: typeof fetch, openStream: OpenStream} {
  if (typeof BroadcastChannel !== 'function') throw P2PError.INVALID_ARGUMENT('the tab hub needs BroadcastChannel')
  const base = given ?? globalThis.fetch.bind(globalThis)
  const prefix = `${TAB_HUB}/v1/`
  const tabFetch = (async (input: RequestInfo | URL, init?: RequestInit) => {
    const url = String(input instanceof Request ? input.url : input)
    if (!url.startsWith(prefix)) return base(input, init)
    const [app, channel] = url.slice(prefix.length).split('/').map(decodeURIComponent)
    if (init?.method !== 'POST' || typeof init.body !== 'string' || channel === undefined) return new Response(null, {status: 400})
    const out = new BroadcastChannel(CHANNEL)
    out.postMessage({app, channel, body: init.body} satisfies TabMessage)
    out.close()
    return new Response(null, {status: 200})
  }) as typeof fetch
  const open: OpenStream = (url, handlers, target) => {
    if (target.hub !== TAB_HUB) return openStream ? openStream(url, handlers, target) : openEventStream(url, handlers, {fetch: given})
    const channel = new BroadcastChannel(CHANNEL)
    let closed = false
    channel.onmessage = (event: MessageEvent) => {
      const data: unknown = event.data
      if (closed || !isTabMessage(data) || data.app !== target.app || !target.channels.includes(data.channel)) return
      handlers.onmessage(data.body)
    }
    queueMicrotask(() => {
      if (!closed) handlers.onopen()
    })
    return {
      close: () => {
        closed = true
        channel.close()
      },
    }
  }
  return {fetch: tabFetch, openStream: open}
}
