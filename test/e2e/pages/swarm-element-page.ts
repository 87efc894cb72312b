// A <p2p-swarm> element in a page, driven by end-to-end tests through window.p2pElement:
// what its DOM events report, as an app sees them.
import '../../../src/p2p-swarm.js'
import type {P2PSwarmElement} from '../../../src/elements/p2p-swarm/p2p-swarm.js'

/** Every p2p-peer-disconnect, with the detail's error code (null when absent) and the wall clock. */
const disconnects: Array<{publicKey: string, error: string | null, at: number}> = []
let element: P2PSwarmElement | null = null

document.body.addEventListener('p2p-peer-disconnect', e => {
  disconnects.push({publicKey: e.detail.publicKey, error: e.detail.error?.code ?? null, at: Date.now()})
})

const api = {
  /** Puts a <p2p-swarm> for `room` into the page; resolves with its swarm's public key. */
  async add(hub: string, room: string): Promise<string> {
    element = document.createElement('p2p-swarm')
    element.hub = hub
    element.room = room
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
  disconnects() {
    return disconnects
  },
}

;(window as unknown as {p2pElement: typeof api}).p2pElement = api
