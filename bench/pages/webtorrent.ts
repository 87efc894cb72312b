// webtorrent in the bench page, for the same files as FileShare: its own browser
// build (dist/webtorrent.min.js, an ES module), WebRTC peers with iceServers: [],
// no DHT, LSD, web seeds or uTP, announcing only to the loopback WebSocket tracker
// the bench runs in Node (bittorrent-tracker). In Chromium webtorrent stores
// pieces in the origin-private file system (fsa-chunk-store) and checks each
// piece's SHA-1; each run destroys its stores.
//
// That store names its directory after the torrent (name and info hash), so two
// clients of one origin (one page, or two tabs) would share one directory: a "downloader" would find every
// piece already there and finish without a byte sent. Each client here gets its
// own directory: webtorrent's default store (fsa-chunk-store, the copy it depends
// on) passed as its public `store` option, with a name made unique per client.
//
// Likewise bittorrent-tracker's client shares one WebSocket per tracker URL among
// all clients of a page, while the tracker server knows a socket as one peer: relayed
// offers reach every client on it. Each client announces to its own URL (the same
// tracker, with a path of its own), and magnet links are passed without their
// `tr`, so each client holds one socket of its own, as in separate browsers.
import {fileOf, progressing, rate, within, type OneToOne, type Scaling} from './files-common.js'

/** The little of webtorrent's API used here. */
interface Torrent {
  magnetURI: string
  uploaded: number
  downloaded: number
  done: boolean
  progress: number
  numPeers: number
  on(event: 'done' | 'error' | 'warning', listener: (err?: unknown) => void): void
  once(event: 'done' | 'error', listener: (err?: unknown) => void): void
}
interface Client {
  seed(input: Blob | File, opts: object, onseed: (torrent: Torrent) => void): Torrent
  add(magnet: string, opts: object, onready?: (torrent: Torrent) => void): Torrent
  on(event: 'error', listener: (err: unknown) => void): void
  destroy(cb?: (err?: unknown) => void): void
}
type WebTorrentClass = new (opts: object) => Client

type StoreClass = new (chunkLength: number, opts: {name?: string}) => object

// Served by the dev server from node_modules: paths, so tsc does not look for type declarations.
const WEBTORRENT_URL = '/node_modules/webtorrent/dist/webtorrent.min.js'
const STORE_URL = '/node_modules/fsa-chunk-store/index.js'

let loaded: Promise<{WebTorrent: WebTorrentClass, Store: StoreClass}> | undefined
function load(): Promise<{WebTorrent: WebTorrentClass, Store: StoreClass}> {
  // No announce list baked in or added by default: only the tracker passed to each torrent.
  ;(globalThis as {WEBTORRENT_ANNOUNCE?: string[]}).WEBTORRENT_ANNOUNCE = []
  loaded ??= Promise.all([import(/* @vite-ignore */ WEBTORRENT_URL as string), import(/* @vite-ignore */ STORE_URL as string)])
    .then(([w, s]) => ({WebTorrent: w.default as WebTorrentClass, Store: s.default as StoreClass}))
  return loaded
}


interface BenchClient extends Client {
  /** webtorrent's default store, in a directory of this client's own. */
  store: StoreClass
  uid: string
}

async function client(): Promise<BenchClient> {
  const {WebTorrent, Store} = await load()
  const uid = `bench-wt-${crypto.randomUUID()}`
  const store = class extends Store {
    constructor(chunkLength: number, opts: {name?: string}) {
      super(chunkLength, {...opts, name: `${uid} ${opts.name ?? ''}`})
    }
  }
  const c = Object.assign(new WebTorrent({
    tracker: {rtcConfig: {iceServers: []}},
    dht: false, lsd: false, webSeeds: false, utp: false, natUpnp: false, natPmp: false, utPex: false,
  }), {store, uid})
  c.on('error', err => console.error('webtorrent client error', err))
  return c
}

function destroy(c: Client): Promise<void> {
  return new Promise(resolve => c.destroy(() => resolve()))
}

const torrentOpts = (c: BenchClient, tracker: string) => ({announce: [`${tracker}/${c.uid}`], store: c.store, destroyStoreOnDestroy: true})

/** The magnet link without its trackers (`tr`): each client adds its own. */
const bare = (magnet: string) => magnet.replace(/([?&])tr=[^&]*/g, '$1').replace(/&{2,}/g, '&').replace(/[?&]$/, '')

/** Seeds the bytes as one file; resolves once hashed and stored, with the torrent. */
function seed(c: BenchClient, size: number, tracker: string): Promise<Torrent> {
  const file = new File([fileOf(size) as BlobPart], 'bench.bin', {type: 'application/octet-stream'})
  return new Promise((resolve, reject) => {
    const t = c.seed(file, {...torrentOpts(c, tracker), name: 'bench.bin'}, resolve)
    t.on('error', reject)
  })
}

/** Adds by magnet link (so metadata comes from peers, as our manifest does); `done` resolves on 'done'. */
function fetch(c: BenchClient, magnet: string, tracker: string): {torrent: Torrent, done: Promise<Torrent>} {
  const torrent = c.add(bare(magnet), torrentOpts(c, tracker))
  const done = new Promise<Torrent>((resolve, reject) => {
    torrent.on('error', reject)
    torrent.once('done', () => resolve(torrent))
  })
  return {torrent, done}
}

/** webtorrent may spend a while finding peers through the tracker before its first byte. */
const WT_STALL = 60_000

/** Bytes the downloaders have, all told. */
const downloaded = (torrents: Torrent[]) => () => torrents.reduce((n, t) => n + t.downloaded, 0)

/** Where each torrent stands, for a timeout's message. */
const state = (seeder: Torrent, torrents: Torrent[]) => () =>
  `seeder uploaded ${seeder.uploaded} B to ${seeder.numPeers} peers; downloaders ` +
  torrents.map(t => `${(t.progress * 100).toFixed(0)}%/${t.numPeers}p`).join(' ')

/** 1 → 1, timed from add(magnet) until 'done'. */
async function webtorrent1to1(size: number, tracker: string): Promise<OneToOne> {
  const seeder = await client()
  const leecher = await client()
  try {
    let t = performance.now()
    const seeded = await within(seed(seeder, size, tracker), 'webtorrent seed')
    const addMs = performance.now() - t
    t = performance.now()
    const {torrent, done} = fetch(leecher, seeded.magnetURI, tracker)
    await progressing(done, 'webtorrent 1→1 download', downloaded([torrent]), state(seeded, [torrent]), WT_STALL)
    const ms = performance.now() - t
    return {mbps: rate(size, ms), ms, addMs, uploaded: seeded.uploaded}
  } finally {
    await destroy(leecher)
    await destroy(seeder)
  }
}

/** 1 seeder, `downloaders` downloaders added together. */
async function webtorrentScaling(size: number, downloaders: number, tracker: string): Promise<Scaling> {
  const t0 = performance.now()
  const seeder = await client()
  const leechers = await Promise.all(Array.from({length: downloaders}, () => client()))
  try {
    const seeded = await within(seed(seeder, size, tracker), 'webtorrent seed')
    const setupMs = performance.now() - t0
    const start = performance.now()
    const finishedMs: number[] = []
    const fetches = leechers.map(l => fetch(l, seeded.magnetURI, tracker))
    const torrents = fetches.map(f => f.torrent)
    await progressing(Promise.all(fetches.map(f => f.done.then(() => {
      finishedMs.push(performance.now() - start)
    }))), `webtorrent 1→${downloaders} downloads`, downloaded(torrents), state(seeded, torrents), WT_STALL)
    const ms = performance.now() - start
    return {
      uploadFactor: seeded.uploaded / size, uploaded: seeded.uploaded, ms, finishedMs: finishedMs.sort((a, b) => a - b),
      downloaderUploadFactors: torrents.map(t => t.uploaded / size), setupMs,
    }
  } finally {
    for (const l of leechers) await destroy(l)
    await destroy(seeder)
  }
}

// ---- two tabs: the seeder in one, the downloader in the other ----------------------

const tabClients = new Map<string, {client: BenchClient, torrent?: Torrent}>()

/** Seeding tab: a client that seeds the file; returns its magnet link once hashed and stored. */
async function wtTabSeed(session: string, size: number, tracker: string): Promise<{magnet: string, addMs: number}> {
  const c = await client()
  tabClients.set(session, {client: c})
  const t = performance.now()
  const torrent = await within(seed(c, size, tracker), 'webtorrent seed')
  tabClients.set(session, {client: c, torrent})
  return {magnet: torrent.magnetURI, addMs: performance.now() - t}
}

/** Downloading tab: a client that fetches the magnet link; returns ms from add() to 'done'. */
async function wtTabFetch(session: string, magnet: string, tracker: string): Promise<number> {
  const c = await client()
  const t = performance.now()
  const {torrent, done} = fetch(c, magnet, tracker)
  tabClients.set(session, {client: c, torrent})
  await progressing(done, 'webtorrent 1→1 download between tabs', downloaded([torrent]), () => `${(torrent.progress * 100).toFixed(0)}%, ${torrent.numPeers} peers`, WT_STALL)
  return performance.now() - t
}

/** Destroys this tab's client (and its store); returns what its torrent uploaded. */
async function wtTabClose(session: string): Promise<number> {
  const entry = tabClients.get(session)
  if (!entry) return 0
  tabClients.delete(session)
  const uploaded = entry.torrent?.uploaded ?? 0
  await destroy(entry.client)
  return uploaded
}

/** Names left in the origin-private file system (webtorrent's store): empty after every run. */
async function opfs(): Promise<string[]> {
  const root = await navigator.storage.getDirectory() as FileSystemDirectoryHandle & {keys(): AsyncIterable<string>}
  const names: string[] = []
  for await (const name of root.keys()) names.push(name)
  return names
}

/** Empties the origin-private file system. */
async function clearOpfs(): Promise<void> {
  const root = await navigator.storage.getDirectory()
  for (const name of await opfs()) await root.removeEntry(name, {recursive: true})
}

export const webtorrentBench = {webtorrent1to1, webtorrentScaling, wtTabSeed, wtTabFetch, wtTabClose, opfs, clearOpfs}
