import {createContext} from '@lit/context'
import type {MessageSource} from '../core/source/message-source.js'

/**
 * The nearest message source (`<p2p-gossip>` now, `<p2p-log>` later): what
 * `<p2p-feed>` renders and what a `<form>` inside it publishes to.
 */
export const sourceContext = createContext<MessageSource | undefined>(Symbol.for('p2p-elements/source'))
