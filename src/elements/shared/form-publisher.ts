import type {ReactiveController, ReactiveControllerHost} from 'lit'
import type {MessageSource} from '../../core/source/message-source.js'
import {P2PError, toP2PError} from '../../core/errors.js'
import {P2PErrorEvent} from '../../events/error-event.js'

export interface FormPublisherOptions {
  /** The source to publish to, read at each submission: it is replaced when the swarm or topic changes. */
  source: () => MessageSource | undefined
}

/** A field's value as published: a string, or an array when several fields share a name. */
export type FormValue = Record<string, string | string[]>

/**
 * Turns form data into the JSON object a source publishes, or `null` when there is
 * nothing to send (every field blank). Several values under one name become an array,
 * in document order. Files are left out: a message is small JSON that every peer
 * forwards, not a transport for attachments (files get their own protocol).
 */
export function formDataToValue(data: FormData): FormValue | null {
  const value: FormValue = Object.create(null)
  let blank = true
  for (const [name, entry] of data) {
    if (typeof entry !== 'string') continue
    if (entry.trim() !== '') blank = false
    const previous = value[name]
    if (previous === undefined) value[name] = entry
    else if (Array.isArray(previous)) previous.push(entry)
    else value[name] = [previous, entry]
  }
  // A plain object again, so the value serialises and compares like any JSON.
  return blank ? null : {...value}
}

/**
 * Lets a plain `<form>` anywhere inside a source element publish with no script:
 * on submit it prevents navigation, publishes the form's data as a JSON object,
 * and resets the form once the message is on its way.
 *
 * It listens on the host, so it sees every form in the host's light DOM, added
 * before or after it connected. A form is left alone when
 * - an inner source element or the app's own listener already called
 *   `preventDefault()` (the nearest source wins, and apps can take over),
 * - it has an `action` (it was meant to go to that address) or `method="dialog"`.
 *
 * Fields marked `data-keep` (a display name, a channel picker) keep their value
 * across the reset. Validation stays the browser's: a `required` field that is
 * empty stops the submission before this sees it.
 */
export class FormPublisher implements ReactiveController {
  readonly #host: ReactiveControllerHost & HTMLElement
  readonly #options: FormPublisherOptions
  // Forms whose message is still being signed and sent: a second Enter in that
  // moment would publish the same text twice.
  readonly #pending = new WeakSet<HTMLFormElement>()

  constructor(host: ReactiveControllerHost & HTMLElement, options: FormPublisherOptions) {
    this.#host = host
    this.#options = options
    host.addController(this)
  }

  hostConnected(): void {
    this.#host.addEventListener('submit', this.#onSubmit)
  }

  hostDisconnected(): void {
    this.#host.removeEventListener('submit', this.#onSubmit)
  }

  #onSubmit = (event: SubmitEvent): void => {
    const form = event.target
    if (event.defaultPrevented || !(form instanceof HTMLFormElement)) return
    if (form.hasAttribute('action') || form.method === 'dialog') return
    event.preventDefault()
    if (this.#pending.has(form)) return
    const value = formDataToValue(new FormData(form, event.submitter))
    if (!value) return
    const source = this.#options.source()
    if (!source) {
      // The text stays in the form, so nothing typed is lost while the room starts.
      this.#host.dispatchEvent(new P2PErrorEvent(
        P2PError.DESTROYED('nothing to publish to: the source element has no swarm or topic yet')))
      return
    }
    this.#pending.add(form)
    const submitterHadFocus = event.submitter !== null && event.submitter === document.activeElement
    source.publish(value).then(
      () => {
        this.#pending.delete(form)
        resetKeeping(form)
        // After a click on "send", typing goes on where the message was written.
        if (submitterHadFocus) firstClearedField(form)?.focus()
      },
      err => {
        this.#pending.delete(form)
        // The form keeps its text, so the user can send it again.
        this.#host.dispatchEvent(new P2PErrorEvent(toP2PError(err)))
      },
    )
  }
}

type Control = HTMLInputElement | HTMLTextAreaElement | HTMLSelectElement

function controls(form: HTMLFormElement): Control[] {
  return [...form.elements].filter((el): el is Control =>
    el instanceof HTMLInputElement || el instanceof HTMLTextAreaElement || el instanceof HTMLSelectElement)
}

/** `form.reset()`, except that fields marked `data-keep` keep what the user entered. */
function resetKeeping(form: HTMLFormElement): void {
  const kept = controls(form)
    .filter(el => el.hasAttribute('data-keep'))
    .map(el => ({el, value: el.value, checked: el instanceof HTMLInputElement ? el.checked : false}))
  form.reset()
  for (const {el, value, checked} of kept) {
    if (el instanceof HTMLInputElement && (el.type === 'checkbox' || el.type === 'radio')) el.checked = checked
    else el.value = value
  }
}

function firstClearedField(form: HTMLFormElement): Control | undefined {
  return controls(form).find(el => !el.hasAttribute('data-keep') && !el.disabled &&
    !(el instanceof HTMLInputElement && ['hidden', 'submit', 'button', 'reset', 'image'].includes(el.type)))
}
