/**
 * Kademlia's iterative lookup, over any transport: ask the α closest nodes not
 * yet asked for the nodes they know closest to the target, merge their answers,
 * and go on until the k closest known have all answered. S/Kademlia's disjoint
 * paths (`paths` > 1) split the work so that no node is asked by two paths: a
 * few hostile nodes near the target then sit on some paths, not all, and their
 * made-up answers cannot steer every path away from the honest closest nodes.
 *
 * A node slow to answer does not hold the lookup up: past `stall` ms its query
 * no longer counts against α, so the next closest node is asked (libtorrent's
 * short timeout widens a lookup so), and once k others have answered the
 * lookup may end without it; an answer that comes later is still taken while
 * it runs. A tab closed without a goodbye stays a peer of its neighbours for
 * seconds and is named in their answers meanwhile: a lookup that waited out its
 * timeout would take that long. The node looked up itself (its id the target)
 * is waited for.
 *
 * Hops: a seed (from the local table) is at hop 0; a node first learned from a
 * hop-h node's answer is at hop h + 1. A lookup's `hops` is the hop of the
 * closest node it found: the sequential round trips it took to learn of it.
 */
import {systemClock, type Clock} from '../clock.js'
import {P2PError} from '../errors.js'
import {compareDistance} from './node-id.js'
import type {Contact} from './routing-table.js'

export interface LookupOptions {
  /** The id looked up: a node's, or a topic's or record's hash. */
  target: Uint8Array
  /** Where to start: this node's closest contacts to the target. */
  seeds: Contact[]
  /** Asks `contact` for the contacts it knows closest to `target`; rejects when it cannot answer. */
  query(contact: Contact, target: Uint8Array): Promise<Contact[]>
  /** Results wanted, and the depth of the termination test (Kademlia's k). */
  k?: number
  /** Queries in flight per path (Kademlia's α). */
  alpha?: number
  /** Disjoint paths (S/Kademlia's d): 1 is plain Kademlia. */
  paths?: number
  /** A query unanswered this long (ms) counts as failed. */
  timeout?: number
  /** Ms after which a query to `contact` still unanswered stops holding the lookup up (it may still answer); none by default. */
  stall?(contact: Contact): number
  /** Contacts an answer may hold; more is a misbehaving answer (its first k are taken). */
  maxAnswer?: number
  clock?: Clock
  /** A node failed to answer, or answered with more than it may: the caller scores it. */
  onfail?(contact: Contact, err: P2PError): void
  /** A node answered. */
  onanswer?(contact: Contact): void
}

export interface LookupResult {
  /** The k closest nodes that answered, closest first. */
  closest: Contact[]
  /** The hop at which the closest of them was learned (0: it was a seed). */
  hops: number
  /** Queries sent, and how many failed. */
  queried: number
  failed: number
}

interface Candidate {
  contact: Contact
  hop: number
  path: number
  state: 'new' | 'asking' | 'stalled' | 'answered' | 'failed'
}

/** Resolves with `promise`, or rejects with PEER_TIMEOUT after `ms` on `clock`. */
function within<T>(promise: Promise<T>, ms: number, clock: Clock): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = clock.setTimeout(() => reject(P2PError.PEER_TIMEOUT(`no answer in ${ms} ms`)), ms)
    promise.then(value => {
      clock.clearTimeout(timer)
      resolve(value)
    }, err => {
      clock.clearTimeout(timer)
      reject(err)
    })
  })
}

export async function lookup({
  target, seeds, query, k = 8, alpha = 3, paths = 1, timeout = 5_000, stall, maxAnswer = k * 2, clock = systemClock, onfail, onanswer,
}: LookupOptions): Promise<LookupResult> {
  if (!Number.isInteger(k) || k < 1 || !Number.isInteger(alpha) || alpha < 1 || !Number.isInteger(paths) || paths < 1) {
    throw P2PError.INVALID_ARGUMENT('k, alpha and paths are whole numbers, 1 or more')
  }
  // Every node known, by key: the first path to learn of a node keeps it (disjoint paths).
  const known = new Map<string, Candidate>()
  const byPath: Candidate[][] = Array.from({length: paths}, () => [])
  const closer = (a: Candidate, b: Candidate): number => compareDistance(target, a.contact.id, b.contact.id)
  const learn = (contact: Contact, hop: number, path: number): void => {
    if (known.has(contact.key)) return
    const candidate: Candidate = {contact, hop, path, state: 'new'}
    known.set(contact.key, candidate)
    byPath[path].push(candidate)
  }
  // Seeds dealt round-robin from the closest, so each path starts near the target.
  const sorted = [...seeds].sort((a, b) => compareDistance(target, a.id, b.id))
  for (const [i, seed] of sorted.entries()) learn(seed, 0, i % paths)
  let queried = 0
  let failed = 0

  const runPath = (path: number): Promise<void> => new Promise(resolve => {
    const list = byPath[path]
    let inFlight = 0
    let ended = false
    // Given up on for now: failed, or stalled and not the node looked up.
    const passed = (c: Candidate): boolean => c.state === 'failed' || (c.state === 'stalled' && compareDistance(target, c.contact.id, target) !== 0)
    const step = (): void => {
      if (ended) return
      list.sort(closer)
      // Done when the k closest not passed over have all answered and nothing counted is out: k of
      // them, or with none stalled still out (fewer answered than k: a stalled node may yet answer).
      const live = list.filter(c => !passed(c)).slice(0, k)
      const stalled = list.some(c => c.state === 'stalled')
      if (inFlight === 0 && live.every(c => c.state === 'answered') && (live.length === k || !stalled)) {
        ended = true
        resolve()
        return
      }
      for (const candidate of live) {
        if (inFlight >= alpha) break
        if (candidate.state !== 'new') continue
        candidate.state = 'asking'
        inFlight++
        queried++
        const stallTimer = stall ? clock.setTimeout(() => {
          if (candidate.state !== 'asking') return
          candidate.state = 'stalled'
          inFlight--
          step()
        }, stall(candidate.contact)) : null
        within(query(candidate.contact, target), timeout, clock).then(answer => {
          if (candidate.state === 'asking') inFlight--
          candidate.state = 'answered'
          onanswer?.(candidate.contact)
          if (answer.length > maxAnswer) {
            onfail?.(candidate.contact, P2PError.PEER_MISBEHAVING(`an answer of ${answer.length} contacts (at most ${maxAnswer})`))
          }
          for (const contact of answer.slice(0, maxAnswer)) learn(contact, candidate.hop + 1, path)
        }, err => {
          if (candidate.state === 'asking') inFlight--
          candidate.state = 'failed'
          failed++
          onfail?.(candidate.contact, err instanceof P2PError ? err : P2PError.PEER_TIMEOUT(String(err)))
        }).finally(() => {
          clock.clearTimeout(stallTimer)
          step()
        })
      }
      // Nothing left to ask and nothing out, stalled or not: the path ends with what it has.
      if (inFlight === 0 && !stalled) {
        ended = true
        resolve()
      }
    }
    step()
  })

  await Promise.all(byPath.map((_, path) => runPath(path)))
  const answered = [...known.values()].filter(c => c.state === 'answered').sort(closer).slice(0, k)
  return {closest: answered.map(c => c.contact), hops: answered[0]?.hop ?? 0, queried, failed}
}
