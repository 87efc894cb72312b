import {LitElement, html, css, type PropertyValues} from 'lit'
import {consumeContext} from '../../context/consume.js'
import {logContext} from '../../context/log-context.js'
import type {Log} from '../../core/log/log.js'
import {P2PError, toP2PError} from '../../core/errors.js'
import {View, compareCodePoints, type ViewDefinition, type ViewDiff, type ViewProgress, type ViewRange, type ViewSubscription} from '../../core/views/view.js'
import {ViewProgressEvent} from '../../events/view-events.js'
import {P2PErrorEvent} from '../../events/error-event.js'
import {bindFields, collectBindings, hasText, pathValue, summarize, templateHolder, type Binding} from '../shared/item-template.js'
import {holdView, type Held} from './held-view.js'
import {onViewDefined, viewDefinition} from './view-registry.js'

const DEFAULT_LIMIT = 100

interface Row {
  node: Element
  bindings: Binding[]
  /** The default rendering's text, filled from the whole value. */
  summary: Element | null
}

/** What one opening holds; released together. */
interface Opened {
  held: Held<View>
  subscription: ViewSubscription
  offs: Array<() => void>
}

/**
 * The rows of a view of the nearest `<p2p-log>`'s log (docs/views.md), live, rendered
 * through the app's `<template>` with `<p2p-feed>`'s safe bindings:
 *
 * ```html
 * <p2p-log name="wiki">
 *   <p2p-view name="by-tag" gte="tag:news/" lt="tag:news0">
 *     <template><li><a data-field="href:url title"></a></li></template>
 *   </p2p-view>
 * </p2p-log>
 * <script type="module">
 *   import {defineView} from 'p2p-elements'
 *   defineView({name: 'by-tag', version: 1, map: entry => …rows…})
 * </script>
 * ```
 *
 * The definition comes from `defineView()` (by `name`, also when defined after the
 * element connected) or from the `definition` property. Rows show in key order
 * (`reverse`: the other way), at most `limit`, each a clone of the template's one
 * root element; its fields are `key` (the row's key) and the row value's own fields,
 * or `value` for a value that is not an object. Rows that enter, change and leave the
 * range are patched in place. Clones are light-DOM children, styled by the page.
 *
 * @summary A live, ordered list of a view's rows, rendered through the app's `<template>`.
 *
 * @slot - A `<template>` with one root element, rendered once per row. Without one, each row shows its key and value.
 * @slot empty - Shown while the range holds no rows (default: "Nothing here yet.").
 *
 * @event p2p-view-progress - The view folded a slice of the log. `detail: {indexed, total}`.
 * @event p2p-error - The view failed (`ERR_VIEW_FAILED`: its map threw or returned what is not rows; the view stops), the definition or range is unusable, another definition of the name is open on the log, or the template is (`ERR_INVALID_ARGUMENT`). `detail: {error}`.
 *
 * @csspart empty - The empty state.
 */
export class P2PViewElement extends LitElement {
  static override styles = css`
    :host { display: block; }
    :host([hidden]) { display: none; }
    [part='empty'] { opacity: 0.7; font-style: italic; }
    [part='empty'][hidden] { display: none; }
  `
  static override properties = {
    name: {},
    definition: {attribute: false},
    gt: {},
    gte: {},
    lt: {},
    lte: {},
    reverse: {type: Boolean},
    limit: {type: Number},
    log: {attribute: false},
    indexing: {type: Boolean, reflect: true},
  }

  /** The view's name, as `defineView()` registered it. */
  name = ''

  /** The definition from code (`{name, version, map, keys?}`); wins over `name`. */
  definition: ViewDefinition | undefined

  /** Only rows with keys after this one. */
  gt: string | undefined

  /** Only rows with keys from this one on. */
  gte: string | undefined

  /** Only rows with keys before this one. */
  lt: string | undefined

  /** Only rows with keys up to this one. */
  lte: string | undefined

  /** Rows from the last key to the first. */
  reverse = false

  /** Most rows shown (the first by key, or the last with `reverse`). Not a number, or below 1: 100. */
  limit = DEFAULT_LIMIT

  /** The log of the nearest `<p2p-log>` (or set directly). */
  log: Log | undefined

  /** The view is behind its log: entries are being folded. Set by the element (a CSS hook). */
  indexing = false

  /** Entries of the log folded into the view. */
  indexed = 0

  /** Entries in the log. */
  total = 0

  #opened: Opened | undefined
  /** What the opening was made from: a change of any reopens. */
  #openedWith: {log: Log, definition: ViewDefinition, range: string} | undefined
  /** The range's rows, by key, and their keys in order. */
  readonly #values = new Map<string, unknown>()
  #keys: string[] = []
  /** Keys whose value changed since they were last bound. */
  readonly #changed = new Set<string>()
  /** Shown rows by key. */
  readonly #rows = new Map<string, Row>()
  #root: Element | null = null
  #stale = true
  #stopWaiting: (() => void) | undefined

  // A template added or replaced after the first render (a parser still streaming the
  // page, a framework re-rendering it) renders every row again.
  readonly #templateObserver = new MutationObserver(records => {
    if (!records.some(r => r.target !== this || [...r.addedNodes, ...r.removedNodes].some(n => n instanceof HTMLTemplateElement))) return
    this.#stale = true
    this.requestUpdate()
  })

  constructor() {
    super()
    consumeContext(this, logContext, log => this.log = log)
  }

  /** How many rows are shown. */
  get size(): number {
    return this.#rows.size
  }

  override connectedCallback(): void {
    super.connectedCallback()
    this.#templateObserver.observe(this, {childList: true})
    // Moved in the DOM: the view was let go on removal and opens again here.
    if (this.hasUpdated) this.requestUpdate()
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback()
    this.#templateObserver.disconnect()
    this.#use(undefined, undefined)
  }

  protected override willUpdate(changed: PropertyValues<this>): void {
    const log = this.isConnected ? this.log : undefined
    const definition = this.definition ?? (this.name ? viewDefinition(this.name) : undefined)
    const opened = this.#openedWith
    if (!opened || log !== opened.log || definition !== opened.definition || JSON.stringify(this.#range()) !== opened.range) this.#use(log, definition)
    if (changed.has('reverse') || changed.has('limit')) this.#stale = true
    this.#render()
  }

  protected override render() {
    return html`<div part="empty" ?hidden=${this.#rows.size > 0}><slot name="empty">Nothing here yet.</slot></div><slot></slot>`
  }

  #range(): ViewRange {
    const range: ViewRange = {}
    for (const bound of ['gt', 'gte', 'lt', 'lte'] as const) {
      const value = this[bound]
      if (typeof value === 'string') range[bound] = value
    }
    return range
  }

  #use(log: Log | undefined, definition: ViewDefinition | undefined): void {
    this.#release()
    this.#stopWaiting?.()
    this.#stopWaiting = undefined
    if (!log) return
    if (!definition) {
      // A name not defined yet: the element opens it once defineView() registers it.
      if (this.name) this.#stopWaiting = onViewDefined(name => { if (name === this.name) this.requestUpdate() })
      return
    }
    const range = this.#range()
    this.#openedWith = {log, definition, range: JSON.stringify(range)}
    let held: Held<View>
    try {
      held = holdView(log, definition.name, definition, () => new View(log, definition))
    } catch (err) {
      this.#report(toP2PError(err, 'ERR_INVALID_ARGUMENT'))
      return
    }
    const view = held.value
    const onProgress = (progress: ViewProgress) => {
      this.#progress(progress)
      this.dispatchEvent(new ViewProgressEvent(progress))
    }
    const onUpdate = () => this.#progress(view.stats)
    const onError = (err: P2PError) => this.#report(err)
    view.on('progress', onProgress)
    view.on('error', onError)
    log.on('update', onUpdate)
    const offs = [() => view.off('progress', onProgress), () => view.off('error', onError), () => log.off('update', onUpdate)]
    let subscription: ViewSubscription
    try {
      subscription = view.subscribe(range, diffs => this.#apply(diffs))
    } catch (err) {
      for (const off of offs) off()
      held.release()
      this.#report(toP2PError(err, 'ERR_INVALID_ARGUMENT'))
      return
    }
    const opened: Opened = {held, subscription, offs}
    this.#opened = opened
    subscription.ready.then(() => {
      if (this.#opened === opened) this.#progress(view.stats)
    }, err => {
      if (this.#opened === opened) this.#report(toP2PError(err))
    })
    if (view.stats.failed) view.ready().catch(err => this.#report(toP2PError(err)))
  }

  #release(): void {
    const opened = this.#opened
    this.#opened = undefined
    this.#openedWith = undefined
    this.#values.clear()
    this.#keys = []
    this.#stale = true
    if (!opened) return
    opened.subscription.close()
    for (const off of opened.offs) off()
    opened.held.release()
  }

  #progress({indexed, total}: ViewProgress): void {
    this.indexed = indexed
    this.total = total
    this.indexing = indexed < total
  }

  /** A live query's diffs: the range's rows now, kept in key order. */
  #apply(diffs: ViewDiff[]): void {
    for (const diff of diffs) {
      const known = this.#values.has(diff.key)
      if (diff.type === 'leave') {
        if (!known) continue
        this.#values.delete(diff.key)
        this.#keys.splice(this.#find(diff.key), 1)
        continue
      }
      if (!known) this.#keys.splice(this.#find(diff.key), 0, diff.key)
      this.#values.set(diff.key, diff.value)
      this.#changed.add(diff.key)
    }
    this.requestUpdate()
  }

  /** Where `key` is, or goes, in the ordered keys (binary search in the store's order). */
  #find(key: string): number {
    let lo = 0
    let hi = this.#keys.length
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      if (compareCodePoints(this.#keys[mid], key) < 0) lo = mid + 1
      else hi = mid
    }
    return lo
  }

  /** Brings the shown rows to the first `limit` keys in order: patched in place, new ones cloned, gone ones removed. */
  #render(): void {
    if (this.#stale) {
      this.#stale = false
      for (const row of this.#rows.values()) row.node.remove()
      this.#rows.clear()
      this.#root = this.#readTemplate()
    }
    const max = this.limit >= 1 ? Math.floor(this.limit) : DEFAULT_LIMIT
    const keys = this.reverse ? this.#keys.slice(-max).reverse() : this.#keys.slice(0, max)
    const shown = new Set(keys)
    for (const [key, row] of this.#rows) {
      if (shown.has(key)) continue
      row.node.remove()
      this.#rows.delete(key)
    }
    const nodes: Element[] = []
    for (const key of keys) {
      let row = this.#rows.get(key)
      if (!row || this.#changed.has(key)) {
        row ??= this.#makeRow()
        this.#rows.set(key, row)
        this.#bind(row, key, this.#values.get(key))
      }
      nodes.push(row.node)
    }
    this.#changed.clear()
    // Placed from the last: each row goes just before the one after it, so a row
    // already shown moves only if its place changed, and keeps its node.
    const last = nodes.at(-1)
    if (last && last.parentNode !== this) this.append(last)
    for (let i = nodes.length - 2; i >= 0; i--) {
      if (nodes[i].nextElementSibling !== nodes[i + 1]) nodes[i + 1].before(nodes[i])
    }
  }

  #bind(row: Row, key: string, value: unknown): void {
    const object = value !== null && typeof value === 'object' && !Array.isArray(value)
    bindFields(row.bindings, path => path === 'key' ? key : object ? pathValue(value, path) : path === 'value' ? value : undefined)
    if (row.summary) row.summary.textContent = summarize(value)
  }

  #makeRow(): Row {
    if (this.#root) {
      // importNode, not cloneNode: the clone joins this document, so custom elements in it upgrade.
      const node = document.importNode(this.#root, true)
      return {node, bindings: collectBindings(node), summary: null}
    }
    const node = document.createElement('p')
    node.className = 'p2p-view-row'
    const key = document.createElement('b')
    key.dataset.field = 'key'
    const summary = document.createElement('span')
    node.append(key, ' ', summary)
    return {node, bindings: collectBindings(node), summary}
  }

  /** The child template's root element, or null (rows show key and value). */
  #readTemplate(): Element | null {
    const template = [...this.children].find((c): c is HTMLTemplateElement => c instanceof HTMLTemplateElement)
    if (!template) return null
    const holder = templateHolder(template, this.isConnected ? this.#templateObserver : undefined)
    const roots = holder.children
    if (roots.length !== 1 || hasText(holder)) {
      this.#report(P2PError.INVALID_ARGUMENT(`a <p2p-view> template has one root element and no text beside it; it has ${roots.length}${roots.length ? ', the first is used' : ', rows show key and value'}`))
    }
    return roots[0] ?? null
  }

  #report(error: P2PError): void {
    this.dispatchEvent(new P2PErrorEvent(error))
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'p2p-view': P2PViewElement
  }
}
