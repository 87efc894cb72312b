import {createIdentity, type Identity} from '../crypto/identity.js'

/**
 * One key pair for the page, so that its rooms are one peer to the rooms of
 * other pages and can share one connection with each (rooms.ts). A second swarm
 * of the page in a room that already has one with the page key gets a fresh
 * key instead: two swarms in one room are two peers there, and a key cannot
 * connect to itself. Made once per page, on first claim: WebCrypto makes keys
 * asynchronously, so a claim holds a promise.
 */
let identity: Promise<Identity> | undefined
/** Rooms where a swarm of this page uses the page key right now. */
const claimed = new Set<string>()

export interface IdentityClaim {
  identity: Promise<Identity>
  /** Gives the room back (the swarm stopped, or never started); idempotent. */
  release(): void
}

/** The page key for a swarm in `room`, or a fresh one when the room has the page key already. */
export function claimPageIdentity(room: string): IdentityClaim {
  if (claimed.has(room)) return {identity: createIdentity(), release() {}}
  identity ??= createIdentity()
  claimed.add(room)
  let released = false
  return {
    identity,
    release() {
      if (released) return
      released = true
      claimed.delete(room)
    },
  }
}
