// The swarm is told about the network (the core touches no DOM): in a page
// <p2p-swarm> passes the window's online/offline events; here, a fake one.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {Swarm} from '../../src/core/swarm/swarm.js'
import {createIdentity} from '../../src/core/crypto/identity.js'
import {FakeNetwork} from './fake-network.js'
import '../shared/node-webrtc.js'

// A hub nobody listens on: the swarm's retries and errors do not matter here.
const base = {room: 'network', hubs: ['http://127.0.0.1:9'], identity: await createIdentity()}

test('a swarm made offline starts paused, follows the network, and lets go of it when destroyed', () => {
  const network = new FakeNetwork(false)
  const swarm = new Swarm({...base, network})
  swarm.on('error', () => {})
  try {
    assert.equal(swarm.stats.offline, true)
    network.set(true)
    assert.equal(swarm.stats.offline, false)
    network.set(false)
    assert.equal(swarm.stats.offline, true)
  } finally {
    swarm.destroy()
  }
  assert.equal(network.listeners.online.size + network.listeners.offline.size, 0)
})

test('without a network status the swarm takes the network as given', () => {
  const swarm = new Swarm(base)
  swarm.on('error', () => {})
  try {
    assert.equal(swarm.stats.offline, false)
  } finally {
    swarm.destroy()
  }
})
