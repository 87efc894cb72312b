import {describe, test, type TestContext} from 'node:test'
import assert from 'node:assert/strict'
import {
  Mux, createMemoryTransportPair, decodeFrame, encodeClose, encodeData, encodeGoodbye, encodeOpen,
  encodePing, encodePong, encodeVarint, varintLength, FrameType, MAX_CHANNEL_ID,
  type Channel, type MemoryTransport, type MemoryTransportOptions, type MuxOptions,
} from '../../src/core/mux/index.js'
import {P2PError} from '../../src/core/errors.js'
import {once} from '../../src/core/emitter.js'
import {equal, utf8} from '../../src/core/bytes.js'
import {until} from '../shared/until.js'
import {systemClock} from '../../src/core/clock.js'

const KiB = 1024
const MiB = 1024 * KiB

/** Timers off unless a test asks: keep-alive has its own tests. */
const QUIET: MuxOptions = {pingInterval: 0, timeout: 0}

function createPair(opts: {transport?: MemoryTransportOptions, a?: MuxOptions, b?: MuxOptions} = {}) {
  const [ta, tb] = createMemoryTransportPair(opts.transport)
  const a = new Mux(ta, {...QUIET, ...opts.a})
  const b = new Mux(tb, {...QUIET, ...opts.b})
  return {a, b, ta, tb, destroy: () => { a.destroy(); b.destroy() }}
}

/** A mux facing a raw transport end that the test drives byte by byte, as a hostile peer would. */
function createHostile(opts: MuxOptions = {}) {
  const [ta, tb] = createMemoryTransportPair()
  const mux = new Mux(ta, {...QUIET, ...opts})
  const received: Uint8Array[] = []
  tb.onmessage = frame => { received.push(frame) }
  return {mux, transport: ta, raw: tb, received}
}

/** Deterministic bytes, different for every (seed, index), so byte-exact checks catch reordering. */
function pattern(size: number, seed: number): Uint8Array {
  const out = new Uint8Array(size)
  let x = (seed * 2654435761) >>> 0 || 1
  for (let i = 0; i < size; i++) {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    out[i] = x
  }
  return out
}

interface Inbox {
  messages: Uint8Array[]
  closed: boolean
  onmessage: (bytes: Uint8Array) => void
  onclose: () => void
}

function inbox(): Inbox {
  const box: Inbox = {
    messages: [],
    closed: false,
    onmessage: bytes => { box.messages.push(bytes) },
    onclose: () => { box.closed = true },
  }
  return box
}

function closeEvent(mux: Mux): Promise<P2PError | undefined> {
  return new Promise(resolve => mux.once('close', err => resolve(err)))
}

/**
 * Time the test owns: muxes made by `pair` get a clock whose `now` is fake and whose
 * timers are node:test's mocked setTimeout, so the test decides when their timers run and
 * what time those read. Frames still travel on real macrotasks, and every step of
 * `advance` lets them all arrive, as message events do while timers are throttled.
 */
function fakeTime(t: TestContext) {
  t.mock.timers.enable({apis: ['setTimeout']})
  let clock = 0
  const now = () => clock
  const transports: MemoryTransport[] = []
  const muxes: Mux[] = []
  // Each test's mock numbers its timers afresh: a mux left open would clear another test's timer.
  t.after(() => { for (const mux of muxes) mux.destroy() })
  const settle = async () => {
    do await new Promise(resolve => setImmediate(resolve))
    while (transports.some(tr => tr.bufferedAmount > 0))
  }
  return {
    get now() { return clock },
    /** Two muxes on the fake clock; `lastFrameAtA()` is when a frame last reached A, `sentByA` the types A sent. */
    pair(opts: {a?: MuxOptions, b?: MuxOptions} = {}) {
      const [ta, tb] = createMemoryTransportPair()
      transports.push(ta, tb)
      const a = new Mux(ta, {clock: {...systemClock, now}, ...opts.a})
      const b = new Mux(tb, {clock: {...systemClock, now}, ...opts.b})
      muxes.push(a, b)
      let lastFrameAtA = clock
      const onFrame = ta.onmessage!
      ta.onmessage = frame => {
        lastFrameAtA = clock
        onFrame(frame)
      }
      const sentByA: FrameType[] = []
      const send = ta.send.bind(ta)
      ta.send = frame => {
        sentByA.push(decodeFrame(frame).type)
        send(frame)
      }
      return {a, b, ta, tb, sentByA, lastFrameAtA: () => lastFrameAtA}
    },
    /** Moves the clock on in steps of `step` ms; the ticks due run on time and frames arrive. */
    async advance(ms: number, step = 50) {
      for (let left = ms; left > 0; left -= step) {
        clock += step
        t.mock.timers.tick(step)
        await settle()
      }
    },
    /** Steps until `cond` holds, at most `ms`. */
    async advanceUntil(cond: () => boolean, ms: number, step = 50) {
      for (let left = ms; left > 0 && !cond(); left -= step) await this.advance(step, step)
      assert.ok(cond(), `not within ${ms} ms of fake time`)
    },
    /** The timers sleep through `ms` (a throttled tab): the clock moves, no tick runs, nothing is sent. */
    sleep(ms: number) {
      clock += ms
    },
  }
}

describe('messages', () => {
  test('varints round-trip at every length boundary', () => {
    for (const id of [1, 127, 128, 16383, 16384, 2097151, 2097152, 268435455, 268435456, MAX_CHANNEL_ID]) {
      const frame = encodeData(id, new Uint8Array([7]))
      assert.equal(frame.length, 1 + varintLength(id) + 1)
      const decoded = decodeFrame(frame)
      assert.equal(decoded.id, id)
      assert.deepEqual([...decoded.payload], [7])
    }
  })

  test('every control frame round-trips', () => {
    const open = decodeFrame(encodeOpen(300, 'room:abc/gossip/1'))
    assert.equal(open.type, FrameType.OPEN)
    assert.equal(open.id, 300)
    assert.equal(open.name, 'room:abc/gossip/1')
    const close = decodeFrame(encodeClose(5, true))
    assert.equal(close.type, FrameType.CLOSE)
    assert.equal(close.id, 5)
    assert.equal(close.reply, true)
    assert.equal(decodeFrame(encodeClose(5)).reply, false)
    assert.equal(decodeFrame(encodePing(0xfedcba98)).nonce, 0xfedcba98)
    const pong = decodeFrame(encodePong(42))
    assert.equal(pong.type, FrameType.PONG)
    assert.equal(pong.nonce, 42)
    assert.equal(decodeFrame(encodeGoodbye('tab closed')).reason, 'tab closed')
    const data = decodeFrame(encodeData(9, new Uint8Array(0), true))
    assert.equal(data.fin, true)
    assert.equal(data.payload.length, 0)
  })

  test('a long goodbye reason is cut at a character boundary', () => {
    const frame = encodeGoodbye('é'.repeat(200))
    const reason = decodeFrame(frame).reason
    assert.ok(frame.length <= 2 + 255)
    assert.equal(reason, 'é'.repeat(127))
  })

  test('channel names must be 1 to 255 bytes', () => {
    assert.throws(() => encodeOpen(1, ''), {code: 'ERR_INVALID_ARGUMENT'})
    assert.throws(() => encodeOpen(1, 'x'.repeat(256)), {code: 'ERR_INVALID_ARGUMENT'})
    assert.equal(decodeFrame(encodeOpen(1, 'x'.repeat(255))).name.length, 255)
  })

  test('encodeVarint writes the minimal encoding', () => {
    const buf = new Uint8Array(5)
    assert.equal(encodeVarint(300, buf, 0), 2)
    assert.deepEqual([...buf.subarray(0, 2)], [0xac, 0x02])
  })
})

describe('mux: round trips', () => {
  test('small, empty and 16 MiB messages on several channels arrive whole and in order', async () => {
    const {a, b, destroy} = createPair()
    const names = ['p2p/auth/1', 'room:abc/gossip/1', 'files/1']
    const boxes = names.map(() => inbox())
    const sent: Uint8Array[][] = names.map(() => [])
    const channels = names.map((name, i) => {
      b.channel(name, boxes[i])
      return a.channel(name, {onmessage: () => {}})
    })
    const sizes = [0, 1, 100, 64 * KiB - 1, 64 * KiB, 64 * KiB + 1, 300 * KiB]
    channels.forEach((ch, c) => {
      for (const [i, size] of sizes.entries()) {
        const msg = pattern(size, c * 100 + i)
        sent[c].push(msg)
        ch.send(msg)
      }
    })
    const huge = pattern(16 * MiB, 7)
    sent[2].push(huge)
    channels[2].send(huge)
    await until(() => boxes.every((box, c) => box.messages.length === sent[c].length), 'every message')
    boxes.forEach((box, c) => {
      box.messages.forEach((msg, i) => assert.ok(equal(msg, sent[c][i]), `channel ${c} message ${i}`))
    })
    assert.equal(b.stats.messagesIn, a.stats.messagesOut)
    assert.equal(a.stats.malformed + b.stats.malformed, 0)
    destroy()
  })

  test('messages flow both ways on one channel', async () => {
    const {a, b, destroy} = createPair()
    const echoes = inbox()
    const chA = a.channel('echo', echoes)
    const chB: Channel = b.channel('echo', {onmessage: bytes => chB.send(bytes)})
    for (let i = 0; i < 10; i++) chA.send(utf8(`ping ${i}`))
    await until(() => echoes.messages.length === 10, 'ten echoes')
    assert.deepEqual(echoes.messages.map(m => new TextDecoder().decode(m)), Array.from({length: 10}, (_, i) => `ping ${i}`))
    destroy()
  })

  test('messages are split at frameSize and each frame carries at most frameSize payload bytes', async () => {
    const frameSize = 1000
    const {mux, received} = createHostile({frameSize})
    const ch = mux.channel('chunks', {onmessage: () => {}})
    const sizes = [0, 1, 999, 1000, 1001, 2000, 2001]
    for (const size of sizes) ch.send(pattern(size, size))
    const expectedFrames = 1 + sizes.reduce((n, size) => n + Math.max(1, Math.ceil(size / frameSize)), 0)
    await until(() => received.length === expectedFrames, 'all frames')
    const frames = received.map(f => decodeFrame(f))
    assert.equal(frames[0].type, FrameType.OPEN, 'OPEN goes before any data')
    let i = 1
    for (const size of sizes) {
      const parts: Uint8Array[] = []
      do {
        const f = decodeFrame(received[i++])
        assert.equal(f.type, FrameType.DATA)
        assert.ok(f.payload.length <= frameSize)
        parts.push(f.payload.slice())
        if (f.fin) break
        assert.equal(f.payload.length, frameSize, 'only the last frame of a message is short')
      } while (true)
      assert.equal(parts.length, Math.max(1, Math.ceil(size / frameSize)))
      const whole = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
      let off = 0
      for (const p of parts) { whole.set(p, off); off += p.length }
      assert.ok(equal(whole, pattern(size, size)))
    }
    mux.destroy()
  })

  test('a message sent as parts arrives as one message, its parts cut into frames wherever they fall', async () => {
    const frameSize = 1000
    const {a, b, ta, destroy} = createPair({a: {frameSize}})
    const box = inbox()
    b.channel('x', box)
    const ch = a.channel('x', {onmessage: () => {}})
    // Parts shorter than, equal to and longer than a frame, empty ones, and a lone part.
    const messages = [
      [pattern(10, 1), pattern(2500, 2), new Uint8Array(0), pattern(1000, 3), pattern(1, 4)],
      [pattern(1000, 5), pattern(1000, 6)],
      [new Uint8Array(0), new Uint8Array(0)],
      [pattern(3333, 7)],
      [],
    ]
    const framesBefore = ta.framesSent // the channel's OPEN has gone already
    let queued = 0
    for (const parts of messages) {
      ch.send(parts)
      queued += parts.reduce((n, p) => n + p.length, 0)
    }
    assert.equal(ch.bufferedAmount + ch.stats.bytesOut, queued, 'bufferedAmount counts every part')
    await until(() => box.messages.length === messages.length, 'all messages')
    messages.forEach((parts, i) => {
      const whole = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
      let off = 0
      for (const p of parts) { whole.set(p, off); off += p.length }
      assert.ok(equal(box.messages[i], whole), `message ${i} arrives whole, bytes in order`)
    })
    // Frames are full until each message's last, as for a single buffer: 4 + 2 + 1 + 4 + 1 data frames.
    assert.equal(ta.framesSent - framesBefore, 12, 'no frame wasted on part boundaries')
    assert.equal(ch.stats.messagesOut, messages.length)
    destroy()
  })

  test('parts are held to maxMessageBytes as a whole and must all be bytes', () => {
    const {a, destroy} = createPair({a: {maxMessageBytes: 1000}})
    const ch = a.channel('x', {onmessage: () => {}})
    ch.send([new Uint8Array(600), new Uint8Array(400)])
    assert.throws(() => ch.send([new Uint8Array(600), new Uint8Array(401)]), {code: 'ERR_MESSAGE_TOO_LARGE'})
    assert.throws(() => ch.send([new Uint8Array(1), 'text' as unknown as Uint8Array]), {code: 'ERR_INVALID_ARGUMENT'})
    assert.throws(() => ch.send({length: 1, 0: new Uint8Array(1)} as unknown as Uint8Array[]), {code: 'ERR_INVALID_ARGUMENT'})
    assert.equal(ch.stats.messagesOut + (ch.bufferedAmount > 0 ? 1 : 0), 1, 'only the valid message was queued')
    destroy()
  })

  test('frames never exceed the transport maxMessageSize', async () => {
    const {a, b, ta, destroy} = createPair({transport: {maxMessageSize: 16 * KiB}, a: {frameSize: 1 * MiB}})
    assert.ok(a.frameSize <= 16 * KiB)
    const box = inbox()
    b.channel('x', box)
    a.channel('x', {onmessage: () => {}}).send(pattern(100 * KiB, 1))
    await until(() => box.messages.length === 1, 'the message')
    assert.ok(equal(box.messages[0], pattern(100 * KiB, 1)))
    assert.ok(ta.framesSent >= 7)
    destroy()
  })

  test('send refuses a message larger than maxMessageBytes with MESSAGE_TOO_LARGE', () => {
    const {a, destroy} = createPair({a: {maxMessageBytes: 1000}})
    const ch = a.channel('x', {onmessage: () => {}})
    ch.send(new Uint8Array(1000))
    assert.throws(() => ch.send(new Uint8Array(1001)), (err: P2PError) => err.code === 'ERR_MESSAGE_TOO_LARGE')
    destroy()
  })

  test('misuse throws at once: bad names, duplicate names, non-bytes, a closed channel', () => {
    const {a, destroy} = createPair()
    assert.throws(() => a.channel('', {onmessage: () => {}}), {code: 'ERR_INVALID_ARGUMENT'})
    assert.throws(() => a.channel('é'.repeat(128), {onmessage: () => {}}), {code: 'ERR_INVALID_ARGUMENT'})
    const ch = a.channel('x', {onmessage: () => {}})
    assert.throws(() => a.channel('x', {onmessage: () => {}}), {code: 'ERR_INVALID_ARGUMENT'})
    assert.throws(() => ch.send('text' as unknown as Uint8Array), {code: 'ERR_INVALID_ARGUMENT'})
    ch.close()
    assert.throws(() => ch.send(new Uint8Array(1)), {code: 'ERR_DESTROYED'})
    destroy()
    assert.throws(() => a.channel('y', {onmessage: () => {}}), {code: 'ERR_DESTROYED'})
  })
})

describe('mux: channels opened late', () => {
  test('messages for a channel not opened yet are held and delivered in order when it opens', async () => {
    const {a, b, destroy} = createPair()
    const remoteOpened = once(b, 'remoteopen')
    const chA = a.channel('late', {onmessage: () => {}})
    chA.send(utf8('one'))
    chA.send(utf8('two'))
    assert.equal(await remoteOpened, 'late')
    await until(() => b.stats.messagesIn === 2, 'held messages')
    assert.deepEqual(b.remoteChannels, ['late'])
    chA.send(utf8('three'))
    const box = inbox()
    b.channel('late', box)
    assert.equal(box.messages.length, 0, 'held messages come after channel() returns')
    chA.send(utf8('four'))
    await until(() => box.messages.length === 4, 'four messages')
    assert.deepEqual(box.messages.map(m => new TextDecoder().decode(m)), ['one', 'two', 'three', 'four'])
    assert.equal(b.stats.dropped, 0)
    destroy()
  })

  test('held messages are bounded by count: the excess is dropped and counted', async () => {
    const {a, b, destroy} = createPair({b: {maxPendingMessages: 2}})
    const chA = a.channel('late', {onmessage: () => {}})
    for (let i = 0; i < 5; i++) chA.send(utf8(`m${i}`))
    await until(() => b.stats.messagesIn === 5, 'five messages in')
    assert.equal(b.stats.dropped, 3)
    const box = inbox()
    b.channel('late', box)
    chA.send(utf8('after'))
    await until(() => box.messages.length === 3, 'three messages')
    assert.deepEqual(box.messages.map(m => new TextDecoder().decode(m)), ['m0', 'm1', 'after'])
    destroy()
  })

  test('held messages are bounded by bytes, multi-frame messages included', async () => {
    const {a, b, destroy} = createPair({a: {frameSize: 100}, b: {maxPendingBytes: 1000}})
    const chA = a.channel('late', {onmessage: () => {}})
    chA.send(pattern(600, 1))
    chA.send(pattern(600, 2)) // would pass the byte bound: dropped whole
    chA.send(pattern(300, 3))
    await until(() => b.stats.messagesIn === 3, 'three messages in')
    assert.equal(b.stats.dropped, 1)
    const box = inbox()
    b.channel('late', box)
    await until(() => box.messages.length === 2, 'two messages')
    assert.ok(equal(box.messages[0], pattern(600, 1)))
    assert.ok(equal(box.messages[1], pattern(300, 3)))
    destroy()
  })
})

describe('mux: closing channels', () => {
  test('closing a channel delivers what it sent, then closes the remote side of it', async () => {
    const {a, b, destroy} = createPair()
    const events: string[] = []
    b.channel('x', {
      onmessage: bytes => events.push(`message ${bytes.length}`),
      onclose: () => events.push('close'),
    })
    const remoteClosed = once(b, 'remoteclose')
    const chA = a.channel('x', {onmessage: () => {}})
    chA.send(pattern(2 * MiB, 1))
    chA.close()
    assert.equal(chA.closed, true)
    assert.equal(await remoteClosed, 'x')
    assert.deepEqual(events, [`message ${2 * MiB}`, 'close'])
    destroy()
  })

  test('a name can be reopened at once, even while its old channel still flushes', async () => {
    const {a, b, destroy} = createPair()
    const first = inbox()
    b.channel('x', first)
    const old = a.channel('x', {onmessage: () => {}})
    old.send(pattern(1 * MiB, 1))
    old.close()
    const reopened = a.channel('x', {onmessage: () => {}})
    reopened.send(utf8('new session'))
    await until(() => first.closed, 'the old channel to close on b')
    assert.equal(first.messages.length, 1)
    const second = inbox()
    b.channel('x', second)
    await until(() => second.messages.length === 1, 'the message on the new channel')
    assert.equal(new TextDecoder().decode(second.messages[0]), 'new session')
    assert.equal(a.destroyed || b.destroyed, false)
    destroy()
  })

  test('a close answering ours does not close the channel reopened meanwhile', async () => {
    const {a, b, destroy} = createPair()
    const boxB = inbox()
    b.channel('x', boxB)
    const first = a.channel('x', {onmessage: () => {}})
    await until(() => b.remoteChannels.length === 1 && a.remoteChannels.length === 1, 'a channel open on each side')
    first.close()
    const boxA = inbox()
    const second = a.channel('x', boxA)
    await until(() => boxB.closed, 'b to close its side')
    // b's answering CLOSE has reached a by the time b's next OPEN does.
    const boxB2 = inbox()
    const chB2 = b.channel('x', boxB2)
    chB2.send(utf8('hello again'))
    second.send(utf8('hi'))
    await until(() => boxA.messages.length === 1 && boxB2.messages.length === 1, 'a message each way')
    assert.equal(boxA.closed, false)
    assert.equal(second.closed, false)
    destroy()
  })
})

describe('mux: hostile peers', () => {
  const OPEN_X = encodeOpen(1, 'x')
  const cases: Array<[string, Uint8Array[], MuxOptions?]> = [
    ['an empty frame', [new Uint8Array(0)]],
    ['a DATA header cut before its channel id', [new Uint8Array([FrameType.DATA | 0x80])]],
    ['an OPEN cut before its name length', [new Uint8Array([FrameType.OPEN, 1])]],
    ['an OPEN whose name is shorter than its length', [new Uint8Array([FrameType.OPEN, 1, 5, 0x61, 0x62])]],
    ['an OPEN with trailing bytes', [new Uint8Array([FrameType.OPEN, 1, 1, 0x61, 0x62])]],
    ['an OPEN with an empty name', [new Uint8Array([FrameType.OPEN, 1, 0])]],
    ['an OPEN whose name is not UTF-8', [new Uint8Array([FrameType.OPEN, 1, 1, 0xff])]],
    ['an unknown frame type', [new Uint8Array([0x0e, 1, 2, 3])]],
    ['an unknown flag', [new Uint8Array([FrameType.PING | 0x10, 0, 0, 0, 1])]],
    ['a varint longer than 5 bytes', [new Uint8Array([FrameType.DATA | 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01])]],
    ['a varint past 32 bits', [new Uint8Array([FrameType.DATA | 0x80, 0xff, 0xff, 0xff, 0xff, 0x1f])]],
    ['a varint that never ends', [new Uint8Array([FrameType.DATA | 0x80, 0xff, 0xff])]],
    ['a non-minimal varint', [OPEN_X, new Uint8Array([FrameType.DATA | 0x80, 0x81, 0x00, 7])]],
    ['DATA on channel 0', [new Uint8Array([FrameType.DATA | 0x80, 0, 7])]],
    ['an OPEN of channel 0', [new Uint8Array([FrameType.OPEN, 0, 1, 0x61])]],
    ['a CLOSE of channel 0', [new Uint8Array([FrameType.CLOSE, 0])]],
    ['a DATA flag other than FIN', [OPEN_X, new Uint8Array([FrameType.DATA | 0x40, 1, 7])]],
    ['a CLOSE flag other than REPLY', [OPEN_X, new Uint8Array([FrameType.CLOSE | 0x80, 1])]],
    ['a flag on OPEN', [new Uint8Array([FrameType.OPEN | 0x80, 1, 1, 0x61])]],
    ['a flag on GOODBYE', [new Uint8Array([FrameType.GOODBYE | 0x80, 0])]],
    ['a CLOSE with trailing bytes', [OPEN_X, new Uint8Array([FrameType.CLOSE, 1, 0])]],
    ['a GOODBYE cut before its reason length', [new Uint8Array([FrameType.GOODBYE])]],
    ['a PONG of the wrong length', [new Uint8Array([FrameType.PONG, 0, 0, 0, 0, 1])]],
    ['DATA for a channel id never opened', [OPEN_X, encodeData(2, utf8('?'))]],
    ['an empty DATA frame that does not end its message', [OPEN_X, new Uint8Array([FrameType.DATA, 1])]],
    ['a PING of the wrong length', [new Uint8Array([FrameType.PING, 0, 0, 1])]],
    ['a CLOSE of a channel never opened', [encodeClose(3)]],
    ['the same channel id opened twice', [OPEN_X, encodeOpen(1, 'y')]],
    ['the same name opened twice', [OPEN_X, encodeOpen(2, 'x')]],
    ['more channels than maxChannels', [OPEN_X, encodeOpen(2, 'y'), encodeOpen(3, 'z')], {maxChannels: 2}],
    ['a single frame larger than maxMessageBytes', [OPEN_X, encodeData(1, new Uint8Array(1001))], {maxMessageBytes: 1000}],
    ['a reassembly growing past maxMessageBytes', [
      OPEN_X, encodeData(1, new Uint8Array(400), false), encodeData(1, new Uint8Array(400), false),
      encodeData(1, new Uint8Array(400), false),
    ], {maxMessageBytes: 1000}],
    ['a reassembly past maxMessageBytes on a channel not opened here', [
      encodeOpen(1, 'unopened'), encodeData(1, new Uint8Array(800), false), encodeData(1, new Uint8Array(800), true),
    ], {maxMessageBytes: 1000, maxPendingBytes: 100}],
  ]

  for (const [what, frames, opts] of cases) {
    test(`${what} closes the mux with MALFORMED_MESSAGE (MESSAGE_TOO_LARGE past maxMessageBytes) and is counted`, async () => {
      const {mux, raw} = createHostile(opts)
      const box = inbox()
      mux.channel('x', box)
      const errors: P2PError[] = []
      mux.on('error', err => errors.push(err))
      const closed = closeEvent(mux)
      for (const frame of frames) raw.send(frame)
      const err = await closed
      assert.equal(err?.code, /maxMessageBytes/.test(what) ? 'ERR_MESSAGE_TOO_LARGE' : 'ERR_MALFORMED_MESSAGE')
      assert.equal(errors.length, 1)
      assert.equal(mux.stats.malformed, 1)
      assert.equal(mux.destroyed, true)
      assert.equal(box.closed, true)
    })
  }

  test('a PONG nobody asked for is ignored', async () => {
    const {mux, raw} = createHostile({pingInterval: 60000})
    const box = inbox()
    mux.channel('x', box)
    raw.send(encodePong(0xdeadbeef))
    raw.send(encodeOpen(1, 'x'))
    raw.send(encodeData(1, utf8('still here')))
    await until(() => box.messages.length === 1, 'the message')
    assert.equal(mux.destroyed, false)
    assert.equal(mux.stats.malformed, 0)
    assert.equal(mux.rtt, 0)
    mux.destroy()
  })

  test('a PING is answered with a PONG carrying its nonce', async () => {
    const {mux, raw, received} = createHostile()
    raw.send(encodePing(7))
    await until(() => received.length === 1, 'the frame')
    const pong = decodeFrame(received[0])
    assert.equal(pong.type, FrameType.PONG)
    assert.equal(pong.nonce, 7)
    mux.destroy()
  })

  test('a PING flood while our buffer is full queues one PONG, answering the newest', async () => {
    const [ta, tb] = createMemoryTransportPair({bytesPerTick: 16 * KiB})
    const mux = new Mux(ta, {...QUIET, highWaterMark: 32 * KiB, lowWaterMark: 8 * KiB})
    const frames: Uint8Array[] = []
    tb.onmessage = frame => { frames.push(frame) }
    mux.channel('bulk', {onmessage: () => {}}).send(new Uint8Array(1 * MiB))
    assert.ok(ta.bufferedAmount >= 32 * KiB, 'the transport buffer is full')
    for (let nonce = 1; nonce <= 100; nonce++) tb.send(encodePing(nonce))
    await until(() => frames.some(f => decodeFrame(f).fin), 'the bulk message')
    const pongs = frames.map(f => decodeFrame(f)).filter(f => f.type === FrameType.PONG)
    assert.deepEqual(pongs.map(f => f.nonce), [100])
    mux.destroy()
  })

  test('a malformed frame never throws into the transport: it goes to the error event', () => {
    const {mux, transport} = createHostile()
    const errors: P2PError[] = []
    mux.on('error', err => errors.push(err))
    assert.doesNotThrow(() => transport.onmessage?.(new Uint8Array([0xff])))
    assert.equal(errors[0]?.code, 'ERR_MALFORMED_MESSAGE')
    assert.equal(mux.destroyed, true)
    assert.doesNotThrow(() => transport.onmessage?.(new Uint8Array([0xff])))
    assert.equal(mux.stats.malformed, 1)
  })
})

describe('mux: fairness', () => {
  test('a chat message sent during a 16 MiB transfer overtakes the rest of it', async () => {
    const frameSize = 64 * KiB
    const highWaterMark = 1 * MiB
    const {a, b, destroy} = createPair({
      transport: {bytesPerTick: 256 * KiB},
      a: {frameSize, highWaterMark, lowWaterMark: 256 * KiB},
    })
    const order: string[] = []
    let bulkReceived = 0
    let chatSentAt = -1
    b.channel('bulk', {
      onmessage: () => {
        bulkReceived++
        order.push('bulk')
        if (bulkReceived === 32) {
          chatSentAt = bulkReceived
          chat.send(utf8('hi'))
        }
      },
    })
    const chatBox = inbox()
    b.channel('chat', {onmessage: bytes => { chatBox.onmessage(bytes); order.push('chat') }})
    const bulk = a.channel('bulk', {onmessage: () => {}})
    const chat = a.channel('chat', {onmessage: () => {}})
    // 256 messages of one frame each, all queued at once: 16 MiB in the mux's queue.
    for (let i = 0; i < 256; i++) bulk.send(new Uint8Array(frameSize))
    await until(() => bulkReceived === 256 && chatBox.messages.length === 1, 'the bulk and the chat message')
    const chatAt = order.indexOf('chat')
    const overtaken = order.length - 1 - chatAt
    // What can be ahead of it: the transport's buffer (≤ highWaterMark + one frame)
    // and one frame of the bulk channel in the mux.
    const bound = Math.ceil((highWaterMark + frameSize) / frameSize) + 1
    assert.ok(chatAt - chatSentAt <= bound, `chat waited behind ${chatAt - chatSentAt} bulk frames (bound ${bound})`)
    assert.ok(overtaken > 200)
    destroy()
  })

  test('a small message overtakes a single 16 MiB message between its frames', async () => {
    const {a, b, destroy} = createPair({transport: {bytesPerTick: 256 * KiB}})
    let bulkDone = false
    let framesBeforeChat = -1
    const chatBox = inbox()
    b.channel('bulk', {onmessage: () => { bulkDone = true }})
    b.channel('chat', {
      onmessage: bytes => {
        chatBox.onmessage(bytes)
        framesBeforeChat = b.stats.framesIn
      },
    })
    const bulk = a.channel('bulk', {onmessage: () => {}})
    const chat = a.channel('chat', {onmessage: () => {}})
    await until(() => b.remoteChannels.length === 2, 'two remote channels')
    const framesAtStart = b.stats.framesIn
    bulk.send(new Uint8Array(16 * MiB))
    chat.send(utf8('hi'))
    await until(() => bulkDone && chatBox.messages.length === 1, 'the bulk done and the chat message')
    // 16 MiB is 256 frames of 64 KiB; the chat frame is within the first ~18.
    assert.ok(framesBeforeChat - framesAtStart <= 1 + (1 * MiB) / (64 * KiB) + 2, `chat arrived as frame ${framesBeforeChat - framesAtStart}`)
    destroy()
  })
})

describe('mux: backpressure', () => {
  test('the transport buffer never holds more than highWaterMark plus one frame', async () => {
    const frameSize = 16 * KiB
    const highWaterMark = 256 * KiB
    const {a, b, ta, destroy} = createPair({
      transport: {bytesPerTick: 48 * KiB},
      a: {frameSize, highWaterMark, lowWaterMark: 64 * KiB},
    })
    const bulkBox = inbox()
    const smallBox = inbox()
    b.channel('bulk', bulkBox)
    b.channel('small', smallBox)
    const bulk = a.channel('bulk', {onmessage: () => {}})
    const small = a.channel('small', {onmessage: () => {}})
    for (let i = 0; i < 32; i++) bulk.send(pattern(64 * KiB, i))
    bulk.send(pattern(2 * MiB, 99))
    for (let i = 0; i < 100; i++) small.send(utf8(`small ${i}`))
    assert.ok(a.bufferedAmount > 3 * MiB, 'send queues instead of throwing')
    await until(() => bulkBox.messages.length === 33 && smallBox.messages.length === 100, 'every bulk and small message')
    assert.ok(ta.peakBufferedAmount <= highWaterMark + frameSize + 6, `peak ${ta.peakBufferedAmount}`)
    assert.ok(ta.peakBufferedAmount >= highWaterMark, 'the buffer was actually filled')
    assert.ok(equal(bulkBox.messages[32], pattern(2 * MiB, 99)))
    destroy()
  })

  test('ready() paces a bulk sender: its queue stays near the channel high-water mark', async () => {
    const {a, b, ta, destroy} = createPair({
      transport: {bytesPerTick: 64 * KiB},
      a: {highWaterMark: 512 * KiB, lowWaterMark: 128 * KiB},
    })
    const box = inbox()
    b.channel('file', box)
    const drains: Channel[] = []
    a.on('drain', ch => drains.push(ch))
    const file = a.channel('file', {onmessage: () => {}, highWaterMark: 128 * KiB})
    let peakQueued = 0
    for (let i = 0; i < 128; i++) {
      file.send(pattern(32 * KiB, i))
      peakQueued = Math.max(peakQueued, file.bufferedAmount)
      await file.ready()
      assert.ok(file.bufferedAmount < 128 * KiB)
    }
    await until(() => box.messages.length === 128, '128 messages')
    assert.ok(peakQueued <= 128 * KiB + 32 * KiB)
    assert.ok(drains.length > 0 && drains.every(ch => ch === file))
    assert.ok(ta.peakBufferedAmount <= 512 * KiB + a.frameSize + 6)
    destroy()
  })

  test('ready() rejects when the mux closes', async () => {
    const {a, destroy} = createPair({transport: {bytesPerTick: 1024}, a: {highWaterMark: 4096, lowWaterMark: 1024}})
    const ch = a.channel('x', {onmessage: () => {}, highWaterMark: 1024})
    ch.send(new Uint8Array(256 * KiB))
    const waiting = ch.ready()
    destroy()
    await assert.rejects(waiting, {code: 'ERR_DESTROYED'})
  })
})

describe('mux: keep-alive', () => {
  test('a silent transport closes the mux with PEER_TIMEOUT', async () => {
    const [ta, tb] = createMemoryTransportPair()
    tb.onmessage = () => {} // reads our PINGs, never answers
    const mux = new Mux(ta, {pingInterval: 10, timeout: 60})
    const box = inbox()
    mux.channel('x', box)
    const errors: P2PError[] = []
    mux.on('error', err => errors.push(err))
    const err = await closeEvent(mux)
    assert.equal(err?.code, 'ERR_PEER_TIMEOUT')
    assert.equal(errors.length, 1)
    assert.equal(box.closed, true)
    assert.equal(ta.open, false)
  })

  test('PINGs keep two muxes alive past the timeout and measure the RTT', async () => {
    const {a, b, destroy} = createPair({
      transport: {latency: 2},
      a: {pingInterval: 10, timeout: 100},
      b: {pingInterval: 10, timeout: 100},
    })
    // 25 samples take at least 250 ms: well past the timeout.
    let samples = 0
    await new Promise<void>(resolve => a.on('rtt', () => { if (++samples === 25) resolve() }))
    assert.equal(a.destroyed || b.destroyed, false)
    assert.ok(a.rtt >= 2, `rtt ${a.rtt}`)
    assert.equal(a.stats.rtt, a.rtt)
    destroy()
  })

  test('a side whose answers are lost keeps pinging, so only the muted side times out', async () => {
    const {a, b, destroy} = createPair({
      a: {pingInterval: 10, timeout: 100},
      b: {pingInterval: 10, timeout: 100},
    })
    await once(a, 'rtt')
    // Nothing B sends reaches A any more (B's machine vanished, as A sees it).
    b.transport.send = () => {}
    const framesBefore = b.stats.framesIn
    const err = await closeEvent(a)
    assert.equal(err?.code, 'ERR_PEER_TIMEOUT')
    // A kept sending PINGs for the whole timeout although none was answered.
    assert.ok(b.stats.framesIn - framesBefore >= 5, `B heard only ${b.stats.framesIn - framesBefore} frames`)
    destroy()
  })

  test('with the defaults, a peer that goes silent is dropped within 5 s, timeout to timeout + 1/8 after its last frame', async t => {
    const time = fakeTime(t)
    // Going silent at each phase of the tick, 50 ms apart.
    for (let phase = 0; phase < 500; phase += 50) {
      const {a, tb, lastFrameAtA} = time.pair()
      await time.advance(2000 + phase)
      assert.equal(a.destroyed, false)
      // B's machine vanishes: nothing it sends arrives any more.
      tb.send = () => {}
      const vanishedAt = time.now
      let closedAt = -1
      const closed = closeEvent(a)
      a.once('close', () => { closedAt = time.now })
      await time.advanceUntil(() => a.destroyed, 10_000)
      assert.equal((await closed)?.code, 'ERR_PEER_TIMEOUT')
      const silence = closedAt - lastFrameAtA()
      assert.ok(silence >= 4000 && silence <= 4500, `dropped ${silence} ms after the last frame (phase ${phase})`)
      assert.ok(closedAt - vanishedAt <= 5000, `dropped ${closedAt - vanishedAt} ms after vanishing (phase ${phase})`)
    }
  })

  test('a mux whose timer slept for a minute pings on the late tick instead of timing out, and stays open on the PONG', async t => {
    const time = fakeTime(t)
    const {a, b, sentByA} = time.pair()
    // A's tick at 2500 ms counts the PINGs and PONGs of 2000 ms; nothing comes after it.
    await time.advance(2500)
    // Both tabs hidden and throttled: neither timer runs, so neither side sends anything.
    time.sleep(60_000)
    const sent = sentByA.length
    let rtts = 0
    a.on('rtt', () => { rtts++ })
    await time.advanceUntil(() => sentByA.length > sent || a.destroyed, 1000)
    // The late tick judged nothing: it asked, and the answer came within the same step.
    assert.equal(a.destroyed, false)
    assert.equal(b.destroyed, false)
    assert.ok(sentByA.slice(sent).includes(FrameType.PING), 'A pings on the late tick')
    assert.equal(rtts, 1, 'the PONG to the PING of the late tick')
    await time.advance(10_000)
    assert.equal(a.destroyed || b.destroyed, false)
  })

  test('the late-tick grace is given once: a dead peer is still dropped, on time or at the next late tick', async t => {
    const time = fakeTime(t)
    // Ticks on time after the grace: dropped a timeout after the grace PING.
    const first = time.pair()
    await time.advance(2000)
    first.tb.send = () => {}
    time.sleep(60_000)
    const sent = first.sentByA.length
    await time.advanceUntil(() => first.sentByA.length > sent || first.a.destroyed, 1000)
    assert.equal(first.a.destroyed, false, 'the late tick does not judge')
    assert.equal(first.sentByA.at(-1), FrameType.PING)
    const gracedAt = time.now
    const closed = closeEvent(first.a)
    await time.advanceUntil(() => first.a.destroyed, 10_000)
    assert.equal((await closed)?.code, 'ERR_PEER_TIMEOUT')
    assert.ok(time.now - gracedAt >= 4000 && time.now - gracedAt <= 4500, `dropped ${time.now - gracedAt} ms after the grace`)

    // Still asleep after the grace (one wake-up a minute): dropped at the next late tick.
    const second = time.pair()
    await time.advance(2000)
    second.tb.send = () => {}
    time.sleep(60_000)
    const sent2 = second.sentByA.length
    await time.advanceUntil(() => second.sentByA.length > sent2 || second.a.destroyed, 1000)
    assert.equal(second.a.destroyed, false, 'the late tick does not judge')
    assert.equal(second.sentByA.at(-1), FrameType.PING)
    time.sleep(60_000)
    const closed2 = closeEvent(second.a)
    await time.advance(500)
    assert.equal(second.a.destroyed, true, 'the next late tick drops it')
    assert.equal((await closed2)?.code, 'ERR_PEER_TIMEOUT')
  })

  test('a peer whose timers never run, but which answers PINGs, stays connected to a normal peer', async t => {
    const time = fakeTime(t)
    // B stands for a tab throttled to a wake-up a minute: it never pings, yet message events still run.
    const {a, b, tb} = time.pair({b: {pingInterval: 0, timeout: 0}})
    await time.advance(30_000)
    assert.equal(a.destroyed || b.destroyed, false)
    assert.ok(tb.framesSent >= 30, `B answered ${tb.framesSent} PINGs`)
  })

  test('update events are throttled: one per updateInterval, however many frames', async t => {
    // The throttle's timer is the test's: every frame arrives (on real macrotasks) before it may run.
    t.mock.timers.enable({apis: ['setTimeout']})
    const {a, b, destroy} = createPair({a: {updateInterval: 20}, b: {updateInterval: 20}})
    t.after(destroy)
    const box = inbox()
    b.channel('x', box)
    let updates = 0
    b.on('update', () => { updates++ })
    const ch = a.channel('x', {onmessage: () => {}})
    for (let i = 0; i < 500; i++) ch.send(utf8(`m${i}`))
    await until(() => box.messages.length === 500, '500 messages', {every: 0})
    assert.equal(updates, 0, 'none before the interval is up')
    t.mock.timers.tick(19)
    assert.equal(updates, 0)
    t.mock.timers.tick(1)
    assert.equal(updates, 1, `${updates} updates for ${b.stats.framesIn} frames`)
    t.mock.timers.tick(1000)
    assert.equal(updates, 1, 'nothing changed since: no more updates')
    ch.send(utf8('one more'))
    await until(() => box.messages.length === 501, 'one more message', {every: 0})
    t.mock.timers.tick(20)
    assert.equal(updates, 2)
    assert.equal(b.stats.messagesIn, 501)
  })
})

describe('mux: lifecycle', () => {
  test('close() says GOODBYE: the remote drops us at once, without an error', async () => {
    const {a, b} = createPair()
    const boxB = inbox()
    b.channel('x', boxB)
    const goodbye = once(b, 'goodbye')
    const bClosed = closeEvent(b)
    const errors: P2PError[] = []
    b.on('error', err => errors.push(err))
    a.close('tab closed')
    assert.equal(a.destroyed, true)
    assert.equal(await goodbye, 'tab closed')
    assert.equal(await bClosed, undefined)
    assert.equal(errors.length, 0)
    assert.equal(boxB.closed, true)
  })

  test('destroy is idempotent: error once, close once, each channel closed once', () => {
    const {a, destroy} = createPair()
    let closes = 0
    let errors = 0
    let channelCloses = 0
    a.on('close', () => { closes++ })
    a.on('error', () => { errors++ })
    a.channel('x', {onmessage: () => {}, onclose: () => { channelCloses++ }})
    a.destroy(P2PError.HANDSHAKE('bad proof'))
    a.destroy(P2PError.HANDSHAKE('again'))
    a.destroy()
    a.close()
    assert.deepEqual([closes, errors, channelCloses], [1, 1, 1])
    destroy()
  })

  test('error is emitted before close, and close carries the error', () => {
    const {a, destroy} = createPair()
    const seen: string[] = []
    a.on('error', () => seen.push('error'))
    a.on('close', err => seen.push(`close ${err?.code}`))
    a.destroy(P2PError.HANDSHAKE('bad proof'))
    assert.deepEqual(seen, ['error', 'close ERR_HANDSHAKE'])
    destroy()
  })

  test('the transport closing closes the mux', async () => {
    const {a, tb} = createPair()
    const closed = closeEvent(a)
    tb.close()
    assert.equal(await closed, undefined)
  })

  test('destroyed is read-only: assigning it changes nothing', () => {
    const {a, destroy} = createPair()
    assert.throws(() => { (a as {destroyed: boolean}).destroyed = true }, TypeError)
    assert.equal(a.destroyed, false)
    assert.equal(Object.keys(a).some(key => /destroyed/.test(key)), false, 'no public or underscored field behind it')
    destroy()
  })

  test('sizes must be whole numbers and durations numbers: NaN, negatives and fractions throw at once', () => {
    const [ta, tb] = createMemoryTransportPair()
    for (const options of [
      {highWaterMark: 2.5}, {lowWaterMark: NaN}, {frameSize: 1000.5}, {maxChannels: -1},
      {pingInterval: NaN}, {timeout: -1}, {maxPendingBytes: Infinity},
    ] as MuxOptions[]) {
      assert.throws(() => new Mux(ta, options), {code: 'ERR_INVALID_ARGUMENT'}, JSON.stringify(options))
    }
    ta.close()
    tb.close()
  })

  test('a mux on a transport that is not open closes with CONNECTION_CLOSED', async () => {
    const [ta, tb] = createMemoryTransportPair()
    ta.close()
    const mux = new Mux(ta, QUIET)
    assert.equal((await closeEvent(mux))?.code, 'ERR_CONNECTION_CLOSED')
    tb.close()
  })
})
