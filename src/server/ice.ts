/**
 * The hub's ICE configuration: `GET /v1/ice` answers the STUN and TURN servers a
 * deployment names, with TURN credentials minted per request under coturn's
 * `use-auth-secret` scheme (the "TURN REST API"), so a page carries no secret
 * and every credential it sees expires. The secret itself never leaves this
 * module: not in an answer, a log line or an error.
 */
import {createHmac, randomBytes} from 'node:crypto'
import {P2PError} from '../core/errors.js'
import {checkInteger} from '../core/check.js'

export interface IceOptions {
  /** STUN URLs (`stun:`), handed out as given. */
  stun?: string[]
  /** TURN URLs (`turn:` or `turns:`); they need `turnSecret`. */
  turn?: string[]
  /** coturn's `static-auth-secret`: what credentials are minted with. */
  turnSecret?: string
  /** Seconds a minted credential lives, a whole number from 60 to 604 800 (a week). Default 86 400 (a day). */
  turnTtl?: number
}

/** What `GET /v1/ice` answers. `expires` (Unix seconds) is there when a credential is. */
export interface IceAnswer {
  iceServers: RTCIceServerJson[]
  expires?: number
}

/** An RTCIceServer as JSON (the server has no DOM types). */
export interface RTCIceServerJson {
  urls: string[]
  username?: string
  credential?: string
}

export const DEFAULT_TURN_TTL = 24 * 3600
// Below a minute a credential may expire between the answer and ICE using it;
// above a week a leaked one is useful for too long.
export const MIN_TURN_TTL = 60
export const MAX_TURN_TTL = 7 * 24 * 3600

const STUN_URL = /^stun:[^\s]+$/
const TURN_URL = /^turns?:[^\s]+$/

/**
 * coturn's REST scheme: the username is the expiry (Unix seconds) and a label,
 * the credential the base64 HMAC-SHA1 of the username under the shared secret.
 */
export function turnCredentials(secret: string, label: string, expires: number): {username: string, credential: string} {
  const username = `${expires}:${label}`
  const credential = createHmac('sha1', secret).update(username).digest('base64')
  return {username, credential}
}

/** Misuse throws INVALID_ARGUMENT at once; `nameOf` names an option in the message (the CLI names its flags). */
export function checkIceOptions(options: IceOptions, nameOf: (option: keyof IceOptions) => string = option => option): void {
  const {stun = [], turn = [], turnSecret, turnTtl} = options
  for (const [key, list, pattern, schemes] of [['stun', stun, STUN_URL, 'stun:'], ['turn', turn, TURN_URL, 'turn: or turns:']] as const) {
    if (!Array.isArray(list)) throw P2PError.INVALID_ARGUMENT(`${nameOf(key)} must be a list of URLs`)
    for (const url of list) {
      if (typeof url !== 'string' || !pattern.test(url)) {
        throw P2PError.INVALID_ARGUMENT(`${nameOf(key)} URLs must start with ${schemes} (got ${JSON.stringify(String(url))})`)
      }
    }
  }
  if (turnSecret !== undefined && (typeof turnSecret !== 'string' || turnSecret === '')) {
    throw P2PError.INVALID_ARGUMENT(`${nameOf('turnSecret')} must be a non-empty string`)
  }
  if (turn.length > 0 && turnSecret === undefined) throw P2PError.INVALID_ARGUMENT(`${nameOf('turn')} needs ${nameOf('turnSecret')}`)
  if (turnSecret !== undefined && turn.length === 0) throw P2PError.INVALID_ARGUMENT(`${nameOf('turnSecret')} needs ${nameOf('turn')}`)
  if (turnTtl !== undefined) checkInteger(nameOf('turnTtl'), turnTtl, MIN_TURN_TTL, MAX_TURN_TTL)
}

/** The servers a hub hands out; `answer()` mints fresh credentials each time. */
export class IceServers {
  readonly #stun: string[]
  readonly #turn: string[]
  readonly #secret: string | undefined
  readonly #ttl: number
  readonly #now: () => number

  /** `now`: wall time in milliseconds (`Date.now` by default), for the expiry. */
  constructor(options: IceOptions = {}, now: () => number = Date.now) {
    checkIceOptions(options)
    this.#stun = [...options.stun ?? []]
    this.#turn = [...options.turn ?? []]
    this.#secret = options.turnSecret
    this.#ttl = options.turnTtl ?? DEFAULT_TURN_TTL
    this.#now = now
  }

  answer(): IceAnswer {
    const iceServers: RTCIceServerJson[] = []
    if (this.#stun.length) iceServers.push({urls: [...this.#stun]})
    if (this.#secret === undefined) return {iceServers}
    const expires = Math.floor(this.#now() / 1000) + this.#ttl
    // A random label: one visitor's credential names nobody and cannot be told from another's.
    iceServers.push({urls: [...this.#turn], ...turnCredentials(this.#secret, randomBytes(9).toString('base64url'), expires)})
    return {iceServers, expires}
  }
}
