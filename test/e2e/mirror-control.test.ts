// <p2p-mirror-control> end to end, as an owner and a stranger meet it: Chromium pages
// (each a browser context of its own: its own IndexedDB, so its own page key) with the
// element in a <p2p-swarm>, real mirrors (`p2p-elements mirror`, child processes on
// LevelDB), a Node writer, and a Node peer that poses as a mirror and lies. A real hub
// process; loopback only (no ICE server anywhere). Every wait ends on an outcome.
import {after, before, test} from 'node:test'
import assert from 'node:assert/strict'
import {mkdtemp, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import type {Page} from 'puppeteer-core'
import {MemoryLevel} from 'memory-level'
import {launchChromium, startTestServer, type LaunchedChromium, type TestServer} from '../../scripts/browser.js'
import {startHubProcess, type HubProcess} from '../../scripts/hub-process.js'
import {Swarm} from '../../src/core/swarm/swarm.js'
import {KeyPairIdentity} from '../../src/core/crypto/seed-identity.js'
import {toHex} from '../../src/core/bytes.js'
import {Log} from '../../src/core/log/log.js'
import {MIRROR_STATUS_PROTOCOL} from '../../src/mirror/status-channel.js'
import type {MirrorStatus} from '../../src/mirror/mirror.js'
import {MirrorProcess} from '../shared/mirror-process.js'
import {untilValue} from '../shared/until.js'
import {callTestApi, openOwnContext} from './helpers.js'
import type {ControlView, MirrorControlPageApi} from './pages/mirror-control-page.js'
import '../shared/node-webrtc.js'

let hub: HubProcess
let server: TestServer
let chromium: LaunchedChromium
let dir: string
const cleanups: Array<() => Promise<unknown>> = []

before(async () => {
  hub = await startHubProcess()
  server = await startTestServer()
  chromium = await launchChromium()
  dir = await mkdtemp(join(tmpdir(), 'p2p-mirror-control-e2e-'))
})

after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined)
  await chromium?.close()
  await server?.close()
  await hub?.close()
  if (dir) await rm(dir, {recursive: true, force: true})
})

const call = <K extends keyof MirrorControlPageApi & string>(page: Page, name: K, ...args: Parameters<MirrorControlPageApi[K]>) =>
  callTestApi<MirrorControlPageApi, K>(page, name, ...args)

/** A page of its own in `room`; resolves with it and its key. */
async function pageIn(room: string): Promise<{page: Page, key: string}> {
  const opened = await openOwnContext(chromium.browser, `${server.url}/test/e2e/pages/mirror-control.html`)
  cleanups.push(async () => {
    await call(opened.page, 'stop')
    await opened.close()
  })
  await call(opened.page, 'join', hub.url, room)
  return {page: opened.page, key: await call(opened.page, 'key')}
}

/** What the page's element for `mirror` shows, once `check` accepts it (30 s bound, saying what it last showed). */
async function shown(page: Page, mirror: string, check: (view: ControlView) => boolean, what: string): Promise<ControlView> {
  let last: ControlView | null = null
  try {
    return await untilValue(async () => {
      last = await call(page, 'view', mirror)
      return last && check(last) ? last : undefined
    }, what, {every: 100})
  } catch (err) {
    throw new Error(`${(err as Error).message}; the element shows ${JSON.stringify(last)}`, {cause: err})
  }
}

function startMirror(args: string[]): MirrorProcess {
  const mirror = new MirrorProcess(['mirror', '--hub', hub.url, ...args])
  cleanups.push(() => mirror.stop('SIGKILL'))
  return mirror
}

/** A log of `entries` entries whose writer stays online in `room`, in Node; resolves with its address and length. */
async function onlineLog(room: string, entries: number): Promise<{address: string, length: number}> {
  const owner = new KeyPairIdentity()
  const log = new Log({db: new MemoryLevel(), key: owner.publicKey, identity: owner})
  await log.ready()
  await log.append(Array.from({length: entries}, (_, i) => ({i})))
  const swarm = new Swarm({hubs: [hub.url], room, identity: owner, iceServers: [], announceInterval: {min: 100, max: 1000}})
  const attached = log.replicate(swarm)
  cleanups.push(async () => {
    attached.detach()
    swarm.destroy()
    await log.close()
  })
  return {address: log.address, length: log.length}
}

const randomKey = () => toHex(new KeyPairIdentity().publicKey)

let shared: {room: string, owner: {page: Page, key: string}, kept: string, mirror: string, process: MirrorProcess} | undefined

test('an owner\'s page shows a kept log\'s state, adds a log and a file through the form (the mirror keeps them) and removes them; a full mirror refuses a request and the page says why', {timeout: 240_000}, async () => {
  const room = `mirror-control-${Date.now()}`
  const owner = await pageIn(room)
  const {address: kept, length} = await onlineLog(room, 5)
  const process = startMirror(['--dir', join(dir, 'one'), '--room', room, '--log', kept, '--owner', owner.key])
  const {key: mirror} = await process.status(s => s.logs[0]?.length === length, 'the mirror holding the writer\'s log')
  shared = {room, owner, kept, mirror, process}

  await call(owner.page, 'watch', mirror)
  const view = await shown(owner.page, mirror, v => v.logs[0]?.state === 'in sync' && v.writable, 'the kept log in sync, and the owner\'s form ready')
  assert.equal(view.connected, 'true')
  assert.deepEqual(view.logs.map(l => [l.id, l.remove]), [[kept, false]], 'a flag\'s log, which an owner cannot remove')
  assert.equal(view.logs[0].text, `${kept.slice(0, 8)} in sync ${length} (${length}) its flags`)
  assert.match(view.text, /\(this page\)/)
  assert.equal(view.rejected, 0)

  // Added through the form: an entry in the mirror's log; the mirror keeps it, and the page shows it with a Remove button.
  const added = randomKey()
  const before = (await process.status(s => s.control.owners.length === 1, 'the owner admitted')).control.length
  await call(owner.page, 'add', mirror, 'log', added)
  await process.status(s => s.logs.some(l => l.address === added && l.source === 'control'), 'the added log kept')
  const withAdded = await shown(owner.page, mirror, v => v.logs.some(l => l.id === added), 'the added log shown')
  assert.deepEqual(withAdded.logs.find(l => l.id === added), {id: added, state: 'no peer has it', text: `${added.slice(0, 8)} no peer has it 0 (–) an owner Remove`, remove: true, page: null})

  await call(owner.page, 'remove', mirror, added)
  await process.status(s => s.control.length >= before + 2 && !s.logs.some(l => l.address === added), 'the added log let go')
  await shown(owner.page, mirror, v => !v.logs.some(l => l.id === added) && v.logs.length === 1, 'the removed log gone from the page')

  // A file the same way: `kind: 'file'` in the entries the form and the button append.
  const file = randomKey()
  await call(owner.page, 'add', mirror, 'file', file)
  await process.status(s => s.files.some(f => f.id === file && f.source === 'control'), 'the added file kept')
  const withFile = await shown(owner.page, mirror, v => v.files.some(f => f.id === file), 'the added file shown')
  assert.deepEqual(withFile.files, [{id: file, state: 'no peer has it', text: `${file.slice(0, 8)} no peer has it 0 of ? an owner Remove`, remove: true, page: null}])
  await call(owner.page, 'remove', mirror, file)
  await process.status(s => s.control.length >= before + 4 && s.files.length === 0, 'the added file let go')
  await shown(owner.page, mirror, v => v.files.length === 0, 'the removed file gone from the page')

  // A mirror whose overall quota is already full: its kept log stops there, and an owner's request is refused, with the reason.
  const full = startMirror(['--dir', join(dir, 'full'), '--room', room, '--log', kept, '--owner', owner.key, '--max-bytes', '1'])
  const {key: fullKey} = await full.status(() => true, 'the full mirror started')
  await call(owner.page, 'watch', fullKey)
  await shown(owner.page, fullKey, v => v.logs[0]?.state === 'over quota' && v.writable, 'the kept log over quota, and the form ready')
  const refused = randomKey()
  await call(owner.page, 'add', fullKey, 'log', refused)
  const told = await full.status(s => s.control.refused.some(r => r.address === refused), 'the request refused')
  assert.deepEqual(told.control.refused, [{address: refused, kind: 'log', reason: 'over quota'}])
  const view2 = await shown(owner.page, fullKey, v => v.refused.length === 1, 'the refused request shown')
  assert.deepEqual(view2.refused, [{id: refused, text: `Refused log ${refused.slice(0, 8)}: over quota`}])
  assert.ok(!view2.logs.some(l => l.id === refused))

  assert.ok((await call(owner.page, 'statuses')).some(s => s.mirror === mirror), 'p2p-mirror-status fired')
  assert.deepEqual((await call(owner.page, 'errors')), [], 'no p2p-error')
  await full.stop()
})

test('a page that is not an owner shows no form, and its copy of a kept log beside the mirror\'s; an entry it appends to the mirror\'s log through code is refused, and its element shows it rejected', {timeout: 240_000}, async () => {
  assert.ok(shared, 'the test before started the mirror')
  const {room, mirror, kept, process} = shared
  const stranger = await pageIn(room)
  // Inside a <p2p-log> of the kept log: the element compares the page's copy with the mirror's.
  await call(stranger.page, 'watch', mirror, kept)
  const view = await shown(stranger.page, mirror, v => v.logs[0]?.state === 'in sync' && v.logs[0].page === 'true', 'the kept log in sync, the page\'s copy the same')
  assert.match(view.logs[0].text, / as this page /)
  assert.equal(view.form, false)
  assert.doesNotMatch(view.text, /\(this page\)/, 'not among the owners')
  assert.ok(view.logs.every(l => !l.remove), 'no Remove button')

  await call(stranger.page, 'forge', hub.url, room, mirror, {unmirror: kept})
  const rejected = await process.status(s => s.control.rejected >= 1, 'the entry rejected')
  assert.ok(rejected.logs.some(l => l.address === kept), 'the log is still kept')
  await shown(stranger.page, mirror, v => (v.rejected ?? 0) >= 1, 'the rejected entry counted on the page')
  assert.deepEqual((await call(stranger.page, 'errors')).map(e => e.code), [])
})

test('a "mirror" that sends what is not a status: p2p-error, and the element shows the status it sends once it reconnects; a mirror attribute that is not a key: p2p-error, nothing opened', {timeout: 240_000}, async () => {
  const room = `mirror-control-fake-${Date.now()}`
  const page = await pageIn(room)
  const fake = new KeyPairIdentity()
  const fakeKey = toHex(fake.publicKey)
  const address = randomKey()
  const status: MirrorStatus = {
    key: fakeKey, rooms: [{room, peers: 1}],
    logs: [{address, length: 7, heads: [], bytes: 700, peers: 1, remote: 9, behind: 2, received: 7, duplicates: 0, paused: false, source: 'flag', overQuota: false}],
    files: [{id: randomKey(), name: '<img src=x onerror=alert(1)>.png', size: 1000, chunks: 1, have: 0, bytes: 0, received: 0, peers: 0, seeders: 0, state: 'downloading', source: 'flag', overQuota: false}],
    control: {address: fakeKey, owners: [], length: 1, ignored: 0, rejected: 0, refused: []},
  }
  // The first watch gets garbage; the watch on the next connection, a status.
  const replies = [new TextEncoder().encode('{"key": "not a status"'), new TextEncoder().encode(JSON.stringify(status))]
  const swarm = new Swarm({hubs: [hub.url], room, identity: fake, iceServers: [], announceInterval: {min: 100, max: 1000}})
  cleanups.push(async () => swarm.destroy())
  swarm.on('connect', peer => {
    const channel = peer.channel(MIRROR_STATUS_PROTOCOL, {onmessage: () => {
      const reply = replies.shift()
      if (reply) channel.send(reply)
    }})
  })

  await call(page.page, 'watch', fakeKey)
  await untilValue(async () => (await call(page.page, 'errors')).find(e => e.mirror === fakeKey) ?? undefined, 'a p2p-error for the garbage', {every: 100})
  const view = await shown(page.page, fakeKey, v => v.logs.length === 1, 'the status sent after the reconnection')
  assert.deepEqual((await call(page.page, 'errors')).map(e => e.code), ['ERR_MALFORMED_MESSAGE'])
  assert.deepEqual(view.logs.map(l => [l.id, l.state]), [[address, '2 behind']])
  assert.match(view.logs[0].text, /7 \(9\)/)
  // Peer data is text: the file's name shows as those characters, and no element was made of it.
  assert.equal(view.files[0].id, status.files[0].id)
  assert.match(view.files[0].text, /<img src=x onerror=alert\(1\)>\.png downloading 0 of 1/)
  assert.equal(await page.page.evaluate(k => [...document.querySelectorAll('p2p-mirror-control')].find(el => el.mirror === k)!.shadowRoot!.querySelector('img') !== null, fakeKey), false)

  await call(page.page, 'watch', 'not-a-key')
  const invalid = await untilValue(async () => (await call(page.page, 'errors')).find(e => e.mirror === 'not-a-key') ?? undefined, 'a p2p-error for the bad key', {every: 100})
  assert.equal(invalid.code, 'ERR_INVALID_ARGUMENT')
  assert.equal((await call(page.page, 'view', 'not-a-key'))?.text, '')
})
