// One swarm connection (core/swarm/peer-connection.ts) as the hub sees it: what
// it posts per attempt. Two connections in one page, signalled directly.
import {expect} from '@open-wc/testing'
import {PeerConnection} from '../../src/core/swarm/peer-connection.js'
import {KeyPairIdentity} from '../../src/core/crypto/seed-identity.js'
import type {RtcSignal} from '../../src/core/swarm/rtc-link.js'
import {testBudget} from './helpers/swarm.js'

const connect = (id: string, initiator: boolean) =>
  new PeerConnection({id, initiator, identity: new KeyPairIdentity(), rtcConfig: {iceServers: []}, connectTimeout: 20_000, budget: testBudget})

function opened(conn: PeerConnection): Promise<void> {
  return new Promise((resolve, reject) => {
    conn.once('open', () => resolve())
    conn.once('close', err => reject(err ?? new Error('closed')))
  })
}

describe('PeerConnection signalling', () => {
  let conns: PeerConnection[] = []
  afterEach(() => {
    for (const c of conns) c.destroy()
    conns = []
  })

  // Each signal is a hub POST, and Firefox gathers four host candidates per
  // connection (UDP and TCP, IPv4 and IPv6): trickled, an attempt cost ten POSTs
  // there, and sixteen swarms of one page fell behind their connect timeouts.
  it('sends its offer and answer with their candidates in them: a pair connects on those two signals alone', async () => {
    const [a, b] = conns = [connect('b', true), connect('a', false)]
    const descriptions: RtcSignal[] = []
    // Trickled candidates are lost on the way; only the descriptions arrive.
    a.on('signal', s => { if (s.sdp) { descriptions.push(s); b.signal(s, a.attempt) } })
    b.on('signal', s => { if (s.sdp) { descriptions.push(s); a.signal(s, b.attempt, a.attempt) } })
    await Promise.all([opened(a), opened(b)])
    expect(descriptions.map(s => s.type)).to.deep.equal(['offer', 'answer'])
    for (const s of descriptions) expect(s.sdp).to.match(/\r\na=candidate:/)
  })
})
