// Time to repair a broken connection, in one page through a real hub, with the
// swarm's default timers (what an app gets): an ICE restart on a live connection,
// and a connection closed underneath (a new one replaces it). The baseline is the
// time two fresh swarms take to connect in the first place, in the same page and run.
import {Swarm} from '../../src/core/swarm/swarm.js'
import {createIdentity} from '../../src/core/crypto/identity.js'
import {until} from '../../test/browser/helpers/swarm.js'

const TIMEOUT = 60_000

/** Two swarms in a fresh room, connected; returns them and how long that took. */
async function pair(hub: string): Promise<{swarms: Swarm[], ms: number}> {
  const room = `bench-reconnect-${Math.random().toString(36).slice(2)}`
  const identities = await Promise.all([0, 1].map(() => createIdentity()))
  const start = performance.now()
  const swarms = identities.map(identity => new Swarm({hubs: [hub], room, identity, iceServers: []}))
  await until(swarms, ['update'], () => swarms.every(s => s.peers.length === 1), 'two swarms connecting', TIMEOUT)
  return {swarms, ms: performance.now() - start}
}

/** Resolves with the ms from `start` until both swarms emitted `reconnect`. */
function reconnected(swarms: Swarm[], start: number): Promise<number> {
  return Promise.all(swarms.map(s => new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no reconnect within ${TIMEOUT} ms`)), TIMEOUT)
    s.once('reconnect', () => {
      clearTimeout(timer)
      resolve(performance.now() - start)
    })
  }))).then(times => Math.max(...times))
}

async function connectTime(hub: string): Promise<number> {
  const {swarms, ms} = await pair(hub)
  for (const s of swarms) s.destroy()
  return ms
}

/** An ICE restart asked for on a live connection, until both ends report it done. */
async function iceRestart(hub: string): Promise<number> {
  const {swarms} = await pair(hub)
  try {
    const start = performance.now()
    const done = reconnected(swarms, start)
    swarms[0].peers[0].restartIce()
    return await done
  } finally {
    for (const s of swarms) s.destroy()
  }
}

/** One end's RTCPeerConnection closed underneath, until both ends are back on a new one. */
async function closedUnderneath(hub: string): Promise<number> {
  const {swarms} = await pair(hub)
  try {
    const start = performance.now()
    const done = reconnected(swarms, start)
    swarms[0].peers[0].rtc.close()
    return await done
  } finally {
    for (const s of swarms) s.destroy()
  }
}

;(window as unknown as {reconnectBench: unknown}).reconnectBench = {connectTime, iceRestart, closedUnderneath}
