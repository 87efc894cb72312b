/**
 * Who is in the room, as announcements on the hub tell it, and which peers
 * this one should keep connections to so the room stays one connected mesh
 * however small `maxPeers` is.
 *
 * Every peer keeps a connection to its two neighbours on a ring of the room's
 * keys in sorted order. The ring alone joins every peer (degree 2 suffices);
 * further connections, up to `maxPeers`, are whatever discovery brings. A
 * peer's view of the ring comes from hub announcements, which carry the
 * announcer's key; the key is only a hint for this choice: the identity proof
 * on the connection is what authenticates it.
 */
import {systemClock, type Clock} from '../clock.js'

export interface Member {
  /** The member's hub id, for signalling. */
  id: string
  /** When its last announcement arrived (ms). */
  seen: number
}

export interface RoomMembersOptions {
  /** A member not heard from for this long (ms) is forgotten. */
  ttl: number
  /** Most members remembered; the longest silent goes first. */
  max?: number
  /** What `seen` and `ttl` count by. */
  clock?: Clock
}

export class RoomMembers {
  readonly #members = new Map<string, Member>()
  readonly #ttl: number
  readonly #max: number
  readonly #clock: Clock

  constructor({ttl, max = 1024, clock = systemClock}: RoomMembersOptions) {
    this.#ttl = ttl
    this.#max = max
    this.#clock = clock
  }

  get size(): number {
    return this.#members.size
  }

  /** Records an announcement of `key` from hub id `id`. */
  note(key: string, id: string): void {
    // Re-inserted so the Map stays ordered by last announcement, oldest first.
    this.#members.delete(key)
    this.#members.set(key, {id, seen: this.#clock.now()})
    if (this.#members.size > this.#max) this.#members.delete(this.#members.keys().next().value!)
  }

  /** The member left (said goodbye): it is off the ring at once. */
  forget(key: string): void {
    this.#members.delete(key)
  }

  /** The key a hub id announced, if it is a current member. */
  keyOf(id: string): string | undefined {
    this.#expire()
    for (const [key, m] of this.#members) if (m.id === id) return key
    return undefined
  }

  /** The keys just before and after `own` on the ring of members' keys (0, 1 or 2 keys). */
  ringNeighbours(own: string): Set<string> {
    this.#expire()
    // The other keys in order, closed into a circle: ours sits between the last below it and the first above it.
    const keys = [...this.#members.keys()].filter(key => key !== own).sort()
    if (keys.length === 0) return new Set()
    const above = keys.findIndex(key => key > own)
    const at = above === -1 ? keys.length : above
    return new Set([keys.at(at - 1)!, keys[at % keys.length]])
  }

  #expire(): void {
    const now = this.#clock.now()
    for (const [key, m] of this.#members) {
      if (now - m.seen < this.#ttl) return
      this.#members.delete(key)
    }
  }
}
