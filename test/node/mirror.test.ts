// The always-on mirror as users run it: `p2p-elements mirror` as a real child
// process (LevelDB on disk, node-datachannel), a real hub process, and Node peers
// over real WebRTC (no ICE server: loopback only).
import {after, before, describe, test} from 'node:test'
import assert from 'node:assert/strict'
import {spawn, type ChildProcess} from 'node:child_process'
import {mkdtemp, readFile, rm, stat} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {MemoryLevel} from 'memory-level'
import {startHubProcess} from '../../scripts/hub-process.js'
import {Swarm} from '../../src/core/swarm/swarm.js'
import {createIdentity} from '../../src/core/crypto/identity.js'
import {KeyPairIdentity} from '../../src/core/crypto/seed-identity.js'
import {toHex} from '../../src/core/bytes.js'
import {Log} from '../../src/core/log/log.js'
import type {MirrorStatus} from '../../src/mirror/mirror.js'
import {statusLines} from '../../src/server/mirror-command.js'
import {whenLog} from '../shared/log-helpers.js'
import '../shared/node-webrtc.js'

const cli = fileURLToPath(new URL('../../src/server/cli.ts', import.meta.url))
const fast = {min: 100, max: 1000}

/** A mirror process and the JSON status lines it prints. */
class MirrorProcess {
  readonly child: ChildProcess
  readonly statuses: MirrorStatus[] = []
  stderr = ''
  readonly #waiters = new Set<() => void>()
  readonly exited: Promise<{code: number | null, signal: NodeJS.Signals | null}>

  constructor(args: string[]) {
    this.child = spawn(process.execPath, ['--import', 'tsx', cli, ...args, '--json'], {stdio: ['ignore', 'pipe', 'pipe']})
    let out = ''
    this.child.stdout!.setEncoding('utf8')
    this.child.stdout!.on('data', (chunk: string) => {
      out += chunk
      let newline
      while ((newline = out.indexOf('\n')) !== -1) {
        const line = out.slice(0, newline)
        out = out.slice(newline + 1)
        this.statuses.push(JSON.parse(line) as MirrorStatus)
        for (const wake of this.#waiters) wake()
      }
    })
    this.child.stderr!.setEncoding('utf8')
    this.child.stderr!.on('data', (chunk: string) => {
      this.stderr += chunk
    })
    this.exited = new Promise(resolve => this.child.once('exit', (code, signal) => {
      for (const wake of this.#waiters) wake()
      resolve({code, signal})
    }))
  }

  /** Resolves with the first status (printed from now on or already) that `check` accepts; rejects if the process exits first. */
  status(check: (status: MirrorStatus) => boolean, what: string): Promise<MirrorStatus> {
    return new Promise((resolve, reject) => {
      const look = (): void => {
        const found = this.statuses.find(check)
        if (found) {
          this.#waiters.delete(look)
          resolve(found)
        } else if (this.child.exitCode !== null || this.child.signalCode !== null) {
          this.#waiters.delete(look)
          reject(new Error(`the mirror exited before ${what}: ${this.stderr}`))
        }
      }
      this.#waiters.add(look)
      look()
    })
  }

  stop(signal: NodeJS.Signals = 'SIGTERM') {
    this.child.kill(signal)
    return this.exited
  }
}

/** A writer's page, in Node: its own log in memory, in the room until it leaves. */
async function writer(hub: string, room: string, owner: KeyPairIdentity) {
  const log = new Log({db: new MemoryLevel(), key: owner.publicKey, identity: owner})
  await log.ready()
  const swarm = new Swarm({hubs: [hub], room, identity: await createIdentity(), iceServers: [], announceInterval: fast})
  const attached = log.replicate(swarm)
  return {
    log,
    async leave() {
      attached.detach()
      swarm.destroy()
      await log.close()
    },
  }
}

describe('p2p-elements mirror', {timeout: 180_000}, () => {
  let hub: {url: string, close(): Promise<void>}
  let dir: string
  const mirrors: MirrorProcess[] = []
  before(async () => {
    hub = await startHubProcess({args: ['--rate-limit', '100000']}) as typeof hub
    dir = await mkdtemp(join(tmpdir(), 'p2p-mirror-'))
  })
  after(async () => {
    for (const m of mirrors) if (m.child.exitCode === null && m.child.signalCode === null) await m.stop('SIGKILL')
    await hub.close()
    await rm(dir, {recursive: true, force: true})
  })
  const start = (args: string[]): MirrorProcess => {
    const m = new MirrorProcess(args)
    mirrors.push(m)
    return m
  }

  test('keeps a log once its writer has left, serves it to a newcomer alone, and after a restart has it all with nothing fetched again', async () => {
    const room = `mirror-${Date.now()}`
    const owner = new KeyPairIdentity()
    const address = toHex(owner.publicKey)
    const store = join(dir, 'one')
    const a = await writer(hub.url, room, owner)
    await a.log.append(Array.from({length: 300}, (_, i) => ({i, text: `entry ${i}`})))
    const mirror = start(['mirror', '--hub', hub.url, '--dir', store, '--room', room, '--log', address])
    const heads = a.log.heads().map(toHex).sort()
    const held = await mirror.status(s => s.logs[0].length === a.log.length, 'it holds the writer\'s entries')
    assert.equal(held.logs[0].address, address)
    await mirror.status(s => s.logs[0].length === 301 && s.logs[0].heads.join() === heads.join() && s.logs[0].remote === 301 && s.logs[0].behind === 0,
      'its heads and length equal to what the writer reports')
    // Its key is kept beside the logs, readable by its owner only.
    const key = (await readFile(join(store, 'mirror-key'), 'utf8')).trim()
    assert.match(key, /^[0-9a-f]{64}$/)
    assert.equal((await stat(join(store, 'mirror-key'))).mode & 0o777, 0o600)
    assert.equal(held.key, toHex(new KeyPairIdentity(Uint8Array.from(Buffer.from(key, 'hex'))).publicKey))
    await a.leave()

    // A newcomer, with the writer gone: everything comes from the mirror.
    const readerLog = new Log({db: new MemoryLevel(), key: owner.publicKey})
    await readerLog.ready()
    const readerSwarm = new Swarm({hubs: [hub.url], room, identity: await createIdentity(), iceServers: [], announceInterval: fast})
    const attached = readerLog.replicate(readerSwarm)
    await whenLog(readerLog, () => readerLog.length === 301)
    assert.deepEqual(readerLog.heads().map(toHex).sort(), heads)
    attached.detach()
    readerSwarm.destroy()
    await readerLog.close()

    // Stopped cleanly, started again on the same directory: the same key, every entry, nothing received again.
    assert.deepEqual(await mirror.stop('SIGTERM'), {code: 0, signal: null})
    const again = start(['bot', '--hub', hub.url, '--dir', store, '--room', room, '--log', address])
    const first = await again.status(() => true, 'its first status')
    assert.equal(first.key, held.key)
    assert.equal(first.logs[0].length, 301)
    assert.deepEqual(first.logs[0].heads, heads)
    assert.equal(first.logs[0].received, 0)
    assert.deepEqual(await again.stop('SIGINT'), {code: 0, signal: null})
  })

  test('a status line per log in text; bad flags exit with 2 and the usage', async () => {
    const text = statusLines({key: 'k', rooms: [{room: 'r', peers: 1}], logs: [
      {address: 'a'.repeat(64), length: 10, heads: ['b'.repeat(64)], bytes: 1000, peers: 1, remote: 12, behind: 2, received: 10, paused: false},
    ]})
    assert.deepEqual(text, ['aaaaaaaaaaaaaaaa 2 behind: 10 entries (peers report 12), 1000 bytes, 1 session, 10 received, heads bbbbbbbb [r: 1 peer]'])
    for (const args of [
      ['mirror', '--dir', join(dir, 'x'), '--room', 'r', '--log', 'a'.repeat(64)],
      ['mirror', '--hub', hub.url, '--dir', join(dir, 'x'), '--room', 'r', '--log', 'not-a-key'],
      ['mirror', '--hub', hub.url, '--dir', join(dir, 'x'), '--room', 'r'],
      ['mirror', '--hub', hub.url, '--bogus'],
    ]) {
      const m = start(args)
      assert.equal((await m.exited).code, 2, args.join(' '))
      assert.match(m.stderr, /Usage: p2p-elements mirror/)
    }
  })
})
