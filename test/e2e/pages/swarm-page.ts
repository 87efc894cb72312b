// A bare swarm in a page, driven by end-to-end tests through window.p2pTest.
import {Swarm, type SwarmPeer} from '../../../src/core/swarm/swarm.js'
import {createIdentity} from '../../../src/core/crypto/identity.js'
import type {Channel} from '../../../src/core/mux/mux.js'
import {fromUtf8, utf8} from '../../../src/core/bytes.js'

const received: string[] = []
// By connection, not by key: a replaced connection's disconnect comes after its successor's connect.
const channels = new Map<SwarmPeer, Channel>()
/** Every disconnect, with the swarm's error code (null for a goodbye) and the wall clock, comparable across processes. */
const disconnects: Array<{publicKey: string, code: string | null, at: number}> = []
let swarm: Swarm | null = null

const api = {
  /** Joins a room; every peer gets an echo channel that answers `echo:<text>`. */
  async start(hub: string, room: string): Promise<string> {
    swarm = new Swarm({hubs: [hub], room, identity: await createIdentity(), iceServers: [], announceInterval: {min: 100, max: 1000}})
    swarm.on('connect', peer => {
      const channel = peer.channel('test/echo/1', {
        onmessage(bytes) {
          const text = fromUtf8(bytes)
          received.push(text)
          if (!text.startsWith('echo:')) channel.send(utf8(`echo:${text}`))
        },
      })
      channels.set(peer, channel)
    })
    swarm.on('disconnect', (peer, err) => {
      channels.delete(peer)
      disconnects.push({publicKey: peer.publicKey!, code: err?.code ?? null, at: Date.now()})
    })
    return swarm.publicKey
  },
  /** The swarm's counters, for a failing test's report. */
  stats(): unknown {
    return swarm?.stats ?? null
  },
  peers(): string[] {
    return swarm?.peers.map(p => p.publicKey!) ?? []
  },
  /** The mux's smoothed RTT to a connected peer, in ms; null when not connected. */
  rtt(publicKey: string): number | null {
    return swarm?.peers.find(p => p.publicKey === publicKey)?.rtt ?? null
  },
  received(): string[] {
    return received
  },
  disconnects() {
    return disconnects
  },
  send(text: string): void {
    for (const channel of channels.values()) if (!channel.closed) channel.send(utf8(text))
  },
  stop(): void {
    swarm?.destroy()
  },
}

;(window as unknown as {p2pTest: typeof api}).p2pTest = api
