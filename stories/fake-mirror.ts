import {MemoryLevel} from 'memory-level'
import {Swarm} from '../src/core/swarm/swarm.js'
import type {KeyPairIdentity} from '../src/core/crypto/seed-identity.js'
import {fromHex, toHex} from '../src/core/bytes.js'
import {Log} from '../src/core/log/log.js'
import {EntryKind, readValue} from '../src/core/log/entry.js'
import {serveMirrorStatus} from '../src/mirror/status-channel.js'
import type {MirrorStatus} from '../src/mirror/mirror.js'

const hex = (c: string) => c.repeat(64)

/** What the made-up mirror keeps by its flags, in each state a kept log can be in. */
const FLAG_LOGS: MirrorStatus['logs'] = [
  {address: hex('a'), length: 301, heads: [hex('1')], bytes: 41_210, peers: 2, remote: 301, behind: 0, received: 301, duplicates: 0, paused: false, source: 'flag', overQuota: false},
  {address: hex('b'), length: 120, heads: [hex('2')], bytes: 15_800, peers: 1, remote: 123, behind: 3, received: 120, duplicates: 0, paused: false, source: 'flag', overQuota: false},
  {address: hex('c'), length: 900, heads: [hex('3')], bytes: 500_000, peers: 1, remote: 1500, behind: 600, received: 900, duplicates: 0, paused: false, source: 'flag', overQuota: true},
]

/**
 * A stand-in for `p2p-elements mirror` in the story's own page (Storybook runs no Node
 * process): a swarm of its own key in the room that tells a made-up status on the
 * mirror's status channel (serveMirrorStatus, as the real mirror does), and its own log,
 * `owners` admitted, whose `{mirror}` and `{unmirror}` entries change the logs and files it
 * says it keeps, so an owner's form and buttons do what they do with a real one.
 */
export async function startFakeMirror(identity: KeyPairIdentity, {hub, room, owners}: {hub: string, room: string, owners: string[]}): Promise<() => void> {
  const key = toHex(identity.publicKey)
  const swarm = new Swarm({hubs: [hub], room, identity, iceServers: []})
  const control = new Log({db: new MemoryLevel(), key: identity.publicKey, identity})
  await control.ready()
  for (const owner of owners) await control.admit(fromHex(owner))
  const attached = control.replicate(swarm)
  /** What the owners asked for, by id, in the order asked. */
  const asked = new Map<string, 'log' | 'file'>()
  const status = (): MirrorStatus => ({
    key,
    rooms: [{room, peers: swarm.peers.length}],
    logs: [...FLAG_LOGS, ...[...asked].filter(([, kind]) => kind === 'log').map(([address]) => ({
      address, length: 0, heads: [], bytes: 0, peers: 0, remote: null, behind: 0, received: 0, duplicates: 0, paused: false, source: 'control' as const, overQuota: false,
    }))],
    files: [
      {id: hex('d'), name: 'minutes.pdf', size: 1_500_000, chunks: 6, have: 6, bytes: 1_500_000, received: 1_500_000, peers: 1, seeders: 1, state: 'complete', source: 'flag', overQuota: false},
      ...[...asked].filter(([, kind]) => kind === 'file').map(([id]) => ({
        id, name: null, size: null, chunks: null, have: 0, bytes: 0, received: 0, peers: 0, seeders: 0, state: 'waiting' as const, source: 'control' as const, overQuota: false,
      })),
    ],
    control: {
      address: key, owners, length: control.length, ignored: 0, rejected: control.stats.rejected,
      refused: [{address: hex('e'), kind: 'log', reason: 'over quota'}],
    },
  })
  const server = serveMirrorStatus(swarm, status)
  control.on('update', entries => {
    for (const entry of entries) {
      if (entry.kind !== EntryKind.Json) continue
      const value = readValue(entry) as {mirror?: string, unmirror?: string, kind?: string}
      if (typeof value.mirror === 'string') asked.set(value.mirror, value.kind === 'file' ? 'file' : 'log')
      if (typeof value.unmirror === 'string') asked.delete(value.unmirror)
    }
    server.changed()
  })
  swarm.on('connect', () => server.changed())
  swarm.on('disconnect', () => server.changed())
  return () => {
    server.detach()
    attached.detach()
    swarm.destroy()
    void control.close()
  }
}
