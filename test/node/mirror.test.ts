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
import {connect} from 'node:net'
import {MemoryLevel} from 'memory-level'
import {startHubProcess} from '../../scripts/hub-process.js'
import {Swarm} from '../../src/core/swarm/swarm.js'
import {createIdentity} from '../../src/core/crypto/identity.js'
import {KeyPairIdentity} from '../../src/core/crypto/seed-identity.js'
import {fromHex, toHex} from '../../src/core/bytes.js'
import {EntryKind, createEntry, jsonValue} from '../../src/core/log/entry.js'
import {logProtocol} from '../../src/core/log/swarm.js'
import {encodeEntries} from '../../src/core/log/messages.js'
import {untilValue} from '../shared/until.js'
import {Log} from '../../src/core/log/log.js'
import type {MirrorStatus} from '../../src/mirror/mirror.js'
import {statusLines} from '../../src/server/mirror-command.js'
import {whenLog} from '../shared/log-helpers.js'
import '../shared/node-webrtc.js'

/** Sends `raw` as it is to the HTTP server at `url` and resolves with what it answers. */
function rawRequest(url: string, raw: string): Promise<string> {
  const {hostname, port} = new URL(url)
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => socket.end(raw))
    let out = ''
    socket.setEncoding('utf8')
    socket.on('data', chunk => {
      out += chunk
    })
    socket.on('end', () => resolve(out))
    socket.on('error', reject)
  })
}

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
      for (const wake of this.#waiters) wake()
    })
    this.exited = new Promise(resolve => this.child.once('exit', (code, signal) => {
      for (const wake of this.#waiters) wake()
      resolve({code, signal})
    }))
  }

  /** Resolves with the first status (printed from now on or already) that `check` accepts; rejects if the process exits first. */
  status(check: (status: MirrorStatus) => boolean, what: string): Promise<MirrorStatus> {
    return new Promise((resolve, reject) => {
      // Not a timing: a bound that turns a wait that cannot end into a failure that says where it stood.
      const timer = setTimeout(() => {
        this.#waiters.delete(look)
        reject(new Error(`no status showed ${what} in 90 s; the last: ${JSON.stringify(this.statuses.at(-1))}; stderr: ${this.stderr}`))
      }, 90_000)
      const look = (): void => {
        const found = this.statuses.find(check)
        if (found) {
          clearTimeout(timer)
          this.#waiters.delete(look)
          resolve(found)
        } else if (this.child.exitCode !== null || this.child.signalCode !== null) {
          clearTimeout(timer)
          this.#waiters.delete(look)
          reject(new Error(`the mirror exited before ${what}: ${this.stderr}`))
        }
      }
      this.#waiters.add(look)
      look()
    })
  }

  /** Resolves with the first match of `pattern` in what the process wrote to stderr. */
  said(pattern: RegExp): Promise<RegExpMatchArray> {
    return new Promise((resolve, reject) => {
      const look = (): void => {
        const match = this.stderr.match(pattern)
        if (match) {
          this.#waiters.delete(look)
          resolve(match)
        } else if (this.child.exitCode !== null || this.child.signalCode !== null) {
          this.#waiters.delete(look)
          reject(new Error(`the mirror exited before saying ${pattern}: ${this.stderr}`))
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

/** Every swarm a test made: destroyed after the tests whatever happened, so a failure leaves no connection holding the process. */
const swarms: Swarm[] = []

/** A Node peer in the room, with a key of its own. */
async function peerIn(hub: string, room: string): Promise<Swarm> {
  const swarm = new Swarm({hubs: [hub], room, identity: await createIdentity(), iceServers: [], announceInterval: fast})
  swarms.push(swarm)
  return swarm
}

/** A writer's page, in Node: its own log in memory, in the room until it leaves. */
async function writer(hub: string, room: string, owner: KeyPairIdentity) {
  const log = new Log({db: new MemoryLevel(), key: owner.publicKey, identity: owner})
  await log.ready()
  const swarm = await peerIn(hub, room)
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
    for (const swarm of swarms) swarm.destroy()
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
    const readerSwarm = await peerIn(hub.url, room)
    const attached = readerLog.replicate(readerSwarm)
    await whenLog(readerLog, () => readerLog.length === 301)
    assert.deepEqual(readerLog.heads().map(toHex).sort(), heads)

    // Stopped cleanly, started again on the same directory while the newcomer stays: the same key, every
    // entry from disk, and once in session with the newcomer and in sync, nothing received or sent twice.
    assert.deepEqual(await mirror.stop('SIGTERM'), {code: 0, signal: null})
    const again = start(['bot', '--hub', hub.url, '--dir', store, '--room', room, '--log', address])
    const first = await again.status(() => true, 'its first status')
    assert.equal(first.key, held.key)
    assert.equal(first.logs[0].length, 301)
    assert.deepEqual(first.logs[0].heads, heads)
    const synced = await again.status(s => s.logs[0].peers === 1 && s.logs[0].remote === 301 && s.logs[0].behind === 0, 'in session with the newcomer, in sync')
    assert.equal(synced.logs[0].received, 0)
    assert.equal(synced.logs[0].duplicates, 0)
    assert.deepEqual(await again.stop('SIGINT'), {code: 0, signal: null})
    attached.detach()
    readerSwarm.destroy()
    await readerLog.close()
  })

  test('killed with SIGKILL mid-replication and started again: nothing lost, nothing doubled, it resumes; GET /status and /metrics answer meanwhile, bad requests get 4xx', async () => {
    const room = `mirror-kill-${Date.now()}`
    const owner = new KeyPairIdentity()
    const address = toHex(owner.publicKey)
    const store = join(dir, 'killed')
    const a = await writer(hub.url, room, owner)
    for (let i = 0; i < 20; i++) await a.log.append(Array.from({length: 1000}, (_, j) => ({n: i * 1000 + j, text: 'x'.repeat(80)})))
    const total = a.log.length
    const args = ['mirror', '--hub', hub.url, '--dir', store, '--room', room, '--log', address, '--http', '127.0.0.1:0']
    const first = start(args)
    const [, url] = await first.said(/status on (http:\/\/127\.0\.0\.1:\d+)\/status/)
    const partway = await first.status(s => s.logs[0].length > 1 && s.logs[0].length < total, 'part of the log stored')
    // While it replicates: the status over HTTP, as JSON and as metrics.
    const status = await (await fetch(`${url}/status`)).json() as MirrorStatus
    assert.equal(status.logs[0].address, address)
    assert.ok(status.logs[0].length >= partway.logs[0].length)
    const metrics = await fetch(`${url}/metrics`)
    assert.match(metrics.headers.get('content-type')!, /^text\/plain; version=0\.0\.4/)
    const text = await metrics.text()
    assert.match(text, new RegExp(`^p2p_mirror_log_entries\\{log="${address}"\\} \\d+$`, 'm'))
    assert.match(text, new RegExp(`^p2p_mirror_room_peers\\{room="${room}"\\} 1$`, 'm'))
    assert.equal((await fetch(`${url}/status`, {method: 'POST', body: 'x'})).status, 405)
    assert.equal((await fetch(`${url}/nothing`)).status, 404)
    assert.equal((await fetch(`${url}/status`, {method: 'HEAD'})).status, 200)
    assert.match(await rawRequest(url, 'GARBAGE\r\n\r\n'), /^HTTP\/1\.1 400 /)
    // The last status it printed is stored: a status line is printed after the write it counts.
    const printed = first.statuses.at(-1)!.logs[0].length
    assert.deepEqual(await first.stop('SIGKILL'), {code: null, signal: 'SIGKILL'})
    const again = start(args)
    const reopened = await again.status(() => true, 'its first status')
    assert.ok(reopened.logs[0].length >= printed, `${reopened.logs[0].length} stored of ${printed} seen before the kill`)
    await again.status(s => s.logs[0].length === total, 'the whole log')
    const done = await again.status(s => s.logs[0].length === total && s.logs[0].behind === 0, 'in sync')
    assert.deepEqual(done.logs[0].heads, a.log.heads().map(toHex).sort())
    // Nothing fetched twice: no entry the mirror held came again after the restart.
    assert.equal(done.logs[0].duplicates, 0)
    await a.leave()
    assert.deepEqual(await again.stop(), {code: 0, signal: null})
  })

  test('remote control: an owner\'s signed mirror and unmirror entries add and remove logs; a stranger\'s forged entry is refused and counted, and the owner is still served', async () => {
    const room = `mirror-control-${Date.now()}`
    const ownerKey = new KeyPairIdentity()
    const mirror = start(['mirror', '--hub', hub.url, '--dir', join(dir, 'control'), '--room', room, '--owner', toHex(ownerKey.publicKey)])
    const first = await mirror.status(() => true, 'its first status')
    assert.deepEqual(first.control.owners, [toHex(ownerKey.publicKey)])
    assert.deepEqual(first.logs, [])
    const mirrorKey = fromHex(first.key)

    // The owner's page: a replica of the mirror's own log, writable once the entry admitting it is in.
    const control = new Log({db: new MemoryLevel(), key: mirrorKey, identity: ownerKey})
    await control.ready()
    const ownerSwarm = await peerIn(hub.url, room)
    const controlling = control.replicate(ownerSwarm)
    await whenLog(control, () => control.writable)
    // A writer's log for the mirror to keep, online in the room.
    const keptOwner = new KeyPairIdentity()
    const a = await writer(hub.url, room, keptOwner)
    await a.log.append(Array.from({length: 50}, (_, i) => ({i})))
    await control.append({mirror: toHex(keptOwner.publicKey)})
    await control.append({note: 'not a request'})
    const kept = await mirror.status(s => s.logs.length === 1 && s.logs[0].length === a.log.length, 'the asked-for log kept')
    assert.equal(kept.logs[0].address, toHex(keptOwner.publicKey))
    assert.equal(kept.logs[0].source, 'control')
    await mirror.status(s => s.control.ignored === 1, 'the entry that asks nothing, ignored and counted')

    // A stranger writes into the mirror's log by hand: validly signed, by a key never admitted.
    const stranger = new KeyPairIdentity()
    const forged = await createEntry(mirrorKey, {author: stranger.publicKey, seq: 0, prev: null, links: control.heads(), time: Date.now(), kind: EntryKind.Json,
      value: jsonValue({unmirror: toHex(keptOwner.publicKey)})}, stranger)
    const strangerSwarm = await peerIn(hub.url, room)
    const toMirror = await untilValue(() => strangerSwarm.peers.find(p => p.publicKey === first.key), 'the stranger connected to the mirror')
    toMirror.channel(logProtocol(first.key), {onmessage: () => {}}).send(encodeEntries([forged.bytes]))
    const refused = await mirror.status(s => s.control.rejected === 1, 'the forged entry refused and counted')
    assert.equal(refused.logs.length, 1, 'the log is still kept')
    strangerSwarm.destroy()

    // The owner takes it back: the mirror stops keeping it, and still serves the owner.
    await control.append({unmirror: toHex(keptOwner.publicKey)})
    await mirror.status(s => s.control.length === control.length && s.logs.length === 0, 'the log let go, once the entry is in')
    controlling.detach()
    ownerSwarm.destroy()
    await control.close()
    await a.leave()
    assert.deepEqual(await mirror.stop(), {code: 0, signal: null})
  })

  test('quotas: a log stops growing at its quota and is still served; an owner\'s request past the overall quota is refused in the status, and kept once room is made', async () => {
    const room = `mirror-quota-${Date.now()}`
    const ownerKey = new KeyPairIdentity()
    // Two writers of about 390 KB each: more than one message (256 KiB at most) each.
    const [ka, kb] = [new KeyPairIdentity(), new KeyPairIdentity()]
    const [a, b] = await Promise.all([ka, kb].map(k => writer(hub.url, room, k)))
    for (const w of [a, b]) for (let run = 0; run < 4; run++) await w.log.append(Array.from({length: 500}, (_, i) => ({i: run * 500 + i, text: 'z'.repeat(100)})))
    const [A, B] = [ka, kb].map(k => toHex(k.publicKey))
    const store = join(dir, 'quota')
    const logOf = (s: MirrorStatus, address: string) => s.logs.find(l => l.address === address)
    const owned = ['--hub', hub.url, '--dir', store, '--room', room, '--owner', toHex(ownerKey.publicKey)]
    let mirror = start(['mirror', ...owned, '--max-log-bytes', '15000'])
    const first = await mirror.status(() => true, 'its first status')
    const control = new Log({db: new MemoryLevel(), key: fromHex(first.key), identity: ownerKey})
    await control.ready()
    control.replicate(await peerIn(hub.url, room))
    await whenLog(control, () => control.writable)
    await control.append({mirror: A})
    // A batch is let in whole while under the quota: A stops at most one message past it.
    const stopped = await mirror.status(s => logOf(s, A)?.overQuota === true, 'A over its quota')
    const heldA = logOf(stopped, A)!
    assert.ok(heldA.bytes >= 15000 && heldA.length > 1 && heldA.length < a.log.length, `A: ${heldA.length} entries, ${heldA.bytes} bytes`)
    assert.match(statusLines(stopped).join('\n'), /over quota/)

    // What A holds is still served: a newcomer gets it from the mirror with A's writer gone.
    await a.leave()
    const reader = new Log({db: new MemoryLevel(), key: ka.publicKey})
    await reader.ready()
    reader.replicate(await peerIn(hub.url, room))
    await whenLog(reader, () => reader.length === heldA.length)

    // Started again with an overall quota of what it holds now: full, so the owner's request for B is refused.
    assert.deepEqual(await mirror.stop(), {code: 0, signal: null})
    const held = stopped.logs.reduce((n, l) => n + l.bytes, 0)
    mirror = start(['mirror', ...owned, '--max-log-bytes', '15000', '--max-bytes', String(held)])
    await mirror.status(s => logOf(s, A)?.length === heldA.length, 'A kept across the restart (the owner asked for it)')
    await control.append({mirror: B})
    const refused = await mirror.status(s => s.control.refused.length === 1, 'B refused')
    assert.deepEqual(refused.control.refused, [{address: B, reason: 'over quota'}])
    assert.equal(logOf(refused, B), undefined)
    assert.match(statusLines(refused)[0], /refused [0-9a-f]{16} \(over quota\)/)

    // The owner lets A go: B, refused, is tried again and kept.
    await control.append({unmirror: A})
    const kept = await mirror.status(s => logOf(s, B) !== undefined && logOf(s, A) === undefined, 'B kept once A is let go')
    assert.deepEqual(kept.control.refused, [])
    await mirror.status(s => (logOf(s, B)?.length ?? 0) > 1, 'B filling')
    await control.close()
    await reader.close()
    await b.leave()
    assert.deepEqual(await mirror.stop(), {code: 0, signal: null})
  })

  test('a status line per log in text; bad flags exit with 2 and the usage', async () => {
    const text = statusLines({key: 'k', rooms: [{room: 'r', peers: 1}], control: {address: 'k', owners: [], length: 1, ignored: 0, rejected: 0, refused: []}, logs: [
      {address: 'a'.repeat(64), length: 10, heads: ['b'.repeat(64)], bytes: 1000, peers: 1, remote: 12, behind: 2, received: 10, duplicates: 0, paused: false, source: 'flag', overQuota: false},
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
