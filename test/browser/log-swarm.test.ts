// Log replication across real swarms in one page (issue 17's browser tests): peers in
// a line, a connection lost mid-stream, a replica closed and reopened mid-stream. Real
// WebRTC (iceServers: []) through the hub process, entries stored in real IndexedDB
// (browser-level), each peer with a database of its own.
import {expect} from '@open-wc/testing'
import {BrowserLevel} from 'browser-level'
import {KeyPairIdentity} from '../../src/core/crypto/seed-identity.js'
import {toHex} from '../../src/core/bytes.js'
import {Log} from '../../src/core/log/log.js'
import {EntryKind, createEntry, encodeEntry, hashEntry, jsonValue, readValue, signedMessage, sortLinks, type Entry} from '../../src/core/log/entry.js'
import {encodeEntries, encodeHave} from '../../src/core/log/messages.js'
import {attachLog, logProtocol, type AttachedLog} from '../../src/core/log/swarm.js'
import type {P2PError} from '../../src/core/errors.js'
import type {Swarm, SwarmOptions} from '../../src/core/swarm/swarm.js'
import {createSwarm, freshRoom, fullMesh, until} from './helpers/swarm.js'
import {all, same} from '../shared/log-helpers.js'

const owner = new KeyPairIdentity(new Uint8Array(32).fill(41))
const writer = new KeyPairIdentity(new Uint8Array(32).fill(42))

/** One IndexedDB database per peer, deleted after each test. */
const locations: string[] = []
const cleanups: Array<() => Promise<void> | void> = []

function openDb(location: string): BrowserLevel<string, Uint8Array> {
  const db = new BrowserLevel<string, Uint8Array>(location)
  cleanups.push(() => db.close())
  return db
}

async function openLog(db: BrowserLevel<string, Uint8Array>, identity?: KeyPairIdentity): Promise<Log> {
  const log = new Log({db, key: owner.publicKey, identity})
  cleanups.push(() => log.close())
  await log.ready()
  return log
}

function join(log: Log, room: string, opts: Partial<SwarmOptions> = {}): {swarm: Swarm, attached: AttachedLog} {
  const swarm = createSwarm(room, opts)
  const attached = attachLog(log, swarm)
  cleanups.push(() => {
    attached.detach()
    swarm.destroy()
  })
  return {swarm, attached}
}

function newLocation(): string {
  const location = `p2p-log-swarm-${Math.random().toString(36).slice(2)}`
  locations.push(location)
  return location
}

/**
 * What a log stores, each entry counted as it is stored (`update` fires once per
 * write, with what that write stored): an entry stored twice would count 2.
 */
function countStored(log: Log, counts = new Map<string, number>()): Map<string, number> {
  log.on('update', (entries: Entry[]) => {
    for (const e of entries) {
      const hash = toHex(e.hash)
      counts.set(hash, (counts.get(hash) ?? 0) + 1)
    }
  })
  return counts
}

/** The log read from storage has every author's seqs 0 … n − 1 exactly once, and `length` distinct entries. */
async function expectIntact(log: Log): Promise<void> {
  const entries = await all(log)
  expect(entries.length).to.equal(log.length)
  expect(new Set(entries.map(e => toHex(e.hash))).size).to.equal(log.length)
  for (const [author, n] of log.lengths()) {
    const seqs = entries.filter(e => toHex(e.author) === author).map(e => e.seq)
    expect(seqs, `seqs of ${author.slice(0, 8)}`).to.deep.equal(Array.from({length: n}, (_, i) => i))
  }
}

const hexHeads = (log: Log): string[] => log.heads().map(toHex).sort()

/** Resolves once `check` holds, checked on each of the log's writes; fails naming `what` (a long bound: the CPU is shared). */
function stored(log: Log, check: () => boolean, what: string): Promise<void> {
  return until(log, ['update'], check, what, 150_000)
}

describe('log replication across swarms (real WebRTC, real IndexedDB)', function () {
  this.timeout(300_000)

  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
    for (const location of locations.splice(0)) {
      await new Promise(resolve => {
        const req = indexedDB.deleteDatabase(`level-js-${location}`)
        req.onsuccess = req.onerror = req.onblocked = resolve
      })
    }
  })

  it('three peers in a line (A and C refuse each other) converge on disjoint histories, then live', async () => {
    const a = await openLog(openDb(newLocation()), owner)
    await a.admit(writer.publicKey)
    const c = await openLog(openDb(newLocation()), writer)
    // C met A's log before (its Init and Admit), then each wrote alone.
    await c.add(await all(a), 'earlier')
    await a.append(Array.from({length: 300}, (_, i) => ({from: 'a', i})))
    await c.append(Array.from({length: 200}, (_, i) => ({from: 'c', i})))
    const b = await openLog(openDb(newLocation()))

    const room = freshRoom('log-line')
    const keys = {a: new KeyPairIdentity(), b: new KeyPairIdentity(), c: new KeyPairIdentity()}
    const hex = (id: KeyPairIdentity) => toHex(id.publicKey)
    const refuse = (key: string) => (peer: string) => peer !== key
    const sa = join(a, room, {identity: keys.a, admit: refuse(hex(keys.c))})
    join(b, room, {identity: keys.b})
    const sc = join(c, room, {identity: keys.c, admit: refuse(hex(keys.a))})
    const metByA = new Set<string>()
    const metByC = new Set<string>()
    sa.swarm.on('connect', p => metByA.add(p.publicKey!))
    sc.swarm.on('connect', p => metByC.add(p.publicKey!))

    const total = 2 + 300 + 200
    await Promise.all([a, b, c].map((log, i) => stored(log, () => log.length === total, `every entry at ${'ABC'[i]}`)))
    expect(same(a, b) && same(b, c)).to.equal(true)
    expect(hexHeads(a)).to.deep.equal(hexHeads(c))

    // Live: what A writes reaches C through B, and back.
    const fromA = await a.append({live: 'a'})
    await stored(c, () => c.length === total + 1, 'A\'s live append at C')
    expect(readValue((await c.get(fromA.hash))!)).to.deep.equal({live: 'a'})
    const fromC = await c.append({live: 'c'})
    await stored(a, () => a.length === total + 2, 'C\'s live append at A')
    expect(readValue((await a.get(fromC.hash))!)).to.deep.equal({live: 'c'})
    await stored(b, () => b.length === total + 2, 'both live appends at B')

    for (const log of [a, b, c]) await expectIntact(log)
    expect(hexHeads(a)).to.deep.equal(hexHeads(b))
    expect(hexHeads(b)).to.deep.equal(hexHeads(c))
    // Everything went through B: A and C never had a connection to each other.
    expect([...metByA]).to.deep.equal([hex(keys.b)])
    expect([...metByC]).to.deep.equal([hex(keys.b)])
    expect(sa.attached.peers().has(hex(keys.c))).to.equal(false)
  })

  it('a connection lost mid-stream comes back, and replication resumes with every entry stored once', async () => {
    const a = await openLog(openDb(newLocation()), owner)
    for (let i = 0; i < 4; i++) await a.append(Array.from({length: 1000}, (_, j) => ({i: i * 1000 + j})))
    const total = a.length
    const b = await openLog(openDb(newLocation()))
    const counts = countStored(b)
    const room = freshRoom('log-cut')
    const sa = join(a, room)
    const sb = join(b, room)
    const sessions: Array<{key: string, length: number}> = []
    sb.attached.on('peer', key => sessions.push({key, length: b.length}))

    // The RTCPeerConnection goes away under the swarm, as when the network drops,
    // as soon as the first entries are stored: synchronously, so no later message is taken first.
    let atCut = -1
    await new Promise<void>(resolve => {
      const cut = (): void => {
        b.off('update', cut)
        atCut = b.length
        sb.swarm.peers[0].rtc.close()
        resolve()
      }
      b.on('update', cut)
    })
    // A message holds at most 1,024 entries: most of the log was still at A.
    expect(atCut).to.be.within(1, 1024)

    await stored(b, () => b.length >= total, 'the whole log at B after the cut')
    expect(same(a, b)).to.equal(true)
    // The swarm reconnected on its own, and a later session with A brought the rest:
    // a closed session drops what it had not begun to handle, so at most one more message came on the first.
    expect(sessions.length).to.be.at.least(2)
    expect(sessions.every(s => s.key === sa.swarm.publicKey)).to.equal(true)
    expect(sessions[1].length).to.be.within(atCut, 2 * 1024)
    await expectIntact(b)
    expect(hexHeads(b)).to.deep.equal(hexHeads(a))
    expect(counts.size).to.equal(total)
    expect([...counts.values()].every(n => n === 1), 'no entry stored twice').to.equal(true)
  })

  it('a replica closed mid-stream reopens from IndexedDB with the same heads and length, and completes with nothing lost or doubled', async () => {
    const a = await openLog(openDb(newLocation()), owner)
    await a.admit(writer.publicKey)
    for (let i = 0; i < 4; i++) await a.append(Array.from({length: 1000}, (_, j) => ({i: i * 1000 + j})))
    const total = a.length
    const room = freshRoom('log-reopen')
    join(a, room)

    const location = newLocation()
    let db = new BrowserLevel<string, Uint8Array>(location)
    let b = await openLog(db, writer)
    const counts = countStored(b)
    const first = join(b, room)
    await new Promise<void>(resolve => {
      const stop = (): void => {
        b.off('update', stop)
        first.attached.detach()
        first.swarm.destroy()
        resolve()
      }
      b.on('update', stop)
    })
    // close() waits for the write in progress: what it leaves is what is on disk.
    await b.close()
    await db.close()
    const closed = {length: b.length, heads: hexHeads(b), lengths: [...b.lengths()]}
    // The first stored message, and at most the one being handled when the session ended.
    expect(closed.length).to.be.within(1, 2 * 1024)

    db = openDb(location)
    b = await openLog(db, writer)
    expect(b.length).to.equal(closed.length)
    expect(hexHeads(b)).to.deep.equal(closed.heads)
    expect([...b.lengths()]).to.deep.equal(closed.lengths)
    await expectIntact(b)

    countStored(b, counts)
    join(b, room)
    await stored(b, () => b.length >= total, 'the whole log at the reopened replica')
    expect(b.length).to.equal(total)
    await expectIntact(b)
    expect(hexHeads(b)).to.deep.equal(hexHeads(a))
    expect(counts.size).to.equal(total)
    expect([...counts.values()].every(n => n === 1), 'no entry stored twice').to.equal(true)
    // The reopened replica holds its admission now: it writes, and A takes it.
    const mine = await b.append({from: 'reopened'})
    expect(mine.seq).to.equal(0)
    await stored(a, () => a.length === total + 1, 'the reopened replica\'s append at A')
  })

  /** How a hostile peer makes an entry of the owner's log (`a`), and the error it is dropped with. */
  const hostile: Array<{what: string, code: string, make: (a: Log, mallory: KeyPairIdentity) => Promise<{hash: Uint8Array, bytes: Uint8Array}>}> = [
    {
      what: 'the owner\'s next entry (right seq and prev) signed with its own key',
      code: 'ERR_INVALID_SIGNATURE',
      make: async (a, mallory) => {
        const fields = {author: owner.publicKey, seq: a.length, prev: a.heads()[0], links: [], time: Date.now(), kind: EntryKind.Json, value: jsonValue({forged: true})}
        const hash = await hashEntry(owner.publicKey, fields)
        return {hash, bytes: encodeEntry(fields, await mallory.sign(signedMessage(hash)))}
      },
    },
    {
      what: 'an entry of its own, well signed, though the owner never admitted its key',
      code: 'ERR_NOT_A_WRITER',
      make: (a, mallory) => createEntry(owner.publicKey, {
        author: mallory.publicKey, seq: 0, prev: null, links: sortLinks(a.heads()), time: Date.now(), kind: EntryKind.Json, value: jsonValue({uninvited: true}),
      }, mallory),
    },
  ]
  for (const {what, code, make} of hostile) {
    it(`a peer that sends ${what} over its real connection is dropped (${code}) and banned; the store keeps what it had and the honest peer is still served`, async () => {
      const a = await openLog(openDb(newLocation()), owner)
      await a.append(Array.from({length: 10}, (_, i) => ({i})))
      const b = await openLog(openDb(newLocation()))
      const room = freshRoom('log-hostile')
      const sa = join(a, room)
      const sb = join(b, room)
      const mallory = new KeyPairIdentity()
      const sm = createSwarm(room, {identity: mallory})
      cleanups.push(() => sm.destroy())
      await fullMesh([sa.swarm, sb.swarm, sm])
      await stored(b, () => same(a, b), 'A\'s log at B')
      const before = {length: b.length, heads: hexHeads(b)}

      const bad = await make(a, mallory)
      const dropped = new Promise<P2PError | undefined>(resolve => sb.attached.on('drop', (key, _session, err) => {
        if (key === sm.publicKey) resolve(err)
      }))
      const toB = sm.peers.find(p => p.publicKey === sb.swarm.publicKey)!
      const channel = toB.channel(logProtocol(a.address), {onmessage: () => {}})
      channel.send(encodeHave([], true))
      channel.send(encodeEntries([bad.bytes]))

      expect((await dropped)?.code).to.equal(code)
      // No honest peer holds such an entry: its connection goes as misbehaving, and its key is banned, so it cannot just come back.
      await until(sb.swarm, ['update'], () => sb.swarm.isBanned(sm.publicKey), 'Mallory\'s key banned at B')
      expect(await b.get(bad.hash)).to.equal(undefined)
      expect(b.length).to.equal(before.length)
      expect(hexHeads(b)).to.deep.equal(before.heads)
      await expectIntact(b)
      // A's next entry reaches B.
      const honest = await a.append({honest: true})
      await stored(b, () => b.length === before.length + 1, 'A\'s append at B after the drop')
      expect(readValue((await b.get(honest.hash))!)).to.deep.equal({honest: true})
    })
  }
})
