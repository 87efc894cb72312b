import {LitElement} from 'lit'
import {consumeContext} from '../../context/consume.js'
import {swarmContext} from '../../context/swarm-context.js'
import type {Swarm} from '../../core/swarm/swarm.js'
import type {PageDht} from '../../core/dht/page-dht.js'
import {P2PError} from '../../core/errors.js'
import {P2PErrorEvent} from '../../events/error-event.js'
import {DhtReadyEvent} from '../../events/dht-ready-event.js'

type BodyCode = typeof import('./dht-body.js')

/** What the body loaded on demand takes from here by reference, not by import (see p2p-mirror-control.ts). */
const kit = {DhtReadyEvent, P2PErrorEvent}
export type DhtKit = typeof kit

/**
 * Loads the element's code (the page's DHT node and the rendering) once an element
 * connects: a page that loads the whole kit and shows no DHT carries the class below
 * and nothing more. Replaceable by tests.
 */
export const loaders = {body: (): Promise<BodyCode> => import('./dht-body.js')}

/** What the element's code, once loaded, gives the element. */
export interface DhtBody {
  readonly dht: PageDht | undefined
  render(): unknown
  detach(): void
}

/**
 * The page's DHT node (docs/dht.md) for the room of the nearest `<p2p-swarm>`: once
 * this element is in a room, the page joins the DHT every DHT page joins on the same
 * hubs (and on the tabs of its origin), keeps its buckets, and makes the room findable
 * through it, so the page finds the room's peers with its hubs down, a room split
 * between hubs or left full mends, and a new tab comes in through a tab of its origin.
 * A room with a `secret` is not announced (its name is not published), but its peers
 * still serve the DHT. It shows the routing table (each bucket's fill), the nodes it
 * knows, the connections the page uses of its budget and the lookups in flight, as
 * text.
 *
 * @summary The page's DHT node: a room found, and a mesh mended, without a hub.
 *
 * @event p2p-dht-ready - The DHT node has its first contact. `detail: {dht}` (a PageDht: its `dht`, `swarm`, `upkeep` and `stats`).
 * @event p2p-error - The DHT's code could not load (`ERR_CONNECTION_FAILED`), or its swarm failed. `detail: {error}`.
 *
 * @csspart summary - The counts: peers, nodes, lookups in flight.
 * @csspart buckets - The routing table: one item per bucket that holds contacts.
 * @csspart bucket - One bucket (`data-index`: the bits it shares with this node's id; `data-size`: its contacts).
 * @csspart budget - The page's connections: open, made, and the most it may make.
 * @csspart empty - Shown while there is no room or no code yet.
 *
 * @cssproperty --p2p-font - Font of the element.
 * @cssproperty --p2p-mono - Font of the figures.
 */
export class P2PDhtElement extends LitElement {
  static override properties = {swarm: {attribute: false}}

  /** The swarm of the nearest `<p2p-swarm>` (or set directly). */
  swarm: Swarm | undefined

  #body: DhtBody | undefined
  #loading: Promise<void> | undefined

  constructor() {
    super()
    consumeContext(this, swarmContext, swarm => this.swarm = swarm)
  }

  /** The page's DHT node, once the element is in a room and its code is in. */
  get dht(): PageDht | undefined {
    return this.#body?.dht
  }

  override connectedCallback(): void {
    super.connectedCallback()
    this.#loading ??= loaders.body().then(code => { this.#body = code.attach(this, kit) },
      err => { this.dispatchEvent(new P2PErrorEvent(P2PError.CONNECTION_FAILED('cannot load the code of the <p2p-dht>', err))) })
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback()
    this.#body?.detach()
  }

  protected override render() {
    return this.#body?.render()
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'p2p-dht': P2PDhtElement
  }
}
