// A tab's storage slot (a file drop's database, the page identity), with Web Locks and
// with them forced away (an insecure context has none): the fallback takes the base name
// unguarded rather than failing.
import {expect} from '@open-wc/testing'
import {claimStorageSlot} from '../../src/core/storage/slot.js'
import {until} from '../shared/until.js'

const base = () => `slot-test-${Math.random().toString(36).slice(2, 10)}`

describe('storage slot', () => {
  it('with Web Locks, a second claim while the first holds the name gets the next one', async () => {
    const name = base()
    const first = await claimStorageSlot('slot-test', name)
    const second = await claimStorageSlot('slot-test', name)
    expect([first.name, second.name]).to.deep.equal([name, `${name}-2`])
    first.release()
    second.release()
  })

  it('a preferred name is taken first when free; a name that is not one of the slots is ignored', async () => {
    const name = base()
    const second = await claimStorageSlot('slot-test', name, `${name}-3`)
    expect(second.name).to.equal(`${name}-3`)
    const first = await claimStorageSlot('slot-test', name, `${name}-3`)
    expect(first.name, 'the preferred name is held for good: after the wait, the first free one').to.equal(name)
    const held = [first, second]
    // The free names, in order: -3 is held.
    const free = [2, 4, 5, 6, 7, 8, 9, 10, 11]
    for (const [i, prefer] of [`${name}-03`, `${name}-1`, `${name}-0`, `${name}-x`, `other-5`, `${name}5`, '', null, undefined].entries()) {
      const slot = await claimStorageSlot('slot-test', name, prefer)
      expect(slot.name, String(prefer)).to.equal(`${name}-${free[i]}`)
      held.push(slot)
    }
    held.forEach(slot => slot.release())
  })

  it('a preferred name let go while the claim waits for it is taken (the page a reload replaces may still hold it)', async () => {
    const name = base()
    const first = await claimStorageSlot('slot-test', name)
    const old = await claimStorageSlot('slot-test', name)
    expect(old.name).to.equal(`${name}-2`)
    const claim = claimStorageSlot('slot-test', name, `${name}-2`)
    await until(async () => (await navigator.locks.query()).pending!.some(l => l.name === `slot-test:${name}-2`), 'the claim to wait for its preferred name')
    old.release()
    const reloaded = await claim
    expect(reloaded.name).to.equal(`${name}-2`)
    first.release()
    reloaded.release()
  })

  it('without Web Locks, every claim takes the base name unguarded, and releasing is harmless', async () => {
    // An own property hides Navigator.prototype's getter; deleting it brings the getter back.
    Object.defineProperty(navigator, 'locks', {value: undefined, configurable: true})
    try {
      const name = base()
      const first = await claimStorageSlot('slot-test', name)
      const second = await claimStorageSlot('slot-test', name)
      expect([first.name, second.name]).to.deep.equal([name, name])
      first.release()
      first.release()
      second.release()
    } finally {
      delete (navigator as {locks?: LockManager}).locks
    }
    expect(navigator.locks).to.exist
  })
})
