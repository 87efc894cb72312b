// The network status a swarm is given (the page's online/offline in a browser), driven by the test.
import type {NetworkStatus} from '../../src/core/swarm/swarm.js'

export class FakeNetwork implements NetworkStatus {
  online: boolean
  readonly listeners = {online: new Set<() => void>(), offline: new Set<() => void>()}
  constructor(online = true) {
    this.online = online
  }
  on(event: 'online' | 'offline', listener: () => void): void {
    this.listeners[event].add(listener)
  }
  off(event: 'online' | 'offline', listener: () => void): void {
    this.listeners[event].delete(listener)
  }
  /** Goes online or offline, telling the listeners as the window's events would. */
  set(online: boolean): void {
    this.online = online
    for (const l of this.listeners[online ? 'online' : 'offline']) l()
  }
}
