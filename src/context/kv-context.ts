import {createContext} from '@lit/context'
import type {KV} from '../core/kv/kv.js'

/**
 * The nearest `<p2p-kv>`'s KV. `undefined` until its log is open; replaced when the
 * log is (the `<p2p-log>` reopened), so consumers subscribe.
 */
export const kvContext = createContext<KV | undefined>(Symbol.for('p2p-elements/kv'))
