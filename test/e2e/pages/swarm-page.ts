// A bare swarm in a page, driven by end-to-end tests through window.p2pTest.
import {Swarm} from '../../../src/core/swarm/swarm.js'
import type {Channel} from '../../../src/core/mux/mux.js'
import {fromUtf8, utf8} from '../../../src/core/bytes.js'

const received: string[] = []
const channels = new Map<string, Channel>()
let swarm: Swarm | null = null

const api = {
  /** Joins a room; every peer gets an echo channel that answers `echo:<text>`. */
  start(hub: string, room: string): string {
    swarm = new Swarm({hubs: [hub], room, iceServers: [], announceInterval: {min: 100, max: 1000}})
    swarm.on('connect', peer => {
      const channel = peer.channel('test/echo/1', {
        onmessage(bytes) {
          const text = fromUtf8(bytes)
          received.push(text)
          if (!text.startsWith('echo:')) channel.send(utf8(`echo:${text}`))
        },
      })
      channels.set(peer.publicKey!, channel)
    })
    swarm.on('disconnect', peer => channels.delete(peer.publicKey!))
    return swarm.publicKey
  },
  peers(): string[] {
    return swarm?.peers.map(p => p.publicKey!) ?? []
  },
  received(): string[] {
    return received
  },
  send(text: string): void {
    for (const channel of channels.values()) channel.send(utf8(text))
  },
  stop(): void {
    swarm?.destroy()
  },
}

;(window as unknown as {p2pTest: typeof api}).p2pTest = api
