// A hostile peer against log replication. In each test the victim's store
// stays intact, the hostile session ends with a typed error (or, for input
// that is harmless, does not end), and an honest third peer connected to the
// victim keeps being served.
import {describe, test} from 'node:test'
import assert from 'node:assert/strict'
import {MemoryLevel} from 'memory-level'
import {KeyPairIdentity} from '../../src/core/crypto/seed-identity.js'
import type {Identity} from '../../src/core/crypto/identity.js'
import {concat, randomBytes, toHex} from '../../src/core/bytes.js'
import {Mux, createMemoryTransportPair} from '../../src/core/mux/index.js'
import type {P2PError} from '../../src/core/errors.js'
import {EntryKind, createEntry, encodeEntry, jsonValue, sortLinks, type Entry} from '../../src/core/log/entry.js'
import {Log} from '../../src/core/log/log.js'
import {
  LogPeer, MAX_QUEUED_OTHERS, MAX_REMOTE_AUTHORS, USELESS_ENTRIES, USELESS_FORKS, USELESS_VECTORS, type ReplicaLog,
} from '../../src/core/log/replicate.js'
import {
  LogMessageType, MAX_HAVE_AUTHORS, decodeLogMessage, encodeAck, encodeEntries, encodeFork, encodeHave, type LogMessage,
} from '../../src/core/log/messages.js'
import {all, replicaOf, same, whenLog} from '../shared/log-helpers.js'

const owner = new KeyPairIdentity(new Uint8Array(32).fill(1))
const writer = new KeyPairIdentity(new Uint8Array(32).fill(2))
const mallory = new KeyPairIdentity(new Uint8Array(32).fill(3))
const CHANNEL = `p2p/log/1/${toHex(owner.publicKey)}`
const quiet = {pingInterval: 0, timeout: 0}

function connect(one: Log, two: Log): void {
  const [ta, tb] = createMemoryTransportPair()
  const [ma, mb] = [new Mux(ta, quiet), new Mux(tb, quiet)]
  new LogPeer({log: one, source: 'two', open: handlers => ma.channel(CHANNEL, handlers)})
  new LogPeer({log: two, source: 'one', open: handlers => mb.channel(CHANNEL, handlers)})
}

/** An entry of the owner's log made by hand, as a hostile peer could. */
function make(identity: Identity, seq: number, prev: Entry | Uint8Array | null, {links = [] as Uint8Array[], value = 'x' as unknown, sign = true} = {}): Promise<Entry> {
  return createEntry(owner.publicKey, {
    author: identity.publicKey,
    seq,
    prev: prev instanceof Uint8Array ? prev : prev?.hash ?? null,
    links: sortLinks(links),
    time: 1,
    kind: EntryKind.Json,
    value: jsonValue(value),
  }, identity, {sign})
}

/** A run of `n` entries of `identity` from `seq`, only the last signed. */
async function run(identity: Identity, seq: number, prev: Entry | null, n: number, links: Uint8Array[] = []): Promise<Entry[]> {
  const out: Entry[] = []
  for (let i = 0; i < n; i++) {
    out.push(await make(identity, seq + i, out[i - 1] ?? prev, {links: i === 0 ? links : [], value: {i}, sign: i === n - 1}))
  }
  return out
}

interface Scene {
  victim: Log
  honest: Log
  /** The writer's first entry, held by the victim and the honest peer. */
  w0: Entry
  before: Entry[]
  /** Sends raw bytes to the victim as the hostile peer. */
  send(bytes: Uint8Array): void
  received: LogMessage[]
  /** Called after each message the victim sends the hostile peer. */
  onmessage: () => void
  session: LogPeer
  /** How the victim's session with the hostile peer ended. */
  dropped: Promise<P2PError | undefined>
}

/** The victim's log as the hostile session sees it: its writes wait for `gate`, so messages queue behind one. */
function slowed(log: Log, gate: Promise<void>): ReplicaLog {
  return replicaOf(log, {
    add: async (entries, source) => {
      await gate
      return log.add(entries, source)
    },
  })
}

interface SceneOptions {
  maxPending?: number
  maxPendingTotal?: number
  maxValueBytes?: number
  gate?: Promise<void>
  /** More entries the victim holds (and tells the hostile peer it holds) from the start. */
  extra?: number
}

async function scene({maxPending, maxPendingTotal, maxValueBytes, gate, extra = 0}: SceneOptions = {}): Promise<Scene> {
  const victim = new Log({db: new MemoryLevel(), key: owner.publicKey, identity: owner, maxPending, maxPendingTotal})
  await victim.ready()
  await victim.admit(writer.publicKey)
  await victim.append(['v1', 'v2'])
  if (extra > 0) await victim.append(Array.from({length: extra}, (_, i) => ({extra: i})))
  const w0 = await make(writer, 0, null, {links: victim.heads()})
  await victim.add([w0], 'setup')
  const honest = new Log({db: new MemoryLevel(), key: owner.publicKey})
  connect(victim, honest)
  await whenLog(honest, () => same(victim, honest))

  const [ta, tb] = createMemoryTransportPair()
  const [ma, mb] = [new Mux(ta, quiet), new Mux(tb, quiet)]
  const session = new LogPeer({log: gate ? slowed(victim, gate) : victim, source: 'mallory', maxValueBytes, open: handlers => ma.channel(CHANNEL, handlers)})
  const dropped = new Promise<P2PError | undefined>(resolve => session.on('close', resolve))
  const received: LogMessage[] = []
  const scene: Scene = {victim, honest, w0, before: await all(victim), send: bytes => raw.send(bytes), received, onmessage: () => {}, session, dropped}
  const raw = mb.channel(CHANNEL, {onmessage: bytes => {
    received.push(decodeLogMessage(bytes))
    scene.onmessage()
  }})
  return scene
}

/** The victim lost nothing, and the honest peer is still served. */
async function stillServing({victim, honest, before}: Scene): Promise<void> {
  const now = await all(victim)
  assert.deepEqual(now.slice(0, before.length).map(e => toHex(e.hash)), before.map(e => toHex(e.hash)))
  const entry = await victim.append('after the attack')
  await whenLog(honest, () => honest.length === victim.length)
  assert.ok(await honest.get(entry.hash))
}

async function droppedWith(s: Scene, code: string): Promise<void> {
  const err = await s.dropped
  assert.equal(err?.code, code, `dropped with ${err?.message}`)
  assert.ok(s.session.destroyed)
  await stillServing(s)
}

/** Resolves once the victim has answered `n` ENTRIES messages (their entries were handled); rejects if it drops us. */
function acked(s: Scene, n: number): Promise<void> {
  return new Promise((resolve, reject) => {
    void s.dropped.then(err => reject(new Error(`dropped: ${err?.message}`)))
    const check = (): void => {
      if (s.received.filter(m => m.type === LogMessageType.ACK).length >= n) resolve()
    }
    s.onmessage = check
    check()
  })
}

describe('log replication: a hostile peer', {timeout: 60_000}, () => {
  test('a forged signature: ERR_INVALID_SIGNATURE, dropped', async () => {
    const s = await scene()
    const fields = {author: writer.publicKey, seq: 1, prev: s.w0.hash, links: [], time: 1, kind: EntryKind.Json, value: jsonValue('forged')}
    const bymallory = await createEntry(owner.publicKey, {...fields, author: mallory.publicKey}, mallory)
    s.send(encodeEntries([encodeEntry(fields, bymallory.signature)]))
    await droppedWith(s, 'ERR_INVALID_SIGNATURE')
    assert.equal(s.victim.lengths().get(toHex(writer.publicKey)), 1)
  })

  test('an entry by a key that is not admitted: ERR_NOT_A_WRITER, dropped', async () => {
    const s = await scene()
    s.send(encodeEntries([(await make(mallory, 0, null, {links: s.victim.heads()})).bytes]))
    await droppedWith(s, 'ERR_NOT_A_WRITER')
    assert.equal(s.victim.lengths().get(toHex(mallory.publicKey)), undefined)
  })

  test('a wrong previous hash: ERR_HASH_MISMATCH, dropped', async () => {
    const s = await scene()
    s.send(encodeEntries([(await make(writer, 1, randomBytes(32))).bytes]))
    await droppedWith(s, 'ERR_HASH_MISMATCH')
  })

  test('a wrong previous hash inside a run: ERR_HASH_MISMATCH, dropped', async () => {
    const s = await scene()
    const [a] = await run(writer, 1, s.w0, 2)
    const bad = await make(writer, 2, randomBytes(32))
    s.send(encodeEntries([a.bytes, bad.bytes]))
    await droppedWith(s, 'ERR_HASH_MISMATCH')
  })

  test('a dangling-link flood: the pending bound holds, ERR_PEER_MISBEHAVING, dropped', async () => {
    const s = await scene({maxPending: 16})
    const mallory0 = await run(writer, 1, s.w0, 40, [randomBytes(32)])
    s.send(encodeEntries(mallory0.map(e => e.bytes)))
    await droppedWith(s, 'ERR_PEER_MISBEHAVING')
    assert.ok(s.victim.stats.pending <= 16, `${s.victim.stats.pending} pending`)
  })

  test('replayed entries are a no-op, not a drop', async () => {
    const s = await scene()
    const length = s.victim.length
    s.send(encodeEntries(s.before.map(e => e.bytes)))
    s.send(encodeEntries([s.w0.bytes]))
    await acked(s, 2)
    assert.equal(s.victim.length, length)
    assert.ok(!s.session.destroyed)
    await stillServing(s)
  })

  test('reordered delivery: the entries of one message shuffled are stored all the same, not a drop', async () => {
    const s = await scene()
    const entries = await run(writer, 1, s.w0, 6)
    const shuffled = [3, 0, 5, 1, 4, 2].map(i => entries[i].bytes)
    s.send(encodeEntries(shuffled))
    await acked(s, 1)
    assert.equal(s.victim.lengths().get(toHex(writer.publicKey)), 7)
    assert.ok(!s.session.destroyed)
    await stillServing(s)
    assert.equal(s.honest.lengths().get(toHex(writer.publicKey)), 7)
  })

  test('an oversized value: ERR_MESSAGE_TOO_LARGE, dropped', async () => {
    const s = await scene()
    const fields = {author: writer.publicKey, seq: 1, prev: s.w0.hash, links: [], time: 1, kind: EntryKind.Bytes, value: new Uint8Array(64 * 1024 + 1)}
    const big = await createEntry(owner.publicKey, fields, writer)
    s.send(encodeEntries([big.bytes]))
    await droppedWith(s, 'ERR_MESSAGE_TOO_LARGE')
  })

  test('a malformed frame: ERR_MALFORMED_MESSAGE, dropped', async () => {
    const s = await scene()
    s.send(new Uint8Array([9, 9, 9]))
    await droppedWith(s, 'ERR_MALFORMED_MESSAGE')
  })

  test('a malformed entry in a well-framed ENTRIES: ERR_MALFORMED_MESSAGE, dropped', async () => {
    const s = await scene()
    const good = await make(writer, 1, s.w0)
    s.send(encodeEntries([concat([good.bytes, new Uint8Array([0])])]))
    await droppedWith(s, 'ERR_MALFORMED_MESSAGE')
  })

  test('a HAVE claiming 2**53 entries: ERR_MALFORMED_MESSAGE, dropped', async () => {
    const s = await scene()
    const have = encodeHave([[toHex(writer.publicKey), 1]], true)
    const claim = concat([have.subarray(0, have.length - 1), new Uint8Array([0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x10])])
    s.send(claim)
    await droppedWith(s, 'ERR_MALFORMED_MESSAGE')
  })

  test('ENTRIES past the window: ERR_PEER_MISBEHAVING, dropped', async () => {
    const s = await scene()
    const bytes = encodeEntries(s.before.map(e => e.bytes))
    for (let i = 0; i < 9; i++) s.send(bytes)
    await droppedWith(s, 'ERR_PEER_MISBEHAVING')
  })

  test('an equivocating writer: the fork is recorded and its evidence reaches a peer that had only one side', async () => {
    const s = await scene()
    const conflicts: unknown[] = []
    s.honest.on('conflict', evidence => conflicts.push(evidence))
    const other = await make(writer, 0, null, {links: s.victim.heads(), value: 'the other side'})
    s.send(encodeEntries([other.bytes]))
    await new Promise<void>(resolve => s.honest.on('conflict', () => resolve()))
    assert.equal(conflicts.length, 1)
    const forks = await s.honest.forks()
    assert.equal(forks.length, 1)
    assert.equal(toHex(forks[0].author), toHex(writer.publicKey))
    assert.equal(await s.honest.get(other.hash), undefined, 'the other side is evidence, not an entry')
    await stillServing(s)
  })

  test('an ACK for no ENTRIES: ERR_PEER_MISBEHAVING, dropped', async () => {
    const s = await scene()
    s.send(encodeAck())
    await droppedWith(s, 'ERR_PEER_MISBEHAVING')
  })

  test('more than 256 unsigned entries in a row, across messages: ERR_MALFORMED_MESSAGE, dropped', async () => {
    const s = await scene()
    const entries = await run(writer, 1, s.w0, 258)
    const unsigned = entries.slice(0, 257).map(e => e.bytes)
    s.send(encodeEntries(unsigned.slice(0, 200)))
    s.send(encodeEntries(unsigned.slice(200)))
    await droppedWith(s, 'ERR_MALFORMED_MESSAGE')
    assert.equal(s.victim.lengths().get(toHex(writer.publicKey)), 1)
  })

  test('a run longer than a message is held until its signed entry and then stored', async () => {
    const s = await scene()
    const entries = await run(writer, 1, s.w0, 250)
    s.send(encodeEntries(entries.slice(0, 100).map(e => e.bytes)))
    s.send(encodeEntries(entries.slice(100).map(e => e.bytes)))
    await acked(s, 2)
    assert.equal(s.victim.lengths().get(toHex(writer.publicKey)), 251)
    await stillServing(s)
  })

  test('unsigned entries held for many authors: the bound holds, ERR_PEER_MISBEHAVING, dropped', async () => {
    // A value bound of 100 bytes makes the bound (one longest run: 256 entries of at most 765 bytes) cheap to pass.
    const s = await scene({maxValueBytes: 100})
    for (let author = 0; author < 8; author++) {
      const someone = new KeyPairIdentity(new Uint8Array(32).fill(100 + author))
      const entries: Entry[] = []
      for (let i = 0; i < 250; i++) entries.push(await make(someone, i, entries[i - 1] ?? null, {value: 'v'.repeat(90), sign: false}))
      if (s.session.destroyed) break
      s.send(encodeEntries(entries.map(e => e.bytes)))
    }
    await droppedWith(s, 'ERR_PEER_MISBEHAVING')
  })

  test('a vector of too many authors: ERR_PEER_MISBEHAVING, dropped', async () => {
    const s = await scene()
    const count = MAX_REMOTE_AUTHORS / MAX_HAVE_AUTHORS + 1
    for (let i = 0; i < count; i++) {
      const lengths = Array.from({length: MAX_HAVE_AUTHORS}, (_, j): [string, number] => [(i * MAX_HAVE_AUTHORS + j).toString(16).padStart(64, '0'), 1])
      s.send(encodeHave(lengths, false))
    }
    await droppedWith(s, 'ERR_PEER_MISBEHAVING')
  })

  test('a flood of HAVEs faster than they are handled: ERR_PEER_MISBEHAVING, dropped', async () => {
    let open = (): void => {}
    const s = await scene({gate: new Promise<void>(resolve => { open = resolve })})
    s.send(encodeEntries([(await make(writer, 1, s.w0)).bytes]))
    const have = encodeHave([[toHex(writer.publicKey), 1]], false)
    for (let i = 0; i < MAX_QUEUED_OTHERS + 1; i++) s.send(have)
    await droppedWith(s, 'ERR_PEER_MISBEHAVING')
    open()
  })

  test('FORK evidence that is no fork: ERR_MALFORMED_MESSAGE, dropped', async () => {
    for (const sides of [
      async (s: Scene) => [[s.w0.bytes], [s.w0.bytes]],
      async (s: Scene) => [[s.w0.bytes], [(await make(owner, 0, null)).bytes]],
      async (s: Scene) => [[s.w0.bytes], [(await make(writer, 1, s.w0)).bytes]],
      // One entry, signed on one side and vouched for by the next on the other: two encodings, one hash.
      async (s: Scene) => {
        const [w1, w2] = await run(writer, 1, s.w0, 2)
        return [[(await make(writer, 1, s.w0, {value: {i: 0}})).bytes], [w1.bytes, w2.bytes]]
      },
    ]) {
      const s = await scene()
      const [a, b] = await sides(s)
      s.send(encodeFork(a, b))
      await droppedWith(s, 'ERR_MALFORMED_MESSAGE')
      assert.deepEqual(await s.victim.forks(), [])
    }
  })

  test('FORK evidence with a forged side: ERR_INVALID_SIGNATURE, dropped, no fork recorded', async () => {
    const s = await scene()
    const fields = {author: writer.publicKey, seq: 0, prev: null, links: sortLinks(s.victim.heads()), time: 1, kind: EntryKind.Json, value: jsonValue('forged side')}
    const bymallory = await createEntry(owner.publicKey, {...fields, author: mallory.publicKey}, mallory)
    s.send(encodeFork([s.w0.bytes], [encodeEntry(fields, bymallory.signature)]))
    await droppedWith(s, 'ERR_INVALID_SIGNATURE')
    assert.deepEqual(await s.victim.forks(), [])
  })

  test('entries we told the peer we hold, sent again and again: ERR_PEER_MISBEHAVING past USELESS_ENTRIES, dropped', async () => {
    const s = await scene({extra: 600})
    const held = encodeEntries(s.before.map(e => e.bytes))
    s.send(held)
    await acked(s, 1)
    assert.equal(s.session.stats.uselessEntries, s.before.length)
    assert.ok(!s.session.destroyed, 'a few replays are no-ops')
    assert.ok(s.before.length * 2 > USELESS_ENTRIES)
    s.send(held)
    await droppedWith(s, 'ERR_PEER_MISBEHAVING')
  })

  test('FORKs that record nothing, again and again: ERR_PEER_MISBEHAVING past USELESS_FORKS, dropped, and what they left waiting goes', async () => {
    for (const variant of ['evidence the victim holds', 'sides that wait for an entry nobody sent'] as const) {
      const s = await scene()
      let fork: Uint8Array
      let budget = USELESS_FORKS
      if (variant === 'evidence the victim holds') {
        await s.victim.add([await make(writer, 0, null, {links: s.victim.heads(), value: 'the other side'})], 'someone')
        const [evidence] = await s.victim.forks()
        fork = encodeFork(evidence.runs[0], evidence.runs[1])
        // Two for each fork the victim knows: the one it had at the start, and an echo of ours.
        budget += 2
      } else {
        const prev = randomBytes(32)
        fork = encodeFork([(await make(writer, 5, prev, {value: 'x'})).bytes], [(await make(writer, 5, prev, {value: 'y'})).bytes])
      }
      for (let i = 0; i <= budget; i++) s.send(fork)
      await droppedWith(s, 'ERR_PEER_MISBEHAVING')
      assert.equal(s.session.stats.uselessForks, budget + 1, variant)
      assert.equal((await s.victim.forks()).length, variant === 'evidence the victim holds' ? 1 : 0)
      // An empty add takes its turn after the dropped session's pending entries went.
      await s.victim.add([], 'sentinel')
      assert.equal(s.victim.stats.pending, 0, variant)
    }
  })

  test('HAVE vectors the protocol does not call for, in a loop: ERR_PEER_MISBEHAVING past USELESS_VECTORS, dropped', async () => {
    const have = (last: boolean, rewind = false): Uint8Array => encodeHave([[toHex(writer.publicKey), 1]], last, rewind)
    const floods = {
      'the same vector again and again': () => Array.from({length: USELESS_VECTORS + 2}, () => have(true)),
      // A rewind asks again for ENTRIES the remote lost: it acknowledged them first, and none were.
      'rewinds with nothing acknowledged since the last vector': () => [have(true), ...Array.from({length: USELESS_VECTORS + 1}, () => have(true, true))],
      'a vector that never ends': () => Array.from({length: MAX_REMOTE_AUTHORS / MAX_HAVE_AUTHORS + USELESS_VECTORS + 1}, () => have(false)),
    }
    for (const [name, flood] of Object.entries(floods)) {
      const s = await scene()
      for (const message of flood()) s.send(message)
      await droppedWith(s, 'ERR_PEER_MISBEHAVING')
      assert.equal(s.session.stats.uselessVectors, USELESS_VECTORS + 1, name)
    }
  })

  test('entries that find the pending buffer full of other sources\' are refused, the peer scored, not dropped, and asked for again once there is room', async () => {
    const s = await scene({maxPendingTotal: 4})
    const dangling = (): Promise<Entry> => make(writer, 1, s.w0, {links: [randomBytes(32)]})
    await s.victim.add([await dangling(), await dangling(), await dangling(), await dangling()], 'someone')
    s.send(encodeEntries([(await dangling()).bytes]))
    await acked(s, 1)
    assert.equal(s.session.stats.uselessEntries, 1, 'the refused entry counts against the peer')
    assert.ok(!s.session.destroyed)
    assert.equal(s.victim.stats.pending, 4)
    await s.victim.dropPending('someone')
    const rewound = new Promise<void>(resolve => {
      s.onmessage = () => {
        if (s.received.some(m => m.type === LogMessageType.HAVE && m.rewind)) resolve()
      }
    })
    await s.victim.append('room again')
    await rewound
    await stillServing(s)
  })
})

describe('the Log\'s pending buffer', () => {
  test('past maxPendingTotal a source\'s new entries are refused with ERR_RATE_LIMITED, those waiting stay, and a source\'s go with dropPending', async () => {
    const log = new Log({db: new MemoryLevel(), key: owner.publicKey, identity: owner, maxPending: 4, maxPendingTotal: 6})
    await log.ready()
    await log.admit(writer.publicKey)
    // Each waits for a link nobody has.
    const dangling = (n: number): Promise<Entry[]> => Promise.all(Array.from({length: n}, () => make(writer, 0, null, {links: [randomBytes(32)]})))
    const refused = async (entries: Entry[], source: string): Promise<string[]> => (await log.add(entries, source)).rejected.map(r => r.error.code)
    assert.deepEqual(await refused(await dangling(4), 'a'), [])
    assert.deepEqual(await refused(await dangling(4), 'b'), ['ERR_RATE_LIMITED', 'ERR_RATE_LIMITED'])
    assert.deepEqual(await refused(await dangling(1), 'c'), ['ERR_RATE_LIMITED'])
    assert.deepEqual(await refused(await dangling(1), 'a'), ['ERR_PEER_MISBEHAVING'])
    assert.equal(log.stats.pending, 6)
    await log.dropPending('a')
    assert.equal(log.stats.pending, 2)
    assert.deepEqual(await refused(await dangling(1), 'c'), [])
    assert.equal(log.stats.pending, 3)
  })

  test('their bytes are bounded too: past a quarter of maxPendingBytes a source is misbehaving, past the whole a source is refused', async () => {
    const entries = await Promise.all(Array.from({length: 12}, () => make(writer, 0, null, {links: [randomBytes(32)]})))
    const size = entries[0].bytes.length
    assert.ok(entries.every(e => e.bytes.length === size))
    // A quarter of 9 entries' bytes is room for two of them per source.
    const log = new Log({db: new MemoryLevel(), key: owner.publicKey, identity: owner, maxPending: 100, maxPendingTotal: 100, maxPendingBytes: 9 * size})
    await log.ready()
    await log.admit(writer.publicKey)
    const refused = async (list: Entry[], source: string): Promise<string[]> => (await log.add(list, source)).rejected.map(r => r.error.code)
    assert.deepEqual(await refused(entries.slice(0, 3), 'a'), ['ERR_PEER_MISBEHAVING'])
    for (const [i, source] of ['b', 'c', 'd'].entries()) assert.deepEqual(await refused(entries.slice(3 + 2 * i, 5 + 2 * i), source), [])
    assert.deepEqual(await refused(entries.slice(9, 11), 'e'), ['ERR_RATE_LIMITED'])
    assert.equal(log.stats.pending, 9)
    await log.dropPending('b')
    assert.deepEqual(await refused([entries[11]], 'e'), [])
  })
})
