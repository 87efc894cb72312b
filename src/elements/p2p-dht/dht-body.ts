/**
 * <p2p-dht>'s code, loaded by import() when an element connects: the page that loads
 * the whole kit carries only the element's class until it shows a DHT. It follows the
 * room of the element's swarm with the page's DHT node (pageDht: one per identity),
 * renders the node's figures as text, and lets the node go once it follows no room.
 */
import {adoptStyles, css, html, type ReactiveController} from 'lit'
import type {Swarm} from '../../core/swarm/swarm.js'
import {pageDht, type PageDht} from '../../core/dht/page-dht.js'
import {toP2PError, type P2PError} from '../../core/errors.js'
import type {DhtBody, DhtKit, P2PDhtElement} from './p2p-dht.js'

/** Lookups and the budget change without an event of the node's: the figures are read again this often (ms). */
const REFRESH = 1000

const styles = css`
  :host {
    display: block;
    font: var(--p2p-font, 14px/1.4 system-ui, sans-serif);
    color: var(--p2p-color, inherit);
  }
  :host([hidden]) { display: none; }
  p, ol { margin: 0 0 0.5em; }
  ol { padding: 0; list-style: none; display: flex; flex-wrap: wrap; gap: 0.25em 0.75em; }
  [part~='summary'], [part~='bucket'], [part~='budget'] { font-variant-numeric: tabular-nums; }
  [part~='bucket'] { font-family: var(--p2p-mono, ui-monospace, monospace); font-size: 0.9em; }
  [part~='empty'] { opacity: 0.75; }
`

/** Gives `host` its code (with what it takes from the kit's first files). */
export function attach(host: P2PDhtElement, kit: DhtKit): DhtBody {
  return new DhtView(host, kit)
}

class DhtView implements ReactiveController, DhtBody {
  dht: PageDht | undefined
  readonly #host: P2PDhtElement
  readonly #kit: DhtKit
  #swarm: Swarm | undefined
  #stopFollowing: (() => void) | undefined
  #ready = false
  #timer: ReturnType<typeof setInterval> | undefined
  readonly #update = () => {
    const dht = this.dht
    if (dht && !this.#ready && dht.stats.nodes > 0) {
      this.#ready = true
      this.#host.dispatchEvent(new this.#kit.DhtReadyEvent({dht}))
    }
    this.#host.requestUpdate()
  }
  readonly #error = (err: P2PError) => this.#host.dispatchEvent(new this.#kit.P2PErrorEvent(err))

  constructor(host: P2PDhtElement, kit: DhtKit) {
    this.#host = host
    this.#kit = kit
    adoptStyles(host.renderRoot as ShadowRoot, [styles])
    host.addController(this)
    host.requestUpdate()
  }

  hostConnected(): void {
    this.#host.requestUpdate()
  }

  hostDisconnected(): void {
    this.detach()
  }

  hostUpdate(): void {
    const host = this.#host
    const swarm = host.isConnected && host.swarm && !host.swarm.destroyed ? host.swarm : undefined
    if (swarm !== this.#swarm) this.#use(swarm)
  }

  detach(): void {
    this.#use(undefined)
  }

  #use(swarm: Swarm | undefined): void {
    this.#swarm = swarm
    const dht = this.dht
    if (dht) {
      dht.off('update', this.#update)
      dht.off('error', this.#error)
      this.#stopFollowing?.()
      // The node is the page's: the last element to let it go closes it.
      if (dht.stats.rooms === 0) dht.close()
    }
    clearInterval(this.#timer)
    this.dht = this.#stopFollowing = this.#timer = undefined
    this.#ready = false
    if (!swarm) return
    try {
      const node = this.dht = pageDht(swarm)
      node.on('update', this.#update)
      node.on('error', this.#error)
      // A room with a secret is not announced: its name would be published.
      const secret = (this.#host.closest('p2p-swarm') as {secret?: string} | null)?.secret
      this.#stopFollowing = node.follow(swarm, {findable: !secret})
      this.#timer = setInterval(this.#update, REFRESH)
      this.#update()
    } catch (err) {
      this.#error(toP2PError(err, 'ERR_INVALID_ARGUMENT'))
    }
  }

  render(): unknown {
    const dht = this.dht
    if (!dht) return html`<p part="empty">Not in a room.</p>`
    const {peers, nodes, buckets, lookups, connections} = dht.stats
    const k = dht.dht.table?.k ?? 0
    return html`
      <p part="summary">${peers} DHT ${peers === 1 ? 'peer' : 'peers'}, ${nodes} ${nodes === 1 ? 'node' : 'nodes'} in the table, ${lookups} ${lookups === 1 ? 'lookup' : 'lookups'} in flight</p>
      ${buckets.length === 0
        ? html`<p part="empty">No contact yet.</p>`
        : html`<ol part="buckets" aria-label="Routing table">${buckets.map(b => html`
          <li part="bucket" data-index=${b.index} data-size=${b.size}>bucket ${b.index}: ${b.size} of ${k}</li>`)}</ol>`}
      <p part="budget">Connections: ${connections.open} open, ${connections.created} made of the ${connections.limit} a page may make</p>
    `
  }
}
