import {LitElement, html, css, type PropertyValues} from 'lit'
import {ContextProvider} from '@lit/context'
import {swarmContext} from '../../context/swarm-context.js'
import {Swarm} from '../../core/swarm/swarm.js'
import type {SwarmPeer, SwarmState} from '../../core/swarm/swarm.js'
import type {Identity} from '../../core/crypto/identity.js'
import {claimPageIdentity, type IdentityClaim} from '../../core/swarm/page-identity.js'
import {pageNetwork} from './page-network.js'
import {HubIceConfig} from '../../core/hub-client/ice-config.js'
import {pageStreams} from '../../core/hub-client/shared-streams.js'
import {P2PError, toP2PError} from '../../core/errors.js'
import {PeerConnectEvent} from '../../events/peer-connect-event.js'
import {PeerDisconnectEvent} from '../../events/peer-disconnect-event.js'
import {PeerReconnectEvent} from '../../events/peer-reconnect-event.js'
import {P2PErrorEvent} from '../../events/error-event.js'

/** Attribute converter for `ice-servers`: a JSON array of RTCIceServer. */
const iceServersConverter = {
  fromAttribute(value: string | null): RTCIceServer[] | undefined {
    if (!value) return undefined
    try {
      const parsed = JSON.parse(value)
      if (Array.isArray(parsed)) return parsed as RTCIceServer[]
    } catch {
      // reported below: an unusable attribute must not silently mean "no TURN"
    }
    throw P2PError.INVALID_ARGUMENT('ice-servers must be a JSON array of RTCIceServer objects')
  },
  toAttribute(value: RTCIceServer[] | undefined): string | null {
    return value ? JSON.stringify(value) : null
  },
}

/**
 * A room of peers. Joins the room through the signalling hub(s), connects to
 * the other peers over WebRTC, and provides the swarm to every p2p element
 * inside it.
 *
 * @summary A peer-to-peer room: the context every other p2p element lives in.
 *
 * @slot - The app: p2p elements and any markup.
 *
 * @attr {'connecting' | 'online' | 'hub-unreachable' | 'offline'} state - Read-only: where the swarm stands with its hubs, for CSS (`p2p-swarm[state=hub-unreachable]`). Set by the element; a value set from outside is put back. Absent while there is no swarm (no hub or room).
 *
 * @event p2p-peer-connect - A peer proved its key and joined. `detail: {peer, publicKey}`.
 * @event p2p-peer-disconnect - A peer left, vanished or failed. `detail: {peer, publicKey, error?}`.
 * @event p2p-peer-reconnect - A peer whose connection broke is back, once per break: by an ICE restart (same connection) or on a new one. `detail: {peer, publicKey, how}`.
 * @event p2p-error - A hub, connection or peer failed. `detail: {error}` (a P2PError with a `code`).
 */
export class P2PSwarmElement extends LitElement {
  static override styles = css`
    :host { display: block; }
    :host([hidden]) { display: none; }
  `
  static override properties = {
    hub: {}, room: {}, maxPeers: {type: Number, attribute: 'max-peers'}, secret: {},
    iceServers: {attribute: 'ice-servers', converter: iceServersConverter},
    iceTransportPolicy: {attribute: 'ice-transport-policy'}, identity: {attribute: false},
  }

  /** Signalling hub URL, or several separated by spaces (subscribes to all, broadcasts to all). */
  hub = ''

  /** Room name: peers in the same room on the same hub find each other. */
  room = ''

  /** Most peers to connect to at once, pending connections included. */
  maxPeers = 16

  /** Shared secret: encrypts signalling, so only holders of the secret can join. */
  secret = ''

  /**
   * STUN/TURN servers, as a JSON array of RTCIceServer. Unset: those the hub
   * hands out on `GET /v1/ice` (none from a hub that names none: host candidates only).
   */
  iceServers?: RTCIceServer[]

  /** `relay` forces every connection through TURN. */
  iceTransportPolicy: RTCIceTransportPolicy = 'all'

  /**
   * This peer's key pair (property only), as `createIdentity()` makes it.
   * Unset, the page identity (kept in IndexedDB, one per tab: the same after a
   * reload; docs/identity.md): the page's rooms are then one peer to other
   * pages, and share one connection with each (a second `<p2p-swarm>` of the
   * page in the same room gets a fresh key).
   */
  identity?: Identity

  readonly #provider = new ContextProvider(this, {context: swarmContext})

  /**
   * The live swarm, provided to descendants; replaced when hub, room or settings
   * change. Made once the page's key pair is in (WebCrypto makes it
   * asynchronously): `await el.updateComplete` after setting `hub` or `room`.
   */
  get swarm(): Swarm | undefined {
    return this.#provider.value
  }

  set swarm(swarm: Swarm | undefined) {
    this.#provider.setValue(swarm)
  }

  /**
   * Where the swarm stands with its hubs (read-only; also the `state`
   * attribute): `connecting`, `online`, `hub-unreachable` or `offline`;
   * undefined while there is no swarm (no hub or room).
   */
  get state(): SwarmState | undefined {
    return this.swarm?.state
  }

  static override get observedAttributes(): string[] {
    return [...super.observedAttributes, 'state']
  }

  override attributeChangedCallback(name: string, old: string | null, value: string | null): void {
    // The attribute mirrors the swarm: a value written from outside is put back.
    if (name === 'state') this.#reflectState()
    else super.attributeChangedCallback(name, old, value)
  }

  #reflectState(): void {
    const state = this.state
    if (this.getAttribute('state') === (state ?? null)) return
    if (state) this.setAttribute('state', state)
    else this.removeAttribute('state')
  }

  #claim: IdentityClaim | undefined
  /** The hub's ICE servers, while `ice-servers` is unset. */
  #hubIce: HubIceConfig | undefined
  #onPageHide = () => this.#stop()
  // A page restored from the back/forward cache comes back without its swarm.
  #onPageShow = (e: PageTransitionEvent) => {
    if (e.persisted && !this.swarm) this.requestUpdate()
  }

  override connectedCallback(): void {
    super.connectedCallback()
    // A tab being closed or reloaded says goodbye, so its peers drop it at once.
    window.addEventListener('pagehide', this.#onPageHide)
    window.addEventListener('pageshow', this.#onPageShow)
    // Moved in the DOM: the swarm was stopped on removal and starts again here.
    if (this.hasUpdated && !this.swarm) this.requestUpdate()
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback()
    window.removeEventListener('pagehide', this.#onPageHide)
    window.removeEventListener('pageshow', this.#onPageShow)
    this.#stop()
  }

  protected override willUpdate(changed: PropertyValues<this>): void {
    const keys = ['hub', 'room', 'maxPeers', 'secret', 'iceServers', 'iceTransportPolicy', 'identity'] as const
    if (!this.swarm || keys.some(k => changed.has(k))) this.#start()
  }

  protected override render() {
    return html`<slot></slot>`
  }

  #start(): void {
    this.#stop()
    const hubs = this.hub.split(/\s+/).filter(Boolean)
    if (!hubs.length || !this.room || !this.isConnected) return
    if (this.identity) {
      this.#open(hubs, this.identity)
      return
    }
    // The page key is made once, asynchronously: the swarm follows when it is in,
    // unless this claim was given up meanwhile (removed, or restarted with new settings).
    // A new page key (setPageIdentity) starts it again: the peers proved the old one.
    const claim = this.#claim = claimPageIdentity(this.room, () => this.#start())
    this.#opening = claim.identity.then(identity => {
      if (this.#claim === claim) this.#open(hubs, identity)
    }, (err: unknown) => {
      if (this.#claim !== claim) return
      this.#stop()
      this.dispatchEvent(new P2PErrorEvent(toP2PError(err)))
    })
  }

  /** The swarm being made once the page key is in (see #start). */
  #opening: Promise<void> | undefined

  /**
   * `updateComplete` resolves once the swarm is there (or failed): what code
   * that reads `swarm` after setting `hub` or `room` waits for.
   */
  protected override async getUpdateComplete(): Promise<boolean> {
    const complete = await super.getUpdateComplete()
    await this.#opening
    return complete
  }

  #open(hubs: string[], identity: Identity): void {
    // The page named none: the hub's. The swarm's streams wait for them, so its
    // first connection has them; each later connection asks again (fresh credentials).
    const ice = this.iceServers ? undefined : new HubIceConfig({hubs})
    let swarm: Swarm
    try {
      swarm = new Swarm({
        hubs, room: this.room, maxPeers: this.maxPeers, secret: this.secret || undefined,
        iceServers: ice ? () => ice.servers : this.iceServers, openStream: ice?.gate(pageStreams.open), iceTransportPolicy: this.iceTransportPolicy, identity,
        network: pageNetwork,
      })
    } catch (err) {
      ice?.destroy()
      this.#stop()
      this.dispatchEvent(new P2PErrorEvent(err as P2PError))
      return
    }
    this.#hubIce = ice
    swarm.on('connect', (peer: SwarmPeer) => {
      this.dispatchEvent(new PeerConnectEvent({peer, publicKey: peer.publicKey!}))
    })
    swarm.on('disconnect', (peer: SwarmPeer, error?: P2PError) => {
      this.dispatchEvent(new PeerDisconnectEvent({peer, publicKey: peer.publicKey!, error}))
    })
    swarm.on('reconnect', (peer: SwarmPeer, how) => {
      this.dispatchEvent(new PeerReconnectEvent({peer, publicKey: peer.publicKey!, how}))
    })
    swarm.on('error', (error: P2PError) => this.dispatchEvent(new P2PErrorEvent(error)))
    swarm.on('update', () => this.#reflectState())
    this.swarm = swarm
    this.#reflectState()
  }

  #stop(): void {
    this.#hubIce?.destroy()
    this.#hubIce = undefined
    this.#claim?.release()
    this.#claim = undefined
    if (!this.swarm) return
    this.swarm.destroy()
    this.swarm = undefined
    this.#reflectState()
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'p2p-swarm': P2PSwarmElement
  }
}
