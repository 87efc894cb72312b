import {Swarm, type SwarmOptions} from '../../../src/core/swarm/swarm.js'
import {ConnectionBudget} from '../../../src/core/swarm/budget.js'
import {KeyPairIdentity} from '../../../src/core/crypto/seed-identity.js'
import {pageNetwork} from '../../../src/elements/p2p-swarm/page-network.js'
import type {Emitter, EventMap} from '../../../src/core/emitter.js'

declare global {
  interface Window {
    __P2P_HUB__: string
  }
}

/** The hub process the test runner started for this run. */
export function hubUrl(): string {
  if (!window.__P2P_HUB__) throw new Error('no hub: the test runner should start one')
  return window.__P2P_HUB__
}

/** A room no other test uses, so tests never see each other's peers. */
export function freshRoom(prefix = 'test'): string {
  return `${prefix}-${Math.random().toString(36).slice(2, 10)}`
}

/**
 * The budget the helper's swarms count against unless a test gives one: the
 * page's limit, but unpaced and without a reserve, since one test page plays
 * the peers of many pages at once. Pacing and the reserve have tests of their own.
 */
export const testBudget = new ConnectionBudget({dialsPerMinute: Infinity, reserve: 0})

/** Fast timers so the tests spend little time waiting; nothing leaves the machine. */
export const FAST = {
  budget: testBudget,
  // What <p2p-swarm> passes: the window's online/offline events.
  network: pageNetwork,
  announceInterval: {min: 100, max: 1000},
  iceServers: [] as RTCIceServer[],
  connectTimeout: 10_000,
}

/**
 * A swarm of its own key unless `opts` names one: a seed identity, made at once, so
 * the helper stays synchronous for its many callers (tests that need WebCrypto's
 * key pairs pass `identity: await createIdentity()`; `<p2p-swarm>` always uses them).
 */
export function createSwarm(room: string, opts: Partial<SwarmOptions> = {}): Swarm {
  return new Swarm({hubs: [hubUrl()], room, identity: new KeyPairIdentity(), ...FAST, ...opts})
}

export function createSwarms(n: number, room: string, opts: Partial<SwarmOptions> = {}): Swarm[] {
  return Array.from({length: n}, () => createSwarm(room, opts))
}

/**
 * Resolves when `check()` holds, re-checking on each of `events` of `emitter`;
 * rejects after `timeout` with `what` so a failure says what never happened.
 */
export function until<E extends EventMap>(
  emitters: Emitter<E> | Emitter<E>[], events: Array<keyof E>, check: () => boolean, what: string, timeout = 20_000,
): Promise<void> {
  const list = Array.isArray(emitters) ? emitters : [emitters]
  return new Promise((resolve, reject) => {
    const listener = (() => {
      if (!check()) return
      cleanup()
      resolve()
    }) as E[keyof E]
    const timer = setTimeout(() => {
      cleanup()
      reject(new Error(`timed out waiting for: ${what}`))
    }, timeout)
    const cleanup = () => {
      clearTimeout(timer)
      for (const e of list) for (const ev of events) e.off(ev, listener)
    }
    for (const e of list) for (const ev of events) e.on(ev, listener)
    ;(listener as () => void)()
  })
}

/** Every swarm is connected to every other one, exactly once, by proven key. */
export function isFullMesh(swarms: Swarm[]): boolean {
  return swarms.every(s => {
    const keys = s.peers.map(p => p.publicKey).sort()
    const expected = swarms.filter(o => o !== s).map(o => o.publicKey).sort()
    return keys.length === expected.length && keys.every((k, i) => k === expected[i])
  })
}

export function fullMesh(swarms: Swarm[], timeout?: number): Promise<void> {
  return until(swarms, ['update'], () => isFullMesh(swarms), `a full mesh of ${swarms.length}`, timeout)
}

export function destroyAll(swarms: Swarm[]): void {
  for (const s of swarms) s.destroy()
}

/** The connection graph among `swarms` is one component (every swarm reaches every other). */
export function meshConnected(swarms: Swarm[]): boolean {
  const byKey = new Map(swarms.map(s => [s.publicKey, s]))
  const seen = new Set([swarms[0].publicKey])
  const queue = [swarms[0]]
  while (queue.length) {
    for (const p of queue.pop()!.peers) {
      if (p.publicKey && byKey.has(p.publicKey) && !seen.has(p.publicKey)) {
        seen.add(p.publicKey)
        queue.push(byKey.get(p.publicKey)!)
      }
    }
  }
  return seen.size === swarms.length
}
