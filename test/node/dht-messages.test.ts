// The DHT's wire encodings (src/core/dht/messages.ts, docs/dht.md "Wire format"):
// every message round-trips, and anything but exactly a valid message is a typed
// error, never a partial or a guessed decoding.
import {describe, test} from 'node:test'
import assert from 'node:assert/strict'
import {KeyPairIdentity} from '../../src/core/crypto/seed-identity.js'
import {P2PError} from '../../src/core/errors.js'
import {
  DhtMessageType, MAX_INNER_BYTES, MAX_NODES, MAX_PEERS, MAX_ROUTE, MAX_SIGNAL_BYTES, NONCE_BYTES,
  decodeDhtMessage, encodeAnnounce, encodeFind, encodeFindPeers, encodeNodes, encodePeers, encodePing, encodeRelay, encodeRelayReply, encodeSignal, verifySignal,
  type SignalMessage,
} from '../../src/core/dht/messages.js'
import {ANNOUNCEMENT_BYTES, createAnnouncement, topicHash} from '../../src/core/dht/announcements.js'

const key = (n: number) => new Uint8Array(32).fill(n)

function malformed(bytes: Uint8Array, code = 'ERR_MALFORMED_MESSAGE'): void {
  assert.throws(() => decodeDhtMessage(bytes), (err: unknown) => err instanceof P2PError && err.code === code, `${bytes.length} bytes: ${bytes.slice(0, 8).join(',')}`)
}

describe('dht messages', () => {
  test('FIND, NODES, PING, PONG, RELAY and RELAY_REPLY round-trip', () => {
    assert.deepEqual(decodeDhtMessage(encodeFind(7, key(1))), {type: DhtMessageType.FIND, id: 7, target: key(1)})
    assert.deepEqual(decodeDhtMessage(encodeNodes(0xffffffff, [key(2), key(3)])), {type: DhtMessageType.NODES, id: 0xffffffff, keys: [key(2), key(3)]})
    assert.deepEqual(decodeDhtMessage(encodeNodes(1, [])), {type: DhtMessageType.NODES, id: 1, keys: []})
    assert.deepEqual(decodeDhtMessage(encodePing(9)), {type: DhtMessageType.PING, id: 9})
    assert.deepEqual(decodeDhtMessage(encodePing(9, true)), {type: DhtMessageType.PONG, id: 9})
    const inner = encodeFind(1, key(4))
    assert.deepEqual(decodeDhtMessage(encodeRelay(5, [key(5), key(6)], inner)), {type: DhtMessageType.RELAY, id: 5, route: [key(5), key(6)], inner})
    assert.deepEqual(decodeDhtMessage(encodeRelayReply(5, encodePing(1, true))), {type: DhtMessageType.RELAY_REPLY, id: 5, inner: encodePing(1, true)})
    const longest = encodeRelay(1, Array.from({length: MAX_ROUTE}, (_, i) => key(i)), new Uint8Array(MAX_INNER_BYTES).fill(2))
    assert.equal((decodeDhtMessage(longest) as {inner: Uint8Array}).inner.length, MAX_INNER_BYTES)
  })

  test('a signal is signed by its sender over both keys, the time, the nonce and the signal; any change fails it', async () => {
    const alice = new KeyPairIdentity(new Uint8Array(32).fill(9))
    const nonce = new Uint8Array(NONCE_BYTES).fill(3)
    const offer = JSON.stringify({type: 'offer', sdp: 'v=0\r\n…'})
    const bytes = await encodeSignal(alice, key(8), offer, 1_764_800_000_000, nonce)
    const signal = decodeDhtMessage(bytes) as SignalMessage
    assert.equal(signal.type, DhtMessageType.SIGNAL)
    assert.deepEqual([signal.from, signal.to, signal.time, signal.nonce, signal.signal], [alice.publicKey, key(8), 1_764_800_000_000, nonce, offer])
    assert.equal(await verifySignal(signal), true)
    for (const changed of [{to: key(9)}, {time: signal.time + 1}, {nonce: new Uint8Array(NONCE_BYTES)}, {signal: offer.replace('offer', 'answer')}, {from: key(7)}]) {
      assert.equal(await verifySignal({...signal, ...changed}), false, JSON.stringify(Object.keys(changed)))
    }
    // A byte of the signed part flipped on the wire: it decodes, and fails its signature.
    const flipped = Uint8Array.from(bytes)
    flipped[100] ^= 1
    assert.equal(await verifySignal(decodeDhtMessage(flipped) as SignalMessage), false)
  })

  test('anything but exactly a valid message is ERR_MALFORMED_MESSAGE', async () => {
    malformed(new Uint8Array(0))
    malformed(Uint8Array.of(42, 0, 0, 0, 0), 'ERR_MALFORMED_MESSAGE')
    malformed(Uint8Array.of(DhtMessageType.FIND, 0, 0))
    malformed(encodeFind(1, key(1)).subarray(0, 36))
    malformed(Uint8Array.of(...encodeFind(1, key(1)), 0))
    malformed(Uint8Array.of(...encodePing(1), 0))
    const nodes = encodeNodes(1, [key(1)])
    malformed(nodes.subarray(0, 5))
    malformed(nodes.subarray(0, nodes.length - 1))
    malformed(Uint8Array.of(...nodes, 0))
    const tooMany = encodeNodes(1, Array.from({length: MAX_NODES}, (_, i) => key(i)))
    const seventeen = Uint8Array.of(...tooMany, ...key(99))
    seventeen[5] = MAX_NODES + 1
    malformed(seventeen)
    const relay = encodeRelay(1, [key(1)], encodePing(2))
    const noRoute = Uint8Array.from(relay)
    noRoute[5] = 0
    malformed(noRoute)
    const longRoute = Uint8Array.from(relay)
    longRoute[5] = MAX_ROUTE + 1
    malformed(longRoute)
    malformed(relay.subarray(0, 6 + 32), 'ERR_MALFORMED_MESSAGE')
    malformed(encodeRelayReply(1, encodePing(1)).subarray(0, 5))
    malformed(new Uint8Array(5 + 1 + MAX_ROUTE * 32 + MAX_INNER_BYTES + 1).fill(DhtMessageType.RELAY, 0, 1), 'ERR_MESSAGE_TOO_LARGE')

    const alice = new KeyPairIdentity(new Uint8Array(32).fill(9))
    const signal = await encodeSignal(alice, key(8), '{"type":"answer"}', 1, new Uint8Array(NONCE_BYTES))
    malformed(signal.subarray(0, signal.length - 1))
    malformed(Uint8Array.of(...signal, 0))
    const late = Uint8Array.from(signal)
    late.fill(0xff, 65, 73)
    malformed(late)
    const notUtf8 = Uint8Array.from(signal)
    notUtf8[1 + 64 + 8 + NONCE_BYTES + 2] = 0xff
    malformed(notUtf8)
    const claimsMore = Uint8Array.from(signal)
    new DataView(claimsMore.buffer).setUint16(1 + 64 + 8 + NONCE_BYTES, MAX_SIGNAL_BYTES + 1)
    malformed(claimsMore)
  })

  test('ANNOUNCE, FIND_PEERS and PEERS round-trip; a wrong length or count is malformed', async () => {
    const topic = await topicHash('team')
    const a = await createAnnouncement(new KeyPairIdentity(new Uint8Array(32).fill(5)), topic, 1000)
    const b = await createAnnouncement(new KeyPairIdentity(new Uint8Array(32).fill(6)), topic, 2000)
    assert.deepEqual(decodeDhtMessage(encodeAnnounce(3, a)), {type: DhtMessageType.ANNOUNCE, id: 3, announcement: a})
    assert.deepEqual(decodeDhtMessage(encodeFindPeers(4, topic)), {type: DhtMessageType.FIND_PEERS, id: 4, topic})
    assert.deepEqual(decodeDhtMessage(encodePeers(5, [b, a])), {type: DhtMessageType.PEERS, id: 5, announcements: [b, a]})
    assert.deepEqual(decodeDhtMessage(encodePeers(5, [])), {type: DhtMessageType.PEERS, id: 5, announcements: []})
    malformed(encodeAnnounce(3, a).subarray(0, 5 + ANNOUNCEMENT_BYTES - 1))
    malformed(Uint8Array.of(...encodeFindPeers(4, topic), 0))
    const peers = encodePeers(5, [a])
    malformed(peers.subarray(0, peers.length - 1))
    const over = Uint8Array.from(peers)
    over[5] = MAX_PEERS + 1
    malformed(over)
    assert.throws(() => encodePeers(1, Array.from({length: MAX_PEERS + 1}, () => a)), (err: unknown) => err instanceof P2PError && err.code === 'ERR_INVALID_ARGUMENT')
  })

  test('encoding refuses what no decoder would take: INVALID_ARGUMENT or MESSAGE_TOO_LARGE', async () => {
    const code = (c: string) => (err: unknown) => err instanceof P2PError && err.code === c
    assert.throws(() => encodeFind(-1, key(1)), code('ERR_INVALID_ARGUMENT'))
    assert.throws(() => encodeFind(1, new Uint8Array(31)), code('ERR_INVALID_ARGUMENT'))
    assert.throws(() => encodeNodes(1, Array.from({length: MAX_NODES + 1}, () => key(1))), code('ERR_INVALID_ARGUMENT'))
    assert.throws(() => encodeNodes(1, [new Uint8Array(33)]), code('ERR_INVALID_ARGUMENT'))
    assert.throws(() => encodeRelay(1, [], encodePing(1)), code('ERR_INVALID_ARGUMENT'))
    assert.throws(() => encodeRelay(1, [key(1)], new Uint8Array(0)), code('ERR_INVALID_ARGUMENT'))
    assert.throws(() => encodeRelayReply(1, new Uint8Array(MAX_INNER_BYTES + 1)), code('ERR_INVALID_ARGUMENT'))
    const alice = new KeyPairIdentity(new Uint8Array(32).fill(9))
    await assert.rejects(encodeSignal(alice, key(1), 'x'.repeat(MAX_SIGNAL_BYTES + 1), 1, new Uint8Array(NONCE_BYTES)), code('ERR_MESSAGE_TOO_LARGE'))
    await assert.rejects(encodeSignal(alice, key(1), '{}', 1, new Uint8Array(4)), code('ERR_INVALID_ARGUMENT'))
  })
})
