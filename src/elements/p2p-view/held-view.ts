// The views open in this page, one per log and name, shared by the elements that show
// them (several <p2p-view>s of one view, a <p2p-kv> and its KV's view) and closed when
// the last lets go. Two View objects over one sublevel would each fold the same entries
// from their own idea of its progress, and a fold that reads its rows (the KV's does)
// would apply an entry twice.
import {P2PError} from '../../core/errors.js'
import type {Log} from '../../core/log/log.js'

interface Shared {
  value: {close(): Promise<void>}
  /** What made it: the definition, or the KV's maker. Another under the same name is refused. */
  owner: unknown
  users: number
}

const open = new WeakMap<Log, Map<string, Shared>>()

export interface Held<T> {
  value: T
  /** Lets go of it (closed once no element holds it). Idempotent. */
  release(): void
}

/**
 * The view `name` of `log` made by `owner`, made with `make` if no element of the page
 * holds it. ERR_INVALID_ARGUMENT if the page holds a view of that name on this log made
 * by another owner (two definitions of one name).
 */
export function holdView<T extends {close(): Promise<void>}>(log: Log, name: string, owner: unknown, make: () => T): Held<T> {
  let views = open.get(log)
  if (!views) open.set(log, views = new Map())
  let shared = views.get(name)
  if (shared && shared.owner !== owner) throw P2PError.INVALID_ARGUMENT(`another definition of the view "${name}" is open on this log`)
  if (!shared) {
    shared = {value: make(), owner, users: 0}
    views.set(name, shared)
  }
  shared.users++
  const held = shared
  const list = views
  let released = false
  return {
    value: held.value as T,
    release() {
      if (released) return
      released = true
      if (--held.users > 0) return
      if (list.get(name) === held) list.delete(name)
      held.value.close().catch(() => undefined)
    },
  }
}
