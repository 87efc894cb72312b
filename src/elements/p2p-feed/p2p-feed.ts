import {LitElement, html, type PropertyValues, type TemplateResult} from 'lit'
import {consumeContext} from '../../context/consume.js'
import {sourceContext} from '../../context/source-context.js'
import type {MessageSource, SourceItem} from '../../core/source/message-source.js'
import {P2PError} from '../../core/errors.js'
import {P2PErrorEvent} from '../../events/error-event.js'
import {applyBindings, collectBindings, fieldValue, hasText, summarize, templateHolder, type Binding} from '../shared/item-template.js'
import {styles} from './p2p-feed.styles.js'

const DEFAULT_LIMIT = 100

/** Within this many pixels of the bottom counts as "at the bottom" (zoom makes scroll positions fractional). */
const PINNED_SLACK = 4

/** Attributes the feed gives itself unless the page set them (see connectedCallback). */
const HOST_ATTRIBUTES = {'role': 'log', 'aria-live': 'polite', 'tabindex': '0'}

interface Row {
  node: Element
  bindings: Binding[]
  /** The default rendering's text, filled from the whole value. */
  summary: Element | null
}

/**
 * Renders one item, for apps that build rows in code: a new element, or a Lit
 * `html` result with one root element (Lit sets every `${…}` in text as text). It is
 * the app's code, handed the item as it came from the peer: it must put the item's data
 * in as text (Lit's `html`, `textContent`, `createTextNode`, or `data-field` bindings,
 * which the feed fills on the row by the template's rules), never through `innerHTML`
 * or `unsafeHTML`.
 */
export type FeedRenderer = (item: SourceItem) => Element | TemplateResult

/** What rows are made from: a template's root element to clone, or the app's renderer. */
type Layout = {root: Element} | {render: FeedRenderer} | null

type RendererCode = typeof import('./feed-renderer.js')

/**
 * Loads the code that makes rows through a `template` function, the first time a feed
 * is given one: a page that writes its rows as a `<template>` never needs it.
 * Replaceable by tests.
 */
export const loaders = {renderer: (): Promise<RendererCode> => import('./feed-renderer.js')}

/** That code, once loaded: every feed of the page uses it from then on without waiting. */
let rendererCode: RendererCode | undefined

/**
 * The items of the nearest message source (`<p2p-gossip>`, later `<p2p-log>`), newest
 * at the bottom, rendered through the app's own markup:
 *
 * ```html
 * <p2p-feed>
 *   <template>
 *     <p><b data-field="name"></b> <time data-field="time"></time> <span data-field="text"></span></p>
 *   </template>
 * </p2p-feed>
 * ```
 *
 * Each item is a clone of the template's one root element. `data-field="text"` sets
 * the item's `text` field as text (never HTML); `data-field="href:url"` sets an
 * attribute, and URL attributes take only absolute http:, https: and blob: URLs; `on…`
 * attributes are never set. The special fields `author` (the signer's short key),
 * `time` and `id` come from the item itself and cannot be forged by its value.
 * A clone of an item this peer published carries `data-local`.
 *
 * A `<template>` written in JSX (React) or in a Vue template works too: those
 * frameworks append its children to the element itself rather than to its `content`,
 * and the feed reads them there.
 *
 * From code, the `template` property takes an `HTMLTemplateElement` or a function
 * called for each item (again when a keyed item is replaced) that returns a new element
 * or a Lit `html` result with one root: `feed.template = item => html\`<p>${item.value.text}</p>\``.
 * The function receives the item as the peer sent it: it must set peer data as text
 * (Lit's `html` does; `textContent` too), or leave it to `data-field` bindings on the
 * row, which the feed fills by the rules above. No HTML is ever parsed from data.
 *
 * The clones are children of the feed, in the light DOM: the template is the app's
 * markup, so the app's stylesheet styles it as it styles the rest of its page
 * (`p2p-feed .me`, `p2p-feed [data-local]`), with no parts or custom properties to
 * learn. The feed's own shadow root only holds the slot and the empty state.
 *
 * The feed is its own scroll container: give it a height. While the reader is at the
 * bottom it follows new items; once they scroll up to read, it keeps their place.
 *
 * @summary A live list of messages, rendered through the app's `<template>`.
 *
 * @slot - A `<template>` with one root element, rendered once per item. Without one, each item shows its author, time and text.
 * @slot empty - Shown while there are no items (default: "No messages yet.").
 *
 * @event p2p-error - The template is unusable (`ERR_INVALID_ARGUMENT`): no root element (empty or text only; items show the default row), more than one root or text beside the root (only the first root is used), a `template` property that is neither a `<template>` nor a function, or a renderer that threw or returned neither a new element nor a Lit result with one root (that item shows the default row; reported once per template); `ERR_CONNECTION_FAILED` when the code behind a `template` function cannot load (items show the default row). `detail: {error}`.
 *
 * @csspart empty - The empty state.
 *
 * @cssproperty --p2p-font - Font of the feed.
 * @cssproperty --p2p-focus-color - Outline of the focused feed.
 */
export class P2PFeedElement extends LitElement {
  static override styles = styles
  static override properties = {
    limit: {type: Number},
    dataKey: {attribute: 'data-key'},
    template: {attribute: false},
    source: {attribute: false},
  }

  /** Most items shown; the oldest leave from the top. Not a number, or below 1: 100. */
  limit = DEFAULT_LIMIT

  /**
   * Field that identifies an item (also read from the template's root): an item with
   * the key of one already shown replaces it in place. Keys are scoped to the item's
   * author, so a peer can only replace its own items. Empty: every item is new.
   */
  dataKey = ''

  /**
   * The item template from code: a `<template>` element, or a function that renders an
   * item as a new element or a Lit `html` result with one root (it must set peer data as
   * text). Wins over a child `<template>`.
   */
  template: HTMLTemplateElement | FeedRenderer | undefined

  /** The nearest source (or set directly). */
  source: MessageSource | undefined

  constructor() {
    super()
    consumeContext(this, sourceContext, source => this.source = source)
  }

  #observed: MessageSource | undefined
  #unsubscribe: (() => void) | undefined
  #pending: SourceItem[] = []
  #stale = true
  #layout: Layout = null
  /** The current renderer failed once already: later failures are not reported again. */
  #renderFailed = false
  #keyField = ''
  /** The renderer's code being loaded for this feed; its items wait meanwhile. */
  #loading: Promise<void> | null = null
  /** Why that code could not load, reported by the next rebuild. */
  #loadFailure: unknown
  /** Shown items by key, in display order (a Map keeps insertion order). */
  readonly #rows = new Map<string, Row>()
  /** True while the reader is at the bottom: new items scroll into view. */
  #pinned = true
  /** Where visible items were before an update, to keep the reader's place. */
  #anchors: Array<{node: Element, top: number}> = []

  #onSourceItem = (item: SourceItem) => {
    this.#pending.push(item)
    this.requestUpdate()
  }

  #onScroll = () => {
    this.#pinned = this.scrollHeight - this.scrollTop - this.clientHeight <= PINNED_SLACK
  }

  // An image or video in an item grows it after it was added; a resized feed moves
  // its bottom. Either way a reader at the bottom stays there.
  #onGrow = () => {
    if (this.#pinned) this.#scrollToBottom()
  }

  readonly #resizeObserver = new ResizeObserver(this.#onGrow)

  // A template added or replaced after the first render (a parser still streaming the
  // page, or an app swapping its markup), or a change inside the template in use (a
  // framework re-rendering the children of its <template>), renders every item again.
  readonly #templateObserver = new MutationObserver(records => {
    const touched = records.some(r => r.target !== this ||
      [...r.addedNodes, ...r.removedNodes].some(n => n instanceof HTMLTemplateElement))
    if (!touched) return
    this.#stale = true
    this.requestUpdate()
  })

  override connectedCallback(): void {
    super.connectedCallback()
    // A chat feed is a log: screen readers announce what is added, politely. The
    // page's own attributes win. Focusable, so the keyboard can scroll it.
    for (const [name, value] of Object.entries(HOST_ATTRIBUTES)) {
      if (!this.hasAttribute(name)) this.setAttribute(name, value)
    }
    this.addEventListener('scroll', this.#onScroll, {passive: true})
    // `load` does not bubble: listen in the capture phase to hear items' images.
    this.addEventListener('load', this.#onGrow, {capture: true})
    this.#resizeObserver.observe(this)
    this.#templateObserver.observe(this, {childList: true})
    // Moved in the DOM: the subscription was dropped on removal, and the template is
    // watched again, when the items render anew.
    if (this.hasUpdated) {
      this.#stale = true
      this.requestUpdate()
    }
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback()
    this.removeEventListener('scroll', this.#onScroll)
    this.removeEventListener('load', this.#onGrow, {capture: true})
    this.#resizeObserver.disconnect()
    this.#templateObserver.disconnect()
    this.#observe(undefined)
  }

  /** How many items are shown. */
  get size(): number {
    return this.#rows.size
  }

  protected override willUpdate(changed: PropertyValues<this>): void {
    this.#observe(this.isConnected ? this.source : undefined)
    if (changed.has('limit') || changed.has('dataKey') || changed.has('template')) this.#stale = true
    this.#anchors = this.#pinned ? [] : this.#visibleRows()
    // Until the renderer's code is in, nothing is rendered: items wait in the source's
    // history, which the rebuild then renders in order, none by the default row.
    if (this.#stale && typeof this.template === 'function' && !rendererCode && this.#loadFailure === undefined) this.#loadRenderer()
    else if (this.#stale) this.#rebuild()
    else this.#add(this.#pending.splice(0))
  }

  // updateComplete covers the wait for the renderer's code and the update after it,
  // so a caller that awaits it sees the rows the template function made.
  protected override async getUpdateComplete(): Promise<boolean> {
    let complete = await super.getUpdateComplete()
    while (this.#loading) {
      await this.#loading
      complete = await super.getUpdateComplete()
    }
    return complete
  }

  protected override render() {
    return html`
      <div part="empty" ?hidden=${this.#rows.size > 0}><slot name="empty">No messages yet.</slot></div>
      <slot></slot>
    `
  }

  protected override updated(): void {
    if (this.#pinned) {
      this.#scrollToBottom()
      return
    }
    // Items above the reader's place were added or trimmed: shift by as much as the
    // first visible item that is still there moved, so the text they read stays put.
    const anchor = this.#anchors.find(a => a.node.isConnected)
    this.#anchors = []
    if (anchor) this.scrollTop += anchor.node.getBoundingClientRect().top - anchor.top
  }

  #observe(source: MessageSource | undefined): void {
    if (source === this.#observed) return
    this.#unsubscribe?.()
    this.#unsubscribe = undefined
    this.#observed = source
    this.#pending = []
    this.#stale = true
    if (source) this.#unsubscribe = source.subscribe(this.#onSourceItem)
  }

  #loadRenderer(): void {
    this.#loading ??= loaders.renderer().then(code => { rendererCode = code }, err => { this.#loadFailure = err })
      .finally(() => {
        this.#loading = null
        this.requestUpdate()
      })
  }

  #rebuild(): void {
    this.#stale = false
    this.#pending = []
    for (const row of this.#rows.values()) row.node.remove()
    this.#rows.clear()
    this.#layout = this.#readLayout()
    this.#renderFailed = false
    const root = this.#layout && 'root' in this.#layout ? this.#layout.root : null
    this.#keyField = this.dataKey || root?.getAttribute('data-key') || ''
    // Reduce first, so a long history costs one node per shown item, not per item.
    const latest = new Map<string, SourceItem>()
    for (const item of this.#observed?.items ?? []) latest.set(this.#keyOf(item), item)
    const shown = [...latest].slice(-this.#max)
    for (const [key, item] of shown) this.#render(key, item)
  }

  #add(items: SourceItem[]): void {
    for (const item of items) this.#render(this.#keyOf(item), item)
    for (const [key, row] of this.#rows) {
      if (this.#rows.size <= this.#max) break
      row.node.remove()
      this.#rows.delete(key)
    }
  }

  /** Patches the row of `key` in place, or appends a new one at the bottom. */
  #render(key: string, item: SourceItem): void {
    let row = this.#rows.get(key)
    // A renderer's element is made for one item's data: a replaced item needs a new one.
    if (!row || (this.#layout && 'render' in this.#layout)) {
      const old = row?.node
      row = this.#makeRow(item)
      if (old) old.replaceWith(row.node)
      else this.append(row.node)
      // A key already shown keeps its place in the Map's order.
      this.#rows.set(key, row)
    }
    applyBindings(row.bindings, item)
    row.node.toggleAttribute('data-local', item.local)
    if (row.summary) row.summary.textContent = summarize(item.value)
  }

  #makeRow(item: SourceItem): Row {
    const layout = this.#layout
    if (!layout) return defaultRow()
    // importNode, not cloneNode: the clone joins this document, so custom elements in
    // the template upgrade.
    if ('root' in layout) return rowOf(document.importNode(layout.root, true))
    const made = rendererCode!.renderItem(layout.render, item)
    if (made instanceof Element) return rowOf(made)
    if (!this.#renderFailed) {
      this.#renderFailed = true
      this.#report(made)
    }
    return defaultRow()
  }

  #report(error: P2PError): void {
    this.dispatchEvent(new P2PErrorEvent(error))
  }

  get #max(): number {
    return this.limit >= 1 ? Math.floor(this.limit) : DEFAULT_LIMIT
  }

  #keyOf(item: SourceItem): string {
    if (this.#keyField) {
      const key = fieldValue(item, this.#keyField)
      if (typeof key === 'string' || typeof key === 'number') return `key:${item.author ?? ''}:${key}`
    }
    return `id:${item.id}`
  }

  #readLayout(): Layout {
    // Only the feed itself is watched until a template is found: a template from the
    // property or a child is then watched too, and the previous one no longer is.
    this.#templateObserver.disconnect()
    if (this.isConnected) this.#templateObserver.observe(this, {childList: true})
    const template = this.template ??
      [...this.children].find((c): c is HTMLTemplateElement => c instanceof HTMLTemplateElement)
    if (!template) return null
    if (typeof template === 'function') {
      if (rendererCode) return {render: template}
      this.#report(P2PError.CONNECTION_FAILED('cannot load the code of a <p2p-feed> template function; items show the default row', this.#loadFailure))
      // A later change of template tries the load again.
      this.#loadFailure = undefined
      return null
    }
    if (!(template instanceof HTMLTemplateElement)) {
      this.#report(P2PError.INVALID_ARGUMENT('a <p2p-feed> template property takes a <template> element or a function'))
      return null
    }
    const holder = templateHolder(template, this.isConnected ? this.#templateObserver : undefined)
    const roots = holder.children
    const text = hasText(holder)
    if (roots.length === 0) {
      this.#report(P2PError.INVALID_ARGUMENT(
        `a <p2p-feed> template needs one root element; it has ${text ? 'only text' : 'none'}, items show the default row`))
      return null
    }
    if (roots.length > 1) {
      this.#report(P2PError.INVALID_ARGUMENT(
        `a <p2p-feed> template has one root element; it has ${roots.length}, only the first is used`))
    } else if (text) {
      this.#report(P2PError.INVALID_ARGUMENT('a <p2p-feed> template has text beside its root element; only the root is used'))
    }
    return {root: roots[0]}
  }

  #visibleRows(): Array<{node: Element, top: number}> {
    const view = this.getBoundingClientRect()
    const visible = []
    for (const {node} of this.#rows.values()) {
      const rect = node.getBoundingClientRect()
      if (rect.bottom > view.top && rect.top < view.bottom) visible.push({node, top: rect.top})
    }
    return visible
  }

  #scrollToBottom(): void {
    this.scrollTop = this.scrollHeight
  }
}

function rowOf(node: Element): Row {
  return {node, bindings: collectBindings(node), summary: null}
}

/** Author, time and a short text of the value: what a feed without a template shows. */
function defaultRow(): Row {
  const node = document.createElement('p')
  node.className = 'p2p-feed-item'
  const author = document.createElement('b')
  author.dataset.field = 'author'
  const time = document.createElement('time')
  time.dataset.field = 'time'
  const summary = document.createElement('span')
  node.append(author, ' ', time, ' ', summary)
  return {node, bindings: collectBindings(node), summary}
}

declare global {
  interface HTMLElementTagNameMap {
    'p2p-feed': P2PFeedElement
  }
}
