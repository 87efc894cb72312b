// The part of sharing a hub stream across tabs that only runs once a second tab
// is there: the leader's relay and the follower's side. A page open in one tab
// never loads it; tab-streams.ts imports it on demand (see TabGroup's load).
import {createDebug, shortId} from '../debug.js'
import {P2PError} from '../errors.js'
import {MAX_BODY_BYTES, isValidName} from './protocol.js'
import type {EventStream} from './sse.js'
import {MAX_WIRE_CHANNELS, tabLockName, type Local, type TabGroup} from './tab-streams.js'

const debug = createDebug('p2p:tab-streams')

const MAX_ID_LENGTH = 64
// The hub re-serialises bodies of at most 64 KiB; escaping may lengthen them a little.
const MAX_DATA_LENGTH = 4 * MAX_BODY_BYTES

/**
 * What tabs tell each other about one hub and app. A follower says which
 * channels it needs (`want`, on joining, on each change and to each new
 * leader, with whether it still waits to be served); the leader says what
 * its stream covers (`state`) and relays each event (`message`); either says
 * `leave` when it stops taking part.
 */
export type TabMessage =
  | {type: 'want', from: string, channels: string[], waiting: boolean}
  | {type: 'state', from: string, open: boolean, channels: string[]}
  | {type: 'message', from: string, data: string}
  | {type: 'leave', from: string}

/**
 * Checks the shape of a message from another tab. Same-origin tabs can still
 * run other code (another version of this kit, a bug, a script); anything that
 * is not exactly a TabMessage throws ERR_MALFORMED_MESSAGE, data past its bound
 * ERR_MESSAGE_TOO_LARGE.
 */
export function decodeTabMessage(value: unknown): TabMessage {
  const bad = (why: string) => P2PError.MALFORMED_MESSAGE(`tab message ${why}`)
  if (typeof value !== 'object' || value === null) throw bad('is not an object')
  const m = value as Record<string, unknown>
  if (typeof m.from !== 'string' || m.from.length === 0 || m.from.length > MAX_ID_LENGTH) throw bad('has no valid sender')
  const channels = () => {
    if (!Array.isArray(m.channels) || m.channels.length > MAX_WIRE_CHANNELS) throw bad('has no valid channel list')
    for (const c of m.channels) if (typeof c !== 'string' || !isValidName(c)) throw bad('names an invalid channel')
    return [...m.channels] as string[]
  }
  switch (m.type) {
    case 'want':
      if (typeof m.waiting !== 'boolean') throw bad('has no waiting flag')
      return {type: 'want', from: m.from, channels: channels(), waiting: m.waiting}
    case 'state':
      if (typeof m.open !== 'boolean') throw bad('has no open flag')
      return {type: 'state', from: m.from, open: m.open, channels: channels()}
    case 'message':
      if (typeof m.data !== 'string') throw bad('has no valid data')
      if (m.data.length > MAX_DATA_LENGTH) throw P2PError.MESSAGE_TOO_LARGE(`tab message data of ${m.data.length} characters is more than ${MAX_DATA_LENGTH}`)
      return {type: 'message', from: m.from, data: m.data}
    case 'leave':
      return {type: 'leave', from: m.from}
    default:
      throw bad('has an unknown type')
  }
}

interface Tab {
  channels: string[]
}

interface Relay {
  channels: Set<string>
  stream: EventStream | null
}

/**
 * One group's exchange with the other tabs: as leader, the tabs it serves and
 * the share of its stream relayed to them; as follower, the leader it hears
 * and what that leader's stream covers. The group (tab-streams.ts) keeps the
 * locks, the channel, its own subscriptions and its own stream.
 */
export class TabRelay {
  // Leader: other tabs in the order they first announced, and the relay serving them.
  readonly tabs = new Map<string, Tab>()
  #relay: Relay | null = null
  #nextRelay: Relay | null = null
  // Follower: the leader last heard, and the channels its stream covers (null: none open).
  #leader: string | null = null
  #covered: Set<string> | null = null

  constructor(readonly group: TabGroup) {}

  covers(local: Local): boolean {
    const covered = this.#covered
    return covered !== null && local.channels.every(c => covered.has(c))
  }

  receive(data: unknown): void {
    const group = this.group
    if (group.ended) return
    let message: TabMessage
    try {
      message = decodeTabMessage(data)
    } catch (err) {
      group.config.counters.malformed++
      debug('dropped a tab message:', (err as Error).message)
      return
    }
    if (message.from === group.config.id) return
    if (group.leading) {
      if (message.type === 'want') this.#onWant(message)
      else if (message.type === 'leave') this.#forget(message.from)
      // Another tab's state or messages: not ours to act on while we hold the lock.
      return
    }
    switch (message.type) {
      case 'state':
        this.#onState(message)
        break
      case 'message':
        if (message.from !== this.#leader) return
        for (const local of [...group.locals]) {
          if (local.opened && group.locals.has(local)) local.handlers.onmessage(message.data)
        }
        break
      case 'leave':
        // The leader resigned: the next in the queue takes over, as if it had died.
        if (message.from === this.#leader) this.#adrift(null)
        break
      case 'want':
        break
    }
  }

  /** The group ended: the relay's share of the stream closes, the tabs are forgotten. */
  close(): void {
    this.#nextRelay?.stream?.close()
    this.#relay?.stream?.close()
    this.#nextRelay = this.#relay = null
    this.tabs.clear()
  }

  // ---- follower ----

  #onState(message: TabMessage & {type: 'state'}): void {
    const group = this.group
    const fresh = message.from !== this.#leader
    if (fresh) this.#adrift(message.from)
    this.#covered = message.open ? new Set(message.channels) : null
    const err = P2PError.CONNECTION_CLOSED(`the tab holding the stream to ${group.hub} lost it`)
    for (const local of [...group.locals]) {
      if (this.covers(local)) {
        local.adrift = false
        group.greet(local)
      } else if (local.opened && !fresh && (!message.open || !local.adrift)) {
        // This leader's stream failed, or no longer carries this subscription:
        // its hub client reopens it on its back-off.
        group.fail(local, err)
      }
    }
    group.endIfIdle()
    // Tell a new leader at once what this tab needs.
    if (fresh && !group.ended) group.announce()
  }

  /**
   * The leader changed. Subscriptions it served stay open, without an error:
   * the next leader opens a stream for them as soon as it hears this tab, and
   * the swarms above re-announce on their own schedule to cover the gap.
   */
  #adrift(next: string | null): void {
    if (this.#leader !== null) debug(this.group.app, 'leader', shortId(this.#leader), 'gone', next === null ? '' : `- now ${shortId(next)}`)
    this.#leader = next
    this.#covered = null
    for (const local of this.group.locals) if (local.opened) local.adrift = true
  }

  // ---- leader ----

  #onWant(message: TabMessage & {type: 'want'}): void {
    const {config} = this.group
    let tab = this.tabs.get(message.from)
    let changed = true
    if (tab === undefined) {
      if (this.tabs.size >= config.maxTabs) {
        config.counters.refused++
        return
      }
      tab = {channels: message.channels}
      this.tabs.set(message.from, tab)
      this.#watch(message.from, tab)
    } else {
      changed = !sameList(tab.channels, message.channels)
      tab.channels = message.channels
    }
    if (changed) this.#updateRelay()
    if (!changed && !message.waiting) return
    // A tab whose channels the open relay already covers needs only to hear so.
    const relay = this.#relay
    if (this.#nextRelay === null && relay !== null && message.channels.every(c => relay.channels.has(c))) {
      this.group.post({type: 'state', from: config.id, open: true, channels: [...relay.channels]})
    }
  }

  /**
   * Every tab holds a lock of its own while it takes part; asking for it
   * returns when that tab has left or died, which tabs do without a word.
   */
  #watch(id: string, tab: Tab): void {
    const group = this.group
    group.locks.request(tabLockName(group.key, id), {mode: 'exclusive', signal: group.abort.signal}, () => {
      if (!group.ended && this.tabs.get(id) === tab) {
        debug(group.app, 'tab', shortId(id), 'gone')
        this.#forget(id)
      }
      return Promise.resolve()
    }).catch(() => {
      // Aborted: this tab no longer leads.
    })
  }

  #forget(id: string): void {
    if (this.tabs.delete(id)) this.#updateRelay()
  }

  /** The channels the other tabs need, tab by tab in the order they came, within the bound. */
  #wanted(): Set<string> {
    const {config} = this.group
    const channels = new Set<string>()
    for (const tab of this.tabs.values()) {
      const added = tab.channels.filter(c => !channels.has(c))
      if (channels.size + added.length > config.maxChannels) {
        config.counters.refused++
        continue
      }
      for (const c of added) channels.add(c)
    }
    return channels
  }

  /**
   * Keeps one share of this tab's stream for all the other tabs, with the
   * union of their channels. A changed union takes a new share; the old one
   * keeps relaying until the new one opens, so nothing is relayed twice.
   */
  #updateRelay(): void {
    const group = this.group
    const wanted = this.#wanted()
    const current = this.#nextRelay ?? this.#relay
    if (current !== null && sameSet(current.channels, wanted)) return
    this.#nextRelay?.stream?.close()
    this.#nextRelay = null
    // Back to what the open relay carries (a tab came and went before the new one opened).
    if (this.#relay !== null && sameSet(this.#relay.channels, wanted)) return
    if (wanted.size === 0) {
      this.#relay?.stream?.close()
      this.#relay = null
      return
    }
    const {id, counters} = group.config
    const relay: Relay = {channels: wanted, stream: null}
    this.#nextRelay = relay
    relay.stream = group.direct.open('', {
      onopen: () => {
        if (relay !== this.#nextRelay) return
        this.#relay?.stream?.close()
        this.#relay = relay
        this.#nextRelay = null
        group.post({type: 'state', from: id, open: true, channels: [...relay.channels]})
      },
      onmessage: data => {
        if (relay !== this.#relay) return
        counters.relayed++
        group.post({type: 'message', from: id, data})
      },
      onerror: () => {
        if (relay === this.#nextRelay) this.#nextRelay = null
        else if (relay === this.#relay) this.#relay = null
        else return
        if (this.#relay !== null || this.#nextRelay !== null) return
        // The followers' subscriptions fail and come back on their hub clients'
        // back-off; until they announce again, this tab does not reopen for them.
        for (const tab of this.tabs.values()) tab.channels = []
        group.post({type: 'state', from: id, open: false, channels: []})
      },
    }, {hub: group.hub, app: group.app, channels: [...wanted].sort()})
  }
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((c, i) => c === b[i])
}

function sameSet(a: Set<string>, b: Set<string>): boolean {
  return a.size === b.size && [...a].every(c => b.has(c))
}
