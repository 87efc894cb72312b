/**
 * <p2p-kv>'s table. Loaded by import() the first time an element shows it: a page whose
 * <p2p-kv> holds the app's own markup (<p2p-kv-value> fields, say) never fetches it.
 * Every key and value goes in through Lit's bindings, so as text.
 */
import {css, html, nothing, type TemplateResult} from 'lit'
import type {KvValue} from '../../core/kv/kv.js'
import {shortId} from '../../core/debug.js'

/** What the table shows and writes through: the element's state and its writes (which report their failures). */
export interface TableHost {
  /** Keys in order, each with its heads. */
  readonly rows: Iterable<[string, KvValue[]]>
  readonly writable: boolean
  put(key: string, value: unknown): Promise<unknown>
  del(key: string): Promise<unknown>
}

/** A value as the table shows and edits it: JSON text. */
export function toJsonText(value: unknown): string {
  return JSON.stringify(value) ?? ''
}

/** What a user typed: JSON if it parses, else the text itself as a string. */
export function fromJsonText(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return text
  }
}

const timeFormat = new Intl.DateTimeFormat(undefined, {dateStyle: 'short', timeStyle: 'short'})
const ignore = () => undefined

/** The table's rules: the element adopts them beside its own once this code is in. */
export const styles = css`
  table { border-collapse: collapse; width: 100%; }
  th, td { text-align: start; vertical-align: top; padding: 0.25em 0.5em; border-bottom: 1px solid color-mix(in srgb, currentColor 15%, transparent); }
  [part~='conflicted'] { background: var(--p2p-conflict-color, color-mix(in srgb, orange 18%, transparent)); }
  [part='value'] { display: flex; gap: 0.5em; align-items: baseline; flex-wrap: wrap; }
  [part='value'] code { overflow-wrap: anywhere; }
  [part='meta'] { opacity: 0.65; }
  [part='edit'] { display: inline; }
  [part='add'] { display: flex; gap: 0.5em; margin-top: 0.5em; }
  [part='readonly'] { opacity: 0.7; font-style: italic; margin: 0 0 0.5em; }
  .hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip-path: inset(50%); }
`

export function renderTable(host: TableHost): TemplateResult {
  const {writable} = host
  const rows = [...host.rows].filter(([, values]) => values.some(v => !v.deleted))
  const add = (event: SubmitEvent) => {
    event.preventDefault()
    const form = event.target as HTMLFormElement
    const field = (name: string) => (form.elements.namedItem(name) as HTMLInputElement).value
    host.put(field('key'), fromJsonText(field('value'))).then(() => form.reset(), ignore)
  }
  return html`
    ${writable ? nothing : html`<p part="readonly">Read-only: this page is not a writer of this log.</p>`}
    <table part="table">
      <thead><tr><th scope="col">Key</th><th scope="col">Value</th>${writable ? html`<th scope="col"><span class="hidden">Edit</span></th>` : nothing}</tr></thead>
      <tbody>${rows.map(([key, values]) => row(host, key, values))}</tbody>
    </table>
    ${writable ? html`<form part="add" @submit=${add}>
      <input name="key" required maxlength="1000" placeholder="key" aria-label="New key">
      <input name="value" placeholder="value (JSON or text)" aria-label="Its value">
      <button>Add</button>
    </form>` : nothing}
  `
}

function row(host: TableHost, key: string, values: KvValue[]): TemplateResult {
  const {writable} = host
  const conflicted = values.length > 1
  const single = values.length === 1 && !values[0].deleted ? toJsonText(values[0].value) : ''
  // A tombstone kept is a deletion naming every head; any other value kept is a put of it.
  const keep = (v: KvValue) => (v.deleted ? host.del(key) : host.put(key, v.value)).catch(ignore)
  const edit = (event: SubmitEvent) => {
    event.preventDefault()
    const input = (event.target as HTMLFormElement).elements.namedItem('value') as HTMLInputElement
    host.put(key, fromJsonText(input.value)).catch(ignore)
  }
  return html`<tr part=${conflicted ? 'row conflicted' : 'row'} data-key=${key}>
    <th scope="row" part="key">${key}</th>
    <td>${values.map(v => html`<div part="value">
      <code>${v.deleted ? '(deleted)' : toJsonText(v.value)}</code>
      <small part="meta">${shortId(v.author)} · ${timeFormat.format(new Date(v.time))}</small>
      ${conflicted && writable ? html`<button part="keep" data-hash=${v.hash} aria-label=${`Keep ${v.deleted ? 'the deletion' : toJsonText(v.value)} for ${key}`} @click=${() => keep(v)}>Keep</button>` : nothing}
    </div>`)}</td>
    ${writable ? html`<td>
      <form part="edit" @submit=${edit}>
        <input name="value" .value=${single} aria-label=${`New value of ${key}`}> <button>Save</button>
      </form>
      <button part="delete" aria-label=${`Delete ${key}`} @click=${() => host.del(key).catch(ignore)}>Delete</button>
    </td>` : nothing}
  </tr>`
}
