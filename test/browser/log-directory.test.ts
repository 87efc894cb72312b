// The room's log directory under attack, through real pages' parts: a hostile peer
// of the room (a raw swarm of its own on the hub, real WebRTC) opens the directory
// channel of <p2p-log name="chat"> and sends it a malformed, an oversized or a junk
// LOGS. The element fires p2p-error with the typed code, and an honest peer's log
// still replicates into the same page.
import {expect, fixture, html} from '@open-wc/testing'
import '../../src/index.js'
import type {P2PSwarmElement} from '../../src/elements/p2p-swarm/p2p-swarm.js'
import type {P2PLogElement} from '../../src/elements/p2p-log/p2p-log.js'
import type {P2PError} from '../../src/core/errors.js'
import {KeyPairIdentity} from '../../src/core/crypto/seed-identity.js'
import {randomBytes} from '../../src/core/bytes.js'
import {EntryKind, encodeEntry} from '../../src/core/log/entry.js'
import {MAX_KEYS_PER_MESSAGE, encodeLogsMessage, roomLogsProtocol} from '../../src/core/log/room-logs.js'
import type {P2PErrorEvent} from '../../src/events/error-event.js'
import {createSwarm, freshRoom, hubUrl, until} from './helpers/swarm.js'

/** Resolves once `check` holds, checked again on each of the DOM events `types` of `target`; fails naming `what`. */
function on(target: EventTarget, types: string[], check: () => boolean, what: string, timeout = 150_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const test = (): void => {
      if (!check()) return
      done()
      resolve()
    }
    const timer = setTimeout(() => {
      done()
      reject(new Error(`timed out waiting for ${what}`))
    }, timeout)
    const done = (): void => {
      clearTimeout(timer)
      for (const type of types) target.removeEventListener(type, test)
    }
    for (const type of types) target.addEventListener(type, test)
    test()
  })
}

async function open(room: string): Promise<P2PLogElement> {
  const swarm = await fixture<P2PSwarmElement>(html`
    <p2p-swarm hub=${hubUrl()} room=${room}><p2p-log name="chat" .identity=${new KeyPairIdentity()}></p2p-log></p2p-swarm>`)
  await swarm.updateComplete
  const log = swarm.querySelector('p2p-log')!
  await log.updateComplete
  return log
}

/** Resolves once `check` holds, checked on each entry stored in any of the element's logs. */
function appended(target: P2PLogElement, check: () => boolean, what: string): Promise<void> {
  return on(target, ['p2p-log-append', 'p2p-log-progress'], () => target.room !== undefined && check(), what)
}

/** Holds a copy of `log`'s entries, as many as it has. */
function holds(target: P2PLogElement, other: P2PLogElement): boolean {
  return target.room!.logs().some(l => l.address === other.log!.address && l.length === other.log!.length)
}

/** Well-formed Inits of random keys with random signatures: junk addresses. */
const junk = (n: number): Array<{bytes: Uint8Array}> => Array.from({length: n}, () => ({
  bytes: encodeEntry({author: randomBytes(32), seq: 0, prev: null, links: [], time: Date.now(), kind: EntryKind.Init, value: Uint8Array.of(0)}, randomBytes(64)),
}))

const attacks: Array<{what: string, code: string, cause?: string, bytes: () => Uint8Array}> = [
  {what: 'a malformed LOGS', code: 'ERR_MALFORMED_MESSAGE', bytes: () => Uint8Array.of(0, 1, 2, 3)},
  {
    what: 'an oversized LOGS', code: 'ERR_MESSAGE_TOO_LARGE',
    bytes: () => Uint8Array.of(0, ...junk(MAX_KEYS_PER_MESSAGE + 1).flatMap(({bytes}) => [bytes.length, ...bytes])),
  },
  {
    what: 'junk addresses (random keys, forged Inits)', code: 'ERR_PEER_MISBEHAVING', cause: 'ERR_INVALID_SIGNATURE',
    bytes: () => encodeLogsMessage({listed: true, inits: junk(64)}),
  },
]

describe('<p2p-log>\'s room directory against a hostile peer (real WebRTC, real IndexedDB)', function () {
  this.timeout(300_000)

  for (const {what, code, cause, bytes} of attacks) {
    it(`${what}: p2p-error ${code}, the peer dropped, an honest peer's log still replicates`, async () => {
      const room = freshRoom('log-directory')
      const victim = await open(room)
      const honest = await open(room)
      await honest.log!.append({text: 'before'})
      await appended(victim, () => holds(victim, honest), 'the honest log at the victim')
      const errors: P2PError[] = []
      victim.addEventListener('p2p-error', event => errors.push((event as P2PErrorEvent).detail.error))

      const mallory = createSwarm(room, {identity: new KeyPairIdentity()})
      const victimSwarm = victim.closest('p2p-swarm')!.swarm!
      try {
        await until([victimSwarm, mallory], ['connect'], () => mallory.peers.some(p => p.publicKey === victimSwarm.publicKey) &&
          victimSwarm.peers.some(p => p.publicKey === mallory.publicKey), 'the hostile peer connected to the victim', 60_000)
        const toVictim = mallory.peers.find(p => p.publicKey === victimSwarm.publicKey)!
        const channel = toVictim.channel(roomLogsProtocol('chat'), {onmessage: () => {}})
        const reported = on(victim, ['p2p-error'], () => errors.length > 0, `p2p-error for ${what}`)
        channel.send(bytes())
        await reported
        expect(errors.map(e => e.code)).to.deep.equal([code])
        expect((errors[0].cause as P2PError | undefined)?.code).to.equal(cause)
        await until(victimSwarm, ['disconnect'], () => !victimSwarm.peers.some(p => p.publicKey === mallory.publicKey),
          'the hostile peer dropped', 60_000)
        // Nothing of it was opened: the victim's log and the honest one only.
        expect(victim.room!.logs().map(l => l.address).sort()).to.deep.equal([victim.log!.address, honest.log!.address].sort())
        // The honest peer is still served, both ways.
        await honest.log!.append({text: 'after'})
        await appended(victim, () => holds(victim, honest), 'the honest log\'s next entry at the victim')
        await victim.log!.append({text: 'reply'})
        await appended(honest, () => holds(honest, victim), 'the victim\'s entry at the honest peer')
      } finally {
        mallory.destroy()
      }
    })
  }
})
