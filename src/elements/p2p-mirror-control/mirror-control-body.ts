/**
 * <p2p-mirror-control>'s code, loaded by import() when an element connects: the page
 * that loads the whole kit carries only the element's class until it shows a mirror.
 * It watches the mirror's status (MirrorWatch: the mirror's proven connection only),
 * renders it as text through Lit's bindings (peer data is never markup), and, on an
 * owner's page, opens the mirror's control log to append the owner's requests.
 */
import {adoptStyles, html, nothing, type ReactiveController, type TemplateResult} from 'lit'
import type {Swarm} from '../../core/swarm/swarm.js'
import type {Identity} from '../../core/crypto/identity.js'
import {P2PError, toP2PError} from '../../core/errors.js'
import {fromHex, toHex} from '../../core/bytes.js'
import {shortId} from '../../core/debug.js'
import type {Log} from '../../core/log/log.js'
import type {AttachedLog} from '../../core/log/swarm.js'
import {KEY_PATTERN, MirrorWatch} from '../../mirror/status-watch.js'
import type {MirrorFileStatus, MirrorLogStatus, MirrorStatus} from '../../mirror/mirror.js'
import {fileState, logState} from '../../mirror/status-text.js'
import type {HeldLog} from '../p2p-log/log-database.js'
import {styles} from './p2p-mirror-control.styles.js'
import type {MirrorControlBody, MirrorControlKit, P2PMirrorControlElement} from './p2p-mirror-control.js'

const ignore = () => undefined

/** Gives `host` its code (with what it takes from the kit's first files): returns what the element renders and reads through. */
export function attach(host: P2PMirrorControlElement, kit: MirrorControlKit): MirrorControlBody {
  return new MirrorControl(host, kit)
}

/** The mirror's own log, opened on an owner's page to append requests. */
interface Control {
  held: HeldLog | undefined
  attached: AttachedLog | undefined
  /** Let go of (the page is no longer an owner, or the element moved on): an opening under way closes what it gets. */
  closed: boolean
  offs: Array<() => void>
}

class MirrorControl implements ReactiveController, MirrorControlBody {
  /** The latest status the mirror told, or undefined before it did. */
  status: MirrorStatus | undefined
  readonly #host: P2PMirrorControlElement
  readonly #kit: MirrorControlKit
  #watch: MirrorWatch | undefined
  #connected = false
  /** What the watch was opened for: a change of any of them opens it again. */
  #swarm: Swarm | undefined
  #mirror = ''
  #given: Identity | undefined
  /** The key this page writes with (the element's `identity`, or the page's), once read. */
  #me: Identity | undefined
  /** Bumped by every (re)opening, so a slow read of the page key that was overtaken is dropped. */
  #generation = 0
  #control: Control | undefined
  #pageLog: Log | undefined
  /** Renders again: the page's log changed. */
  readonly #rerender = () => this.#host.requestUpdate()

  constructor(host: P2PMirrorControlElement, kit: MirrorControlKit) {
    this.#host = host
    this.#kit = kit
    adoptStyles(host.renderRoot as ShadowRoot, [styles])
    host.addController(this)
  }

  hostConnected(): void {
    // Moved in the DOM: everything was released on removal and starts again here.
    this.#host.requestUpdate()
  }

  hostDisconnected(): void {
    this.#use(undefined)
    this.#followPageLog(undefined)
  }

  hostUpdate(): void {
    const host = this.#host
    const swarm = host.isConnected && host.swarm && !host.swarm.destroyed ? host.swarm : undefined
    if (swarm !== this.#swarm || host.mirror !== this.#mirror || host.identity !== this.#given) this.#use(swarm)
    this.#followPageLog(host.isConnected ? host.log : undefined)
  }

  #use(swarm: Swarm | undefined): void {
    const generation = ++this.#generation
    this.#release()
    const {mirror, identity} = this.#host
    this.#swarm = swarm
    this.#mirror = mirror
    this.#given = identity
    if (!swarm || !mirror) return
    let watch: MirrorWatch
    try {
      watch = new MirrorWatch(swarm, mirror)
    } catch (err) {
      this.#report(toP2PError(err, 'ERR_INVALID_ARGUMENT'))
      return
    }
    this.#watch = watch
    watch.on('status', status => {
      this.status = status
      this.#connected = true
      this.#host.dispatchEvent(new this.#kit.MirrorStatusEvent({status}))
      this.#controlIfOwner()
      this.#host.requestUpdate()
    })
    watch.on('connected', connected => {
      this.#connected = connected
      this.#host.requestUpdate()
    })
    watch.on('error', err => this.#report(err))
    Promise.resolve(identity ?? this.#kit.pageIdentity()).then(me => {
      if (generation !== this.#generation) return
      this.#me = me
      this.#controlIfOwner()
      this.#host.requestUpdate()
    }, err => this.#report(toP2PError(err)))
  }

  #release(): void {
    this.#watch?.close()
    this.#watch = undefined
    this.status = undefined
    this.#connected = false
    this.#me = undefined
    this.#closeControl()
  }

  get #owner(): boolean {
    const me = this.#me
    return me !== undefined && this.status !== undefined && this.status.control.owners.includes(toHex(me.publicKey))
  }

  /** Opens the control log once the mirror lists this page's key among its owners; lets it go if it no longer does. */
  #controlIfOwner(): void {
    const owner = this.#owner
    if (owner === (this.#control !== undefined)) return
    if (!owner) {
      this.#closeControl()
      return
    }
    const control: Control = {held: undefined, attached: undefined, closed: false, offs: []}
    this.#control = control
    this.#openControl(control, this.#swarm!, this.#me!).catch(err => {
      if (!control.closed) this.#report(toP2PError(err))
    })
  }

  async #openControl(control: Control, swarm: Swarm, me: Identity): Promise<void> {
    const held = await this.#kit.holdLog(me.publicKey, {key: fromHex(this.#mirror), identity: me}, () => control.closed)
    if (!held) return
    if (control.closed) {
      await held.close()
      return
    }
    control.held = held
    const {log} = held
    const onError = (err: P2PError) => this.#report(err)
    // Admitted by the mirror's entries as they arrive: the form becomes usable.
    const onUpdate = () => this.#host.requestUpdate()
    log.on('update', onUpdate)
    log.on('error', onError)
    control.attached = log.replicate(swarm)
    control.attached.on('drop', (_key, _peer, err) => {
      if (err) this.#report(err)
    })
    control.offs.push(() => log.off('update', onUpdate), () => log.off('error', onError))
    this.#host.requestUpdate()
  }

  #closeControl(): void {
    const control = this.#control
    this.#control = undefined
    if (!control) return
    control.closed = true
    control.attached?.detach()
    for (const off of control.offs) off()
    control.held?.close().catch(err => this.#report(toP2PError(err)))
  }

  /** Appends an owner's request to the mirror's log; a failure is a p2p-error (and rejects, so the form keeps what was typed). */
  #append(value: Record<string, string>): Promise<void> {
    const log = this.#control?.held?.log
    const done = log ? log.append(value).then(ignore) : Promise.reject(P2PError.DESTROYED('the mirror\'s log is not open on this page'))
    done.catch(err => this.#report(toP2PError(err)))
    return done
  }

  #followPageLog(log: Log | undefined): void {
    if (log === this.#pageLog) return
    this.#pageLog?.off('update', this.#rerender)
    this.#pageLog = log
    log?.on('update', this.#rerender)
  }

  #report(error: P2PError): void {
    this.#host.dispatchEvent(new this.#kit.P2PErrorEvent(error))
  }

  // ---- rendering ----------------------------------------------------------------

  render(): unknown {
    const mirror = this.#mirror
    if (!mirror || !this.#watch) return nothing
    const status = this.status
    const connection = html`<p part="connection" data-connected=${String(this.#connected)} aria-live="polite">
      Mirror <span class="key" title=${mirror}>${shortId(mirror)}</span>:
      ${this.#connected ? 'connected' : status ? 'not connected (what it last told)' : 'not connected'}</p>`
    if (!status) return [connection, html`<p part="empty">${this.#connected ? 'Waiting for its status…' : 'Waiting for it to join the room…'}</p>`]
    const owner = this.#owner
    return [
      connection,
      status.logs.length === 0 ? html`<p part="empty">It keeps no log.</p>` : html`
        <table part="logs">
          <caption>Logs it keeps</caption>
          <thead><tr><th scope="col">Log</th><th scope="col">State</th><th scope="col">Entries (peers report)</th><th scope="col">Asked by</th>${owner ? html`<th scope="col"><span class="hidden">Remove</span></th>` : nothing}</tr></thead>
          <tbody>${status.logs.map(log => this.#logRow(log, owner))}</tbody>
        </table>`,
      status.files.length === 0 ? nothing : html`
        <table part="files">
          <caption>Files it keeps</caption>
          <thead><tr><th scope="col">File</th><th scope="col">State</th><th scope="col">Chunks</th><th scope="col">Asked by</th>${owner ? html`<th scope="col"><span class="hidden">Remove</span></th>` : nothing}</tr></thead>
          <tbody>${status.files.map(file => this.#fileRow(file, owner))}</tbody>
        </table>`,
      this.#controlPart(status),
      owner ? this.#form() : nothing,
    ]
  }

  #logRow(log: MirrorLogStatus, owner: boolean): TemplateResult {
    const page = this.#pageLog?.address === log.address ? this.#pageLog : undefined
    const same = page !== undefined && page.heads().map(toHex).sort().join() === [...log.heads].sort().join()
    return html`<tr part="row" data-id=${log.address} data-state=${logState(log)}>
      <th scope="row" part="id" title=${log.address}>${shortId(log.address)}</th>
      <td part="state">${logState(log)}</td>
      <td class="num">${log.length} (${log.remote ?? '–'})${page ? html` <span part="page" data-same=${String(same)}>${same ? 'as this page' : `this page: ${page.length}`}</span>` : nothing}</td>
      <td>${log.source === 'control' ? 'an owner' : 'its flags'}</td>
      ${owner ? html`<td>${log.source === 'control' ? this.#removeButton(log.address, 'log') : nothing}</td>` : nothing}
    </tr>`
  }

  #fileRow(file: MirrorFileStatus, owner: boolean): TemplateResult {
    return html`<tr part="row" data-id=${file.id} data-state=${fileState(file)}>
      <th scope="row" part="id" title=${file.id}>${file.name ?? shortId(file.id)}</th>
      <td part="state">${fileState(file)}</td>
      <td class="num">${file.have} of ${file.chunks ?? '?'}</td>
      <td>${file.source === 'control' ? 'an owner' : 'its flags'}</td>
      ${owner ? html`<td>${file.source === 'control' ? this.#removeButton(file.id, 'file') : nothing}</td>` : nothing}
    </tr>`
  }

  #removeButton(id: string, kind: 'log' | 'file'): TemplateResult {
    const remove = () => this.#append(kind === 'file' ? {unmirror: id, kind} : {unmirror: id}).catch(ignore)
    return html`<button part="remove" ?disabled=${!this.#writable} @click=${remove} aria-label=${`Stop keeping ${kind} ${shortId(id)}`}>Remove</button>`
  }

  #controlPart(status: MirrorStatus): TemplateResult {
    const {owners, refused, rejected, ignored} = status.control
    const me = this.#me && toHex(this.#me.publicKey)
    return html`<div part="control">
      <p>Owners: ${owners.length === 0 ? 'none (no one can ask it for more)' : owners.map((key, i) => html`${i > 0 ? ', ' : ''}<span class="key" title=${key}>${shortId(key)}</span>${key === me ? ' (this page)' : ''}`)}</p>
      ${refused.length === 0 ? nothing : html`<ul aria-label="Requests it refused">${refused.map(r => html`<li part="refused" data-id=${r.address}>Refused ${r.kind} <span class="key" title=${r.address}>${shortId(r.address)}</span>: ${r.reason}</li>`)}</ul>`}
      <p>Entries of its log: <span data-count="rejected">${rejected}</span> rejected (not an owner's), <span data-count="ignored">${ignored}</span> ignored (asking nothing it knows)</p>
    </div>`
  }

  get #writable(): boolean {
    return this.#control?.held?.log.writable ?? false
  }

  #form(): TemplateResult {
    const add = (event: SubmitEvent) => {
      event.preventDefault()
      const form = event.target as HTMLFormElement
      const kind = (form.elements.namedItem('kind') as HTMLSelectElement).value
      const id = (form.elements.namedItem('id') as HTMLInputElement).value.trim().toLowerCase()
      if (!KEY_PATTERN.test(id)) {
        this.#report(P2PError.INVALID_ARGUMENT('a log\'s address or a file\'s id is 64 hex characters'))
        return
      }
      this.#append(kind === 'file' ? {mirror: id, kind} : {mirror: id}).then(() => form.reset(), ignore)
    }
    return html`<form part="add" @submit=${add}>
      <select name="kind" aria-label="What to keep"><option value="log">Log</option><option value="file">File</option></select>
      <input name="id" required pattern="[0-9a-fA-F]{64}" autocomplete="off" spellcheck="false" aria-label="Its address or id (64 hex characters)" placeholder="A log's address or a file's id">
      <button ?disabled=${!this.#writable}>Keep</button>
    </form>
    ${this.#writable ? nothing : html`<p part="pending">Waiting for the mirror's log, to write to it…</p>`}`
  }
}
