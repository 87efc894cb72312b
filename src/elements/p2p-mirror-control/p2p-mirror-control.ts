import {LitElement} from 'lit'
import {consumeContext} from '../../context/consume.js'
import {swarmContext} from '../../context/swarm-context.js'
import {logContext} from '../../context/log-context.js'
import type {Swarm} from '../../core/swarm/swarm.js'
import type {Identity} from '../../core/crypto/identity.js'
import {pageIdentity} from '../../core/swarm/page-identity.js'
import type {Log} from '../../core/log/log.js'
import type {MirrorStatus} from '../../mirror/mirror.js'
import {P2PError} from '../../core/errors.js'
import {P2PErrorEvent} from '../../events/error-event.js'
import {MirrorStatusEvent} from '../../events/mirror-status-event.js'
import {holdLog} from '../p2p-log/log-database.js'

type BodyCode = typeof import('./mirror-control-body.js')

/**
 * What the element's code loaded on demand takes from here by reference, not by import.
 * esbuild cuts every module that an import()ed file shares with the file importing it
 * out into a chunk of its own: imported by the body, the log, the page key and the
 * context classes left the all-in-one file as a 17.5 KB gzip chunk that cost every page
 * of the whole kit 2 KB gzip more (92,209 bytes against 90,235 this way, 4 December).
 * The per-element file pays instead: it loads the log's code first (docs/markup.md).
 */
const kit = {holdLog, pageIdentity, MirrorStatusEvent, P2PErrorEvent}
export type MirrorControlKit = typeof kit

/**
 * Loads the element's code (the status watch, the rendering, the owner's log) once an
 * element connects: a page that loads the whole kit and shows no mirror carries the
 * class below and nothing more. Replaceable by tests.
 */
export const loaders = {body: (): Promise<BodyCode> => import('./mirror-control-body.js')}

/** What the element's code, once loaded, gives the element. */
export interface MirrorControlBody {
  readonly status: MirrorStatus | undefined
  render(): unknown
}

/**
 * What an always-on mirror (`npx p2p-elements mirror`, docs/mirror.md) keeps for the
 * room of the nearest `<p2p-swarm>`, as the mirror itself tells it over its
 * connection (its key proven): whether it is connected; each kept log with its state
 * ("in sync", "N behind", "over quota", "storage full", "no peer has it"), its length
 * beside what its peers report, and why it is kept; each kept file with the chunks it
 * holds; its owners, the requests it refused and why, and the entries it rejected or
 * ignored. Inside a `<p2p-log>` whose log the mirror keeps, it compares that log's
 * heads with the mirror's.
 *
 * On the page of an owner (its key, `identity` or the page's, is one the mirror was
 * started with `--owner`), a form adds a log or a file by its id and a button per
 * entry an owner asked for removes it: each is a signed entry appended to the mirror's
 * own log, replicated in the swarm. Everything the mirror tells is shown as text.
 *
 * @summary An always-on mirror's state, and its owners' controls.
 *
 * @event p2p-mirror-status - The mirror told its status (the first time, then after each change). `detail: {status}`.
 * @event p2p-error - `mirror` is not a key (`ERR_INVALID_ARGUMENT`; nothing is opened), the mirror sent what is not a status (`ERR_MALFORMED_MESSAGE`, `ERR_MESSAGE_TOO_LARGE`: it is dropped and heard again when it reconnects), or the control log could not open or append. `detail: {error}`.
 *
 * @csspart connection - Whether the mirror is connected (`data-connected` is `true` or `false`).
 * @csspart logs - The table of kept logs.
 * @csspart files - The table of kept files.
 * @csspart row - One log's or file's row (`data-id`, `data-state`).
 * @csspart id - A log's short address or a file's name or short id.
 * @csspart state - A row's state.
 * @csspart page - How the page's own copy of a log compares with the mirror's.
 * @csspart remove - An owner's button that stops keeping a log or a file.
 * @csspart control - The owners, refused requests and rejected and ignored entries.
 * @csspart refused - One refused request, with its reason.
 * @csspart add - An owner's form that asks the mirror to keep a log or a file.
 * @csspart pending - Shown on an owner's page until the mirror's log admitting it has arrived.
 * @csspart empty - Shown while the mirror has told nothing.
 *
 * @cssproperty --p2p-font - Font of the element.
 * @cssproperty --p2p-mono - Font of keys and ids.
 */
export class P2PMirrorControlElement extends LitElement {
  static override properties = {mirror: {}, swarm: {attribute: false}, identity: {attribute: false}, log: {attribute: false}}

  /** The mirror's public key (64 hex characters, printed when it starts). Required. */
  mirror = ''

  /** The swarm of the nearest `<p2p-swarm>` (or set directly). */
  swarm: Swarm | undefined

  /** The key an owner writes with, for apps that bring their own; unset: the page's key. */
  identity: Identity | undefined

  /** A log this page holds (the nearest `<p2p-log>`'s, or set directly): its heads are compared with the mirror's copy. */
  log: Log | undefined

  #body: MirrorControlBody | undefined
  #loading: Promise<void> | undefined

  constructor() {
    super()
    consumeContext(this, swarmContext, swarm => this.swarm = swarm)
    consumeContext(this, logContext, log => this.log = log)
  }

  /** The mirror's latest status, or undefined before it told one. */
  get status(): MirrorStatus | undefined {
    return this.#body?.status
  }

  override connectedCallback(): void {
    super.connectedCallback()
    this.#loading ??= loaders.body().then(code => { this.#body = code.attach(this, kit) },
      err => { this.dispatchEvent(new P2PErrorEvent(P2PError.CONNECTION_FAILED('cannot load the code of the <p2p-mirror-control>', err))) })
  }

  protected override render() {
    return this.#body?.render()
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'p2p-mirror-control': P2PMirrorControlElement
  }
}
