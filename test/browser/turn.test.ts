// WebRTC through a real TURN server: the loopback coturn the test runner starts
// (scripts/turn-process.js). Every test runs with the p2p debug logs on, and
// checks that no TURN credential reaches the console or an error.
import {expect, fixture, html} from '@open-wc/testing'
import type {P2PSwarmElement} from '../../src/elements/p2p-swarm/p2p-swarm.js'
import type {Swarm} from '../../src/core/swarm/swarm.js'
import type {P2PError} from '../../src/core/errors.js'
import type {P2PErrorEvent} from '../../src/events/error-event.js'
import {iceHub, restTurnServer, selectedCandidates, turnServer, type TurnServer} from './helpers/turn.js'
import {browserName} from './helpers/browser.js'

type SwarmHelpers = typeof import('./helpers/swarm.js')
let helpers: SwarmHelpers

/** Everything written to the console during the current test, as text. */
let consoleLines: string[] = []
const METHODS = ['debug', 'log', 'info', 'warn', 'error'] as const
const originals = new Map<(typeof METHODS)[number], (...args: unknown[]) => void>()

function text(arg: unknown): string {
  if (arg instanceof Error) return `${arg.stack ?? arg.message} ${arg.cause === undefined ? '' : text(arg.cause)}`
  if (typeof arg === 'string') return arg
  try {
    return JSON.stringify(arg) ?? String(arg)
  } catch {
    return String(arg)
  }
}

// The console is captured before anything is loaded, since a logger may keep a
// reference to console.debug from when its module ran. Loggers also read
// `localStorage.debug` then, so the project is imported only once it is set;
// the setting is removed at once, as the other test files share this storage.
before(async () => {
  for (const method of METHODS) {
    originals.set(method, console[method])
    console[method] = (...args: unknown[]) => { consoleLines.push(args.map(text).join(' ')) }
  }
  localStorage.setItem('debug', 'p2p:*')
  try {
    helpers = await import('./helpers/swarm.js')
    await import('../../src/index.js')
  } finally {
    localStorage.removeItem('debug')
  }
})

after(() => {
  for (const [method, original] of originals) console[method] = original
})

beforeEach(() => { consoleLines = [] })

/** Both ends of `swarm`'s one connected peer, as chosen by ICE. */
async function chosenPair(swarm: Swarm) {
  expect(swarm.peers).to.have.length(1)
  return selectedCandidates(swarm.peers[0].rtc)
}

function bothConnected(a: Swarm, b: Swarm) {
  return helpers.until([a, b], ['update'], () => a.peers.length === 1 && b.peers.length === 1, 'both swarms connected')
}

/** Two `<p2p-swarm>`s in one page, configured from markup only. */
async function twoElements(iceServers: RTCIceServer[]) {
  const {hubUrl, freshRoom} = helpers
  const room = freshRoom('turn')
  const json = JSON.stringify(iceServers)
  const root = await fixture<HTMLDivElement>(html`
    <div>
      <p2p-swarm id="a" hub=${hubUrl()} room=${room} ice-servers=${json} ice-transport-policy="relay"></p2p-swarm>
      <p2p-swarm id="b" hub=${hubUrl()} room=${room} ice-servers=${json} ice-transport-policy="relay"></p2p-swarm>
    </div>`)
  const errors: P2PError[] = []
  root.addEventListener('p2p-error', e => errors.push((e as P2PErrorEvent).detail.error))
  const [a, b] = [root.querySelector<P2PSwarmElement>('#a')!, root.querySelector<P2PSwarmElement>('#b')!]
  // The fixture awaited the div; each element's swarm comes once its key is in.
  await Promise.all([a.updateComplete, b.updateComplete])
  return {root, a, b, errors}
}

/**
 * Two core swarms told to relay through a TURN server that refuses their
 * credential. Resolves with the first error each reports and every ICE
 * candidate error their connections saw.
 */
async function refusedPair(turn: TurnServer) {
  const room = helpers.freshRoom('turn-refused')
  const opts = {iceServers: [turn], iceTransportPolicy: 'relay' as const, connectTimeout: 2000}
  const swarms = helpers.createSwarms(2, room, opts)
  const candidateErrors: RTCPeerConnectionIceErrorEvent[] = []
  const watched = new WeakSet<RTCPeerConnection>()
  for (const swarm of swarms) {
    // Connections are made on announcements; ICE starts a task later, so hooking them on `update` is in time.
    swarm.on('update', () => {
      for (const conn of swarm.connections) {
        if (conn.destroyed || watched.has(conn.rtc)) continue
        watched.add(conn.rtc)
        conn.rtc.addEventListener('icecandidateerror', e => candidateErrors.push(e as RTCPeerConnectionIceErrorEvent))
      }
    })
  }
  const errors = await Promise.all(swarms.map(s => new Promise<P2PError>(resolve => s.once('error', resolve))))
  return {swarms, errors, candidateErrors}
}

describe('TURN relay (loopback coturn)', () => {
  it('two <p2p-swarm> elements with ice-servers and ice-transport-policy="relay" connect through the TURN server', async () => {
    const turn = turnServer()
    const {root, a, b} = await twoElements([turn])
    expect(a.iceTransportPolicy).to.equal('relay')
    expect(a.iceServers).to.deep.equal([turn])
    await bothConnected(a.swarm!, b.swarm!)
    const turnPort = Number(new URL(turn.urls.replace(/^turn:/, 'turn://')).port)
    for (const el of [a, b]) {
      const {local, remote} = await chosenPair(el.swarm!)
      expect(local.candidateType, 'local candidate').to.equal('relay')
      expect(remote.candidateType, 'remote candidate').to.equal('relay')
      // Allocated by our coturn: it relays from its relay-ip, and names the server it came from.
      expect(local.address).to.equal('127.0.0.1')
      expect(local.port).to.not.equal(turnPort)
      // Firefox ESR 153's candidate stats have no url: a field only Chromium fills.
      if (browserName === 'chromium') expect(local.url).to.equal(turn.urls)
    }
    root.remove()
  })

  it('with relay policy and a wrong credential, TURN refuses (401) and no connection forms', async () => {
    const {swarms, errors, candidateErrors} = await refusedPair({...turnServer(), credential: 'not-the-password'})
    try {
      for (const err of errors) expect(err.code).to.equal('ERR_CONNECTION_FAILED')
      for (const swarm of swarms) {
        expect(swarm.peers).to.have.length(0)
        expect(swarm.stats.timeouts).to.be.at.least(1)
      }
      expect(candidateErrors.length, 'ICE candidate errors').to.be.at.least(1)
      expect(candidateErrors.map(e => e.errorCode)).to.include(401)
    } finally {
      helpers.destroyAll(swarms)
    }
  })

  it('time-limited REST API credentials, minted as docs/turn.md shows, relay; expired ones are refused (401)', async () => {
    const {valid, expired} = restTurnServer()
    const swarms = helpers.createSwarms(2, helpers.freshRoom('turn-rest'), {iceServers: [valid], iceTransportPolicy: 'relay'})
    try {
      await bothConnected(swarms[0], swarms[1])
      const {local, remote} = await chosenPair(swarms[0])
      expect([local.candidateType, remote.candidateType]).to.deep.equal(['relay', 'relay'])
    } finally {
      helpers.destroyAll(swarms)
    }
    const refused = await refusedPair(expired)
    try {
      expect(refused.candidateErrors.map(e => e.errorCode)).to.include(401)
      for (const swarm of refused.swarms) expect(swarm.peers).to.have.length(0)
    } finally {
      helpers.destroyAll(refused.swarms)
    }
  })

  it('with debug logs on, neither a working nor a refused TURN credential is ever printed or put in an error', async () => {
    const turn = turnServer()
    const wrong = `wrong-${Math.random().toString(36).slice(2)}`
    const {root, a, b, errors} = await twoElements([turn])
    await bothConnected(a.swarm!, b.swarm!)
    // Closing paths log too: one side leaves, and a refused pair fails.
    b.remove()
    await helpers.until(a.swarm!, ['update'], () => a.swarm!.peers.length === 0, 'a sees b leave')
    const refused = await refusedPair({...turn, credential: wrong})
    helpers.destroyAll(refused.swarms)
    root.remove()

    const log = consoleLines.join('\n')
    // The logs were on and covered the connection's life: the check below could have caught a leak.
    for (const namespace of ['p2p:swarm', 'p2p:peer', 'p2p:rtc', 'p2p:mux', 'p2p:hub-client']) expect(log, namespace).to.contain(namespace)
    expect(log).to.contain('ERR_CONNECTION_FAILED')
    const reported = [...errors, ...refused.errors].map(text).join('\n')
    expect(refused.errors).to.have.length(2)
    for (const secret of [turn.credential, wrong]) {
      expect(log.includes(secret), 'credential in the console').to.equal(false)
      expect(reported.includes(secret), 'credential in an error').to.equal(false)
    }
  })

  it('two <p2p-swarm> elements without ice-servers relay through the TURN server their hub names, with credentials it minted', async () => {
    const hub = iceHub()
    const room = helpers.freshRoom('turn-hub')
    const root = await fixture<HTMLDivElement>(html`
      <div>
        <p2p-swarm id="a" hub=${hub} room=${room} ice-transport-policy="relay"></p2p-swarm>
        <p2p-swarm id="b" hub=${hub} room=${room} ice-transport-policy="relay"></p2p-swarm>
      </div>`)
    const a = root.querySelector<P2PSwarmElement>('#a')!
    const b = root.querySelector<P2PSwarmElement>('#b')!
    await Promise.all([a.updateComplete, b.updateComplete])
    try {
      expect(a.iceServers).to.equal(undefined)
      await bothConnected(a.swarm!, b.swarm!)
      const {urls} = restTurnServer().valid
      for (const el of [a, b]) {
        const {local, remote} = await chosenPair(el.swarm!)
        expect([local.candidateType, remote.candidateType]).to.deep.equal(['relay', 'relay'])
        if (browserName === 'chromium') expect(local.url).to.equal(urls)
        // The credential ICE used came from the hub: the page never held coturn's secret.
        const [server] = el.swarm!.peers[0].rtc.getConfiguration().iceServers!
        expect(server.username).to.match(/^\d+:[\w-]+$/)
        expect(server.username).to.not.equal(restTurnServer().valid.username)
      }
    } finally {
      root.remove()
    }
  })

  it('an unusable ICE server list is ERR_INVALID_ARGUMENT, and its message never carries the credential', async () => {
    const secret = `secret-${Math.random().toString(36).slice(2)}`
    const room = helpers.freshRoom('turn-bad')
    const bad = helpers.createSwarm(room, {iceServers: [{urls: 'turn:not a url', username: 'u', credential: secret}]})
    const good = helpers.createSwarm(room)
    const errors: Error[] = []
    bad.on('error', err => errors.push(err))
    try {
      await helpers.until([bad, good], ['update', 'error'], () => errors.length >= 1, 'the bad swarm reporting its ICE servers')
      expect((errors[0] as {code?: string}).code).to.equal('ERR_INVALID_ARGUMENT')
      expect(errors[0].message).to.contain('unusable ICE servers')
      expect(errors.map(text).join('\n').includes(secret)).to.equal(false)
      expect(bad.connections).to.have.length(0)
      expect(consoleLines.join('\n').includes(secret)).to.equal(false)
    } finally {
      helpers.destroyAll([bad, good])
    }
  })
})
