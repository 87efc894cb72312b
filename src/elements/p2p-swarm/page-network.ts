import type {NetworkStatus} from '../../core/swarm/swarm.js'

/**
 * The page's network status for the core (which touches no DOM): the window's
 * `online`/`offline` events and `navigator.onLine`. Every `<p2p-swarm>` passes it.
 */
export const pageNetwork: NetworkStatus = {
  get online() {
    return navigator.onLine !== false
  },
  on(event, listener) {
    window.addEventListener(event, listener)
  },
  off(event, listener) {
    window.removeEventListener(event, listener)
  },
}
