import {createContext} from '@lit/context'
import type {Swarm} from '../core/swarm/swarm.js'

/**
 * The nearest `<p2p-swarm>`'s swarm. `undefined` until the element has a hub
 * and a room; consumers subscribe, since the swarm is replaced when they change.
 */
export const swarmContext = createContext<Swarm | undefined>(Symbol.for('p2p-elements/swarm'))
