/**
 * Which web origins may use the hub.
 *
 * With a list, a request whose `Origin` is not on it is refused outright
 * (403), not merely left without CORS headers: a page can send a POST with a
 * text/plain body without a preflight, so withholding headers would only hide
 * the answer while the broadcast still went out. Requests without an `Origin`
 * (Node clients, curl) are not browser pages and are let through.
 */
export type CorsOrigins = '*' | readonly string[]

export type CorsHeaders = Readonly<Record<string, string>>

const ANY_ORIGIN: CorsHeaders = Object.freeze({'access-control-allow-origin': '*'})
// Caches must not hand one origin's answer to another.
const NO_ORIGIN: CorsHeaders = Object.freeze({vary: 'Origin'})

export const PREFLIGHT_HEADERS: CorsHeaders = Object.freeze({
  'access-control-allow-methods': 'GET, POST, OPTIONS',
  // signalhub's list, so its browser client (which sends JSON) keeps working,
  // plus what EventSource polyfills send.
  'access-control-allow-headers':
    'Content-Type, Accept, Authorization, Cache-Control, Last-Event-ID, X-Requested-With, X-HTTP-Method-Override',
  'access-control-max-age': '600',
})

export class CorsPolicy {
  readonly #any: boolean
  readonly #allowed: ReadonlyMap<string, CorsHeaders>

  constructor(origins: CorsOrigins = '*') {
    this.#any = origins === '*'
    const allowed = new Map<string, CorsHeaders>()
    if (origins !== '*') {
      for (const origin of origins) {
        allowed.set(origin, Object.freeze({'access-control-allow-origin': origin, vary: 'Origin'}))
      }
    }
    this.#allowed = allowed
  }

  /** The headers to add to an answer, or null when the origin is refused. */
  headersFor(origin: string | undefined): CorsHeaders | null {
    if (this.#any) return ANY_ORIGIN
    if (origin === undefined) return NO_ORIGIN
    return this.#allowed.get(origin) ?? null
  }
}
