// The always-on mirror as users run it: `p2p-elements mirror` as a real child
// process (LevelDB on disk, node-datachannel), a real hub process, and Node peers
// over real WebRTC (no ICE server: loopback only).
import {after, before, describe, test} from 'node:test'
import assert from 'node:assert/strict'
import {mkdtemp, readFile, rm, stat} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
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
import {until, untilValue} from '../shared/until.js'
import {Log} from '../../src/core/log/log.js'
import type {MirrorStatus} from '../../src/mirror/mirror.js'
import {statusLines} from '../../src/server/mirror-command.js'
import {whenLog} from '../shared/log-helpers.js'
import {MirrorProcess} from '../shared/mirror-process.js'
import {MIRROR_STATUS_PROTOCOL, MirrorWatch, parseMirrorStatus} from '../../src/mirror/status-channel.js'
import {ChunkStore} from '../../src/core/files/chunk-store.js'
import {FileShare, type FileInfo} from '../../src/core/files/share.js'
import {randomBytes as nodeRandomBytes} from 'node:crypto'
import '../shared/node-webrtc.js'

const fast = {min: 100, max: 1000}
/** Random bytes of any length, as a plain Uint8Array. */
const randomBytes = (n: number): Uint8Array => new Uint8Array(nodeRandomBytes(n))

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

/** Every swarm a test made: destroyed after the tests whatever happened, so a failure leaves no connection holding the process. */
const swarms: Swarm[] = []

/** A Node peer in the room, with a key of its own. */
async function peerIn(hub: string, room: string): Promise<Swarm> {
  const swarm = new Swarm({hubs: [hub], room, identity: await createIdentity(), iceServers: [], announceInterval: fast})
  swarms.push(swarm)
  return swarm
}

/** A page that shares or downloads files, in Node: its chunks in memory, in the room until it leaves. */
async function filePeer(hub: string, room: string) {
  const swarm = await peerIn(hub, room)
  const share = new FileShare({store: new ChunkStore({db: new MemoryLevel<string, string>()}), swarm})
  await share.ready
  return {
    swarm,
    share,
    /** Resolves with the file's listing once `check` accepts it (a `file` or `progress` event, or now). */
    when(id: string, check: (info: FileInfo) => boolean, what: string): Promise<FileInfo> {
      return untilValue(() => {
        const info = share.file(id)
        return info && check(info) ? info : undefined
      }, what)
    },
    async leave() {
      await share.close()
      swarm.destroy()
    },
  }
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
    for (let i = 0; i < 5; i++) await a.log.append(Array.from({length: 1000}, (_, j) => ({n: i * 1000 + j, text: 'x'.repeat(80)})))
    // The writer goes on writing until the mirror has been killed and started again, so the kill lands while
    // entries are still coming however fast this machine replicates (a log written in full beforehand was
    // once all stored before any status could show part of it).
    let writing = true
    const written = (async () => {
      for (let n = a.log.length; writing; n += 200) {
        await a.log.append(Array.from({length: 200}, (_, j) => ({n: n + j, text: 'x'.repeat(80)})))
        await new Promise(resolve => setTimeout(resolve, 20))
      }
    })()
    const args = ['mirror', '--hub', hub.url, '--dir', store, '--room', room, '--log', address, '--http', '127.0.0.1:0']
    const first = start(args)
    const [, url] = await first.said(/status on (http:\/\/127\.0\.0\.1:\d+)\/status/)
    const partway = await first.status(s => s.logs[0].length > 1, 'part of the log stored')
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
    writing = false
    await written
    const total = a.log.length
    assert.ok(total > printed, `the writer wrote on past the kill: ${total} against ${printed}`)
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
    assert.deepEqual(refused.control.refused, [{address: B, kind: 'log', reason: 'over quota'}])
    assert.equal(logOf(refused, B), undefined)
    assert.match(statusLines(refused)[0], /refused log [0-9a-f]{16} \(over quota\)/)

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

  test('keeps a file: downloads what a peer shares, seeds it to a newcomer once the sharer has left, and after a restart has it with nothing fetched again', async () => {
    const room = `mirror-file-${Date.now()}`
    const store = join(dir, 'file')
    const sharer = await filePeer(hub.url, room)
    const bytes = randomBytes(3 * 1024 * 1024 + 1000)
    const {id, size, chunks} = await sharer.share.add(bytes, {name: 'report.bin'})
    const mirror = start(['mirror', '--hub', hub.url, '--dir', store, '--room', room, '--file', id, '--http', '127.0.0.1:0'])
    const complete = await mirror.status(s => s.files[0]?.state === 'complete', 'the file complete')
    assert.deepEqual(complete.files[0], {id, name: 'report.bin', size, chunks, have: chunks, bytes: size, received: size, peers: 1, seeders: 1,
      state: 'complete', source: 'flag', overQuota: false})
    const [, url] = await mirror.said(/status on (http:\/\/\S+)\/status/)
    assert.match(await (await fetch(`${url}/metrics`)).text(), new RegExp(`p2p_mirror_file_complete\\{file="${id}"\\} 1`))
    await sharer.leave()

    // A newcomer with the sharer gone: every chunk comes from the mirror.
    const newcomer = await filePeer(hub.url, room)
    await newcomer.when(id, info => info.holders.includes(complete.key), 'the newcomer sees the mirror hold it')
    await newcomer.share.download(id)
    assert.deepEqual(new Uint8Array(await (await newcomer.share.blob(id)).arrayBuffer()), bytes)
    assert.equal(newcomer.share.peerStats(complete.key)?.bytesReceived, size, 'all of it from the mirror')
    assert.deepEqual(await mirror.stop(), {code: 0, signal: null})

    // Started again with the newcomer (who holds it all) online: it has the file, and fetches nothing.
    const again = start(['mirror', '--hub', hub.url, '--dir', store, '--room', room, '--file', id])
    const first = await again.status(() => true, 'its first status')
    assert.equal(first.files[0].state, 'complete')
    await again.status(s => s.files[0].peers === 1 && s.rooms[0].peers === 1, 'the newcomer connected')
    assert.equal(again.statuses.at(-1)!.files[0].received, 0)
    await newcomer.leave()
    assert.deepEqual(await again.stop(), {code: 0, signal: null})
  })

  test('a file\'s quota: it stops at its quota exactly, what it holds is served, and once the quota is lifted it fetches only the rest', async () => {
    const room = `mirror-file-quota-${Date.now()}`
    const store = join(dir, 'file-quota')
    const sharer = await filePeer(hub.url, room)
    const bytes = randomBytes(12 * 256 * 1024)
    const {id, size} = await sharer.share.add(bytes, {name: 'big.bin', chunkSize: 256 * 1024})
    const quota = 5 * 256 * 1024 + 100
    const mirror = start(['mirror', '--hub', hub.url, '--dir', store, '--room', room, '--file', id, '--max-file-bytes', String(quota)])
    const stopped = await mirror.status(s => s.files[0]?.overQuota === true && s.files[0].state === 'paused', 'the file stopped at its quota')
    assert.equal(stopped.files[0].bytes, 5 * 256 * 1024, 'five chunks: a sixth would pass the quota')
    assert.equal(stopped.files[0].have, 5)
    await sharer.leave()

    // What it holds is served: a newcomer gets those five chunks from the mirror alone.
    const newcomer = await filePeer(hub.url, room)
    void newcomer.share.download(id).catch(() => {
      // Never completes here: nobody online has the rest until the sharer returns.
    })
    await newcomer.when(id, info => info.have === 5, 'the newcomer holding the five chunks')
    assert.deepEqual(await mirror.stop(), {code: 0, signal: null})

    // No quota any more: the rest comes from the sharer, back online, and nothing held is fetched again.
    const back = await filePeer(hub.url, room)
    await back.share.add(bytes, {name: 'big.bin', chunkSize: 256 * 1024})
    const again = start(['mirror', '--hub', hub.url, '--dir', store, '--room', room, '--file', id])
    const done = await again.status(s => s.files[0]?.state === 'complete', 'the file complete')
    assert.equal(done.files[0].bytes, size)
    assert.equal(done.files[0].received, size - 5 * 256 * 1024, 'only the seven chunks it lacked')
    await newcomer.when(id, info => info.state === 'complete', 'the newcomer complete too')
    await newcomer.leave()
    await back.leave()
    assert.deepEqual(await again.stop(), {code: 0, signal: null})
  })

  test('remote control of files: an owner\'s {mirror, kind: file} downloads a file up to the overall quota, one asked past it is refused, and unmirror deletes the first and makes room', async () => {
    const room = `mirror-file-control-${Date.now()}`
    const ownerKey = new KeyPairIdentity()
    const sharer = await filePeer(hub.url, room)
    // Chunks of 256 KiB: one is three of them (the last 75,712 bytes), two is one chunk; the quota takes part of the first.
    const one = await sharer.share.add(randomBytes(600_000), {name: 'one.bin'})
    const two = await sharer.share.add(randomBytes(200_000), {name: 'two.bin'})
    const mirror = start(['mirror', '--hub', hub.url, '--dir', join(dir, 'file-control'), '--room', room, '--owner', toHex(ownerKey.publicKey), '--max-bytes', '500000'])
    const first = await mirror.status(() => true, 'its first status')
    const control = new Log({db: new MemoryLevel(), key: fromHex(first.key), identity: ownerKey})
    await control.ready()
    const controlling = control.replicate(await peerIn(hub.url, room))
    await whenLog(control, () => control.writable)

    await control.append({mirror: one.id, kind: 'file'})
    const kept = await mirror.status(s => s.files[0]?.overQuota === true, 'the first file stopped at the overall quota')
    assert.equal(kept.files[0].source, 'control')
    // Chunks come in any order: it holds one or two of the three (the short last one fits beside a full one), never past the quota.
    assert.ok(kept.files[0].have >= 1 && kept.files[0].have < 3 && kept.files[0].bytes <= 500_000, JSON.stringify(kept.files[0]))
    assert.equal(kept.files[0].state, 'paused')
    await control.append({mirror: two.id, kind: 'file'})
    await control.append({mirror: two.id, kind: 'folder'})
    const refused = await mirror.status(s => s.control.refused.length === 1 && s.control.ignored === 1, 'the second refused, the unknown kind ignored')
    assert.deepEqual(refused.control.refused, [{address: two.id, kind: 'file', reason: 'over quota'}])
    assert.match(statusLines(refused)[0], /refused file [0-9a-f]{16} \(over quota\)/)

    await control.append({unmirror: one.id, kind: 'file'})
    const swapped = await mirror.status(s => s.files.length === 1 && s.files[0].id === two.id && s.files[0].state === 'complete', 'the first let go, the second kept')
    assert.deepEqual(swapped.control.refused, [])
    assert.equal(swapped.files[0].bytes, 200_000)
    controlling.detach()
    await control.close()
    await sharer.leave()
    assert.deepEqual(await mirror.stop(), {code: 0, signal: null})
  })

  test('the status channel: a page that watches gets the status and each change; a second watch or anything else drops that peer, and the others are still told', async () => {
    const room = `mirror-status-${Date.now()}`
    const owner = new KeyPairIdentity()
    const a = await writer(hub.url, room, owner)
    await a.log.append({i: 0})
    const mirror = start(['mirror', '--hub', hub.url, '--dir', join(dir, 'status'), '--room', room, '--log', toHex(owner.publicKey)])
    const first = await mirror.status(s => s.logs[0].length === 2, 'the log kept')

    // An honest watcher, through MirrorWatch: the status, then a change.
    const watching = await peerIn(hub.url, room)
    const watch = new MirrorWatch(watching, first.key)
    const told = await untilValue(() => watch.status?.logs[0]?.length === 2 ? watch.status : undefined, 'the status told')
    assert.equal(told.key, first.key)
    await a.log.append({i: 1})
    await untilValue(() => watch.status?.logs[0]?.length === 3 || undefined, 'the change told')

    // Watching twice on one connection: dropped.
    const twice = await peerIn(hub.url, room)
    const toMirror = await untilValue(() => twice.peers.find(p => p.publicKey === first.key), 'connected to the mirror')
    const replies: string[] = []
    const channel = toMirror.channel(MIRROR_STATUS_PROTOCOL, {onmessage: bytes => replies.push(new TextDecoder().decode(bytes))})
    channel.send(Uint8Array.of(1))
    await until(() => replies.length === 1, 'a status for the first watch')
    assert.equal(parseMirrorStatus(replies[0], first.key).key, first.key)
    const dropped = new Promise<void>(resolve => twice.on('disconnect', peer => {
      if (peer === toMirror) resolve()
    }))
    channel.send(Uint8Array.of(1))
    await dropped

    // Anything but a watch: dropped too.
    const garbage = await peerIn(hub.url, room)
    const other = await untilValue(() => garbage.peers.find(p => p.publicKey === first.key), 'the third peer connected to the mirror')
    const gone = new Promise<void>(resolve => garbage.on('disconnect', peer => {
      if (peer === other) resolve()
    }))
    other.channel(MIRROR_STATUS_PROTOCOL, {onmessage: () => {}}).send(new TextEncoder().encode('{"watch":true}'))
    await gone

    // The honest watcher is still told.
    await a.log.append({i: 2})
    await untilValue(() => watch.status?.logs[0]?.length === 4 || undefined, 'a later change told')
    assert.ok(watch.connected)
    watch.close()
    await a.leave()
    assert.deepEqual(await mirror.stop(), {code: 0, signal: null})
  })

  test('a status line per log in text; bad flags exit with 2 and the usage', async () => {
    const text = statusLines({key: 'k', rooms: [{room: 'r', peers: 1}], control: {address: 'k', owners: [], length: 1, ignored: 0, rejected: 0, refused: []}, logs: [
      {address: 'a'.repeat(64), length: 10, heads: ['b'.repeat(64)], bytes: 1000, peers: 1, remote: 12, behind: 2, received: 10, duplicates: 0, paused: false, source: 'flag', overQuota: false},
    ], files: [
      {id: 'c'.repeat(64), name: 'notes.txt', size: 300000, chunks: 2, have: 1, bytes: 262144, received: 262144, peers: 1, seeders: 1, state: 'downloading', source: 'control', overQuota: false},
      {id: 'd'.repeat(64), name: null, size: null, chunks: null, have: 0, bytes: 0, received: 0, peers: 0, seeders: 0, state: 'waiting', source: 'flag', overQuota: false},
    ]})
    assert.deepEqual(text, [
      'aaaaaaaaaaaaaaaa 2 behind: 10 entries (peers report 12), 1000 bytes, 1 session, 10 received, heads bbbbbbbb [r: 1 peer]',
      'cccccccccccccccc file downloading: "notes.txt", 1 of 2 chunks, 262144 of 300000 bytes, 1 peer with it (1 complete), asked by an owner [r: 1 peer]',
      'dddddddddddddddd file no peer has it: 0 of ? chunks, 0 of ? bytes, 0 peers with it (0 complete) [r: 1 peer]',
    ])
    for (const args of [
      ['mirror', '--dir', join(dir, 'x'), '--room', 'r', '--log', 'a'.repeat(64)],
      ['mirror', '--hub', hub.url, '--dir', join(dir, 'x'), '--room', 'r', '--log', 'not-a-key'],
      ['mirror', '--hub', hub.url, '--dir', join(dir, 'x'), '--room', 'r', '--file', 'not-an-id'],
      ['mirror', '--hub', hub.url, '--dir', join(dir, 'x'), '--room', 'r', '--file', 'e'.repeat(64), '--max-file-bytes', 'lots'],
      ['mirror', '--hub', hub.url, '--dir', join(dir, 'x'), '--room', 'r'],
      ['mirror', '--hub', hub.url, '--bogus'],
    ]) {
      const m = start(args)
      assert.equal((await m.exited).code, 2, args.join(' '))
      assert.match(m.stderr, /Usage: p2p-elements mirror/)
    }
  })
})
