import {LitElement, adoptStyles, html, css, nothing, type PropertyValues} from 'lit'
import {ContextProvider} from '@lit/context'
import {consumeContext} from '../../context/consume.js'
import {logContext} from '../../context/log-context.js'
import {kvContext} from '../../context/kv-context.js'
import type {Log} from '../../core/log/log.js'
import type {Entry} from '../../core/log/entry.js'
import {KV, type KvChange, type KvValue} from '../../core/kv/kv.js'
import {compareCodePoints, type ViewSubscription} from '../../core/views/view.js'
import {P2PError, toP2PError} from '../../core/errors.js'
import {KvChangeEvent} from '../../events/kv-events.js'
import {P2PErrorEvent} from '../../events/error-event.js'
import {holdView, type Held} from '../p2p-view/held-view.js'
import type {TableHost} from './kv-table.js'

/** What one opening holds; released together. */
interface Opened {
  held: Held<KV>
  offs: Array<() => void>
  /** The table's live query over every key, while the element shows the table. */
  table: ViewSubscription | undefined
}

type TableCode = typeof import('./kv-table.js')

/**
 * Loads the table's code the first time an element shows its table: a page whose
 * `<p2p-kv>` holds the app's markup never needs it. Replaceable by tests.
 */
export const loaders = {table: (): Promise<TableCode> => import('./kv-table.js')}

/** That code, once loaded: every element of the page uses it from then on without waiting. */
let tableCode: TableCode | undefined

/**
 * The multi-value key/value store (docs/kv.md) of the nearest `<p2p-log>`'s log:
 * concurrent writes to a key are kept side by side as siblings, never one dropped.
 * Provides the KV by context (`kvContext`) to `<p2p-kv-value>` elements and scripts
 * inside, and fires `p2p-kv-change` as keys change, here or from a peer.
 *
 * With no element children it shows an editable table: a row per key, its values
 * side by side when there are siblings (each with its author's short key and its
 * claimed time), a Keep button per sibling (a put of that value, linking every head:
 * the conflict is resolved), an edit field (JSON; text that is not JSON is stored as
 * a string), Delete, and a form to add a key. Read-only, and saying why, when this page
 * may not write the log.
 *
 * @summary A key/value store on a log that shows concurrent edits instead of losing one.
 *
 * @slot - The app: `<p2p-kv-value>` elements, any markup. Without children the element shows its table.
 *
 * @event p2p-kv-change - Keys changed (written here, received, or folded as the KV caught up with the log). `detail: {kv, changes}`, each change `{key, values, old}`.
 * @event p2p-error - The KV's view failed, a malformed KV entry was skipped (`ERR_MALFORMED_MESSAGE`), another view named `kv` is open on the log, or a write failed (`ERR_NOT_A_WRITER`, storage). `detail: {error}`.
 *
 * @csspart table - The table.
 * @csspart row - A key's row; `row conflicted` while it has siblings.
 * @csspart key - The key cell.
 * @csspart value - One value of a key (one per sibling).
 * @csspart meta - A value's author and time.
 * @csspart keep - The button that keeps one sibling.
 * @csspart edit - The form that writes a new value for a key.
 * @csspart delete - The button that deletes a key.
 * @csspart add - The form that adds a key.
 * @csspart readonly - Why the table cannot be edited.
 *
 * @cssproperty --p2p-font - Font of the table.
 * @cssproperty --p2p-conflict-color - Background of a conflicted row.
 */
export class P2PKVElement extends LitElement {
  static override styles = css`
    :host { display: block; font: var(--p2p-font, inherit); }
    :host([hidden]) { display: none; }
  `
  static override properties = {
    log: {attribute: false},
    conflicted: {type: Boolean, reflect: true},
  }

  /** The log of the nearest `<p2p-log>` (or set directly). */
  log: Log | undefined

  /** Some key has siblings (concurrent values). Set by the element (a CSS hook). */
  conflicted = false

  readonly #provider = new ContextProvider(this, {context: kvContext})
  #opened: Opened | undefined
  #openedLog: Log | undefined
  /** Keys with siblings. */
  readonly #conflicts = new Set<string>()
  /** The table's keys in order, and each key's heads. */
  #rows = new Map<string, KvValue[]>()
  #table = true
  #writable = false
  /** The table's code being loaded for this element; it shows the table once it is in. */
  #loading: Promise<void> | undefined
  /** The code could not load (reported): the element shows no table. */
  #loadFailed = false
  /** The table's styles are adopted in the shadow root. */
  #styled = false
  /** The element as the table sees it. */
  readonly #tableHost: TableHost = this.#makeTableHost()

  readonly #childObserver = new MutationObserver(() => this.requestUpdate())

  constructor() {
    super()
    consumeContext(this, logContext, log => this.log = log)
  }

  /** The KV of the log; undefined until the log is open. */
  get kv(): KV | undefined {
    return this.#opened?.held.value
  }

  override connectedCallback(): void {
    super.connectedCallback()
    this.#childObserver.observe(this, {childList: true})
    // Moved in the DOM: everything was released on removal and starts again here.
    if (this.hasUpdated) this.requestUpdate()
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback()
    this.#childObserver.disconnect()
    this.#use(undefined)
  }

  protected override willUpdate(_changed: PropertyValues<this>): void {
    const log = this.isConnected ? this.log : undefined
    if (log !== this.#openedLog) this.#use(log)
    this.#writable = log?.writable ?? false
    const table = this.childElementCount === 0
    if (table !== this.#table || (table && this.#opened && !this.#opened.table)) {
      this.#table = table
      this.#follow()
    }
  }

  protected override render() {
    if (!this.#table) return html`<slot></slot>`
    if (!this.kv) return nothing
    if (!tableCode) {
      this.#loadTable()
      return nothing
    }
    if (!this.#styled) {
      this.#styled = true
      adoptStyles(this.renderRoot as ShadowRoot, [...P2PKVElement.elementStyles, tableCode.styles])
    }
    return tableCode.renderTable(this.#tableHost)
  }

  // updateComplete covers the wait for the table's code and the render after it.
  protected override async getUpdateComplete(): Promise<boolean> {
    let complete = await super.getUpdateComplete()
    while (this.#loading) {
      await this.#loading
      complete = await super.getUpdateComplete()
    }
    return complete
  }

  #makeTableHost(): TableHost {
    const element = this
    return {
      get rows() { return element.#rows },
      get writable() { return element.#writable },
      put: (key, value) => this.#write(kv => kv.put(key, value)),
      del: key => this.#write(kv => kv.del(key)),
    }
  }

  #loadTable(): void {
    if (this.#loading || this.#loadFailed) return
    this.#loading = loaders.table().then(code => { tableCode = code }, err => {
      this.#loadFailed = true
      this.#report(P2PError.CONNECTION_FAILED('cannot load the code of the <p2p-kv> table', err))
    }).finally(() => {
      this.#loading = undefined
      this.requestUpdate()
    })
  }

  /** Runs a write on the KV; a failure is a p2p-error (and rejects, for the caller to keep the form). */
  #write(write: (kv: KV) => Promise<Entry>): Promise<Entry> {
    const kv = this.kv
    const done = kv ? new Promise<Entry>(resolve => resolve(write(kv))) : Promise.reject(P2PError.DESTROYED('the KV is closed: its log is not open'))
    done.catch(err => this.#report(toP2PError(err, 'ERR_INVALID_ARGUMENT')))
    return done
  }

  #use(log: Log | undefined): void {
    this.#release()
    this.#openedLog = log
    if (!log) return
    let held: Held<KV>
    try {
      held = holdView(log, 'kv', KV, () => new KV(log))
    } catch (err) {
      this.#report(toP2PError(err, 'ERR_INVALID_ARGUMENT'))
      return
    }
    const kv = held.value
    /** Changes that came while the conflicts were read: applied after them, being newer. */
    let early: KvChange[] | undefined = []
    const onChange = (changes: KvChange[]) => {
      if (early) early.push(...changes)
      else this.#noteConflicts(changes)
      this.dispatchEvent(new KvChangeEvent({kv, changes}))
    }
    const onSkip = (_entry: Entry, err: P2PError) => this.#report(err)
    const onError = (err: P2PError) => this.#report(err)
    // Admitted as a writer (or frozen) by an entry: the table becomes editable (or not).
    const onUpdate = () => {
      if (log.writable !== this.#writable) this.requestUpdate()
    }
    kv.on('change', onChange)
    kv.on('skip', onSkip)
    kv.on('error', onError)
    log.on('update', onUpdate)
    const opened: Opened = {held, table: undefined, offs: [
      () => kv.off('change', onChange), () => kv.off('skip', onSkip), () => kv.off('error', onError), () => log.off('update', onUpdate),
    ]}
    this.#opened = opened
    kv.conflicts().then(keys => {
      if (this.#opened !== opened) return
      for (const key of keys) this.#conflicts.add(key)
      const later = early!
      early = undefined
      this.#noteConflicts(later)
    }, err => this.#report(toP2PError(err)))
    this.#provider.setValue(kv)
  }

  /** Starts or stops the table's live query, as the element shows the table or the app's children. */
  #follow(): void {
    const opened = this.#opened
    if (!opened) return
    opened.table?.close()
    opened.table = undefined
    this.#rows = new Map()
    if (!this.#table) return
    const table = opened.held.value.subscribe({}, changes => {
      if (this.#opened?.table !== table) return
      for (const {key, values} of changes) {
        if (values.length > 0) this.#rows.set(key, values)
        else this.#rows.delete(key)
      }
      // Keys come in order at first; a key added later goes to its place.
      this.#rows = new Map([...this.#rows].sort(([a], [b]) => compareCodePoints(a, b)))
      this.requestUpdate()
    })
    opened.table = table
    table.ready.catch(err => this.#report(toP2PError(err)))
  }

  #noteConflicts(changes: KvChange[]): void {
    for (const {key, values} of changes) {
      if (values.length > 1) this.#conflicts.add(key)
      else this.#conflicts.delete(key)
    }
    this.conflicted = this.#conflicts.size > 0
  }

  #release(): void {
    const opened = this.#opened
    this.#opened = undefined
    this.#openedLog = undefined
    this.#conflicts.clear()
    this.#rows = new Map()
    this.conflicted = false
    this.#provider.setValue(undefined)
    if (!opened) return
    opened.table?.close()
    for (const off of opened.offs) off()
    opened.held.release()
  }

  #report(error: P2PError): void {
    this.dispatchEvent(new P2PErrorEvent(error))
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'p2p-kv': P2PKVElement
  }
}
