import {expect} from '@open-wc/testing'
import {FrameType} from '../../src/core/mux/messages.js'
import {Mux, fromDataChannel, MAX_CHANNEL_ID, SAFE_MESSAGE_SIZE, type FrameTransport, type MuxOptions} from '../../src/core/mux/index.js'
import {once} from '../../src/core/emitter.js'
import {equal, utf8} from '../../src/core/bytes.js'
import {createDataChannelPair, type DataChannelPair} from './helpers/rtc-pair.js'
import {browserName, onlyIn} from './helpers/browser.js'

const KiB = 1024
const MiB = 1024 * KiB

function randomFill(size: number): Uint8Array {
  const out = new Uint8Array(size)
  // getRandomValues takes at most 64 KiB per call.
  for (let off = 0; off < size; off += 64 * KiB) crypto.getRandomValues(out.subarray(off, off + 64 * KiB))
  return out
}

/** Each test's connection pair and muxes, closed after it. */
function pairs() {
  const state = {pair: null as DataChannelPair | null, muxes: [] as Mux[]}
  afterEach(() => {
    for (const mux of state.muxes) mux.destroy()
    state.muxes = []
    state.pair?.close()
    state.pair = null
  })
  return state
}

describe('mux over a real RTCDataChannel', () => {
  const t = pairs()

  async function setup(options: MuxOptions = {}) {
    const p = await createDataChannelPair()
    t.pair = p
    const a = new Mux(fromDataChannel(p.a, p.pcA), options)
    const b = new Mux(fromDataChannel(p.b, p.pcB), options)
    t.muxes = [a, b]
    return {a, b, pair: p}
  }

  it('takes maxMessageSize from the negotiated SCTP transport', async () => {
    const {a, b, pair} = await setup()
    const negotiated = pair.pcA.sctp?.maxMessageSize ?? 0
    expect(negotiated).to.be.greaterThan(16 * KiB)
    expect(a.transport.maxMessageSize).to.equal(negotiated)
    expect(b.transport.maxMessageSize).to.equal(pair.pcB.sctp?.maxMessageSize)
    expect(a.frameSize + 1 + 5).to.be.at.most(negotiated)
    expect(MAX_CHANNEL_ID).to.equal(2 ** 32 - 1)
  })

  it('moves 32 MiB byte-exact, keeps bufferedAmount under the cap, and lets chat overtake the bulk', async function () {
    this.timeout(120000)
    const {a, b, pair} = await setup()
    const total = 32 * MiB
    const chunk = 1 * MiB
    const count = total / chunk
    const source = randomFill(total)

    let peakBuffered = 0
    const sample = () => { peakBuffered = Math.max(peakBuffered, pair.a.bufferedAmount) }
    const sampler = setInterval(sample, 1)
    pair.b.addEventListener('message', sample)

    const received: Uint8Array[] = []
    let chatSentAfter = -1
    let chatArrivedAfter = -1
    const bulkDone = new Promise<void>(resolve => {
      b.channel('files/1', {
        onmessage: bytes => {
          received.push(bytes)
          sample()
          if (received.length === 4) {
            chatSentAfter = received.length
            chat.send(utf8('are you there?'))
          }
          if (received.length === count) resolve()
        },
      })
    })
    const chatDone = new Promise<void>(resolve => {
      b.channel('chat/1', {onmessage: () => { chatArrivedAfter = received.length; resolve() }})
    })
    const bulk = a.channel('files/1', {onmessage: () => {}})
    const chat = a.channel('chat/1', {onmessage: () => {}})
    for (let off = 0; off < total; off += chunk) {
      bulk.send(source.subarray(off, off + chunk))
      await bulk.ready()
    }
    await Promise.all([bulkDone, chatDone])
    clearInterval(sampler)
    pair.b.removeEventListener('message', sample)

    expect(received.length).to.equal(count)
    for (let i = 0; i < count; i++) {
      expect(equal(received[i], source.subarray(i * chunk, (i + 1) * chunk)), `chunk ${i}`).to.equal(true)
    }
    expect(peakBuffered).to.be.greaterThan(0)
    expect(peakBuffered).to.be.at.most(a.highWaterMark + a.frameSize + 6)
    expect(pair.a.readyState).to.equal('open')
    expect(a.destroyed || b.destroyed).to.equal(false)
    // Ahead of the chat message: at most the transport's buffer (about 1 MiB) and
    // one bulk frame, so at most two more 1 MiB chunks complete before it.
    expect(chatArrivedAfter).to.be.at.most(chatSentAfter + 2)
    expect(chatArrivedAfter).to.be.lessThan(count)
    expect(b.stats.malformed).to.equal(0)
  })

  it('measures the round-trip time with PING and PONG', async () => {
    const {a} = await setup({pingInterval: 20})
    const rtt = await once(a, 'rtt')
    // Firefox's clock is coarse (1 ms or more): a loopback round trip may read 0.
    expect(Number.isFinite(rtt) && rtt >= 0, `rtt ${rtt}`).to.equal(true)
    expect(a.rtt).to.equal(a.stats.rtt)
  })

  it('delivers GOODBYE before the data channel closes', async () => {
    const {a, b} = await setup()
    const goodbye = once(b, 'goodbye')
    const closed = once(b, 'close')
    a.close('leaving the room')
    expect(await goodbye).to.equal('leaving the room')
    expect(await closed).to.equal(undefined)
  })
})

/** A frame's type and channel id as `TYPE:id` (for a trace in a failure's message). */
function frameName(frame: Uint8Array): string {
  const type = Object.entries(FrameType).find(([, n]) => n === (frame[0] & 0x0f))?.[0] ?? `type${frame[0]}`
  return type === 'DATA' || type === 'OPEN' || type === 'CLOSE' ? `${type}:${frame[1]}` : type
}

/** How many frames of each end a failure's message traces. */
const TRACED = 6

/** Wraps `transport.send` to remember the largest frame handed to the data channel, and the first few. */
function watchFrames(transport: FrameTransport) {
  const seen = {largest: 0, frames: 0, first: [] as string[]}
  const send = transport.send.bind(transport)
  transport.send = frame => {
    seen.largest = Math.max(seen.largest, frame.length)
    if (seen.frames++ < TRACED) seen.first.push(frameName(frame))
    send(frame)
  }
  return seen
}

/** The first few frames that came in on `channel`, as the data channel handed them over. */
function watchIncoming(channel: RTCDataChannel): string[] {
  const first: string[] = []
  channel.addEventListener('message', (e: MessageEvent) => {
    if (first.length < TRACED) first.push(e.data instanceof ArrayBuffer ? frameName(new Uint8Array(e.data)) : `not binary (${typeof e.data})`)
  })
  return first
}

/**
 * Sends `bytes` from `a` to `b`, which sends them back; resolves with what came back,
 * and rejects at once, saying why, if either mux closes first (rather than at the test's timeout).
 * `trace` adds what the ends sent and received first to that message.
 */
function roundTrip(a: Mux, b: Mux, bytes: Uint8Array, trace: () => string = () => ''): Promise<Uint8Array> {
  const echo = b.channel('echo/1', {onmessage: received => echo.send(received)})
  return new Promise((resolve, reject) => {
    for (const [name, mux] of [['a', a], ['b', b]] as const) {
      // The trace is read a task later: the frame that closed it reaches the trace's listener after the mux's.
      mux.once('close', err => setTimeout(() => reject(new Error(`mux ${name} closed before the round trip: ${err?.message ?? 'no error'} ${trace()}`))))
    }
    a.channel('echo/1', {onmessage: resolve}).send(bytes)
  })
}

/** A trace of both ends for roundTrip: the frames each sent and received first. */
function traceOf(pair: DataChannelPair, sentA: {first: string[]}, sentB: {first: string[]}) {
  const inA = watchIncoming(pair.a)
  const inB = watchIncoming(pair.b)
  return () => `(a sent ${sentA.first.join(' ')}; b received ${inB.join(' ')}; b sent ${sentB.first.join(' ')}; a received ${inA.join(' ')})`
}

/** The answer as a remote that accepts at most `size`-byte messages would write it. */
function maxMessageSize(size: number) {
  return (sdp: string) => {
    if (!/^a=max-message-size:\d+\r?$/m.test(sdp)) throw new Error('the answer has no a=max-message-size to lower')
    return sdp.replace(/^a=max-message-size:\d+(\r?)$/m, `a=max-message-size:${size}$1`)
  }
}

describe('mux frame size follows the negotiated SCTP max message size', () => {
  const HEADER = 1 + 5
  const t = pairs()

  /**
   * Frames as large as the transport allows, so the cap is what limits them. No keep-alive:
   * these tests are about frames, and a page starved of CPU for its 4 s timeout (four test
   * runs on two cores) would close the mux mid-transfer.
   */
  const unbounded: MuxOptions = {frameSize: 4 * MiB, pingInterval: 0, timeout: 0}

  // What each browser's SCTP offers in a=max-message-size (measured): Firefox ESR 153 offers 1 GiB - 1.
  const OWN_MAX_MESSAGE_SIZE = browserName === 'firefox' ? 1073741823 : 256 * KiB

  onlyIn('chromium', "Firefox's own limit is 1 GiB - 1, so the mux's frameSize bounds its frames, not the transport; the remote's-cap test below covers Firefox")('Chromium to Chromium: 256 KiB once connected; frames use it all and stay within it; 1 MiB round-trips', async () => {
    const pc = new RTCPeerConnection({iceServers: []})
    const before = fromDataChannel(pc.createDataChannel('x'), pc)
    expect(pc.sctp, 'no SCTP transport before negotiation').to.equal(null)
    expect(before.maxMessageSize).to.equal(SAFE_MESSAGE_SIZE)
    pc.close()

    const pair = t.pair = await createDataChannelPair()
    const ta = fromDataChannel(pair.a, pair.pcA)
    const tb = fromDataChannel(pair.b, pair.pcB)
    expect(pair.pcA.sctp!.maxMessageSize).to.equal(256 * KiB)
    expect(ta.maxMessageSize).to.equal(256 * KiB)
    expect(tb.maxMessageSize).to.equal(256 * KiB)
    const sentA = watchFrames(ta)
    const sentB = watchFrames(tb)
    const a = new Mux(ta, unbounded)
    const b = new Mux(tb, unbounded)
    t.muxes = [a, b]
    expect(a.frameSize).to.equal(256 * KiB - HEADER)

    const message = randomFill(1 * MiB)
    const back = await roundTrip(a, b, message, traceOf(pair, sentA, sentB))
    expect(equal(back, message)).to.equal(true)
    for (const sent of [sentA, sentB]) {
      expect(sent.largest).to.be.at.most(256 * KiB)
      // Larger than the default frame and than the fallback: the negotiated size was used.
      expect(sent.largest).to.be.greaterThan(64 * KiB + HEADER)
    }
  })

  it('with no SCTP transport to ask (pc.sctp null), falls back to 16 KiB frames and still delivers 1 MiB', async () => {
    const pair = t.pair = await createDataChannelPair()
    const unknown = {sctp: null} as unknown as RTCPeerConnection
    const ta = fromDataChannel(pair.a, unknown)
    const tb = fromDataChannel(pair.b, unknown)
    expect(ta.maxMessageSize).to.equal(SAFE_MESSAGE_SIZE)
    const sentA = watchFrames(ta)
    const sentB = watchFrames(tb)
    const a = new Mux(ta, unbounded)
    const b = new Mux(tb, unbounded)
    t.muxes = [a, b]
    expect(a.frameSize).to.equal(16 * KiB - HEADER)

    const message = randomFill(1 * MiB)
    expect(equal(await roundTrip(a, b, message, traceOf(pair, sentA, sentB)), message)).to.equal(true)
    for (const sent of [sentA, sentB]) {
      expect(sent.largest).to.be.at.most(16 * KiB)
      expect(sent.frames).to.be.at.least(64)
    }
  })

  it('treats an unusable figure as unknown and Infinity (no limit on either side) as no cap', async () => {
    const pair = t.pair = await createDataChannelPair()
    const reporting = (maxMessageSize: number) => ({sctp: {maxMessageSize}}) as unknown as RTCPeerConnection
    for (const bad of [0, -1, NaN]) expect(fromDataChannel(pair.a, reporting(bad)).maxMessageSize, String(bad)).to.equal(SAFE_MESSAGE_SIZE)
    const unlimited = fromDataChannel(pair.a, reporting(Infinity))
    expect(unlimited.maxMessageSize).to.equal(Infinity)
    const mux = new Mux(unlimited, {frameSize: 100 * KiB})
    t.muxes = [mux]
    expect(mux.frameSize).to.equal(100 * KiB)
  })

  it("the remote's lower a=max-message-size caps this side's frames: 64 KiB from the answer", async () => {
    const pair = t.pair = await createDataChannelPair({transformAnswer: maxMessageSize(64 * KiB)})
    // Each side is limited by what the other accepts: A read B's (lowered) answer, B read A's offer.
    expect(pair.pcA.sctp!.maxMessageSize).to.equal(64 * KiB)
    expect(pair.pcB.sctp!.maxMessageSize).to.equal(OWN_MAX_MESSAGE_SIZE)
    const ta = fromDataChannel(pair.a, pair.pcA)
    const tb = fromDataChannel(pair.b, pair.pcB)
    const sentA = watchFrames(ta)
    const sentB = watchFrames(tb)
    const a = new Mux(ta, unbounded)
    const b = new Mux(tb, unbounded)
    t.muxes = [a, b]
    expect(a.frameSize).to.be.at.most(64 * KiB - HEADER)
    expect(b.frameSize).to.equal(Math.min(unbounded.frameSize!, OWN_MAX_MESSAGE_SIZE - HEADER))

    const message = randomFill(1 * MiB)
    expect(equal(await roundTrip(a, b, message, traceOf(pair, sentA, sentB)), message)).to.equal(true)
    expect(sentA.largest).to.be.at.most(64 * KiB)
    expect(sentA.largest).to.be.greaterThan(16 * KiB)
  })
})
