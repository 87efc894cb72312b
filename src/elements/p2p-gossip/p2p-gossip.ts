import {LitElement, html, css, type PropertyValues} from 'lit'
import {ContextProvider} from '@lit/context'
import {consumeContext} from '../../context/consume.js'
import {swarmContext} from '../../context/swarm-context.js'
import {sourceContext} from '../../context/source-context.js'
import type {Swarm} from '../../core/swarm/swarm.js'
import type {Gossip} from '../../core/gossip/router.js'
import {GossipSource} from '../../core/gossip/source.js'
import {sharedGossip, type SharedGossip} from '../../core/gossip/swarm.js'
import {toP2PError} from '../../core/errors.js'
import {GossipMessageEvent} from '../../events/gossip-message-event.js'
import {P2PErrorEvent} from '../../events/error-event.js'
import {FormPublisher} from '../shared/form-publisher.js'

/**
 * One topic of the room's gossip: messages that reach every peer of the nearest
 * `<p2p-swarm>`, signed by this peer's key. Provides them as a message source, so a
 * `<p2p-feed>` inside renders them and a plain `<form>` inside publishes to them
 * (its fields as a JSON object; `data-keep` fields survive the reset).
 *
 * Every `<p2p-gossip>` of one swarm shares one gossip router (one protocol channel
 * per peer connection), whatever their topics; the last one removed ends it.
 *
 * @summary Messages that reach every peer in the room, on one topic.
 *
 * @slot - The app: a `<p2p-feed>` to show the messages, a `<form>` to send them, any markup.
 *
 * @event p2p-gossip-message - A message arrived, from a peer or published here. `detail: {item, topic}`.
 * @event p2p-error - A form could not be published, or the topic is invalid. `detail: {error}` (a P2PError with a `code`).
 */
export class P2PGossipElement extends LitElement {
  static override styles = css`
    :host { display: block; }
    :host([hidden]) { display: none; }
  `
  static override properties = {topic: {}, limit: {type: Number}, swarm: {attribute: false}}

  /** The topic: only elements with the same topic see each other's messages. Required. */
  topic = ''

  /** Most messages kept for feeds (the oldest go first). */
  limit = 500

  /** The swarm of the nearest `<p2p-swarm>` (or set directly). */
  swarm: Swarm | undefined

  readonly #provider = new ContextProvider(this, {context: sourceContext})

  /** This topic's messages, provided to descendants; replaced when the swarm, topic or limit change. */
  get source(): GossipSource | undefined {
    // The provider holds only what the setter below gave it.
    return this.#provider.value as GossipSource | undefined
  }

  set source(source: GossipSource | undefined) {
    this.#provider.setValue(source)
  }

  #swarm: Swarm | undefined
  #held: SharedGossip | undefined
  #unsubscribe: (() => void) | undefined

  constructor() {
    super()
    consumeContext(this, swarmContext, swarm => this.swarm = swarm)
    new FormPublisher(this, {source: () => this.source})
  }

  /** The room's gossip router this element shares with the swarm's other `<p2p-gossip>`s (stats, links). */
  get gossip(): Gossip | undefined {
    return this.#held?.gossip
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
    if (swarm !== this.#swarm || changed.has('topic') || changed.has('limit')) this.#use(swarm)
  }

  protected override render() {
    return html`<slot></slot>`
  }

  /** Holds the router of `swarm` (releasing any other) and opens this topic on it. */
  #use(swarm: Swarm | undefined): void {
    this.#closeSource()
    if (swarm !== this.#swarm) {
      this.#held?.release()
      this.#held = undefined
      this.#swarm = swarm
      if (swarm) {
        try {
          this.#held = sharedGossip(swarm)
        } catch (err) {
          this.dispatchEvent(new P2PErrorEvent(toP2PError(err)))
          return
        }
      }
    }
    if (!this.#held || !this.topic) return
    const topic = this.topic
    let source: GossipSource
    try {
      source = new GossipSource(this.#held.gossip, topic, {limit: this.limit})
    } catch (err) {
      this.dispatchEvent(new P2PErrorEvent(toP2PError(err, 'ERR_INVALID_ARGUMENT')))
      return
    }
    this.#unsubscribe = source.subscribe(item => this.dispatchEvent(new GossipMessageEvent({item, topic})))
    this.source = source
  }

  #closeSource(): void {
    this.#unsubscribe?.()
    this.#unsubscribe = undefined
    this.source?.close()
    this.source = undefined
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'p2p-gossip': P2PGossipElement
  }
}
