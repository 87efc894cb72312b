import {LitElement, html, css, nothing, type PropertyValues} from 'lit'
import {consumeContext} from '../../context/consume.js'
import {kvContext} from '../../context/kv-context.js'
import type {KV, KvValue} from '../../core/kv/kv.js'
import type {Entry} from '../../core/log/entry.js'
import type {ViewSubscription} from '../../core/views/view.js'
import {P2PError, toP2PError} from '../../core/errors.js'
import {P2PErrorEvent} from '../../events/error-event.js'

type Control = HTMLInputElement | HTMLTextAreaElement | HTMLSelectElement

/** A value as text: strings as they are, anything else as JSON. */
function asText(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value) ?? ''
}

/**
 * One key of the nearest `<p2p-kv>`'s KV. On its own it shows the key's value as text
 * (each sibling when writers disagree). Around an `<input>`, `<textarea>` or `<select>`
 * it binds the control: the control shows the value, and a change of it (the `change`
 * event) is written back, linking every current value, so it resolves a conflict too.
 * A checkbox holds `true`/`false`, a number or range input a number, a multiple select
 * a list of strings, any other control a string.
 *
 * While the key has siblings (concurrent values), the element has `conflicted` and shows
 * a picker in the `conflict` slot: by default one button per sibling; choosing one writes
 * it. An app's own picker goes in that slot and calls `pick(value)` with the choice.
 * While nothing can be written (no KV yet, or this page is not a writer of its log) the
 * element has `readonly` and disables the control and the picker.
 *
 * ```html
 * <p2p-kv>
 *   <label>Title <p2p-kv-value key="title"><input></p2p-kv-value></label>
 * </p2p-kv>
 * ```
 *
 * @summary One key of a `<p2p-kv>`, shown as text or bound to a form control, with a conflict picker.
 *
 * @slot - An `<input>`, `<textarea>` or `<select>` to bind (optional).
 * @slot conflict - Shown while the key has siblings: a picker. Default: a button per sibling value.
 *
 * @event p2p-error - A write failed (`ERR_NOT_A_WRITER`, storage) or the key is not a KV key (`ERR_INVALID_ARGUMENT`). `detail: {error}`.
 *
 * @csspart value - One value, as text (when no control is bound; one per sibling).
 * @csspart conflict - Around the `conflict` slot, shown while the key has siblings.
 * @csspart pick - A button of the default picker.
 */
export class P2PKvValueElement extends LitElement {
  static override styles = css`
    :host { display: inline; }
    :host([hidden]) { display: none; }
    [part='conflict'][hidden] { display: none; }
    [part='value'] + [part='value']::before { content: ' | '; opacity: 0.6; }
  `
  static override properties = {
    key: {},
    kv: {attribute: false},
    conflicted: {type: Boolean, reflect: true},
    readOnly: {type: Boolean, attribute: 'readonly', reflect: true},
    values: {attribute: false},
  }

  /** The key to bind. */
  key = ''

  /** The KV of the nearest `<p2p-kv>` (or set directly). */
  kv: KV | undefined

  /** The key has siblings. Set by the element (a CSS hook). */
  conflicted = false

  /**
   * Nothing can be written here: no KV yet (its log still opening), or this
   * page is not a writer of its log. Set by the element (a CSS hook); the bound
   * control is disabled meanwhile, and the picker's buttons too.
   */
  readOnly = true

  /** The key's current heads, sorted by hash: values and tombstones (`deleted`), with author, time and hash. */
  values: KvValue[] = []

  #subscription: ViewSubscription | undefined
  #followed: {kv: KV, key: string} | undefined
  #unfollowLog: (() => void) | undefined
  /** The bound control, while the element keeps it disabled (an app's own `disabled` is left alone). */
  #disabled: Control | undefined
  /** Writes from the control not yet folded: the control keeps what the user wrote until they are. */
  #writing = 0

  constructor() {
    super()
    consumeContext(this, kvContext, kv => this.kv = kv)
    this.addEventListener('change', event => {
      const control = this.#control()
      if (!control || event.target !== control) return
      this.#writing++
      this.pick(valueOf(control)).catch(() => undefined).finally(() => {
        this.#writing--
        this.#showInControl()
      })
    })
    // What a peer wrote while the control had focus shows once the user leaves it.
    this.addEventListener('focusout', () => this.#showInControl())
  }

  /** Writes `value` under the key, linking every current value: the key has that one value after. */
  pick(value: unknown): Promise<Entry> {
    return this.#write(kv => kv.put(this.key, value))
  }

  /** Runs a write (a bad key throws at once: it rejects here too); a failure is a p2p-error. */
  #write(write: (kv: KV) => Promise<Entry>): Promise<Entry> {
    const kv = this.kv
    const done = kv ? new Promise<Entry>(resolve => resolve(write(kv))) : Promise.reject(P2PError.DESTROYED('no KV: the element is not inside an open <p2p-kv>'))
    done.catch(err => this.dispatchEvent(new P2PErrorEvent(toP2PError(err, 'ERR_INVALID_ARGUMENT'))))
    return done
  }

  override connectedCallback(): void {
    super.connectedCallback()
    if (this.hasUpdated) this.requestUpdate()
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback()
    this.#follow(undefined)
  }

  protected override willUpdate(changed: PropertyValues<this>): void {
    const kv = this.isConnected ? this.kv : undefined
    if (kv !== this.#followed?.kv || this.key !== this.#followed?.key) this.#follow(kv)
    this.conflicted = this.values.length > 1
    this.readOnly = !this.#followed || !this.#followed.kv.log.writable
    this.#disableControl()
    if (changed.has('values')) this.#showInControl()
  }

  protected override render() {
    const live = this.values.filter(v => !v.deleted)
    return html`
      ${this.#control() ? nothing : live.map(v => html`<span part="value">${asText(v.value)}</span>`)}
      <slot @slotchange=${() => this.requestUpdate()}></slot>
      <span part="conflict" ?hidden=${!this.conflicted}><slot name="conflict">${this.values.map(v => html`
        <button part="pick" data-hash=${v.hash} ?disabled=${this.readOnly} @click=${() => v.deleted ? this.#delete() : this.pick(v.value).catch(() => undefined)}>${v.deleted ? '(deleted)' : asText(v.value)}</button>`)}
      </slot></span>
    `
  }

  #delete(): void {
    this.#write(kv => kv.del(this.key)).catch(() => undefined)
  }

  /** Disables the bound control while nothing can be written (the user's edit would be lost), enables it after. */
  #disableControl(): void {
    const control = this.#control()
    if (this.#disabled && (this.#disabled !== control || !this.readOnly)) {
      this.#disabled.disabled = false
      this.#disabled = undefined
    }
    if (control && this.readOnly && !control.disabled) {
      control.disabled = true
      this.#disabled = control
    }
  }

  #follow(kv: KV | undefined): void {
    this.#subscription?.close()
    this.#subscription = undefined
    this.#unfollowLog?.()
    this.#unfollowLog = undefined
    this.#followed = kv ? {kv, key: this.key} : undefined
    this.values = []
    if (!kv) return
    // Admitted as a writer (or frozen) by an entry: the control is enabled (or not).
    const {log} = kv
    const onUpdate = (): void => {
      if (log.writable === this.readOnly) this.requestUpdate()
    }
    log.on('update', onUpdate)
    this.#unfollowLog = () => log.off('update', onUpdate)
    if (!this.key) return
    const key = this.key
    let subscription: ViewSubscription
    try {
      subscription = kv.subscribe({gte: key, lte: key}, changes => {
        if (this.#subscription !== subscription) return
        for (const change of changes) if (change.key === key) this.values = change.values
      })
    } catch (err) {
      this.dispatchEvent(new P2PErrorEvent(toP2PError(err, 'ERR_INVALID_ARGUMENT')))
      return
    }
    this.#subscription = subscription
    subscription.ready.catch(err => this.dispatchEvent(new P2PErrorEvent(toP2PError(err))))
  }

  #control(): Control | null {
    return this.querySelector('input, textarea, select')
  }

  /** The first live value into the control, unless the user is editing it or their edit is being written. */
  #showInControl(): void {
    const control = this.#control()
    if (!control || control.matches(':focus') || this.#writing > 0) return
    const value = this.values.find(v => !v.deleted)?.value
    if (control instanceof HTMLInputElement && control.type === 'checkbox') {
      control.checked = value === true
    } else if (control instanceof HTMLSelectElement && control.multiple) {
      const chosen = new Set(Array.isArray(value) ? value.map(asText) : [])
      for (const option of control.options) option.selected = chosen.has(option.value)
    } else {
      control.value = value === undefined ? '' : asText(value)
    }
  }
}

/** What a control holds, as the value to write. */
function valueOf(control: Control): unknown {
  if (control instanceof HTMLInputElement) {
    if (control.type === 'checkbox') return control.checked
    if ((control.type === 'number' || control.type === 'range') && control.value !== '') return control.valueAsNumber
  }
  if (control instanceof HTMLSelectElement && control.multiple) return [...control.selectedOptions].map(option => option.value)
  return control.value
}

declare global {
  interface HTMLElementTagNameMap {
    'p2p-kv-value': P2PKvValueElement
  }
}
