import {LitElement, adoptStyles, css, nothing, type PropertyValues} from 'lit'
import {consumeContext} from '../../context/consume.js'
import type {BrowserLevel} from 'browser-level'
import {swarmContext} from '../../context/swarm-context.js'
import type {Swarm} from '../../core/swarm/swarm.js'
import {ChunkStore} from '../../core/files/chunk-store.js'
import {FileShare, type FileInfo} from '../../core/files/share.js'
import {SVG_TYPE, mimeEssence, safeBlobType} from '../../core/files/blob-type.js'
import {claimStorageSlot, type StorageSlot} from '../../core/storage/slot.js'
import {P2PError, toP2PError} from '../../core/errors.js'
import {P2PErrorEvent} from '../../events/error-event.js'
import {FileAddEvent} from '../../events/file-add-event.js'
import {FileProgressEvent} from '../../events/file-progress-event.js'
import {FileCompleteEvent} from '../../events/file-complete-event.js'
import {formatBytes} from '../shared/format.js'
import type {FileDropHost} from './file-drop-renderer.js'

const DEFAULT_STORE = 'p2p-elements-files'

type RendererCode = typeof import('./file-drop-renderer.js')

/**
 * Loads the element's rendering (the drop zone, the list and their styles) the first time
 * an element renders: a page that loads the whole kit and shows no file drop never
 * fetches it. Replaceable by tests.
 */
export const loaders = {renderer: (): Promise<RendererCode> => import('./file-drop-renderer.js')}

/** That code, once loaded: every element of the page uses it from then on without waiting. */
let rendererCode: RendererCode | undefined

/** A complete file's URLs: `save` is its blob URL, `preview` what its `<img>`, `<video>` or `<audio>` shows. */
export interface FileUrls {
  save: string
  preview: {kind: 'image' | 'video' | 'audio', src: string} | null
}

// An SVG preview is a data: URL kept as a string in the page's memory; beyond this
// size the file is only offered for saving.
const MAX_SVG_PREVIEW_BYTES = 1024 * 1024

/** What the element holds while it is in a room; let go of together. */
interface Held {
  share: FileShare
  db: BrowserLevel
  slot: StorageSlot
}

/**
 * Files shared in the nearest `<p2p-swarm>`'s room. Drop files on it (or choose
 * them with the keyboard): each is hashed, stored in this tab's IndexedDB and
 * announced to the room. Files the peers share appear in its list; Download
 * fetches one from every peer that has it, verifying each chunk, and the finished
 * file can be saved or previewed in place (images, video, audio).
 *
 * ```html
 * <p2p-swarm hub="http://127.0.0.1:9000" room="team">
 *   <p2p-file-drop></p2p-file-drop>
 * </p2p-swarm>
 * ```
 *
 * Each tab keeps its files in a database of its own: the element holds a Web Lock
 * on the `store` name, and a second tab of the same page takes `<store>-2`, and so
 * on. A reloaded tab gets its name back, so a download it had started goes on
 * where it stopped. The protocol itself lives in the core (`FileShare`); this
 * element only opens the storage, shows the list and turns the core's events into
 * DOM events. Its rendering (the drop zone, the list, their styles) loads on demand
 * when an element first renders; until then the element shows nothing.
 *
 * @summary Drop a file to share it with the room; download the files peers share.
 *
 * @slot label - The drop zone's text (default: "Drop files here or choose files").
 *
 * @event p2p-file-add - A file joined the list: added here, announced by a peer, or found in this tab's storage at start. `detail: {file}` (a FileInfo).
 * @event p2p-file-progress - A chunk of a download was verified and stored. `detail: {file}`.
 * @event p2p-file-complete - A download finished; the file can be saved. `detail: {file}`.
 * @event p2p-error - A file could not be added or downloaded, storage is full (the download pauses), a peer sent bad data, or the element's rendering could not load (`ERR_CONNECTION_FAILED`: it shows nothing). `detail: {error}` (a P2PError with a `code`).
 *
 * @csspart drop-zone - The drop zone: a button that opens the file picker (also `drop-zone-active` while files are dragged over it).
 * @csspart drop-label - The text inside the drop zone.
 * @csspart status - The live region that announces what happened (visually hidden).
 * @csspart list - The list of files.
 * @csspart file - One file (also `file-remote`, `file-downloading`, `file-paused`, `file-complete`).
 * @csspart name - A file's name.
 * @csspart size - A file's size.
 * @csspart holders - How many connected peers have the file; their short keys in its title.
 * @csspart transfer - Progress bar and figures of a download.
 * @csspart progress - The `<progress>` bar.
 * @csspart transfer-text - Percentage, speed and time left.
 * @csspart error - Why a download is paused.
 * @csspart preview - The `<img>`, `<video>` or `<audio>` of a complete file.
 * @csspart actions - The row of buttons of a file.
 * @csspart button - Every button and the Save link (also `download`, `cancel`, `resume`, `remove`, `save`).
 * @csspart empty - The text shown while there are no files.
 *
 * @cssproperty --p2p-font - Font of the element.
 * @cssproperty --p2p-color - Text colour.
 * @cssproperty --p2p-accent - Colour of progress bars, buttons and the active drop zone.
 * @cssproperty --p2p-border-color - Lines around the drop zone and between files.
 * @cssproperty --p2p-drop-background - Background of the drop zone.
 * @cssproperty --p2p-drop-active-background - Background of the drop zone while files are dragged over it.
 * @cssproperty --p2p-focus-color - Outline of focused controls.
 * @cssproperty --p2p-error-color - Text of why a download is paused.
 * @cssproperty --p2p-preview-max-height - Tallest a preview grows.
 */
export class P2PFileDropElement extends LitElement {
  static override styles = css`
    :host {
      display: block;
      font: var(--p2p-font, 14px/1.4 system-ui, sans-serif);
      color: var(--p2p-color, inherit);
      --_accent: var(--p2p-accent, #3b6fd8);
      --_line: var(--p2p-border-color, color-mix(in srgb, currentColor 20%, transparent));
    }
    :host([hidden]) { display: none; }
  `
  static override properties = {
    store: {}, chunkSize: {type: Number, attribute: 'chunk-size'}, sequential: {type: Boolean}, accept: {},
    autoDownload: {type: Boolean, attribute: 'auto-download'}, label: {}, swarm: {attribute: false},
  }

  /**
   * Name of this tab's database (IndexedDB). When another tab of the origin holds it,
   * the first free of `<store>-2`, `<store>-3`, … is used; `database` tells which.
   */
  store = DEFAULT_STORE

  /** Chunk size of files added here, in bytes: a power of two from 16 KiB to 1 MiB. Unset: 256 KiB, or 1 MiB for files from 64 MiB up. */
  chunkSize: number | undefined

  /** Download chunks in order, so media can play from the start; read when a download starts. */
  sequential = false

  /** File types the picker offers, as the `accept` attribute of a file input (`image/*,.pdf`). Drops are not filtered. */
  accept = ''

  /** Download every file that appears in the room at once (except one the user cancelled or removed here). */
  autoDownload = false

  /** Label of the file list, for assistive technology. */
  label = 'Files in this room'

  /** The swarm of the nearest `<p2p-swarm>` (or set directly). */
  swarm: Swarm | undefined

  #swarm: Swarm | undefined
  #store: string | undefined
  #held: Held | undefined
  #ready = false
  /** Bumped whenever the element lets go, so a store still being opened knows it came too late. */
  #generation = 0
  /** Opening and closing run one after the other, so a reopened element finds its own lock released. */
  #queue: Promise<void> = Promise.resolve()
  /** The last state seen of each listed file: new ids fire p2p-file-add, changes are announced. */
  readonly #states = new Map<string, FileInfo['state']>()
  /** Files the user cancelled or removed here: `auto-download` leaves them alone. */
  readonly #declined = new Set<string>()
  /** The last quarter of each download announced to screen readers. */
  readonly #quarters = new Map<string, number>()
  /** URLs of complete files, by id; null while the Blob is being read. */
  readonly #urls = new Map<string, FileUrls | null>()
  /** Errors already reported: a download's rejection may be the error the share just emitted. */
  readonly #reported = new WeakSet<Error>()
  #frame = 0
  #dragDepth = 0
  #dragging = false
  #status = ''
  /** The rendering's code being loaded for this element; it renders once it is in. */
  #loading: Promise<void> | undefined
  /** The code could not load (reported): the element shows nothing. */
  #loadFailed = false
  /** The rendering's styles are adopted in the shadow root. */
  #styled = false
  /** The element as its rendering sees it. */
  readonly #host: FileDropHost = this.#makeHost()

  constructor() {
    super()
    consumeContext(this, swarmContext, swarm => this.swarm = swarm)
  }

  get #input(): HTMLInputElement {
    return this.renderRoot.querySelector('input[type=file]')!
  }

  /** The room's file share, for scripts (add, download, blob); undefined until the element is in a room. */
  get share(): FileShare | undefined {
    return this.#held?.share
  }

  /** The database this tab holds: `store`, or `store-2`, … when other tabs hold those. */
  get database(): string | undefined {
    return this.#held?.slot.name
  }

  override connectedCallback(): void {
    super.connectedCallback()
    // Moved in the DOM: everything was released on removal and starts again here.
    if (this.hasUpdated) this.requestUpdate()
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback()
    this.#use(undefined)
  }

  protected override willUpdate(changed: PropertyValues<this>): void {
    const swarm = this.isConnected && this.swarm && !this.swarm.destroyed ? this.swarm : undefined
    if (swarm !== this.#swarm || (changed.has('store') && this.store !== this.#store)) this.#use(swarm)
    if (changed.has('autoDownload')) this.#downloadAnnounced()
    this.#syncUrls()
  }

  protected override render() {
    if (!rendererCode) {
      this.#loadRenderer()
      return nothing
    }
    if (!this.#styled) {
      this.#styled = true
      // The class's own, which a subclass may have extended.
      adoptStyles(this.renderRoot as ShadowRoot, [...(this.constructor as typeof LitElement).elementStyles, rendererCode.styles])
    }
    return rendererCode.renderFileDrop(this.#host)
  }

  // updateComplete covers the wait for the rendering's code and the render after it.
  protected override async getUpdateComplete(): Promise<boolean> {
    let complete = await super.getUpdateComplete()
    while (this.#loading) {
      await this.#loading
      complete = await super.getUpdateComplete()
    }
    return complete
  }

  #makeHost(): FileDropHost {
    const element = this
    return {
      get accept() { return element.accept },
      get label() { return element.label },
      get inRoom() { return element.#swarm !== undefined },
      get ready() { return element.#ready },
      get dragging() { return element.#dragging },
      get status() { return element.#status },
      get files() {
        const share = element.#held?.share
        return share && element.#ready ? share.files() : []
      },
      url: id => this.#urls.get(id),
      // Passed, not imported there: <p2p-peers> uses it in the whole kit's file too, and a module that an
      // import()ed file shares with the file importing it becomes a chunk of its own (134 bytes gzip more).
      formatBytes,
      download: id => this.#download(id),
      cancel: id => this.#cancel(id),
      remove: id => this.#remove(id),
      openPicker: () => this.#input.click(),
      picked: () => this.#onPicked(),
      dragEnter: e => this.#onDragEnter(e),
      dragOver: e => this.#onDragOver(e),
      dragLeave: e => this.#onDragLeave(e),
      drop: e => this.#onDrop(e),
    }
  }

  #loadRenderer(): void {
    if (this.#loading || this.#loadFailed) return
    this.#loading = loaders.renderer().then(code => { rendererCode = code }, err => {
      this.#loadFailed = true
      this.#report(P2PError.CONNECTION_FAILED('cannot load the code of the <p2p-file-drop>', err))
    }).finally(() => {
      this.#loading = undefined
      this.requestUpdate()
    })
  }

  /** Takes the share of `swarm` (letting go of any other): a lock, the database, then the share. */
  #use(swarm: Swarm | undefined): void {
    this.#letGo()
    this.#swarm = swarm
    this.#store = this.store
    if (!swarm) return
    const generation = this.#generation
    const base = this.store || DEFAULT_STORE
    this.#enqueue(async () => {
      // Storage (browser-level, abstract-level and the buffer and events polyfills under
      // them: 23 KiB gzip) loads once a file drop joins a room, so pages without one never fetch it.
      const {BrowserLevel} = await import('../shared/storage.js')
      const slot = await claimStorageSlot(DEFAULT_STORE, base)
      if (generation !== this.#generation) return slot.release()
      const db = new BrowserLevel(slot.name)
      let share: FileShare
      try {
        share = new FileShare({store: new ChunkStore({db}), swarm})
      } catch (err) {
        await close({db, slot})
        throw err
      }
      this.#held = {share, db, slot}
      share.on('file', this.#onFile)
      share.on('progress', this.#onProgress)
      share.on('complete', this.#onComplete)
      share.on('remove', this.#onRemove)
      share.on('error', this.#onError)
      this.requestUpdate()
      share.ready.then(() => {
        if (this.#held?.share !== share) return
        this.#ready = true
        this.#downloadAnnounced()
        this.requestUpdate()
      }, err => {
        if (this.#held?.share === share) this.#report(err)
      })
    })
  }

  /** Ends the share at once; its database closes and its lock goes in the queue. */
  #letGo(): void {
    this.#generation++
    cancelAnimationFrame(this.#frame)
    this.#frame = 0
    this.#ready = false
    this.#states.clear()
    this.#declined.clear()
    this.#quarters.clear()
    this.#revokeUrls(() => true)
    const held = this.#held
    if (!held) return
    this.#held = undefined
    held.share.off('file', this.#onFile)
    held.share.off('progress', this.#onProgress)
    held.share.off('complete', this.#onComplete)
    held.share.off('remove', this.#onRemove)
    held.share.off('error', this.#onError)
    held.share.destroy()
    this.#enqueue(() => close(held))
  }

  #enqueue(task: () => Promise<void>): void {
    this.#queue = this.#queue.then(task).catch(err => this.#report(err))
  }

  #onFile = (info: FileInfo): void => {
    const before = this.#states.get(info.id)
    this.#states.set(info.id, info.state)
    if (before === undefined) this.dispatchEvent(new FileAddEvent({file: info}))
    // Files listed from this tab's storage at start are not news to announce.
    if (before !== info.state && this.#ready) {
      if (info.state === 'downloading') this.#announce(`Downloading ${info.name}.`)
      else if (info.state === 'paused') this.#announce(`${info.name} paused${info.error ? `: ${info.error.message}` : ''}.`)
      else if (before === undefined && info.local) this.#announce(`${info.name} shared with the room.`)
    }
    // After the share's listeners have all run: a call back into it from inside its own event would start
    // work it is about to start itself.
    if (info.state === 'remote' && this.autoDownload) queueMicrotask(() => this.#maybeDownload(info.id))
    this.#scheduleRender()
  }

  #onProgress = (info: FileInfo): void => {
    this.dispatchEvent(new FileProgressEvent({file: info}))
    const quarter = info.size ? Math.floor(info.bytes / info.size * 4) : 4
    if (quarter > (this.#quarters.get(info.id) ?? 0) && quarter < 4) {
      this.#quarters.set(info.id, quarter)
      this.#announce(`${info.name}: ${quarter * 25}% downloaded.`)
    }
    this.#scheduleRender()
  }

  #onComplete = (info: FileInfo): void => {
    this.#states.set(info.id, info.state)
    this.#quarters.delete(info.id)
    this.dispatchEvent(new FileCompleteEvent({file: info}))
    this.#announce(`${info.name} downloaded.`)
    this.#scheduleRender()
  }

  #onRemove = (id: string): void => {
    this.#states.delete(id)
    this.#quarters.delete(id)
    this.#scheduleRender()
  }

  #onError = (err: P2PError): void => {
    this.#report(err)
    this.#scheduleRender()
  }

  /**
   * Progress may come hundreds of times a second: the list renders at most once a
   * frame (and not at all in a hidden tab, until it is shown again).
   */
  #scheduleRender(): void {
    if (this.#frame) return
    this.#frame = requestAnimationFrame(() => {
      this.#frame = 0
      this.requestUpdate()
    })
  }

  #announce(text: string): void {
    this.#status = text
    this.#scheduleRender()
  }

  #report(err: unknown): void {
    const error = toP2PError(err)
    if (this.#reported.has(error)) return
    this.#reported.add(error)
    this.dispatchEvent(new P2PErrorEvent(error))
  }

  #download(id: string): void {
    const share = this.#held?.share
    // A second click before the list re-rendered asks for what is already coming.
    if (!share || share.file(id)?.state === 'downloading') return
    this.#declined.delete(id)
    share.download(id, {sequential: this.sequential}).catch(err => {
      // A download cancelled, removed or ended with the element is what was asked for.
      if (toP2PError(err).code !== 'ERR_ABORTED' && this.#held?.share === share) this.#report(err)
    })
    this.#scheduleRender()
  }

  #cancel(id: string): void {
    this.#declined.add(id)
    this.#held?.share.cancel(id).catch(err => this.#report(err))
  }

  #remove(id: string): void {
    this.#declined.add(id)
    this.#held?.share.remove(id).catch(err => this.#report(err))
  }

  /** With `auto-download`, starts fetching a file that is only in the room, unless the user let it go here. */
  #maybeDownload(id: string): void {
    const info = this.#ready ? this.#held?.share.file(id) : undefined
    if (this.autoDownload && info?.state === 'remote' && !this.#declined.has(id)) this.#download(id)
  }

  #downloadAnnounced(): void {
    for (const info of this.#ready ? this.#held!.share.files() : []) this.#maybeDownload(info.id)
  }

  async #add(files: File[]): Promise<void> {
    const share = this.#held?.share
    if (!share || !this.#ready) {
      this.#report(P2PError.DESTROYED('nothing to share with: <p2p-file-drop> is not in a room yet'))
      return
    }
    // One at a time: each file is read and hashed chunk by chunk, and the list keeps the order they were given in.
    for (const file of files) {
      try {
        await share.add(file, {name: file.name, type: file.type, chunkSize: this.chunkSize ?? undefined})
      } catch (err) {
        if (this.#held?.share !== share) return
        this.#report(toP2PError(err, 'ERR_INVALID_ARGUMENT'))
      }
    }
  }

  #onPicked(): void {
    const files = [...this.#input.files ?? []]
    // Cleared, so choosing the same file again is a change too.
    this.#input.value = ''
    if (files.length) void this.#add(files)
  }

  #onDragEnter(e: DragEvent): void {
    if (!carriesFiles(e)) return
    e.preventDefault()
    // Enter and leave also fire for the zone's children: count, so only leaving the zone ends the highlight.
    this.#dragDepth++
    this.#setDragging(true)
  }

  #onDragOver(e: DragEvent): void {
    if (!carriesFiles(e)) return
    // Without this the browser refuses the drop (and would open the file instead).
    e.preventDefault()
    e.dataTransfer!.dropEffect = 'copy'
  }

  #onDragLeave(e: DragEvent): void {
    if (!carriesFiles(e)) return
    this.#dragDepth = Math.max(0, this.#dragDepth - 1)
    if (this.#dragDepth === 0) this.#setDragging(false)
  }

  #onDrop(e: DragEvent): void {
    e.preventDefault()
    this.#dragDepth = 0
    this.#setDragging(false)
    const files = [...e.dataTransfer?.files ?? []]
    if (files.length) void this.#add(files)
  }

  #setDragging(dragging: boolean): void {
    if (dragging === this.#dragging) return
    this.#dragging = dragging
    this.requestUpdate()
  }

  /**
   * The URLs of each complete file, made once; revoked when the file is no longer complete here.
   * The share's Blob carries only a type that cannot run in the page's origin (see
   * `safeBlobType`), so its URL serves Save and the previews of images, audio and video.
   */
  #syncUrls(): void {
    const share = this.#held?.share
    const complete = new Map(this.#ready && share ? share.files().filter(f => f.state === 'complete').map(f => [f.id, f]) : [])
    this.#revokeUrls(id => !complete.has(id))
    for (const [id, info] of complete) {
      if (this.#urls.has(id)) continue
      this.#urls.set(id, null)
      share!.blob(id).then(async blob => ({blob, svg: await svgPreview(info, blob)})).then(({blob, svg}) => {
        if (this.#held?.share !== share || this.#urls.get(id) !== null) return
        const save = URL.createObjectURL(blob)
        this.#urls.set(id, {save, preview: svg ? {kind: 'image', src: svg} : mediaPreview(info.type, save)})
        this.requestUpdate()
      }, err => {
        // Left as null: no Save link, and no second attempt that would fail the same way.
        if (this.#held?.share === share) this.#report(err)
      })
    }
  }

  #revokeUrls(which: (id: string) => boolean): void {
    for (const [id, url] of this.#urls) {
      if (!which(id)) continue
      if (url) URL.revokeObjectURL(url.save)
      this.#urls.delete(id)
    }
  }
}

/** Closes the database, then lets its lock go, so the next holder never opens it while it is still in use. */
async function close({db, slot}: {db: BrowserLevel, slot: StorageSlot}): Promise<void> {
  try {
    await db.close()
  } finally {
    slot.release()
  }
}

function carriesFiles(e: DragEvent): boolean {
  return e.dataTransfer?.types.includes('Files') ?? false
}

/** The preview of a file of an allowed image, audio or video type, from its blob URL. */
function mediaPreview(type: string, src: string): FileUrls['preview'] {
  const kind = safeBlobType(type).split('/')[0]
  return kind === 'image' || kind === 'video' || kind === 'audio' ? {kind, src} : null
}

/**
 * An SVG's preview, as a data: URL for an `<img>` (which never runs its script).
 * Not its blob URL: that is `application/octet-stream` (an `<img>` does not sniff
 * SVG), and a blob URL typed SVG would run the file's script in the page's origin
 * once opened as a page ("open image in new tab"), where a data: URL gets an
 * opaque origin. Null for any other type, and for an SVG too large to preview.
 */
async function svgPreview(info: FileInfo, blob: Blob): Promise<string | null> {
  if (mimeEssence(info.type) !== SVG_TYPE || blob.size === 0 || blob.size > MAX_SVG_PREVIEW_BYTES) return null
  const read = await new Promise<string>((resolve, reject) => {
    const reader = new FileReader()
    reader.onload = () => resolve(reader.result as string)
    reader.onerror = () => reject(reader.error)
    reader.readAsDataURL(blob)
  })
  // The reader names the blob's own (opaque) type; only the image decoder sees SVG's.
  return `data:${SVG_TYPE};base64${read.slice(read.indexOf(','))}`
}

declare global {
  interface HTMLElementTagNameMap {
    'p2p-file-drop': P2PFileDropElement
  }
}
