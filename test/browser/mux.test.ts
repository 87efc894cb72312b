import {expect} from '@open-wc/testing'
import {Mux, fromDataChannel, MAX_CHANNEL_ID, type MuxOptions} from '../../src/core/mux/index.js'
import {once} from '../../src/core/emitter.js'
import {equal, utf8} from '../../src/core/bytes.js'
import {createDataChannelPair, type DataChannelPair} from './helpers/rtc-pair.js'

const KiB = 1024
const MiB = 1024 * KiB

function randomFill(size: number): Uint8Array {
  const out = new Uint8Array(size)
  // getRandomValues takes at most 64 KiB per call.
  for (let off = 0; off < size; off += 64 * KiB) crypto.getRandomValues(out.subarray(off, off + 64 * KiB))
  return out
}

describe('mux over a real RTCDataChannel', () => {
  let pair: DataChannelPair | null = null
  let muxes: Mux[] = []

  afterEach(() => {
    for (const mux of muxes) mux.destroy()
    muxes = []
    pair?.close()
    pair = null
  })

  async function setup(options: MuxOptions = {}) {
    const p = await createDataChannelPair()
    pair = p
    const a = new Mux(fromDataChannel(p.a, p.pcA), options)
    const b = new Mux(fromDataChannel(p.b, p.pcB), options)
    muxes = [a, b]
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
    expect(rtt).to.be.greaterThan(0)
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
