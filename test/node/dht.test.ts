// The DHT node on a swarm's connections (src/core/dht/dht.ts): real muxes over
// in-memory transports (test/node/fake-swarm.ts), a sparse network as browsers'
// budgets make it, lookups that reach nodes through relays, and peers that send
// what no honest node sends.
import {after, describe, test} from 'node:test'
import assert from 'node:assert/strict'
import {createRandom, VirtualClock} from '../../src/core/gossip/simulation.js'
import {KeyPairIdentity} from '../../src/core/crypto/seed-identity.js'
import {fromHex, toHex} from '../../src/core/bytes.js'
import {commonPrefix, compareDistance, nodeIdOf} from '../../src/core/dht/node-id.js'
import {Dht} from '../../src/core/dht/dht.js'
import {
  DHT_PROTOCOL, NONCE_BYTES, encodeAnnounce, encodePut, encodeFind, encodeNodes, encodeRelay, encodeSignal, decodeDhtMessage, DhtMessageType,
} from '../../src/core/dht/messages.js'
import {fromUtf8, randomBytes, utf8} from '../../src/core/bytes.js'
import {createRecord} from '../../src/core/dht/records.js'
import {createAnnouncement, topicHash} from '../../src/core/dht/announcements.js'
import {FakeSwarm, connect, type FakePeer} from './fake-swarm.js'
import {until, untilValue} from '../shared/until.js'

interface Node {
  key: string
  identity: KeyPairIdentity
  id: Uint8Array
  swarm: FakeSwarm
  dht: Dht
}

const dhts: Dht[] = []
after(() => {
  for (const dht of dhts) dht.close()
})

async function makeNode(seed: number, options: Partial<ConstructorParameters<typeof Dht>[0]> = {}): Promise<Node> {
  const identity = new KeyPairIdentity(new Uint8Array(32).fill(seed % 256).map((b, i) => i === 0 ? seed >> 8 : b))
  const key = toHex(identity.publicKey)
  const swarm = new FakeSwarm().signalsAs(key)
  const dht = new Dht({swarm, publicKey: key, identity, connector: swarm, ...options})
  dhts.push(dht)
  await dht.ready
  return {key, identity, id: await nodeIdOf(fromHex(key)), swarm, dht}
}

/**
 * n nodes connected as the DHT's bucket upkeep leaves them (that upkeep, opening
 * connections through relayed signalling, is the next part to build): each node
 * linked to the node nearest to it in each of its non-empty buckets, and to its
 * `nearest` nearest nodes. Log2 n + `nearest` links or so each: what a browser's
 * budget allows, where a random graph of that degree would not route.
 */
async function network(n: number, nearest: number, seed: number): Promise<Node[]> {
  const nodes = await Promise.all(Array.from({length: n}, (_, i) => makeNode(seed * 1000 + i + 1)))
  const linked = new Set<string>()
  const link = (a: Node, b: Node): void => {
    const pair = [a.key, b.key].sort().join()
    if (a === b || linked.has(pair)) return
    linked.add(pair)
    connect(a.swarm, a.key, b.swarm, b.key)
  }
  for (const node of nodes) {
    const others = nodes.filter(o => o !== node).sort((a, b) => compareDistance(node.id, a.id, b.id))
    for (const near of others.slice(0, nearest)) link(node, near)
    const buckets = new Map<number, Node>()
    for (const other of others) if (!buckets.has(commonPrefix(node.id, other.id))) buckets.set(commonPrefix(node.id, other.id), other)
    for (const other of buckets.values()) link(node, other)
  }
  await until(() => nodes.every(node => node.dht.table.size === node.swarm.peers.length), 'every table holds its connected peers')
  return nodes
}

describe('DHT on a swarm', () => {
  test('60 nodes linked as bucket upkeep leaves them: lookups through relays find the k closest of the whole network', async () => {
    const nodes = await network(60, 3, 3)
    const degrees = nodes.map(n => n.swarm.peers.length)
    assert.ok(Math.max(...degrees) < 16, `degrees ${Math.min(...degrees)} to ${Math.max(...degrees)}`)
    const random = createRandom(4)
    for (let i = 0; i < 20; i++) {
      const from = nodes[Math.floor(random() * nodes.length)]
      const target = Uint8Array.from({length: 32}, () => Math.floor(random() * 256))
      const result = await from.dht.lookup(target)
      const truth = nodes.filter(n => n !== from).sort((a, b) => compareDistance(target, a.id, b.id)).slice(0, 8).map(n => n.key)
      assert.deepEqual(result.closest.map(c => c.key), truth, `lookup ${i} from ${from.key.slice(0, 8)}`)
      assert.equal(result.failed, 0)
      // Each result names the route it was reached by: connected peers none, the others through peers.
      for (const contact of result.closest) assert.equal(contact.via.length === 0, from.swarm.peers.some(p => p.publicKey === contact.key))
      // The route answers a ping.
      const far = result.closest.find(c => c.via.length > 0)
      if (far) assert.ok(await from.dht.ping(far.key, far.via) >= 0)
    }
    const relayed = nodes.reduce((n, node) => n + node.dht.stats.relayed, 0)
    assert.ok(relayed > 0, 'lookups crossed relays')
    assert.equal(nodes.reduce((n, node) => n + node.dht.stats.strikes, 0), 0, 'honest nodes strike no one')
  })

  test('a peer that sends garbage, unsolicited answers or routes that do not start at its peer is struck and, at the limit, dropped; the others are still served', async () => {
    const [a, b] = await Promise.all([makeNode(901, {maxStrikes: 3}), makeNode(902)])
    const hostileKey = toHex(new KeyPairIdentity(new Uint8Array(32).fill(77)).publicKey)
    const hostile = new FakeSwarm()
    connect(b.swarm, b.key, a.swarm, a.key)
    // hostileEnd is the hostile side's end of the connection, aEnd a's.
    const {atA: hostileEnd, atB: aEnd} = connect(hostile, hostileKey, a.swarm, a.key) as {atA: FakePeer, atB: FakePeer}
    await until(() => a.dht.table.size === 2, 'a knows b and the hostile peer')
    const answers: Uint8Array[] = []
    const raw = hostileEnd.channel(DHT_PROTOCOL, {onmessage: bytes => answers.push(bytes)})
    // An honest question first: answered with a's other peer, b.
    raw.send(encodeFind(1, new Uint8Array(32)))
    await until(() => answers.length === 1, 'the FIND answered')
    const nodes = decodeDhtMessage(answers[0])
    assert.equal(nodes.type, DhtMessageType.NODES)
    assert.deepEqual((nodes as {keys: Uint8Array[]}).keys.map(toHex), [b.key])
    raw.send(Uint8Array.of(99, 1, 2))
    raw.send(encodeNodes(12345, []))
    await until(() => a.dht.stats.strikes === 2, 'two strikes')
    assert.equal(aEnd.destroyed, null, 'still connected under the limit')
    raw.send(encodeRelay(2, [fromHex(b.key)], encodeFind(2, new Uint8Array(32))))
    await until(() => aEnd.destroyed !== null, 'dropped at the third')
    assert.equal((aEnd.destroyed as {code?: string} | null | undefined)?.code, 'ERR_PEER_MISBEHAVING')
    // b is still served by a.
    assert.ok(await b.dht.ping(a.key) >= 0)
  })

  test('topics: nodes announce at the closest nodes to the topic, another node finds each of them, checked; a forged announcement is refused and struck', async () => {
    const nodes = await network(30, 3, 6)
    const topic = await topicHash('team')
    const announcers = nodes.slice(0, 4)
    for (const node of announcers) {
      const {stored} = await node.dht.announce(topic)
      assert.equal(stored, 8, `${node.key.slice(0, 8)}'s announcement taken by each of the 8 closest`)
    }
    const seeker = nodes[20]
    const found = await seeker.dht.findPeers(topic)
    assert.deepEqual(found.map(a => toHex(a.key)).sort(), announcers.map(n => n.key).sort())
    assert.deepEqual(await seeker.dht.findPeers(await topicHash('nobody')), [])

    // A forged announcement (another key's, signed by the sender) sent straight to a node: refused and struck.
    const target = nodes[21]
    const hostile = new FakeSwarm()
    const hostileKey = toHex(new KeyPairIdentity(new Uint8Array(32).fill(79)).publicKey)
    const {atA: hostileEnd} = connect(hostile, hostileKey, target.swarm, target.key)
    const answers: Uint8Array[] = []
    const raw = hostileEnd.channel(DHT_PROTOCOL, {onmessage: bytes => answers.push(bytes)})
    const honest = await createAnnouncement(nodes[22].identity, topic, Date.now())
    const forged = {...honest, key: nodes[23].identity.publicKey}
    raw.send(encodeAnnounce(1, forged))
    await until(() => answers.length === 1, 'the ANNOUNCE answered')
    const peers = decodeDhtMessage(answers[0])
    assert.equal(peers.type, DhtMessageType.PEERS)
    assert.ok(!(peers as {announcements: Array<{key: Uint8Array}>}).announcements.some(a => toHex(a.key) === nodes[23].key), 'the forgery was not kept')
    assert.equal(target.dht.stats.strikes, 1)
  })

  test('records: put at the k closest nodes, got from another node at the highest sequence; a lower one is refused and the newer named; a forged record sent directly is struck', async () => {
    const nodes = await network(30, 3, 8)
    const writer = nodes[2]
    const salt = utf8('status')
    const first = await createRecord(writer.identity, {salt, seq: 1, value: utf8('away')})
    assert.deepEqual(await writer.dht.put(first), {stored: 8, newer: null})
    const reader = nodes[25]
    assert.equal(fromUtf8((await reader.dht.get(writer.identity.publicKey, salt))!.value), 'away')
    const second = await createRecord(writer.identity, {salt, seq: 2, value: utf8('here')})
    assert.equal((await writer.dht.put(second)).stored, 8)
    assert.equal(fromUtf8((await reader.dht.get(writer.identity.publicKey, salt))!.value), 'here')
    // A replay of the older record: refused by every node, which answers with the newer.
    const replay = await nodes[9].dht.put(first)
    assert.equal(replay.stored, 0)
    assert.equal(replay.newer?.seq, 2)
    assert.equal(await reader.dht.get(writer.identity.publicKey, utf8('nothing here')), null)

    // A record claiming the writer's key, signed by another, sent straight to a node: refused and struck.
    const target = nodes[21]
    const hostileKey = toHex(new KeyPairIdentity(new Uint8Array(32).fill(86)).publicKey)
    const {atA: hostileEnd} = connect(new FakeSwarm(), hostileKey, target.swarm, target.key)
    const answers: Uint8Array[] = []
    const raw = hostileEnd.channel(DHT_PROTOCOL, {onmessage: bytes => answers.push(bytes)})
    const forged = {...await createRecord(nodes[22].identity, {salt, seq: 99, value: utf8('forged')}), key: writer.identity.publicKey}
    raw.send(encodePut(1, forged))
    await until(() => answers.length === 1, 'the PUT answered')
    const value = decodeDhtMessage(answers[0])
    assert.equal(value.type, DhtMessageType.VALUE)
    assert.notEqual((value as {record: {seq: number} | null}).record?.seq, 99)
    assert.equal(target.dht.stats.strikes, 1)
    assert.equal(fromUtf8((await reader.dht.get(writer.identity.publicKey, salt))!.value), 'here')
  })

  test('a peer that leaves leaves the table, and requests waiting on it fail at once', async () => {
    const [a, b] = await Promise.all([makeNode(921), makeNode(922)])
    const {atA} = connect(a.swarm, a.key, b.swarm, b.key)
    await until(() => a.dht.table.size === 1 && b.dht.table.size === 1, 'each knows the other')
    b.dht.close()
    // b no longer answers: a ping waits, then fails when the connection goes.
    const ping = a.dht.ping(b.key)
    atA.destroy()
    await assert.rejects(ping, (err: unknown) => (err as {code?: string}).code === 'ERR_CONNECTION_CLOSED')
    await until(() => a.dht.table.size === 0 && a.dht.peers === 0, 'b gone from a\'s table')
  })

  test('a request fails once the round trips answers showed have passed (RFC 6298, at least 1 s a hop), not the whole timeout; before any answer, at the timeout', async () => {
    const clock = new VirtualClock()
    const [a, b] = await Promise.all([makeNode(981, {clock, timeout: 5_000}), makeNode(982)])
    // c is connected but runs no DHT: what a sends it waits there unread, as with a tab that hangs.
    const c = {key: toHex(new KeyPairIdentity(new Uint8Array(32).fill(83)).publicKey), swarm: new FakeSwarm()}
    connect(a.swarm, a.key, b.swarm, b.key)
    connect(a.swarm, a.key, c.swarm, c.key)
    await until(() => a.dht.table.size === 2, 'a knows both')
    const settle = async () => {
      for (let i = 0; i < 5; i++) await new Promise(resolve => setImmediate(resolve))
    }
    /** Pings c (which no longer answers) and advances the clock: whether it failed at `before` ms, and at `at`. */
    const failsAt = async (before: number, at: number) => {
      let outcome = 'waiting'
      void a.dht.ping(c.key).then(() => { outcome = 'answered' }, (err: {code?: string}) => { outcome = err.code ?? 'error' })
      await settle()
      clock.advance(before)
      await settle()
      const early = outcome
      clock.advance(at - before)
      await settle()
      return [early, outcome]
    }
    // No answer yet: nothing is known of the round trip, and the timeout holds.
    assert.deepEqual(await failsAt(4_999, 5_000), ['waiting', 'ERR_PEER_TIMEOUT'])
    // b answers at once (on this clock): a hop takes next to nothing, and a silent node is given up after the floor.
    await a.dht.ping(b.key)
    assert.deepEqual(await failsAt(999, 1_000), ['waiting', 'ERR_PEER_TIMEOUT'])
  })

  test('a connected peer a full bucket turned away takes the place of one that leaves', async () => {
    const a = await makeNode(971, {k: 1})
    const others = await Promise.all(Array.from({length: 8}, (_, i) => makeNode(972 + i)))
    const links = new Map(others.map(o => [o.key, connect(a.swarm, a.key, o.swarm, o.key).atA]))
    const bucketOf = (o: Node) => commonPrefix(a.id, o.id)
    const buckets = new Set(others.map(bucketOf))
    await until(() => a.dht.peers === 8 && a.dht.table.size === buckets.size, 'one contact a bucket')
    const crowded = [...buckets].find(b => others.filter(o => bucketOf(o) === b).length > 1)!
    const held = a.dht.table.contacts().find(c => commonPrefix(a.id, c.id) === crowded)!
    links.get(held.key)!.destroy()
    await until(() => a.dht.table.contacts().some(c => commonPrefix(a.id, c.id) === crowded && c.key !== held.key), 'another peer of that bucket in its place')
    assert.equal(a.dht.table.size, buckets.size)
  })

  test('relays over a source\'s rate are refused and struck', async () => {
    const [a, b] = await Promise.all([makeNode(911, {relayRate: 1, relayBurst: 2, maxStrikes: 100}), makeNode(912)])
    connect(a.swarm, a.key, b.swarm, b.key)
    const hostileKey = toHex(new KeyPairIdentity(new Uint8Array(32).fill(78)).publicKey)
    const hostile = new FakeSwarm()
    const {atA: hostileEnd} = connect(hostile, hostileKey, a.swarm, a.key)
    await until(() => a.dht.table.size === 2, 'a knows both')
    const replies: Uint8Array[] = []
    const raw = hostileEnd.channel(DHT_PROTOCOL, {onmessage: bytes => replies.push(bytes)})
    for (let i = 0; i < 10; i++) raw.send(encodeRelay(100 + i, [fromHex(a.key), fromHex(b.key)], encodeFind(i, new Uint8Array(32))))
    await until(() => a.dht.stats.relayed + a.dht.stats.refused === 10, 'every relay relayed or refused')
    assert.equal(a.dht.stats.relayed, 2, 'the burst')
    assert.equal(a.dht.stats.refused, 8)
    assert.equal(a.dht.stats.strikes, 4, 'a strike for every burst (2) refused')
    await until(() => replies.length === 2, 'the two relayed are answered through a')
    for (const reply of replies) assert.equal(decodeDhtMessage(reply).type, DhtMessageType.RELAY_REPLY)
  })

  test('a peer flooding requests: answered up to its burst, then refused, struck for each burst refused, and dropped at the limit; the others are still served', async () => {
    const [a, b] = await Promise.all([makeNode(961, {requestRate: 0.01, requestBurst: 10, maxStrikes: 5}), makeNode(962)])
    connect(a.swarm, a.key, b.swarm, b.key)
    const hostileKey = toHex(new KeyPairIdentity(new Uint8Array(32).fill(85)).publicKey)
    const {atA: hostileEnd, atB: aEnd} = connect(new FakeSwarm(), hostileKey, a.swarm, a.key)
    await until(() => a.dht.table.size === 2, 'a knows both')
    const answers: Uint8Array[] = []
    const raw = hostileEnd.channel(DHT_PROTOCOL, {onmessage: bytes => answers.push(bytes)})
    for (let i = 0; i < 10; i++) raw.send(encodeFind(i, new Uint8Array(32)))
    await until(() => answers.length === 10, 'the burst answered')
    assert.ok(answers.every(bytes => decodeDhtMessage(bytes).type === DhtMessageType.NODES))
    for (let i = 10; i < 200; i++) raw.send(encodeFind(i, new Uint8Array(32)))
    await until(() => aEnd.destroyed !== null, 'the flooding peer dropped')
    assert.equal((aEnd.destroyed as {code?: string} | null | undefined)?.code, 'ERR_PEER_MISBEHAVING')
    // A strike for every burst (10) refused: dropped at the fifth.
    assert.equal(a.dht.stats.limited, 50)
    assert.ok(await b.dht.ping(a.key) >= 0)
  })

  test('signalling through the DHT: a node connects to one a lookup found, the offer and answer signed and carried along the route', async () => {
    const nodes = await network(30, 3, 7)
    const from = nodes[5]
    const {closest} = await from.dht.lookup(nodes[17].id)
    const far = closest.find(c => c.via.length > 0)!
    assert.ok(far, 'the lookup found nodes through relays')
    const to = nodes.find(n => n.key === far.key)!
    const relayedBefore = nodes.reduce((n, node) => n + node.dht.stats.relayed, 0)
    assert.equal(await from.dht.connect(far.key, far.via), true)
    assert.ok(from.swarm.peers.some(p => p.publicKey === to.key) && to.swarm.peers.some(p => p.publicKey === from.key))
    await until(() => from.dht.table.has(to.id) && to.dht.table.has(from.id), 'each holds the other in its table')
    assert.equal(from.dht.stats.dialled, 1)
    assert.equal(to.dht.stats.answered, 1)
    assert.deepEqual(to.swarm.signalsIn.map(s => s.type), ['offer'])
    assert.deepEqual(from.swarm.signalsIn.map(s => s.type), ['answer'])
    // The ping, the offer and the answer went through relays; connected now, another connect is at once true.
    assert.ok(nodes.reduce((n, node) => n + node.dht.stats.relayed, 0) >= relayedBefore + 3 * far.via.length)
    assert.equal(await from.dht.connect(far.key, far.via), true)
    assert.equal(from.swarm.signalledMade, 1)
    assert.equal(nodes.reduce((n, node) => n + node.dht.stats.strikes + node.dht.stats.signalsRefused + node.dht.stats.forged, 0), 0)
  })

  /** a - y - b in a line: a and b are not connected, y is connected to both. */
  async function line(seed: number, options: Partial<ConstructorParameters<typeof Dht>[0]> = {}): Promise<{a: Node, y: Node, b: Node}> {
    const [a, y, b] = await Promise.all([makeNode(seed, options), makeNode(seed + 1), makeNode(seed + 2)])
    connect(a.swarm, a.key, y.swarm, y.key)
    connect(y.swarm, y.key, b.swarm, b.key)
    await until(() => y.dht.table.size === 2 && a.dht.table.size === 1 && b.dht.table.size === 1, 'the line in every table')
    return {a, y, b}
  }

  test('both ends connecting to each other at once: one connection, the lower key\'s offer stands', async () => {
    const {a, y, b} = await line(931)
    const [ab, ba] = await Promise.all([a.dht.connect(b.key, [y.key]), b.dht.connect(a.key, [y.key])])
    assert.deepEqual([ab, ba], [true, true])
    assert.equal(a.swarm.peers.filter(p => p.publicKey === b.key).length, 1)
    assert.equal(b.swarm.peers.filter(p => p.publicKey === a.key).length, 1)
    const lower = a.key < b.key ? a : b
    const higher = lower === a ? b : a
    // The higher key answered the lower key's offer; its own was refused or given up.
    assert.deepEqual(higher.swarm.signalsIn.filter(s => s.type === 'offer').length, 1)
    assert.deepEqual(lower.swarm.signalsIn.filter(s => s.type === 'answer').length, 1)
  })

  test('a node with no room refuses the offer, and the attempt ends false; a route that does not answer costs no connection', async () => {
    const {a, y, b} = await line(941, {timeout: 300})
    b.swarm.maxPeers = 1
    assert.equal(await a.dht.connect(b.key, [y.key]), false)
    assert.equal(b.dht.stats.signalsRefused, 1)
    assert.equal(a.swarm.peers.length, 1)
    const nobody = toHex(new KeyPairIdentity(new Uint8Array(32).fill(81)).publicKey)
    const made = a.swarm.signalledMade
    await assert.rejects(a.dht.connect(nobody, [y.key]), (err: unknown) => (err as {code?: string}).code === 'ERR_PEER_TIMEOUT')
    assert.equal(a.swarm.signalledMade, made, 'no connection made for a route that did not answer')
    await assert.rejects(a.dht.connect(b.key, []), (err: unknown) => (err as {code?: string}).code === 'ERR_INVALID_ARGUMENT')
  })

  test('hostile signals: forged, replayed, stale, for another node, with a false route back, or sent outside a RELAY are refused with no connection made; honest signalling goes on', async () => {
    const {a, y, b} = await line(951)
    const hostileIdentity = new KeyPairIdentity(new Uint8Array(32).fill(83))
    const hostileKey = toHex(hostileIdentity.publicKey)
    const hostile = new FakeSwarm()
    const {atA: hostileEnd} = connect(hostile, hostileKey, b.swarm, b.key)
    await until(() => b.dht.table.size === 2, 'b knows the hostile peer')
    const answers: Array<{id: number, taken: boolean}> = []
    const raw = hostileEnd.channel(DHT_PROTOCOL, {onmessage: bytes => {
      const reply = decodeDhtMessage(bytes)
      if (reply.type !== DhtMessageType.RELAY_REPLY) return
      const inner = decodeDhtMessage(reply.inner) as {type: number, taken: boolean}
      assert.equal(inner.type, DhtMessageType.SIGNALLED)
      answers.push({id: reply.id, taken: inner.taken})
    }})
    // The hostile peer relays signals to b (a route of one key: b), as a relay of a's would.
    const offer = (back: string[]) => JSON.stringify({signal: {type: 'offer', sdp: 'x'}, back})
    const relay = (id: number, signal: Uint8Array) => raw.send(encodeRelay(id, [fromHex(b.key)], signal))
    const sent = async (id: number, signal: Uint8Array) => {
      relay(id, signal)
      return (await untilValue(() => answers.find(x => x.id === id), `the answer to ${id}`)).taken
    }
    // Signed by the hostile key, claiming to be a's: the signature does not hold.
    const forged = await encodeSignal(hostileIdentity, fromHex(b.key), offer([hostileKey, a.key]), Date.now(), randomBytes(NONCE_BYTES))
    forged.set(fromHex(a.key), 1)
    assert.equal(await sent(1, forged), false)
    assert.equal(b.dht.stats.forged, 1)
    // A signal of a key the hostile peer holds, taken once; the same bytes again are a replay.
    const other = new KeyPairIdentity(new Uint8Array(32).fill(84))
    const otherKey = toHex(other.publicKey)
    const valid = await encodeSignal(other, fromHex(b.key), offer([hostileKey, otherKey]), Date.now(), randomBytes(NONCE_BYTES))
    assert.equal(await sent(2, valid), true)
    assert.equal(await sent(3, valid), false)
    assert.equal(b.dht.stats.replays, 1)
    // Too old, for another node, a route back that does not start at the peer it came from, a payload that is not one.
    const old = await encodeSignal(other, fromHex(b.key), offer([hostileKey, otherKey]), Date.now() - 3 * 60_000, randomBytes(NONCE_BYTES))
    const elsewhere = await encodeSignal(other, fromHex(a.key), offer([hostileKey, otherKey]), Date.now(), randomBytes(NONCE_BYTES))
    const falseRoute = await encodeSignal(other, fromHex(b.key), offer([y.key, otherKey]), Date.now(), randomBytes(NONCE_BYTES))
    const junk = await encodeSignal(other, fromHex(b.key), '{"signal": 1}', Date.now(), randomBytes(NONCE_BYTES))
    for (const [i, signal] of [old, elsewhere, falseRoute, junk].entries()) assert.equal(await sent(10 + i, signal), false)
    assert.equal(b.dht.stats.signalsRefused, 4)
    // Outside a RELAY, a signal is what no honest node sends: a strike.
    raw.send(valid)
    await until(() => b.dht.stats.strikes === 1, 'struck')
    assert.equal(b.swarm.signalledMade, 1, 'only the one valid offer opened a connection')
    // a and b connect through y all the same.
    assert.equal(await a.dht.connect(b.key, [y.key]), true)
  })
})
