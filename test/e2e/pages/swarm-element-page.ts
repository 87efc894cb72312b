// A <p2p-swarm> element in a page, driven by end-to-end tests through window.p2pElement:
// what its DOM events report, as an app sees them.
import '../../../src/p2p-swarm.js'
import '../../../src/p2p-dht.js'
import type {P2PSwarmElement} from '../../../src/elements/p2p-swarm/p2p-swarm.js'
import type {P2PDhtElement} from '../../../src/elements/p2p-dht/p2p-dht.js'
import {PeerConnection} from '../../../src/core/swarm/peer-connection.js'

/** Every p2p-peer-disconnect, with the detail's error code (null when absent) and the wall clock. */
const disconnects: Array<{publicKey: string, error: string | null, at: number}> = []
let element: P2PSwarmElement | null = null

document.body.addEventListener('p2p-peer-disconnect', e => {
  disconnects.push({publicKey: e.detail.publicKey, error: e.detail.error?.code ?? null, at: Date.now()})
})

const api = {
  /** Puts a <p2p-swarm> for `room` into the page (with a <p2p-dht> in it if `dht`); resolves with its swarm's public key. */
  async add(hub: string, room: string, dht = false): Promise<string> {
    element = document.createElement('p2p-swarm')
    element.hub = hub
    element.room = room
    element.iceServers = []
    if (dht) element.append(document.createElement('p2p-dht'))
    document.body.append(element)
    await element.updateComplete
    return element.swarm!.publicKey
  },
  /** Takes the element out of the DOM, as an app leaving the room does. */
  remove(): void {
    element?.remove()
    element = null
  },
  peers(): string[] {
    return element?.swarm?.peers.map(p => p.publicKey!) ?? []
  },
  /** The keys of the peers whose connection was signalled through the DHT. */
  viaDht(): string[] {
    return (element?.swarm?.peers ?? []).filter(p => p instanceof PeerConnection && p.id.startsWith('dht:')).map(p => p.publicKey!)
  },
  /** The <p2p-dht>'s figures, once its node is there: its DHT peers, and the room's announcements made. */
  dht(): {peers: number, announcements: number} | null {
    const node = element?.querySelector<P2PDhtElement>('p2p-dht')?.dht
    return node ? {peers: node.stats.peers, announcements: node.stats.announcements} : null
  },
  disconnects() {
    return disconnects
  },
}

;(window as unknown as {p2pElement: typeof api}).p2pElement = api

/** What the tests call (through `callElementApi`). */
export type SwarmElementApi = typeof api
