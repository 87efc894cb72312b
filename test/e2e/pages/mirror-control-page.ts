// <p2p-mirror-control> elements in a <p2p-swarm>, as an app puts them in markup, driven by
// test/e2e/mirror-control.test.ts through window.p2pTest: what the elements show, read
// from their shadow roots by their parts, and what they fire. The page's key is the
// page identity of this browser context (its own IndexedDB).
import '../../../src/p2p-swarm.js'
import '../../../src/p2p-log.js'
import '../../../src/p2p-mirror-control.js'
import type {P2PSwarmElement} from '../../../src/elements/p2p-swarm/p2p-swarm.js'
import type {P2PMirrorControlElement} from '../../../src/elements/p2p-mirror-control/p2p-mirror-control.js'
import {pageIdentity} from '../../../src/core/swarm/page-identity.js'
import {Swarm} from '../../../src/core/swarm/swarm.js'
import {createIdentity} from '../../../src/core/crypto/identity.js'
import {fromHex, toHex} from '../../../src/core/bytes.js'
import {EntryKind, createEntry, jsonValue} from '../../../src/core/log/entry.js'
import {encodeEntries} from '../../../src/core/log/messages.js'
import {logProtocol} from '../../../src/core/log/swarm.js'

/** What one element shows, read from its shadow root. */
export interface ControlView {
  /** `data-connected` of the connection line, or null before it shows one. */
  connected: string | null
  /** `page`: how the page's own copy compares (`data-same` of part="page"), null where the page holds none. */
  logs: Array<{id: string, state: string, text: string, remove: boolean, page: string | null}>
  files: Array<{id: string, state: string, text: string, remove: boolean, page: string | null}>
  refused: Array<{id: string, text: string}>
  rejected: number | null
  ignored: number | null
  /** The owner's form is there, and its button is enabled. */
  form: boolean
  writable: boolean
  text: string
}

/** Every p2p-error and p2p-mirror-status the page's <p2p-mirror-control> elements fired, with the mirror of the element. */
const errors: Array<{mirror: string, code: string, message: string}> = []
const statuses: Array<{mirror: string, logs: number}> = []
let swarm: P2PSwarmElement | null = null
const forgers: Swarm[] = []

document.body.addEventListener('p2p-error', event => {
  const {code, message} = event.detail.error
  const target = event.target as Element
  if (target.localName === 'p2p-mirror-control') errors.push({mirror: (target as P2PMirrorControlElement).mirror, code, message})
})
document.body.addEventListener('p2p-mirror-status', event => {
  statuses.push({mirror: (event.target as P2PMirrorControlElement).mirror, logs: event.detail.status.logs.length})
})

function element(mirror: string): P2PMirrorControlElement {
  const found = [...document.querySelectorAll('p2p-mirror-control')].find(el => el.mirror === mirror)
  if (!found) throw new Error(`no element for mirror ${mirror.slice(0, 8)}`)
  return found
}

function rows(root: ShadowRoot, table: string) {
  return [...root.querySelectorAll(`[part~="${table}"] [part~="row"]`)].map(row => ({
    id: row.getAttribute('data-id') ?? '',
    state: row.getAttribute('data-state') ?? '',
    text: row.textContent!.replace(/\s+/g, ' ').trim(),
    remove: row.querySelector('[part~="remove"]') !== null,
    page: row.querySelector('[part~="page"]')?.getAttribute('data-same') ?? null,
  }))
}

const count = (root: ShadowRoot, name: string) => {
  const text = root.querySelector(`[data-count="${name}"]`)?.textContent
  return text === undefined ? null : Number(text)
}

const api = {
  /** This page's key: the one a mirror's `--owner` names. */
  async key(): Promise<string> {
    return toHex((await pageIdentity()).publicKey)
  },
  /** Puts a <p2p-swarm> for `room` in the page (no ICE server: loopback only). */
  join(hub: string, room: string): void {
    swarm = document.createElement('p2p-swarm')
    swarm.setAttribute('ice-servers', '[]')
    swarm.hub = hub
    swarm.room = room
    document.body.append(swarm)
  },
  /** Adds a <p2p-mirror-control mirror="…"> inside the swarm, as markup does; inside a <p2p-log key="…"> with `log`. */
  watch(mirror: string, log?: string): void {
    const control = document.createElement('p2p-mirror-control')
    control.setAttribute('mirror', mirror)
    if (log === undefined) {
      swarm!.append(control)
      return
    }
    const holder = document.createElement('p2p-log')
    holder.setAttribute('key', log)
    holder.append(control)
    swarm!.append(holder)
  },
  view(mirror: string): ControlView | null {
    const root = element(mirror).shadowRoot
    if (!root) return null
    const button = root.querySelector<HTMLButtonElement>('[part~="add"] button')
    return {
      connected: root.querySelector('[part~="connection"]')?.getAttribute('data-connected') ?? null,
      logs: rows(root, 'logs'),
      files: rows(root, 'files'),
      refused: [...root.querySelectorAll('[part~="refused"]')].map(li => ({id: li.getAttribute('data-id') ?? '', text: li.textContent!.replace(/\s+/g, ' ').trim()})),
      rejected: count(root, 'rejected'),
      ignored: count(root, 'ignored'),
      form: button !== null,
      writable: button !== null && !button.disabled,
      text: root.textContent!.replace(/\s+/g, ' ').trim(),
    }
  },
  /** Asks the mirror to keep `id` through the element's form, as a person does: picks the kind, types the id, clicks Keep. */
  add(mirror: string, kind: 'log' | 'file', id: string): void {
    const form = element(mirror).shadowRoot!.querySelector<HTMLFormElement>('[part~="add"]')!
    form.querySelector('select')!.value = kind
    form.querySelector('input')!.value = id
    form.querySelector('button')!.click()
  },
  /** Clicks the Remove button of the row of `id`. */
  remove(mirror: string, id: string): void {
    const row = [...element(mirror).shadowRoot!.querySelectorAll('[part~="row"]')].find(r => r.getAttribute('data-id') === id)
    row!.querySelector<HTMLButtonElement>('[part~="remove"]')!.click()
  },
  /**
   * Appends to the mirror's control log through code, though this page is not an owner:
   * an entry `value` signed with the page's key, sent to the mirror by a second swarm of
   * the page (a key of its own, which the mirror drops for it: the elements' swarm stays).
   */
  async forge(hub: string, room: string, mirror: string, value: unknown): Promise<void> {
    const page = await pageIdentity()
    const entry = await createEntry(fromHex(mirror), {author: page.publicKey, seq: 0, prev: null, links: [], time: Date.now(), kind: EntryKind.Json, value: jsonValue(value)}, page)
    const forger = new Swarm({hubs: [hub], room, identity: await createIdentity(), iceServers: [], announceInterval: {min: 100, max: 1000}})
    forgers.push(forger)
    const peer = await new Promise<NonNullable<Swarm['peers'][number]>>(resolve => {
      const look = () => {
        const found = forger.peers.find(p => p.publicKey === mirror)
        if (!found) return
        forger.off('connect', look)
        resolve(found)
      }
      forger.on('connect', look)
      look()
    })
    peer.channel(logProtocol(mirror), {onmessage: () => {}}).send(encodeEntries([entry.bytes]))
  },
  errors() {
    return errors
  },
  statuses() {
    return statuses
  },
  stop(): void {
    for (const forger of forgers) forger.destroy()
    swarm?.remove()
  },
}

;(window as unknown as {p2pTest: typeof api}).p2pTest = api
export type MirrorControlPageApi = typeof api
