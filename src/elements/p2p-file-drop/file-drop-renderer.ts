/**
 * <p2p-file-drop>'s rendering: the drop zone, the file list and their styles. Loaded by
 * import() when an element first renders: a page that loads the whole kit and shows no
 * file drop never fetches it. Every name, type and error a peer sends goes in through
 * Lit's bindings, so as text; previews come from the element's URLs, made safe there.
 */
import {html, nothing, type TemplateResult} from 'lit'
import {repeat} from 'lit/directives/repeat.js'
import type {FileInfo} from '../../core/files/share.js'
import {shortId} from '../../core/debug.js'
import type {FileUrls} from './p2p-file-drop.js'

export {styles} from './p2p-file-drop.styles.js'

/** What the rendering shows and acts through: the element's state and its actions, which report their own failures. */
export interface FileDropHost {
  readonly accept: string
  readonly label: string
  /** The element has a swarm to share with. */
  readonly inRoom: boolean
  /** The share's storage is open and its files listed: files can be added. */
  readonly ready: boolean
  /** Files are being dragged over the drop zone. */
  readonly dragging: boolean
  /** What the live region says. */
  readonly status: string
  /** The share's files in order; none until it is ready. */
  readonly files: FileInfo[]
  /** A complete file's URLs; null while its Blob is read (or when it could not be). */
  url(id: string): FileUrls | null | undefined
  /** Bytes for people: the element's `formatBytes`. */
  formatBytes(n: number): string
  download(id: string): void
  cancel(id: string): void
  remove(id: string): void
  openPicker(): void
  picked(): void
  dragEnter(e: DragEvent): void
  dragOver(e: DragEvent): void
  dragLeave(e: DragEvent): void
  drop(e: DragEvent): void
}

export function renderFileDrop(host: FileDropHost): TemplateResult {
  const {files, ready} = host
  return html`
    <button type="button" part=${host.dragging ? 'drop-zone drop-zone-active' : 'drop-zone'}
      aria-describedby="hint" ?disabled=${!ready}
      @click=${host.openPicker} @dragenter=${host.dragEnter} @dragover=${host.dragOver}
      @dragleave=${host.dragLeave} @drop=${host.drop}>
      <span part="drop-label"><slot name="label">Drop files here or choose files</slot></span>
    </button>
    <span id="hint" hidden>Shares the files with everyone in the room.</span>
    <input type="file" multiple hidden tabindex="-1" aria-hidden="true" accept=${host.accept || nothing}
      @change=${host.picked}>
    <p part="status" role="status" class="visually-hidden">${host.status}</p>
    ${files.length === 0
      ? html`<p part="empty">${!host.inRoom ? 'Not in a room.' : ready ? 'No files yet.' : 'Opening storage…'}</p>`
      : html`<ul part="list" aria-label=${host.label}>${repeat(files, f => f.id, f => row(host, f))}</ul>`}
  `
}

function row(host: FileDropHost, f: FileInfo): TemplateResult {
  const transfer = f.state === 'downloading' || f.state === 'paused'
  const url = f.state === 'complete' ? host.url(f.id) : undefined
  return html`
    <li part="file file-${f.state}" data-id=${f.id} data-state=${f.state}>
      <div class="line">
        <span part="name">${f.name}</span>
        <span part="size">${host.formatBytes(f.size)}</span>
        <span part="holders" data-holders=${f.holders.length}
          title=${f.holders.length ? f.holders.map(shortId).join(', ') : 'No connected peer has it'}>${holdersText(f)}</span>
      </div>
      ${transfer ? html`
        <div part="transfer">
          <progress part="progress" max=${Math.max(f.size, 1)} .value=${f.bytes} aria-label=${`${f.name} downloaded`}></progress>
          <span part="transfer-text">${transferText(host, f)}</span>
        </div>` : nothing}
      ${f.error && f.state !== 'complete' ? html`<p part="error">${f.error.message}</p>` : nothing}
      ${url?.preview ? preview(f, url.preview) : nothing}
      <div part="actions">${actions(host, f, url)}</div>
    </li>`
}

function actions(host: FileDropHost, f: FileInfo, url: FileUrls | null | undefined) {
  const button = (name: string, text: string, action: () => void) => html`
    <button type="button" part="button ${name}" aria-label=${`${text} ${f.name}`} @click=${action}>${text}</button>`
  switch (f.state) {
    case 'remote':
      return button('download', 'Download', () => host.download(f.id))
    case 'downloading':
      return button('cancel', 'Cancel', () => host.cancel(f.id))
    case 'paused':
      return [button('resume', 'Resume', () => host.download(f.id)), button('cancel', 'Cancel', () => host.cancel(f.id))]
    case 'complete':
      return [
        url ? html`<a part="button save" href=${url.save} download=${f.name} aria-label=${`Save ${f.name}`}>Save</a>` : nothing,
        button('remove', 'Remove', () => host.remove(f.id)),
      ]
  }
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`
}

function holdersText(f: FileInfo): string {
  const peers = f.holders.length
  if (f.state === 'complete') return peers ? `you and ${plural(peers, 'peer')}` : 'only you'
  return peers ? plural(peers, 'peer') : 'no peer online'
}

function transferText(host: FileDropHost, f: FileInfo): string {
  const percent = f.size ? Math.floor(f.bytes / f.size * 100) : 100
  const parts = [`${percent}%`]
  if (f.state === 'downloading' && f.speed > 0) parts.push(`${host.formatBytes(f.speed)}/s`)
  if (f.state === 'downloading' && f.eta !== undefined) parts.push(`${formatDuration(f.eta)} left`)
  if (f.state === 'paused') parts.push('paused')
  return parts.join(' · ')
}

function formatDuration(seconds: number): string {
  const s = Math.max(1, Math.round(seconds))
  if (s < 60) return `${s} s`
  if (s < 3600) return `${Math.round(s / 60)} min`
  return `${Math.floor(s / 3600)} h ${Math.round(s % 3600 / 60)} min`
}

/** Complete media show in place; the type is the sender's claim, so only tags that run no script are used. */
function preview(f: FileInfo, {kind, src}: NonNullable<FileUrls['preview']>) {
  switch (kind) {
    case 'image': return html`<img part="preview" src=${src} alt=${f.name} loading="lazy">`
    case 'video': return html`<video part="preview" src=${src} controls preload="metadata" aria-label=${f.name}></video>`
    case 'audio': return html`<audio part="preview" src=${src} controls preload="metadata" aria-label=${f.name}></audio>`
  }
}
