// What a page takes from a mirror on the status channel (src/mirror/status-channel.ts):
// parseMirrorStatus keeps a status field by field and refuses anything else, and
// MirrorWatch drops a mirror that sends what is not one, reports it, and hears the
// mirror again when it reconnects. Over in-memory muxes (fake-swarm.ts): no WebRTC.
import {describe, test} from 'node:test'
import assert from 'node:assert/strict'
import {MAX_STATUS_BYTES, MIRROR_STATUS_PROTOCOL, MirrorWatch, parseMirrorStatus} from '../../src/mirror/status-channel.js'
import type {MirrorStatus} from '../../src/mirror/mirror.js'
import type {P2PError} from '../../src/core/errors.js'
import {FakeSwarm, connect} from './fake-swarm.js'
import {isCode} from './helpers.js'
import {until} from '../shared/until.js'

const MIRROR = 'ab'.repeat(32)
const OTHER = 'cd'.repeat(32)

function status(): MirrorStatus {
  return {
    key: MIRROR,
    rooms: [{room: 'team', peers: 2}],
    logs: [{address: 'a'.repeat(64), length: 10, heads: ['b'.repeat(64)], bytes: 1000, peers: 1, remote: 12, behind: 2, received: 10,
      duplicates: 0, paused: false, source: 'control', overQuota: false}],
    files: [{id: 'c'.repeat(64), name: 'notes.txt', size: 300_000, chunks: 2, have: 1, bytes: 262_144, received: 262_144, peers: 1, seeders: 1,
      state: 'downloading', source: 'flag', overQuota: false}],
    control: {address: MIRROR, owners: ['e'.repeat(64)], length: 3, ignored: 1, rejected: 2, refused: [{address: 'f'.repeat(64), kind: 'log', reason: 'over quota'}]},
  }
}

/** `status()` changed by `change` (on a copy), as JSON text. */
function changed(change: (s: Record<string, any>) => void): string {
  const s = structuredClone(status()) as Record<string, any>
  change(s)
  return JSON.stringify(s)
}

const malformed = (json: string, what?: RegExp) => assert.throws(() => parseMirrorStatus(json, MIRROR), isCode('ERR_MALFORMED_MESSAGE', what))

describe('parseMirrorStatus', () => {
  test('takes a status as the mirror sends it, and keeps only the fields it names', () => {
    assert.deepEqual(parseMirrorStatus(JSON.stringify(status()), MIRROR), status())
    const extra = parseMirrorStatus(changed(s => {
      s.script = '<img src=x onerror=alert(1)>'
      s.logs[0].html = '<b>'
      s.control.more = 1
    }), MIRROR)
    assert.deepEqual(extra, status())
    // Nulls where the mirror knows nothing yet.
    const unknown = parseMirrorStatus(changed(s => {
      s.logs[0].remote = null
      Object.assign(s.files[0], {name: null, size: null, chunks: null, state: 'waiting'})
    }), MIRROR)
    assert.equal(unknown.logs[0].remote, null)
    assert.equal(unknown.files[0].name, null)
  })

  test('refuses what is not JSON, not an object, or lacks a part', () => {
    malformed('', /not JSON/)
    malformed('{"key":', /not JSON/)
    malformed('null', /the status is not an object/)
    malformed('[]', /the status is not an object/)
    malformed(changed(s => delete s.logs), /logs is not an array/)
    malformed(changed(s => delete s.files), /files is not an array/)
    malformed(changed(s => delete s.control), /control is not an object/)
    malformed(changed(s => { s.logs = [null] }), /logs\[0\] is not an object/)
    malformed(changed(s => { s.control.refused = {} }), /control\.refused is not an array/)
  })

  test('refuses a status that names another mirror, or none', () => {
    malformed(changed(s => { s.key = OTHER }), /another mirror/)
    malformed(changed(s => { s.key = MIRROR.toUpperCase() }), /key is not 64 hex/)
    malformed(changed(s => delete s.key), /key is not 64 hex/)
  })

  test('refuses fields of the wrong type or out of range', () => {
    malformed(changed(s => { s.logs[0].address = 'not a key' }), /logs\[0\]\.address is not 64 hex/)
    malformed(changed(s => { s.logs[0].heads = ['b'.repeat(63)] }), /logs\[0\]\.heads\[0\] is not 64 hex/)
    malformed(changed(s => { s.logs[0].length = -1 }), /logs\[0\]\.length is not a count/)
    malformed(changed(s => { s.logs[0].behind = 1.5 }), /logs\[0\]\.behind is not a count/)
    malformed(changed(s => { s.logs[0].bytes = 2 ** 60 }), /logs\[0\]\.bytes is not a count/)
    malformed(changed(s => { s.logs[0].length = '10' }), /logs\[0\]\.length is not a count/)
    malformed(changed(s => { s.logs[0].paused = 'no' }), /logs\[0\]\.paused is not a boolean/)
    malformed(changed(s => { s.logs[0].source = 'someone' }), /logs\[0\]\.source is not one of flag, control/)
    malformed(changed(s => { s.files[0].state = 'stolen' }), /files\[0\]\.state is not one of/)
    malformed(changed(s => { s.files[0].name = 42 }), /files\[0\]\.name is not a string/)
    malformed(changed(s => { s.control.owners = ['e'.repeat(64), 7] }), /control\.owners\[1\] is not 64 hex/)
    malformed(changed(s => { s.control.refused[0].kind = 'folder' }), /control\.refused\[0\]\.kind is not one of log, file/)
    malformed(changed(s => { s.rooms[0].peers = null }), /rooms\[0\]\.peers is not a count/)
  })

  test('refuses oversized text: a file name past 255 characters, a reason or a room past 1,024', () => {
    assert.equal(parseMirrorStatus(changed(s => { s.files[0].name = 'n'.repeat(255) }), MIRROR).files[0].name, 'n'.repeat(255))
    malformed(changed(s => { s.files[0].name = 'n'.repeat(256) }), /files\[0\]\.name is not a string of at most 255/)
    malformed(changed(s => { s.control.refused[0].reason = 'r'.repeat(1025) }), /control\.refused\[0\]\.reason is not a string of at most 1024/)
    malformed(changed(s => { s.rooms[0].room = 'r'.repeat(1025) }), /rooms\[0\]\.room is not a string of at most 1024/)
  })
})

describe('MirrorWatch', () => {
  /** A page's swarm and a "mirror" of key MIRROR that answers each watch with the next of `replies`. */
  function pair(replies: Uint8Array[]) {
    const page = new FakeSwarm()
    const mirror = new FakeSwarm()
    const watches: number[] = []
    mirror.on('connect', peer => {
      const channel = peer.channel(MIRROR_STATUS_PROTOCOL, {
        onmessage: bytes => {
          watches.push(bytes.length)
          const reply = replies.shift()
          if (reply) channel.send(reply)
        },
      })
    })
    const link = () => connect(page, 'page'.padEnd(64, '0'), mirror, MIRROR)
    return {page, mirror, watches, link}
  }

  const encode = (text: string) => new TextEncoder().encode(text)

  test('a status past MAX_STATUS_BYTES: ERR_MESSAGE_TOO_LARGE, the mirror dropped; it is heard again once it reconnects', async () => {
    const big = new Uint8Array(MAX_STATUS_BYTES + 1).fill(0x20)
    const {page, watches, link} = pair([big, encode(JSON.stringify(status()))])
    const watch = new MirrorWatch(page, MIRROR)
    const errors: P2PError[] = []
    const connected: boolean[] = []
    watch.on('error', err => errors.push(err))
    watch.on('connected', c => connected.push(c))
    const first = link()
    await until(() => errors.length === 1, 'the oversized status refused')
    assert.equal(errors[0].code, 'ERR_MESSAGE_TOO_LARGE')
    assert.equal(first.atA.destroyed, errors[0])
    assert.equal(watch.status, undefined)
    await until(() => !watch.connected, 'the mirror dropped')

    link()
    await until(() => watch.status !== undefined, 'the status of the reconnected mirror')
    assert.deepEqual(watch.status, status())
    assert.deepEqual(watches, [1, 1])
    assert.deepEqual(connected, [true, false, true])
    watch.close()
  })

  test('garbage, or another mirror\'s status: ERR_MALFORMED_MESSAGE, nothing taken', async () => {
    for (const reply of [encode('not json'), new Uint8Array([0xff, 0xfe]), encode(changed(s => { s.key = OTHER }))]) {
      const {page, link} = pair([reply])
      const watch = new MirrorWatch(page, MIRROR)
      const errors: P2PError[] = []
      watch.on('error', err => errors.push(err))
      const {atA} = link()
      await until(() => errors.length === 1, 'the reply refused')
      assert.equal(errors[0].code, 'ERR_MALFORMED_MESSAGE')
      assert.equal(atA.destroyed, errors[0])
      assert.equal(watch.status, undefined)
      watch.close()
    }
  })

  test('asks only the peer whose key is the mirror\'s', async () => {
    const {page, mirror, link} = pair([encode(JSON.stringify(status()))])
    const stranger = new FakeSwarm()
    const asked: string[] = []
    stranger.on('connect', peer => peer.channel(MIRROR_STATUS_PROTOCOL, {onmessage: () => asked.push('stranger')}))
    const watch = new MirrorWatch(page, MIRROR)
    // The stranger connects first: a watch sent to it would arrive before the mirror's round trip ends.
    connect(page, 'page'.padEnd(64, '0'), stranger, OTHER)
    link()
    await until(() => watch.status !== undefined, 'the mirror\'s status')
    assert.deepEqual(asked, [])
    assert.equal(mirror.peers.length, 1)
    watch.close()
  })

  test('a mirror that is not named by 64 hex characters: ERR_INVALID_ARGUMENT', () => {
    assert.throws(() => new MirrorWatch(new FakeSwarm(), 'mirror'), isCode('ERR_INVALID_ARGUMENT'))
    assert.throws(() => new MirrorWatch(new FakeSwarm(), MIRROR.toUpperCase()), isCode('ERR_INVALID_ARGUMENT'))
  })
})
