// setPageIdentity while the page runs (docs/identity.md, "A new page identity"): what
// runs on the page key moves to the new one. Each test puts a fresh key in place, so
// the order of the tests does not matter; this page's slot keeps the last one.
import {expect, fixture, html} from '@open-wc/testing'
import '../../src/index.js'
import type {P2PSwarmElement} from '../../src/elements/p2p-swarm/p2p-swarm.js'
import type {P2PLogElement} from '../../src/elements/p2p-log/p2p-log.js'
import type {SwarmPeer} from '../../src/core/swarm/swarm.js'
import type {P2PError} from '../../src/core/errors.js'
import {pageIdentity, pageLogIdentity, setPageIdentity} from '../../src/core/swarm/page-identity.js'
import {importIdentity, KeyPairIdentity} from '../../src/core/crypto/seed-identity.js'
import {randomBytes, toHex} from '../../src/core/bytes.js'
import {createSwarm, freshRoom, hubUrl, until} from './helpers/swarm.js'
import {until as untilState} from '../shared/until.js'

const newKey = () => importIdentity(randomBytes(32))

async function swarmElement(room: string, identity?: KeyPairIdentity): Promise<P2PSwarmElement> {
  const element = await fixture<P2PSwarmElement>(html`<p2p-swarm hub=${hubUrl()} room=${room} .identity=${identity}></p2p-swarm>`)
  await element.updateComplete
  return element
}

describe('a new page identity', () => {
  it('moves a <p2p-swarm> on the page key to it: the old swarm says goodbye, a new one (a new hub id) joins under the new key', async () => {
    const room = freshRoom()
    const peer = createSwarm(room)
    try {
      const element = await swarmElement(room)
      const old = element.swarm!
      expect(old.publicKey).to.equal(toHex((await pageIdentity()).publicKey))
      await until(peer, ['update'], () => peer.peers.some(p => p.publicKey === old.publicKey), 'the peer to meet the page key')
      const left = new Promise<P2PError | undefined>(resolve => {
        peer.on('disconnect', (p: SwarmPeer, err?: P2PError) => {
          if (p.publicKey === old.publicKey) resolve(err)
        })
      })

      const next = newKey()
      await setPageIdentity(next)
      expect(old.destroyed, 'the swarm on the old key').to.equal(true)
      await element.updateComplete
      const moved = element.swarm!
      expect(moved.publicKey).to.equal(toHex(next.publicKey))
      expect(moved.id).to.not.equal(old.id)
      expect(await left, 'a goodbye, not a failure').to.equal(undefined)
      await until(peer, ['update'], () => peer.peers.some(p => p.publicKey === moved.publicKey), 'the peer to meet the new key')
      expect(peer.peers.map(p => p.publicKey)).to.deep.equal([moved.publicKey])
    } finally {
      peer.destroy()
    }
  })

  it('leaves swarms on other keys alone: a second one in the room (a key of its own) and one given its identity', async () => {
    const room = freshRoom()
    const onPageKey = await swarmElement(room)
    const second = await swarmElement(room)
    const given = await swarmElement(freshRoom(), new KeyPairIdentity())
    const [first, secondSwarm, givenSwarm] = [onPageKey.swarm!, second.swarm!, given.swarm!]
    expect(secondSwarm.publicKey).to.not.equal(first.publicKey)

    const next = newKey()
    await setPageIdentity(next)
    await onPageKey.updateComplete
    expect(onPageKey.swarm!.publicKey).to.equal(toHex(next.publicKey))
    expect(second.swarm).to.equal(secondSwarm)
    expect(given.swarm).to.equal(givenSwarm)
    expect(secondSwarm.destroyed || givenSwarm.destroyed).to.equal(false)
  })

  it('reopens a <p2p-log name> as the new key\'s log of that name, which it then writes', async () => {
    const room = freshRoom()
    const element = await fixture<P2PSwarmElement>(html`
      <p2p-swarm hub=${hubUrl()} room=${room}><p2p-log name="chat"></p2p-log></p2p-swarm>`)
    await element.updateComplete
    const log = element.querySelector<P2PLogElement>('p2p-log')!
    await log.updateComplete
    const before = log.log!
    expect(before.address).to.equal(toHex((await pageLogIdentity(`${room}\nchat`)).publicKey))
    await before.append({text: 'before'})

    await setPageIdentity(newKey())
    const address = toHex((await pageLogIdentity(`${room}\nchat`)).publicKey)
    expect(address).to.not.equal(before.address)
    // The element has no event for a log opened: its state is read.
    await untilState(() => log.log?.address === address, 'the new key\'s log to open', {timeout: 20_000})
    expect(log.log!.writable).to.equal(true)
    const entry = await log.log!.append({text: 'after'})
    expect(toHex(entry.author)).to.equal(address)
  })
})
