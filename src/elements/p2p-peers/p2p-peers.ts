import {LitElement, html, nothing} from 'lit'
import {consumeContext} from '../../context/consume.js'
import {swarmContext} from '../../context/swarm-context.js'
import type {Swarm, SwarmState} from '../../core/swarm/swarm.js'
import type {SwarmPeer} from '../../core/swarm/swarm.js'
import {styles} from './p2p-peers.styles.js'
import {formatBytes} from '../shared/format.js'
import {shortId} from '../../core/debug.js'

const STATE_LABEL = {
  connecting: 'connecting',
  authenticating: 'verifying key',
  connected: 'connected',
  closed: 'closed',
} as const

/** What the list says about the hubs while the swarm is not online. */
const SWARM_STATE_TEXT: Record<Exclude<SwarmState, 'online'>, string> = {
  'connecting': 'Connecting to the hub…',
  'hub-unreachable': 'Can’t reach the hub',
  'offline': 'Offline',
}

/** A stable hue per key, so a peer keeps its colour across lists and reloads. */
function hue(key: string): number {
  return parseInt(key.slice(0, 6) || '0', 16) % 360
}

/**
 * The live list of peers in the nearest `<p2p-swarm>`: each peer's short key,
 * connection state, round-trip time and bytes in and out. While the swarm is
 * not online it says why: connecting to the hub, can't reach the hub, offline.
 *
 * @summary Who is in the room, and how well connected.
 *
 * @csspart header - The line above the list: peer count and this peer's key.
 * @csspart self - This peer's own short key, inside the header.
 * @csspart table - The table of peers.
 * @csspart peer - One row (also `peer-connected`, `peer-connecting`, `peer-authenticating`).
 * @csspart key - A peer's short public key.
 * @csspart swatch - The colour dot derived from a peer's key.
 * @csspart state - A peer's state badge (also `state-connected` and so on).
 * @csspart status - Where the swarm stands with its hubs, shown while it is not online (`data-state` names the state).
 * @csspart empty - The text shown while there are no peers.
 *
 * @cssproperty --p2p-font - Font of the list.
 * @cssproperty --p2p-mono - Font of keys.
 * @cssproperty --p2p-state-color - Text colour of a state badge.
 * @cssproperty --p2p-state-background - Background of a state badge.
 * @cssproperty --p2p-connected-color - Text colour of a connected badge.
 * @cssproperty --p2p-connected-background - Background of a connected badge.
 */
export class P2PPeersElement extends LitElement {
  static override styles = styles
  static override properties = {
    hidePending: {type: Boolean, attribute: 'hide-pending'}, label: {}, swarm: {attribute: false},
  }

  /** List only proven peers, not connections still being set up. */
  hidePending = false

  /** Label of the list, for assistive technology. */
  label = 'Peers in this room'

  /** The swarm of the nearest `<p2p-swarm>` (or set directly). */
  swarm: Swarm | undefined

  constructor() {
    super()
    consumeContext(this, swarmContext, swarm => this.swarm = swarm)
  }

  #observed: Swarm | undefined
  #onUpdate = () => this.requestUpdate()

  override disconnectedCallback(): void {
    super.disconnectedCallback()
    this.#observe(undefined)
  }

  protected override willUpdate(): void {
    this.#observe(this.isConnected ? this.swarm : undefined)
  }

  #observe(swarm: Swarm | undefined): void {
    if (swarm === this.#observed) return
    this.#observed?.off('update', this.#onUpdate)
    this.#observed = swarm
    swarm?.on('update', this.#onUpdate)
  }

  protected override render() {
    const swarm = this.swarm
    const peers = swarm && !swarm.destroyed
      ? swarm.connections.filter(p => !this.hidePending || p.state === 'connected')
      : []
    const connected = peers.filter(p => p.state === 'connected').length
    const state = swarm && !swarm.destroyed ? swarm.state : undefined
    return html`
      <p part="header" id="header" aria-live="polite">
        <span>${connected} ${connected === 1 ? 'peer' : 'peers'} connected</span>
        ${swarm ? html`<span part="self">you: <span class="key">${shortId(swarm.publicKey)}</span></span>` : nothing}
      </p>
      ${state && state !== 'online'
        ? html`<p part="status" role="status" data-state=${state}>${SWARM_STATE_TEXT[state]}</p>`
        : nothing}
      ${peers.length === 0
        ? (swarm ? (state === 'online' ? html`<p part="empty">Waiting for peers…</p>` : nothing) : html`<p part="empty">Not in a room.</p>`)
        : html`
          <table part="table" aria-label=${this.label}>
            <thead><tr><th scope="col">Peer</th><th scope="col">State</th><th scope="col">RTT</th><th scope="col">In</th><th scope="col">Out</th></tr></thead>
            <tbody>${peers.map(p => this.#row(p))}</tbody>
          </table>`}
    `
  }

  #row(p: SwarmPeer) {
    const key = p.publicKey
    const rtt = p.rtt
    return html`
      <tr part="peer peer-${p.state}" data-key=${key ?? ''} data-state=${p.state}>
        <th scope="row">
          <span part="swatch" aria-hidden="true" style="background: hsl(${key ? hue(key) : 0} 60% 55%)"></span>
          <span part="key" title=${key ?? `hub id ${p.id}`}>${key ? shortId(key) : '········'}</span>
        </th>
        <td><span part="state state-${p.state}">${STATE_LABEL[p.state]}</span></td>
        <td class="num">${rtt === null ? '–' : `${Math.round(rtt)} ms`}</td>
        <td class="num">${formatBytes(p.bytesIn)}</td>
        <td class="num">${formatBytes(p.bytesOut)}</td>
      </tr>`
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'p2p-peers': P2PPeersElement
  }
}
