import {Emitter} from '../emitter.js'
import {checkNumber} from '../check.js'
import {Deadlines} from '../expiring-map.js'
import {systemClock, type Clock} from '../clock.js'

export type BanListEvents = {
  /** `publicKey` was banned: every swarm of the page drops its connections to it. */
  ban: (publicKey: string) => void
}

/**
 * Keys refused for a while, page-wide: a peer caught misbehaving in one room
 * must not keep a connection another room shares with it (rooms.ts), nor be
 * welcome in the page's other rooms. Swarms share the page's list unless given
 * their own.
 */
export class BanList extends Emitter<BanListEvents> {
  readonly #keys: Deadlines<string>

  /** `clock` is what ban times count by. */
  constructor({clock = systemClock}: {clock?: Clock} = {}) {
    super()
    this.#keys = new Deadlines<string>(() => clock.now())
  }

  /** Refuses `publicKey` for `ms` from now (a later ban replaces an earlier one). */
  ban(publicKey: string, ms: number): void {
    checkNumber('ban time', ms, 0)
    this.#keys.set(publicKey, ms)
    this.emit('ban', publicKey)
  }

  has(publicKey: string): boolean {
    return this.#keys.has(publicKey)
  }

  /** Keys refused right now. */
  get size(): number {
    return this.#keys.size
  }
}

/** The page's ban list, shared by every swarm of the page. */
export const pageBans = new BanList()
