/**
 * The page's side of a mirror's status channel (docs/mirror.md "Status in the
 * browser"): `MirrorWatch` asks the peer whose proven key is the mirror's for its
 * status, once it connects, and hears each change; `parseMirrorStatus` checks
 * what it says field by field. The mirror's side is status-channel.ts. Apart,
 * so a page's bundle carries no server code.
 */
import {Emitter} from '../core/emitter.js'
import {P2PError} from '../core/errors.js'
import {shortId} from '../core/debug.js'
import type {ProtocolPeer, ProtocolSwarm} from '../core/swarm/protocol-host.js'
import type {Channel} from '../core/mux/mux.js'
import type {MirrorStatus} from './mirror.js'

export const MIRROR_STATUS_PROTOCOL = 'p2p/mirror-status/1'
/** The one message a page sends: watch the status. */
export const WATCH = 1
/** A status larger than this is not sent (the mirror) or taken (the page). */
export const MAX_STATUS_BYTES = 1 << 20

/** A key, a log's address or a file's id: 64 lowercase hex characters. Here, on the page's side, so pages and the mirror share it without a page loading the mirror. */
export const KEY_PATTERN = /^[0-9a-f]{64}$/
const decoder = new TextDecoder('utf-8', {fatal: true})

// ---- the page's side --------------------------------------------------------------

export type MirrorWatchEvents = {
  /** The mirror told its status (the first time, or a change). */
  status: (status: MirrorStatus) => void
  /** The mirror connected (true) or left (false). */
  connected: (connected: boolean) => void
  /** The mirror sent something that is not a status: it was dropped. */
  error: (err: P2PError) => void
}

/**
 * Watches the status of the mirror whose key is `mirror` (hex), in `swarm`:
 * asks it once it connects (again after each reconnection), and hears each
 * change. Other peers are left alone.
 */
export class MirrorWatch extends Emitter<MirrorWatchEvents> {
  readonly mirror: string
  /** The latest status the mirror told, or undefined before it did. */
  status: MirrorStatus | undefined
  readonly #swarm: ProtocolSwarm
  #peer: ProtocolPeer | undefined
  #channel: Channel | undefined
  #closed = false

  constructor(swarm: ProtocolSwarm, mirror: string) {
    super()
    if (!KEY_PATTERN.test(mirror)) throw P2PError.INVALID_ARGUMENT('a mirror is named by its public key, 64 lowercase hex characters')
    this.mirror = mirror
    this.#swarm = swarm
    swarm.on('connect', this.#onConnect)
    swarm.on('disconnect', this.#onDisconnect)
    for (const peer of swarm.peers) this.#onConnect(peer)
  }

  /** True while the mirror is connected and watched. */
  get connected(): boolean {
    return this.#channel !== undefined && !this.#channel.closed
  }

  close(): void {
    if (this.#closed) return
    this.#closed = true
    this.#swarm.off('connect', this.#onConnect)
    this.#swarm.off('disconnect', this.#onDisconnect)
    this.#channel?.close()
    this.removeAllListeners()
  }

  readonly #onConnect = (peer: ProtocolPeer): void => {
    if (this.#closed || peer.publicKey !== this.mirror || peer === this.#peer) return
    // A reconnection replaces the old connection's channel.
    this.#channel?.close()
    this.#peer = peer
    const channel: Channel = peer.channel(MIRROR_STATUS_PROTOCOL, {
      onmessage: bytes => this.#receive(peer, bytes),
      onclose: () => {
        if (this.#channel !== channel) return
        this.#channel = undefined
        this.#peer = undefined
        if (!this.#closed) this.emit('connected', false)
      },
    })
    this.#channel = channel
    channel.send(Uint8Array.of(WATCH))
    queueMicrotask(() => {
      if (!this.#closed && this.#channel === channel) this.emit('connected', true)
    })
  }

  readonly #onDisconnect = (peer: ProtocolPeer): void => {
    if (peer === this.#peer) this.#channel?.close()
  }

  #receive(peer: ProtocolPeer, bytes: Uint8Array): void {
    let status: MirrorStatus
    try {
      if (bytes.length > MAX_STATUS_BYTES) throw P2PError.MESSAGE_TOO_LARGE(`a mirror status of ${bytes.length} bytes (at most ${MAX_STATUS_BYTES})`)
      status = parseMirrorStatus(decoder.decode(bytes), this.mirror)
    } catch (err) {
      const error = err instanceof P2PError && err.code === 'ERR_MESSAGE_TOO_LARGE'
        ? err : P2PError.MALFORMED_MESSAGE(`mirror ${shortId(this.mirror)} sent a status that is not one: ${(err as Error).message}`)
      peer.destroy(error)
      if (!this.#closed) this.emit('error', error)
      return
    }
    this.status = status
    if (!this.#closed) this.emit('status', status)
  }
}

// ---- checking a status ------------------------------------------------------------

function fail(what: string): never {
  throw P2PError.MALFORMED_MESSAGE(what)
}

function object(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(`${what} is not an object`)
  return value as Record<string, unknown>
}

function array(value: unknown, what: string): unknown[] {
  if (!Array.isArray(value)) fail(`${what} is not an array`)
  return value
}

function count(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) fail(`${what} is not a count`)
  return value
}

function text(value: unknown, what: string, max = 1024): string {
  if (typeof value !== 'string' || value.length > max) fail(`${what} is not a string of at most ${max} characters`)
  return value
}

function hex(value: unknown, what: string): string {
  if (typeof value !== 'string' || !KEY_PATTERN.test(value)) fail(`${what} is not 64 hex characters`)
  return value
}

function flag(value: unknown, what: string): boolean {
  if (typeof value !== 'boolean') fail(`${what} is not a boolean`)
  return value
}

function oneOf<T extends string>(value: unknown, options: readonly T[], what: string): T {
  if (!options.includes(value as T)) fail(`${what} is not one of ${options.join(', ')}`)
  return value as T
}

const SOURCES = ['flag', 'control'] as const
const FILE_STATES = ['waiting', 'downloading', 'paused', 'complete'] as const
const KINDS = ['log', 'file'] as const

/**
 * Checks a status JSON text field by field and returns a copy holding only the
 * fields it names (what a page renders, as text only). MALFORMED_MESSAGE if
 * anything is off, or if it is another mirror's.
 */
export function parseMirrorStatus(json: string, mirror: string): MirrorStatus {
  let value: unknown
  try {
    value = JSON.parse(json)
  } catch {
    fail('not JSON')
  }
  const s = object(value, 'the status')
  if (hex(s.key, 'key') !== mirror) fail('it names another mirror')
  const control = object(s.control, 'control')
  return {
    key: mirror,
    rooms: array(s.rooms, 'rooms').map((r, i) => {
      const room = object(r, `rooms[${i}]`)
      return {room: text(room.room, `rooms[${i}].room`), peers: count(room.peers, `rooms[${i}].peers`)}
    }),
    logs: array(s.logs, 'logs').map((l, i) => {
      const log = object(l, `logs[${i}]`)
      const at = `logs[${i}]`
      return {
        address: hex(log.address, `${at}.address`),
        length: count(log.length, `${at}.length`),
        heads: array(log.heads, `${at}.heads`).map((h, j) => hex(h, `${at}.heads[${j}]`)),
        bytes: count(log.bytes, `${at}.bytes`),
        peers: count(log.peers, `${at}.peers`),
        remote: log.remote === null ? null : count(log.remote, `${at}.remote`),
        behind: count(log.behind, `${at}.behind`),
        received: count(log.received, `${at}.received`),
        duplicates: count(log.duplicates, `${at}.duplicates`),
        paused: flag(log.paused, `${at}.paused`),
        source: oneOf(log.source, SOURCES, `${at}.source`),
        overQuota: flag(log.overQuota, `${at}.overQuota`),
      }
    }),
    files: array(s.files, 'files').map((f, i) => {
      const file = object(f, `files[${i}]`)
      const at = `files[${i}]`
      return {
        id: hex(file.id, `${at}.id`),
        name: file.name === null ? null : text(file.name, `${at}.name`, 255),
        size: file.size === null ? null : count(file.size, `${at}.size`),
        chunks: file.chunks === null ? null : count(file.chunks, `${at}.chunks`),
        have: count(file.have, `${at}.have`),
        bytes: count(file.bytes, `${at}.bytes`),
        received: count(file.received, `${at}.received`),
        peers: count(file.peers, `${at}.peers`),
        seeders: count(file.seeders, `${at}.seeders`),
        state: oneOf(file.state, FILE_STATES, `${at}.state`),
        source: oneOf(file.source, SOURCES, `${at}.source`),
        overQuota: flag(file.overQuota, `${at}.overQuota`),
      }
    }),
    control: {
      address: hex(control.address, 'control.address'),
      owners: array(control.owners, 'control.owners').map((o, i) => hex(o, `control.owners[${i}]`)),
      length: count(control.length, 'control.length'),
      ignored: count(control.ignored, 'control.ignored'),
      rejected: count(control.rejected, 'control.rejected'),
      refused: array(control.refused, 'control.refused').map((r, i) => {
        const refused = object(r, `control.refused[${i}]`)
        return {
          address: hex(refused.address, `control.refused[${i}].address`),
          kind: oneOf(refused.kind, KINDS, `control.refused[${i}].kind`),
          reason: text(refused.reason, `control.refused[${i}].reason`),
        }
      }),
    },
  }
}
