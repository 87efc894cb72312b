// The kit's WebRTC driver (core/swarm/rtc-link.ts) on its own: two links in one
// page signalled directly, no hub, `iceServers: []` (host candidates only). It
// speaks simple-peer's signal format, checked here against simple-peer itself.
import {expect} from '@open-wc/testing'
import SimplePeer from '@thaunknown/simple-peer/lite.js'
import {RtcLink, type RtcSignal} from '../../src/core/swarm/rtc-link.js'
import type {P2PError} from '../../src/core/errors.js'
import {fromUtf8, utf8} from '../../src/core/bytes.js'

const LABEL = 'test/rtc-link'

function link(initiator: boolean): RtcLink {
  return new RtcLink({pc: new RTCPeerConnection({iceServers: []}), initiator, label: LABEL})
}

/** Resolves on the link's `connect`; rejects if it closes first. */
function connected(l: RtcLink): Promise<void> {
  return new Promise((resolve, reject) => {
    l.once('connect', () => resolve())
    l.once('close', () => reject(new Error('closed before connecting')))
  })
}

/** Every signal of each side goes straight to the other. */
function wire(a: RtcLink, b: RtcLink): void {
  a.on('signal', s => b.signal(s))
  b.on('signal', s => a.signal(s))
}

/** The next message on a data channel, as text. */
function nextMessage(channel: RTCDataChannel): Promise<string> {
  return new Promise(resolve => channel.addEventListener('message', e => {
    resolve(typeof e.data === 'string' ? e.data : fromUtf8(new Uint8Array(e.data as ArrayBuffer)))
  }, {once: true}))
}

describe('RtcLink (the WebRTC driver)', () => {
  let links: RtcLink[] = []
  afterEach(() => {
    for (const l of links) l.destroy()
    links = []
  })

  it("puts simple-peer's signal shapes on the wire and connects with trickled candidates", async () => {
    const [a, b] = links = [link(true), link(false)]
    const fromA: RtcSignal[] = []
    const fromB: RtcSignal[] = []
    a.on('signal', s => { fromA.push(s); b.signal(s) })
    b.on('signal', s => { fromB.push(s); a.signal(s) })
    await Promise.all([connected(a), connected(b)])
    const offer = fromA.find(s => s.type === 'offer')!
    expect(Object.keys(offer).sort()).to.deep.equal(['sdp', 'type'])
    expect(offer.sdp).to.match(/^v=0/)
    const answer = fromB.find(s => s.type === 'answer')!
    expect(Object.keys(answer).sort()).to.deep.equal(['sdp', 'type'])
    const candidate = fromA.find(s => s.type === 'candidate')!
    expect(Object.keys(candidate).sort()).to.deep.equal(['candidate', 'type'])
    expect(Object.keys(candidate.candidate as object).sort()).to.deep.equal(['candidate', 'sdpMLineIndex', 'sdpMid'])
    expect((candidate.candidate as {candidate: string}).candidate).to.match(/^candidate:/)
    // The responder takes the initiator's channel, label and all.
    expect(b.channel!.label).to.equal(LABEL)
    const got = nextMessage(b.channel!)
    a.channel!.send('hello')
    expect(await got).to.equal('hello')
  })

  it('holds candidates that come before the remote description, and uses them once it is set', async () => {
    const [a, b] = links = [link(true), link(false)]
    // Every candidate of A's reaches B before A's offer does: the offer is held
    // until A has gathered them all.
    let offer: RtcSignal | undefined
    a.on('signal', s => s.type === 'offer' ? offer = s : b.signal(s))
    // B's candidates are never delivered: A finds B only through the checks B
    // sends to the candidates it held. Were they dropped, nothing would connect.
    b.on('signal', s => { if (s.type !== 'candidate') a.signal(s) })
    await new Promise<void>(resolve => {
      const check = () => { if (a.pc.iceGatheringState === 'complete' && offer) resolve() }
      a.pc.addEventListener('icegatheringstatechange', check)
      a.on('signal', check)
    })
    b.signal(offer!)
    await Promise.all([connected(a), connected(b)])
    expect(b.droppedCandidates).to.equal(0)
  })

  it('makes one offer at a time: a renegotiation asked for meanwhile waits for the answer', async () => {
    const [a, b] = links = [link(true), link(false)]
    let answersFed = 0
    const offersAfter: number[] = []
    a.on('signal', s => {
      if (s.type === 'offer') offersAfter.push(answersFed)
      b.signal(s)
    })
    b.on('signal', s => {
      if (s.type === 'answer') answersFed++
      a.signal(s)
    })
    // A second negotiation in the tick of the first offer's.
    a.negotiate()
    await Promise.all([connected(a), connected(b)])
    await new Promise<void>(resolve => {
      const check = () => { if (offersAfter.length === 2 && a.pc.signalingState === 'stable') resolve() }
      a.pc.addEventListener('signalingstatechange', check)
      check()
    })
    expect(offersAfter).to.deep.equal([0, 1], 'the second offer waited for the first answer')
  })

  it("a responder's renegotiate signal makes the initiator offer again", async () => {
    const [a, b] = links = [link(true), link(false)]
    const fromB: RtcSignal[] = []
    b.on('signal', s => fromB.push(s))
    wire(a, b)
    await Promise.all([connected(a), connected(b)])
    const offers: RtcSignal[] = []
    a.on('signal', s => { if (s.type === 'offer') offers.push(s) })
    // The responder never offers (so both ends never do at once): it asks.
    b.negotiate()
    expect(fromB.at(-1)).to.deep.equal({type: 'renegotiate', renegotiate: true})
    await new Promise<void>(resolve => {
      b.pc.addEventListener('signalingstatechange', () => { if (offers.length === 1 && b.pc.signalingState === 'stable') resolve() })
    })
    // Renegotiated in place: the same channel still carries data.
    const got = nextMessage(b.channel!)
    a.channel!.send('after')
    expect(await got).to.equal('after')
  })

  it('a malformed SDP ends the link with a typed error, then close', async () => {
    const b = link(false)
    links = [b]
    const seen: string[] = []
    const err = await new Promise<P2PError>(resolve => {
      b.on('error', e => { seen.push('error'); resolve(e) })
      b.on('close', () => seen.push('close'))
      b.signal({type: 'offer', sdp: 'v=0\r\nthis is no session description\r\n'})
    })
    expect(err.code).to.equal('ERR_CONNECTION_FAILED')
    expect(err.message).to.contain('offer')
    expect(seen).to.deep.equal(['error', 'close'])
    expect(b.destroyed).to.equal(true)
    expect(b.pc.signalingState).to.equal('closed')
  })

  it('a message that is no signal ends the link with a typed error', () => {
    const b = link(false)
    links = [b]
    let err: P2PError | undefined
    b.on('error', e => { err = e })
    b.signal({type: 'answer'})
    expect(err?.code).to.equal('ERR_CONNECTION_FAILED')
    expect(b.destroyed).to.equal(true)
  })

  for (const ours of ['initiator', 'responder'] as const) {
    it(`connects to simple-peer itself (ours the ${ours}) and carries data both ways`, async () => {
      const l = link(ours === 'initiator')
      links = [l]
      const peer = new SimplePeer({initiator: ours === 'responder', config: {iceServers: []}, channelName: LABEL})
      try {
        // simple-peer may signal in the tick it is made: both listen before then.
        peer.on('signal', s => l.signal(s as RtcSignal))
        l.on('signal', s => peer.signal(s))
        const peerData = new Promise<string>(resolve => peer.once('data', (d: Uint8Array) => resolve(fromUtf8(d))))
        await Promise.all([connected(l), new Promise<void>(resolve => peer.once('connect', () => resolve()))])
        const ourData = nextMessage(l.channel!)
        peer.send('from simple-peer')
        l.channel!.send(utf8('from the kit') as Uint8Array<ArrayBuffer>)
        expect(await ourData).to.equal('from simple-peer')
        expect(await peerData).to.equal('from the kit')
        expect(l.channel!.label).to.equal(LABEL)
      } finally {
        peer.destroy()
      }
    })
  }
})
