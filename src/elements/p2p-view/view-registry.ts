// The page's view definitions by name: `defineView()` registers one, as
// customElements.define registers an element, and a <p2p-view name> finds it there,
// also when it is defined after the element connected.
import {P2PError} from '../../core/errors.js'
import type {ViewDefinition} from '../../core/views/view.js'

const definitions = new Map<string, ViewDefinition>()
const listeners = new Set<(name: string) => void>()

/**
 * Registers a view definition for `<p2p-view name="…">` elements of the page: every
 * one of that name, already connected or not, opens it on its log. A name is defined
 * once (ERR_INVALID_ARGUMENT the second time): a changed fold is a new `version`.
 */
export function defineView(definition: ViewDefinition): void {
  if (!definition || typeof definition.name !== 'string' || typeof definition.map !== 'function') {
    throw P2PError.INVALID_ARGUMENT('defineView takes {name, version, map, keys?}')
  }
  if (definitions.has(definition.name)) throw P2PError.INVALID_ARGUMENT(`the view "${definition.name}" is already defined`)
  definitions.set(definition.name, definition)
  for (const listener of listeners) listener(definition.name)
}

/** The definition registered under `name`, if any. */
export function viewDefinition(name: string): ViewDefinition | undefined {
  return definitions.get(name)
}

/** Calls `listener` with each name defined from now on; returns the function that stops it. */
export function onViewDefined(listener: (name: string) => void): () => void {
  listeners.add(listener)
  return () => listeners.delete(listener)
}
