// Topic announcements (src/core/dht/announcements.ts): signed by the announcer,
// checked by the node that stores them and by whoever reads them; forged, stale,
// future-dated and replayed-older ones refused; bounded per topic and in all.
import {describe, test} from 'node:test'
import assert from 'node:assert/strict'
import {KeyPairIdentity} from '../../src/core/crypto/seed-identity.js'
import {P2PError} from '../../src/core/errors.js'
import {
  ANNOUNCEMENT_BYTES, ANNOUNCE_TTL, CLOCK_SKEW, AnnouncementStore, createAnnouncement, decodeAnnouncement, encodeAnnouncement, topicHash, verifyAnnouncement,
} from '../../src/core/dht/announcements.js'

const T0 = 1_764_800_000_000
const who = (n: number) => new KeyPairIdentity(new Uint8Array(32).fill(n))

describe('dht announcements', () => {
  test('signed over the topic, the key and the time; they round-trip on the wire and any change fails them', async () => {
    const topic = await topicHash('team')
    assert.notDeepEqual(topic, await topicHash('team2'))
    const a = await createAnnouncement(who(1), topic, T0)
    const bytes = encodeAnnouncement(a)
    assert.equal(bytes.length, ANNOUNCEMENT_BYTES)
    assert.deepEqual(decodeAnnouncement(bytes), a)
    assert.equal(await verifyAnnouncement(a), true)
    assert.equal(await verifyAnnouncement({...a, time: T0 + 1}), false)
    assert.equal(await verifyAnnouncement({...a, topic: await topicHash('other')}), false)
    assert.equal(await verifyAnnouncement({...a, key: who(2).publicKey}), false)
    const malformed = (b: Uint8Array) => assert.throws(() => decodeAnnouncement(b), (err: unknown) => err instanceof P2PError && err.code === 'ERR_MALFORMED_MESSAGE')
    malformed(bytes.subarray(1))
    malformed(Uint8Array.of(...bytes, 0))
    const late = Uint8Array.from(bytes)
    late.fill(0xff, 64, 72)
    malformed(late)
  })

  test('a store takes current, well-signed announcements, one per key, the newest; it refuses forged, stale, future and older ones', async () => {
    let now = T0
    const store = new AnnouncementStore({now: () => now})
    const topic = await topicHash('team')
    const first = await createAnnouncement(who(1), topic, T0 - 1000)
    assert.equal(await store.put(first), true)
    assert.equal(await store.put(first), true, 'the same again: kept, once')
    assert.equal(store.size, 1)
    assert.equal(await store.put({...first, time: T0}), 'bad signature', 'a changed time without a new signature')
    assert.equal(await store.put(await createAnnouncement(who(1), topic, T0 - 2000)), 'older than the one held')
    assert.equal(await store.put(await createAnnouncement(who(2), topic, T0 + CLOCK_SKEW + 1)), 'from the future')
    assert.equal(await store.put(await createAnnouncement(who(3), topic, T0 - ANNOUNCE_TTL)), 'expired')
    const renewed = await createAnnouncement(who(1), topic, T0)
    assert.equal(await store.put(renewed), true)
    assert.equal(await store.put(await createAnnouncement(who(2), topic, T0 - 10)), true)
    assert.deepEqual(store.get(topic).map(a => a.key), [who(1).publicKey, who(2).publicKey], 'newest first')
    assert.deepEqual(store.get(await topicHash('other')), [])
    // Time passes: what was not renewed goes.
    now = T0 - 10 + ANNOUNCE_TTL
    assert.deepEqual(store.get(topic).map(a => a.key), [who(1).publicKey])
    now = T0 + ANNOUNCE_TTL
    assert.equal(store.size, 0)
  })

  test('bounded: per topic the oldest announcer makes room for a newer one; in all, a full store refuses', async () => {
    const now = T0
    const store = new AnnouncementStore({now: () => now, perTopic: 2, max: 3})
    const [one, two] = [await topicHash('one'), await topicHash('two')]
    assert.equal(await store.put(await createAnnouncement(who(1), one, T0 - 300)), true)
    assert.equal(await store.put(await createAnnouncement(who(2), one, T0 - 200)), true)
    assert.equal(await store.put(await createAnnouncement(who(3), one, T0 - 400)), 'full', 'older than every announcer held')
    assert.equal(await store.put(await createAnnouncement(who(4), one, T0 - 100)), true, 'newer: the oldest goes')
    assert.deepEqual(store.get(one).map(a => a.key), [who(4).publicKey, who(2).publicKey])
    assert.equal(await store.put(await createAnnouncement(who(5), two, T0)), true)
    assert.equal(await store.put(await createAnnouncement(who(6), two, T0)), 'full', 'three held in all')
    assert.equal(store.size, 3)
  })
})
