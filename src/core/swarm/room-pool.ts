/**
 * The page's pool of shared connections, loaded on demand. Rooms share
 * connections (rooms.ts, room-links.ts) only on a page with two or more swarms
 * in one pool: a page with one room never joins another room's connection
 * (there is none) and no honest remote asks it to (a remote room JOINs only
 * after hearing this page announce in that room). So until a second swarm takes
 * a seat, this stands in for the pool: it remembers the page's proven
 * connections and its seats, and opens no rooms channel (a remote's early JOIN
 * waits in the mux's bounded hold for channels not yet opened). The second seat
 * loads the room code by `import()`, builds the real ConnectionPool, seats every
 * swarm on it and hands it the remembered connections. Meanwhile the page's
 * swarms hold their hub messages on `loading`: whether an announcement is met
 * over a shared connection or dialled is decided on them.
 */
import {P2PError} from '../errors.js'
import type {PeerConnection} from './peer-connection.js'
import type {ConnectionPool} from './rooms.js'

/** What the room code module offers (room-links.ts). */
export type RoomsCode = typeof import('./room-links.js')

/** A swarm in the pool. */
export interface PoolSeat {
  /** The room code is in and the pool is real: the swarm builds its side of rooms on them. */
  attach(code: RoomsCode, pool: ConnectionPool): void
  /** The room code could not load, and this swarm needed it (its seat made the page share). */
  fail(err: P2PError): void
}

interface Offered {
  conn: PeerConnection
  localKey: string
  ownerTag: string | null
}

export class PagePool {
  readonly #load: () => Promise<RoomsCode>
  readonly #seats = new Set<PoolSeat>()
  /** Proven connections offered before the real pool exists, in the order they came. */
  readonly #offered = new Set<Offered>()
  #real: ConnectionPool | null
  #code: RoomsCode | null = null
  #loading: Promise<void> | null = null

  /**
   * `load` imports the room code. `real` is a pool made already (a test's, or
   * one a caller shares between its swarms): its first seat loads the code.
   */
  constructor(load: () => Promise<RoomsCode>, real: ConnectionPool | null = null) {
    this.#load = load
    this.#real = real
  }

  /** While the room code loads: the page's swarms hold their hub messages on it. Null otherwise. */
  get loading(): Promise<void> | null {
    return this.#loading
  }

  /** Whether the room code is in (the page shares connections between rooms). */
  get loaded(): boolean {
    return this.#code !== null
  }

  seat(seat: PoolSeat): void {
    if (this.#code) {
      this.#seats.add(seat)
      return seat.attach(this.#code, this.#real!)
    }
    // The seats there before this one shared nothing and ran without the code: a failed load leaves them be.
    const before = this.#real ? [] : [...this.#seats]
    this.#seats.add(seat)
    if (!this.#loading && (this.#seats.size > 1 || this.#real)) this.#start(new Set(before))
  }

  unseat(seat: PoolSeat): void {
    this.#seats.delete(seat)
  }

  /** A connection proven with `localKey`, made by room `ownerTag` (null: a room that never joins others). */
  add(conn: PeerConnection, localKey: string, ownerTag: string | null): void {
    if (this.#code) return this.#real!.add(conn, localKey, ownerTag)
    const offered = {conn, localKey, ownerTag}
    this.#offered.add(offered)
    conn.once('close', () => this.#offered.delete(offered))
  }

  #start(before: Set<PoolSeat>): void {
    this.#loading = this.#load().then(code => {
      this.#code = code
      const real = this.#real ??= new code.ConnectionPool()
      // Seats first, so a JOIN held on a connection finds its room when the channel opens.
      for (const seat of this.#seats) seat.attach(code, real)
      for (const {conn, localKey, ownerTag} of this.#offered) real.add(conn, localKey, ownerTag)
      this.#offered.clear()
    }, err => {
      const failed = P2PError.CONNECTION_FAILED('cannot load the code that shares connections between rooms', err)
      for (const seat of [...this.#seats]) if (!before.has(seat)) seat.fail(failed)
    }).finally(() => {
      this.#loading = null
    })
  }
}

const pools = new WeakMap<ConnectionPool, PagePool>()

/** The PagePool around a pool made already, one per pool, so its swarms load and hold together. */
export function pagePoolOf(real: ConnectionPool, load: () => Promise<RoomsCode>): PagePool {
  let pool = pools.get(real)
  if (!pool) pools.set(real, pool = new PagePool(load, real))
  return pool
}
