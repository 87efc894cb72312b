import {LitElement, html, css, type PropertyValues} from 'lit'
import {ContextProvider} from '@lit/context'
import {consumeContext} from '../../context/consume.js'
import {swarmContext} from '../../context/swarm-context.js'
import {sourceContext} from '../../context/source-context.js'
import {logContext} from '../../context/log-context.js'
import type {Swarm} from '../../core/swarm/swarm.js'
import type {Identity} from '../../core/crypto/identity.js'
import {pageIdentity, pageLogIdentity} from '../../core/swarm/page-identity.js'
import {P2PError, toP2PError} from '../../core/errors.js'
import {fromHex, toHex} from '../../core/bytes.js'
import type {Log} from '../../core/log/log.js'
import type {Entry} from '../../core/log/entry.js'
import type {ForkEvidence} from '../../core/log/store.js'
import {RoomLogs, checkLogName} from '../../core/log/room-logs.js'
import {LogSource} from '../../core/log/log-source.js'
import type {MessageSource} from '../../core/source/message-source.js'
import {LogAppendEvent, LogConflictEvent, LogProgressEvent} from '../../events/log-events.js'
import {P2PErrorEvent} from '../../events/error-event.js'
import {FormPublisher} from '../shared/form-publisher.js'
import {holdLog, type HeldLog} from './log-database.js'

const KEY_PATTERN = /^[0-9a-f]{64}$/

/** What one opening of the element holds; released together. */
interface Opened {
  held: HeldLog
  log: Log
  /** This page owns the log: it may admit writers. */
  owner: boolean
  room: RoomLogs
  source: LogSource
  /** Listeners on the logs, removed on release. */
  offs: Array<() => void>
  /** The history reads of the logs found so far: the feed gets the source once they are in. */
  reading: Array<Promise<void>>
}

/**
 * A signed append-only log kept in this tab's IndexedDB and replicated with every
 * peer of the nearest `<p2p-swarm>` that holds it. `name="chat"` opens this page's
 * own log of that name and finds the room's other logs of that name through the
 * room; `key="<64 hex>"` opens the log with that address (read-only unless this
 * page is an admitted writer). Provides the log by context (`logContext`) and its
 * entries as a message source, so a `<p2p-feed>` inside renders them (history
 * first, then live) and a plain `<form>` inside appends to it.
 *
 * @summary A signed log of the room that survives reloads and reaches late joiners.
 *
 * @slot - The app: a `<p2p-feed>` to show the entries, a `<form>` to append, any markup.
 *
 * @event p2p-log-append - Entries were stored in one of the element's logs, written here or received. `detail: {log, entries}`.
 * @event p2p-log-progress - How far along replication is changed. `detail: {behind, synced}`.
 * @event p2p-log-conflict - An author forked one of the logs; it is frozen from there. `detail: {log, evidence}`.
 * @event p2p-error - The log could not be opened (bad `name` or `key`, storage), a form could not append, a peer was dropped for bad data, or storage is full. `detail: {error}` (a P2PError with a `code`).
 */
export class P2PLogElement extends LitElement {
  static override styles = css`
    :host { display: block; }
    :host([hidden]) { display: none; }
  `
  static override properties = {
    name: {},
    key: {},
    writers: {},
    open: {type: Boolean},
    limit: {type: Number},
    swarm: {attribute: false},
    identity: {attribute: false},
    behind: {type: Number, reflect: true},
    synced: {type: Boolean, reflect: true},
  }

  /** This page's own log of this name; the room's logs of the same name are merged in the feed. */
  name = ''

  /** The address (64 hex characters) of a log to open instead of a named one. */
  key = ''

  /** Keys (hex, separated by spaces) the owner admits as writers once the log is open; ignored on a page that is not the owner. */
  writers = ''

  /** A log this page creates is open to every key. Read when the log is created. */
  open = false

  /** Most entries kept for feeds (the latest by time). */
  limit = 500

  /** The swarm of the nearest `<p2p-swarm>` (or set directly). */
  swarm: Swarm | undefined

  /** The key to write with, for apps that bring their own; unset: the page's key for the log's name. Read when the log opens. */
  identity: Identity | undefined

  /** Entries that connected peers hold and this page does not yet. Set by the element (a CSS hook). */
  behind = 0

  /** Nothing known to be missing from connected peers. Set by the element (a CSS hook). */
  synced = false

  readonly #logProvider = new ContextProvider(this, {context: logContext})
  readonly #sourceProvider = new ContextProvider(this, {context: sourceContext})
  #opened: Opened | undefined
  /** Bumped by every (re)opening, so a slow one that was overtaken lets go of what it got. */
  #generation = 0
  #swarm: Swarm | undefined
  #opening: Promise<void> | undefined

  constructor() {
    super()
    consumeContext(this, swarmContext, swarm => this.swarm = swarm)
    new FormPublisher(this, {source: () => this.#sourceProvider.value})
  }

  /** The log this page writes (`name`) or opened (`key`); undefined until open. */
  get log(): Log | undefined {
    return this.#opened?.log
  }

  /** The room's logs of this name (with this page's own), for scripts: stats, progress. */
  get room(): RoomLogs | undefined {
    return this.#opened?.room
  }

  /** The entries as feeds see them. */
  get source(): MessageSource | undefined {
    return this.#sourceProvider.value
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
    if (swarm !== this.#swarm || changed.has('name') || changed.has('key') || changed.has('identity') || changed.has('limit')) this.#use(swarm)
    else if (changed.has('writers') && this.#opened) this.#admit(this.#opened.log)
  }

  // updateComplete waits for the log to open, so a caller that awaits it finds `log` and `source`.
  protected override async getUpdateComplete(): Promise<boolean> {
    const complete = await super.getUpdateComplete()
    await this.#opening
    return complete
  }

  protected override render() {
    return html`<slot></slot>`
  }

  #use(swarm: Swarm | undefined): void {
    const generation = ++this.#generation
    this.#release()
    this.#swarm = swarm
    if (!swarm || (!this.name && !this.key)) {
      this.#opening = undefined
      return
    }
    this.#opening = this.#openOn(swarm, generation).catch(err => {
      if (generation === this.#generation) this.#report(toP2PError(err, 'ERR_INVALID_ARGUMENT'))
    })
  }

  async #openOn(swarm: Swarm, generation: number): Promise<void> {
    const {name, key, open, limit} = this
    if (name && key) throw P2PError.INVALID_ARGUMENT('a <p2p-log> has a name or a key, not both')
    if (name) checkLogName(name)
    if (key && !KEY_PATTERN.test(key)) throw P2PError.INVALID_ARGUMENT('a log key is 64 lowercase hex characters')
    const page = await pageIdentity()
    const identity = this.identity ?? (name ? await pageLogIdentity(`${swarm.room}\n${name}`) : page)
    const address = key ? fromHex(key) : identity.publicKey
    if (generation !== this.#generation) return
    const held = await holdLog(this.identity?.publicKey ?? page.publicKey, {key: address, identity, open}, () => generation !== this.#generation)
    if (!held) return
    const {log} = held
    try {
      const room = new RoomLogs({swarm, db: held.db, logs: [log], name: name || undefined, room: swarm.room})
      const source = new LogSource({limit, target: log, author: toHex(identity.publicKey), onreorder: () => this.#provideSource()})
      const opened: Opened = {held, log, owner: toHex(identity.publicKey) === log.address, room, source, offs: [], reading: []}
      if (generation !== this.#generation) {
        await this.#close(opened)
        return
      }
      this.#opened = opened
      room.on('log', joined => this.#follow(opened, joined))
      room.on('progress', progress => this.#progress(progress.behind, progress.synced, true))
      room.on('drop', (_key, err) => this.#report(err))
      room.on('error', err => this.#report(err))
      await room.ready()
      await Promise.all(opened.reading)
      if (generation !== this.#generation) return
      this.#progress(room.progress.behind, room.progress.synced, false)
      this.#logProvider.setValue(log)
      this.#admit(log)
      this.#provideSource()
    } catch (err) {
      if (this.#opened && this.#opened.log === log) this.#release()
      else await held.close()
      throw err
    }
  }

  /** Follows one of the room's logs: its entries into the source, its events out as DOM events. */
  #follow(opened: Opened, log: Log): void {
    const onUpdate = (entries: Entry[]) => this.dispatchEvent(new LogAppendEvent({log, entries}))
    const onConflict = (evidence: ForkEvidence) => this.dispatchEvent(new LogConflictEvent({log, evidence}))
    const onError = (err: P2PError) => this.#report(err)
    log.on('update', onUpdate)
    log.on('conflict', onConflict)
    log.on('error', onError)
    opened.offs.push(() => {
      log.off('update', onUpdate)
      log.off('conflict', onConflict)
      log.off('error', onError)
    })
    opened.reading.push(opened.source.add(log).catch(err => this.#report(toP2PError(err))))
  }

  /** Provides the source anew, so feeds render the list again (an entry sorted in before ones shown). */
  #provideSource(): void {
    const source = this.#opened?.source
    if (!source) return
    // A new object each time: a feed renders from `items` when its source changes.
    this.#sourceProvider.setValue({
      get items() { return source.items },
      publish: value => source.publish(value),
      subscribe: listener => source.subscribe(listener),
    })
  }

  /** The owner admits the keys of `writers` not yet admitted. The markup is everyone's: only the owner's page acts on it. */
  #admit(log: Log): void {
    if (!this.#opened?.owner || !this.writers.trim()) return
    const admitted = log.writers()
    for (const key of this.writers.trim().split(/\s+/)) {
      if (!KEY_PATTERN.test(key)) {
        this.#report(P2PError.INVALID_ARGUMENT(`writers: ${key.slice(0, 16)} is not a 64-hex-character key`))
        continue
      }
      if (admitted.has(key)) continue
      log.admit(fromHex(key)).catch(err => this.#report(toP2PError(err)))
    }
  }

  #progress(behind: number, synced: boolean, announce: boolean): void {
    if (behind === this.behind && synced === this.synced) return
    this.behind = behind
    this.synced = synced
    if (announce) this.dispatchEvent(new LogProgressEvent({behind, synced}))
  }

  #report(error: P2PError): void {
    this.dispatchEvent(new P2PErrorEvent(error))
  }

  #release(): void {
    const opened = this.#opened
    this.#opened = undefined
    this.#logProvider.setValue(undefined)
    this.#sourceProvider.setValue(undefined)
    if (opened) this.#close(opened).catch(err => this.#report(toP2PError(err)))
  }

  async #close(opened: Opened): Promise<void> {
    for (const off of opened.offs) off()
    opened.source.close()
    opened.room.destroy()
    await opened.held.close()
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'p2p-log': P2PLogElement
  }
}
