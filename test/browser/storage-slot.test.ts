// A tab's storage slot (a file drop's database, the page identity), with Web Locks and
// with them forced away (an insecure context has none): the fallback takes the base name
// unguarded rather than failing.
import {expect} from '@open-wc/testing'
import {claimStorageSlot} from '../../src/core/storage/slot.js'

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
