// The files benchmark's page: FileShares joined by real RTCDataChannels without a
// hub (iceServers: []) — in one page as a full mesh (createDataChannelPair), or
// one end per tab (tab-pair.ts) — the raw data channel baseline, and webtorrent
// (webtorrent.ts) for the same files. Every measurement builds fresh connections
// and fresh databases and deletes them afterwards.
import {BrowserLevel} from 'browser-level'
import {Emitter} from '../../src/core/emitter.js'
import {Mux, fromDataChannel, type Channel, type ChannelHandlers} from '../../src/core/mux/index.js'
import type {ProtocolPeer, ProtocolSwarm} from '../../src/core/swarm/protocol-host.js'
import {ChunkStore} from '../../src/core/files/chunk-store.js'
import {FileShare} from '../../src/core/files/share.js'
import {createDataChannelPair, type DataChannelPair} from '../../test/browser/helpers/rtc-pair.js'
import {fileOf, progressing, rate, within, type OneToOne, type Scaling} from './files-common.js'
import {webtorrentBench} from './webtorrent.js'
import {dial, listen, type TabEnd} from './tab-pair.js'
import {rawThroughput, sendLoop} from './raw-channel.js'

/** The raw data channel baseline (raw-channel.ts). */
const raw = (total: number, messageSize: number, cap: number): Promise<number> => rawThroughput(total, messageSize, cap)

// ---- a hub-less swarm: every pair of peers joined by one data channel ----------

class BenchPeer implements ProtocolPeer {
  closed = false
  constructor(readonly publicKey: string, readonly mux: Mux, private readonly onDestroy: (peer: BenchPeer) => void) {}
  channel(name: string, handlers: ChannelHandlers): Channel {
    return this.mux.channel(name, handlers)
  }
  destroy(): void {
    if (this.closed) return
    this.closed = true
    this.mux.destroy()
    this.onDestroy(this)
  }
}

class BenchSwarm extends Emitter<{connect: (peer: ProtocolPeer) => void, disconnect: (peer: ProtocolPeer) => void}> implements ProtocolSwarm {
  readonly peers: BenchPeer[] = []
  add(peer: BenchPeer): void {
    this.peers.push(peer)
    this.emit('connect', peer)
  }
  remove(peer: BenchPeer): void {
    const i = this.peers.indexOf(peer)
    if (i === -1) return
    this.peers.splice(i, 1)
    this.emit('disconnect', peer)
  }
}

/** Distinct 64-hex keys: peer i is "0…0i". */
const keyOf = (i: number): string => i.toString(16).padStart(64, '0')

interface Mesh {
  swarms: BenchSwarm[]
  close(): void
}

/** n swarms, every pair connected (n(n-1)/2 connections), before any FileShare exists. */
async function mesh(n: number): Promise<Mesh> {
  const swarms = Array.from({length: n}, () => new BenchSwarm())
  const pairs: DataChannelPair[] = []
  const peers: BenchPeer[] = []
  const close = () => {
    for (const peer of peers) peer.destroy()
    for (const pair of pairs) pair.close()
  }
  try {
    const jobs: Promise<void>[] = []
    for (let i = 0; i < n; i++) {
      for (let j = i + 1; j < n; j++) {
        jobs.push(createDataChannelPair().then(pair => {
          pairs.push(pair)
          const atI = new BenchPeer(keyOf(j), new Mux(fromDataChannel(pair.a, pair.pcA)), peer => swarms[i].remove(peer))
          const atJ = new BenchPeer(keyOf(i), new Mux(fromDataChannel(pair.b, pair.pcB)), peer => swarms[j].remove(peer))
          atI.mux.on('close', () => atI.destroy())
          atJ.mux.on('close', () => atJ.destroy())
          peers.push(atI, atJ)
          swarms[i].add(atI)
          swarms[j].add(atJ)
        }))
      }
    }
    await Promise.all(jobs)
  } catch (err) {
    close()
    throw err
  }
  return {swarms, close}
}

/** A share's 'error' events (paused downloads, blamed peers) go to the console, which the bench prints. */
function reporting(share: FileShare, name: string): FileShare {
  share.on('error', (err, id) => console.error(`${name}: ${err.message}${id ? ` (file ${id.slice(0, 8)})` : ''}`))
  return share
}

// ---- FileShare runs --------------------------------------------------------------

let runs = 0

interface Shares {
  shares: FileShare[]
  dbNames: string[]
  close(): Promise<void>
}

/** A FileShare per swarm, each over its own fresh IndexedDB database. */
async function sharesOn(m: Mesh): Promise<Shares> {
  const run = ++runs
  const dbs: BrowserLevel<string, Uint8Array>[] = []
  const shares: FileShare[] = []
  const dbNames = m.swarms.map((_, i) => `bench-files-${run}-${i}`)
  for (const [i, swarm] of m.swarms.entries()) {
    const db = new BrowserLevel<string, Uint8Array>(dbNames[i])
    await db.open()
    dbs.push(db)
    shares.push(reporting(new FileShare({store: new ChunkStore({db}), swarm}), `share ${i}`))
  }
  return {
    shares, dbNames,
    async close() {
      for (const share of shares) share.destroy()
      m.close()
      for (const db of dbs) await db.close()
      // browser-level names its IndexedDB database with this prefix.
      for (const name of dbNames) await deleteDatabase(`level-js-${name}`)
    },
  }
}

function deleteDatabase(name: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = indexedDB.deleteDatabase(name)
    req.onsuccess = () => resolve()
    req.onerror = () => reject(req.error)
    req.onblocked = () => reject(new Error(`deleting ${name} is blocked`))
  })
}

/** Where each share stands, for a timeout's message. */
const state = (seeder: FileShare, leechers: FileShare[], id: string) => () =>
  `seeder uploaded ${seeder.stats.uploaded} B; downloaders ` +
  leechers.map(l => {
    const f = l.file(id)
    return f ? `${f.have}/${f.chunks} ${f.state} ${f.holders.length}h${f.error ? ` (${f.error.message})` : ''}` : 'unlisted'
  }).join(', ')

/** Chunks the downloaders have stored, all told. */
const haves = (leechers: FileShare[], id: string) => () => leechers.reduce((n, l) => n + (l.file(id)?.have ?? 0), 0)

/** 1 → 1: the seeder adds the file, then the downloader downloads it; only download() is timed. */
async function ours1to1(size: number, chunkSize?: number): Promise<OneToOne> {
  const bytes = fileOf(size)
  const m = await mesh(2)
  const s = await sharesOn(m)
  try {
    const [seeder, leecher] = s.shares
    let t = performance.now()
    const info = await within(seeder.add(bytes, {name: 'bench.bin', type: 'application/octet-stream', chunkSize}), 'share.add')
    const addMs = performance.now() - t
    t = performance.now()
    await progressing(leecher.download(info.id), 'FileShare 1→1 download', haves([leecher], info.id), state(seeder, [leecher], info.id))
    const ms = performance.now() - t
    return {mbps: rate(size, ms), ms, addMs, uploaded: seeder.stats.uploaded}
  } finally {
    await s.close()
  }
}

/** 1 seeder, `downloaders` downloaders starting together, full mesh. */
async function oursScaling(size: number, downloaders: number, chunkSize?: number): Promise<Scaling> {
  const bytes = fileOf(size)
  const t0 = performance.now()
  const m = await mesh(downloaders + 1)
  const s = await sharesOn(m)
  try {
    const [seeder, ...leechers] = s.shares
    const info = await within(seeder.add(bytes, {name: 'bench.bin', type: 'application/octet-stream', chunkSize}), 'share.add')
    const setupMs = performance.now() - t0
    const start = performance.now()
    const finishedMs: number[] = []
    await progressing(Promise.all(leechers.map(l => l.download(info.id).then(() => {
      finishedMs.push(performance.now() - start)
    }))), `FileShare 1→${downloaders} downloads`, haves(leechers, info.id), state(seeder, leechers, info.id))
    const ms = performance.now() - start
    const uploaded = seeder.stats.uploaded
    return {
      uploadFactor: uploaded / size, uploaded, ms, finishedMs: finishedMs.sort((a, b) => a - b),
      downloaderUploadFactors: leechers.map(l => l.stats.uploaded / size), setupMs,
    }
  } finally {
    await s.close()
  }
}

// ---- two tabs: one side of a 1 → 1 transfer in each ------------------------------
//
// The bench opens this page twice and drives a session on both: the receiving tab
// listens, the sending tab dials (tab-pair.ts), then each does its half. Times that
// span both tabs use the shared clock performance.timeOrigin + performance.now().

const epoch = () => performance.timeOrigin + performance.now()

interface TabSession {
  ready: Promise<void>
  end?: TabEnd
  mux?: Mux
  share?: FileShare
  db?: BrowserLevel<string, Uint8Array>
  dbName?: string
  /** Raw receiver: when the last byte arrived. */
  received?: Promise<number>
}
const tabSessions = new Map<string, TabSession>()

function tabSession(session: string): TabSession {
  const s = tabSessions.get(session)
  if (!s) throw new Error(`no tab session ${session}`)
  return s
}

/** Raw, receiving tab: starts listening and returns; `tabRawDone` waits for the last byte. */
function tabRawReceive(session: string, total: number): void {
  const s: TabSession = {ready: Promise.resolve()}
  s.received = listen(session).then(end => {
    s.end = end
    end.channel.binaryType = 'arraybuffer'
    let received = 0
    return within(new Promise<number>(resolve => {
      end.channel.onmessage = e => {
        received += (e.data as ArrayBuffer).byteLength
        if (received >= total) resolve(epoch())
      }
    }), 'raw transfer between tabs')
  })
  s.ready = s.received.then(() => undefined)
  tabSessions.set(session, s)
}

/** Raw, sending tab: dials, then sends as `raw` does; returns when it started. */
async function tabRawSend(session: string, total: number, messageSize: number, cap: number): Promise<number> {
  const end = await dial(session, 'bench-raw')
  tabSessions.set(session, {ready: Promise.resolve(), end})
  const start = epoch()
  sendLoop(end.channel, total, messageSize, cap)
  return start
}

function tabRawDone(session: string): Promise<number> {
  return tabSession(session).received as Promise<number>
}

/**
 * FileShare, either tab: connects (the receiving tab listens, the seeding tab
 * dials) and builds a one-peer swarm, a fresh database and a FileShare. Returns
 * at once; `tabReady` waits for it.
 */
function tabJoin(session: string, role: 'listen' | 'dial', key: number, remoteKey: number): void {
  const s: TabSession = {ready: Promise.resolve()}
  s.ready = (async () => {
    const end = await (role === 'listen' ? listen(session) : dial(session))
    s.end = end
    const swarm = new BenchSwarm()
    s.mux = new Mux(fromDataChannel(end.channel, end.pc))
    const peer = new BenchPeer(keyOf(remoteKey), s.mux, p => swarm.remove(p))
    s.mux.on('close', () => peer.destroy())
    swarm.add(peer)
    s.dbName = `bench-files-tab-${session}-${key}`
    s.db = new BrowserLevel<string, Uint8Array>(s.dbName)
    await s.db.open()
    s.share = reporting(new FileShare({store: new ChunkStore({db: s.db}), swarm}), `tab share ${key}`)
  })()
  s.ready.catch(() => {})
  tabSessions.set(session, s)
}

async function tabReady(session: string): Promise<void> {
  await tabSession(session).ready
}

async function tabAdd(session: string, size: number): Promise<{id: string, addMs: number}> {
  const s = tabSession(session)
  const t = performance.now()
  const info = await within(s.share!.add(fileOf(size), {name: 'bench.bin', type: 'application/octet-stream'}), 'share.add')
  return {id: info.id, addMs: performance.now() - t}
}

async function tabDownload(session: string, id: string): Promise<number> {
  const s = tabSession(session)
  const share = s.share!
  const t = performance.now()
  await progressing(share.download(id), 'FileShare 1→1 download between tabs', haves([share], id), () => {
    const f = share.file(id)
    return f ? `${f.have}/${f.chunks} ${f.state} ${f.holders.length} holders${f.error ? ` (${f.error.message})` : ''}` : 'not listed'
  })
  return performance.now() - t
}

/**
 * Where a tab's session stands, for a stalled run's report: the connection, the
 * mux, and the share's sessions and downloads. Reads FileShare's private state
 * (sessions, entries) defensively: diagnostics only, nothing depends on it.
 */
function tabDebug(session: string): unknown {
  const s = tabSessions.get(session)
  if (!s) return 'no session'
  const share = s.share as unknown as {
    sessions?: Map<string, {stats?: unknown}>
    entries?: Map<string, {have?: {count(): number}, wanted?: boolean, local?: boolean, manifest?: object, manifestBytes?: Uint8Array, asking?: object, beginning?: boolean, error?: Error, download?: {running?: boolean, sources?: Map<string, {inflight: Map<number, number>, window: number, snubbed: boolean, rate: number, refused: Set<number>}>, storing?: Set<number>}}>
  } | undefined
  return {
    pc: s.end?.pc.connectionState, channel: s.end?.channel.readyState, bufferedAmount: s.end?.channel.bufferedAmount,
    mux: s.mux?.stats,
    stats: s.share?.stats,
    sessions: share?.sessions && Object.fromEntries([...share.sessions].map(([k, v]) => [k.slice(-4), v.stats])),
    entries: share?.entries && [...share.entries].map(([id, e]) => ({
      id: id.slice(0, 8), have: e.have?.count(), wanted: e.wanted, local: e.local, manifest: !!e.manifest,
      manifestBytes: e.manifestBytes?.length, asking: e.asking, beginning: e.beginning, error: e.error?.message,
      download: e.download && {
        running: e.download.running, storing: e.download.storing?.size,
        sources: e.download.sources && [...e.download.sources].map(([k, src]) => ({
          key: k.slice(-4), inflight: [...src.inflight.keys()].slice(0, 8), inflightCount: src.inflight.size,
          window: src.window, snubbed: src.snubbed, rate: Math.round(src.rate), refused: src.refused.size,
        })),
      },
    })),
  }
}

/** Ends a session on this tab, deleting its database; returns the share's uploaded bytes. */
async function tabClose(session: string): Promise<number> {
  const s = tabSessions.get(session)
  if (!s) return 0
  tabSessions.delete(session)
  await s.ready.catch(() => {})
  const uploaded = s.share?.stats.uploaded ?? 0
  s.share?.destroy()
  s.mux?.destroy()
  s.end?.close()
  if (s.db) {
    await s.db.close()
    await deleteDatabase(`level-js-${s.dbName}`)
  }
  return uploaded
}

/** What is left in IndexedDB: every run deletes its databases, so this should be empty. */
async function databases(): Promise<string[]> {
  return (await indexedDB.databases()).map(d => d.name ?? '')
}

export const filesBench = {
  raw, ours1to1, oursScaling, databases,
  tabRawReceive, tabRawSend, tabRawDone, tabJoin, tabReady, tabAdd, tabDownload, tabDebug, tabClose,
  ...webtorrentBench,
}
Object.assign(window, {filesBench})
