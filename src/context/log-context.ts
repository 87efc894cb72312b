import {createContext} from '@lit/context'
import type {Log} from '../core/log/log.js'

/**
 * The nearest `<p2p-log>`'s own log: the one this page writes (`name`) or the
 * one it opened by address (`key`). `undefined` until it is open; replaced when
 * the element's settings or swarm change, so consumers subscribe.
 */
export const logContext = createContext<Log | undefined>(Symbol.for('p2p-elements/log'))
