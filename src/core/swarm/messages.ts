/**
 * Every encoding the swarm speaks, in one place: the signalling messages it
 * reads from the hub (JSON, webrtc-swarm's shapes) and the identity handshake
 * it runs over the multiplexer (binary). Decoders throw P2PError
 * MALFORMED_MESSAGE on anything malformed; callers count and carry on. The
 * rooms sharing a connection speak their own (room-messages.ts), which only a
 * page with two rooms in one pool loads.
 */
import {P2PError} from '../errors.js'
import {PUBLIC_KEY_BYTES, SIGNATURE_BYTES, sha256} from '../crypto/identity.js'
import {utf8, concat, toHex} from '../bytes.js'
import type {RtcSignal} from './rtc-link.js'

// ---- signalling (hub) -------------------------------------------------------

/** Hub peer ids: random, short, and safe as a hub channel name. */
const PEER_ID = /^[A-Za-z0-9_-]{1,64}$/
const SIGNAL_TYPES = new Set(['offer', 'answer', 'candidate', 'renegotiate', 'transceiverRequest'])
/** An SDP for one data channel is ~1–3 KB; anything near the hub's body limit is hostile. */
const MAX_SDP = 32 * 1024

export type HubMessage =
  | {kind: 'announce', from: string, peers?: number, key?: string}
  | {kind: 'signal', from: string, to?: string, signal: RtcSignal, attempt?: string, answers?: string}
  | {kind: 'busy', from: string, to: string, attempt?: string}

export function isPeerId(id: unknown): id is string {
  return typeof id === 'string' && PEER_ID.test(id)
}

/**
 * `key` (the announcer's public key, hex) and `peers` (how many connections it
 * holds) are additions webrtc-swarm ignores. The key places the announcer on
 * the room's ring (topology.ts); it is a hint, proven only by the handshake.
 */
export function encodeAnnounce(from: string, peers: number, key: string) {
  return {type: 'connect', from, peers, key}
}

const KEY_HEX = /^[0-9a-f]{64}$/

/** A connection attempt's id: random, so signals of an abandoned attempt are told apart. */
const ATTEMPT = /^[0-9a-f]{16}$/

/**
 * "I am full": the answer to an offer that will not be taken, so the offerer
 * frees its slot at once instead of waiting out its connect timeout. Sent only
 * to offers that carried `to` (this kit's peers; webrtc-swarm would not know it).
 * It names the offer's `attempt`, which only the offer's receiver has seen: a
 * busy that does not name the offerer's pending attempt is forged and ignored.
 */
export function encodeBusy(from: string, to: string, attempt: string) {
  return {type: 'busy', from, to, attempt}
}

/**
 * `to` and `attempt` are additions to webrtc-swarm's shape (which ignores
 * them). Swarms of a page share one hub stream, and an event stream does not
 * say which channel a message came on, so a signal names its recipient. Every
 * signal of one RTCPeerConnection carries that connection's `attempt`, so the
 * remote can drop the trickled candidates of an attempt it no longer follows
 * (the offer that lost a glare, a connection replaced) instead of feeding them
 * to the one it does. An answer also names the attempt whose offer it answers
 * (`answers`): the hub may bring it after the offerer gave that attempt up and
 * offered again, and an answer applied to the wrong offer ruins that attempt.
 */
export function encodeSignal(from: string, to: string, signal: RtcSignal, attempt?: string, answers?: string) {
  const out: {from: string, to: string, signal: RtcSignal, attempt?: string, answers?: string} = {from, to, signal}
  if (attempt !== undefined) out.attempt = attempt
  if (answers !== undefined) out.answers = answers
  return out
}

export function decodeHubMessage(data: unknown): HubMessage {
  if (!data || typeof data !== 'object' || Array.isArray(data)) throw P2PError.MALFORMED_MESSAGE('hub message is not an object')
  const m = data as Record<string, unknown>
  if (!isPeerId(m.from)) throw P2PError.MALFORMED_MESSAGE('hub message has no valid from')
  if (m.type === 'connect') {
    const out: HubMessage = {kind: 'announce', from: m.from}
    if (m.peers !== undefined) {
      if (!Number.isSafeInteger(m.peers) || (m.peers as number) < 0) throw P2PError.MALFORMED_MESSAGE('announce has a bad peer count')
      out.peers = m.peers as number
    }
    if (m.key !== undefined) {
      if (typeof m.key !== 'string' || !KEY_HEX.test(m.key)) throw P2PError.MALFORMED_MESSAGE('announce has a bad key')
      out.key = m.key
    }
    return out
  }
  if (m.type === 'busy') {
    if (!isPeerId(m.to)) throw P2PError.MALFORMED_MESSAGE('busy has no valid to')
    if (m.attempt !== undefined && (typeof m.attempt !== 'string' || !ATTEMPT.test(m.attempt))) throw P2PError.MALFORMED_MESSAGE('busy has an invalid attempt')
    return m.attempt === undefined ? {kind: 'busy', from: m.from, to: m.to} : {kind: 'busy', from: m.from, to: m.to, attempt: m.attempt}
  }
  const signal = m.signal as Record<string, unknown> | undefined
  if (!signal || typeof signal !== 'object' || Array.isArray(signal)) throw P2PError.MALFORMED_MESSAGE('hub message is neither an announce nor a signal')
  if (signal.type !== undefined && !SIGNAL_TYPES.has(signal.type as string)) throw P2PError.MALFORMED_MESSAGE('unknown signal type')
  if (signal.sdp !== undefined && (typeof signal.sdp !== 'string' || signal.sdp.length > MAX_SDP)) throw P2PError.MALFORMED_MESSAGE('bad sdp')
  if ((signal.type === 'offer' || signal.type === 'answer') && typeof signal.sdp !== 'string') throw P2PError.MALFORMED_MESSAGE('offer or answer without sdp')
  if (signal.type === undefined && signal.candidate === undefined) throw P2PError.MALFORMED_MESSAGE('signal has neither type nor candidate')
  if (m.to !== undefined && !isPeerId(m.to)) throw P2PError.MALFORMED_MESSAGE('signal has an invalid to')
  if (m.attempt !== undefined && (typeof m.attempt !== 'string' || !ATTEMPT.test(m.attempt))) throw P2PError.MALFORMED_MESSAGE('signal has an invalid attempt')
  if (m.answers !== undefined && (typeof m.answers !== 'string' || !ATTEMPT.test(m.answers))) throw P2PError.MALFORMED_MESSAGE('signal has an invalid answers')
  const out: HubMessage = {kind: 'signal', from: m.from, signal: signal as RtcSignal}
  if (m.to !== undefined) out.to = m.to
  if (m.attempt !== undefined) out.attempt = m.attempt
  if (m.answers !== undefined) out.answers = m.answers
  return out
}

/**
 * The DTLS certificate fingerprint an SDP announces. The identity proof signs
 * both ends' fingerprints, which binds it to this very connection: a hub that
 * relays two connections (man in the middle) cannot forward a proof.
 */
export function sdpFingerprint(sdp: string): string {
  const m = /^a=fingerprint:(\S+) ([0-9A-Fa-f:]+)\s*$/m.exec(sdp)
  return m ? `${m[1].toLowerCase()} ${m[2].toUpperCase()}` : ''
}

/** The ICE username fragment of an SDP (its first `a=ice-ufrag`); an ICE restart changes it. */
export function sdpIceUfrag(sdp: string): string {
  const m = /^a=ice-ufrag:(\S+)\s*$/m.exec(sdp)
  return m ? m[1] : ''
}

// ---- identity handshake (mux channel AUTH_PROTOCOL) -------------------------

export const AUTH_PROTOCOL = 'p2p/auth/1'
export const NONCE_BYTES = 32
const HELLO = 1
const PROOF = 2
const AUTH_VERSION = 1
const DOMAIN = utf8('p2p-elements/auth/v1\0')

export type AuthMessage =
  | {type: 'hello', publicKey: Uint8Array, nonce: Uint8Array}
  | {type: 'proof', signature: Uint8Array}

export function encodeHello(publicKey: Uint8Array, nonce: Uint8Array): Uint8Array {
  return concat([Uint8Array.of(HELLO, AUTH_VERSION), publicKey, nonce])
}

export function encodeProof(signature: Uint8Array): Uint8Array {
  return concat([Uint8Array.of(PROOF), signature])
}

export function decodeAuth(bytes: Uint8Array): AuthMessage {
  if (bytes[0] === HELLO) {
    if (bytes.length !== 2 + PUBLIC_KEY_BYTES + NONCE_BYTES) throw P2PError.MALFORMED_MESSAGE('hello has the wrong size')
    if (bytes[1] !== AUTH_VERSION) throw P2PError.HANDSHAKE(`unsupported auth version ${bytes[1]}`)
    return {type: 'hello', publicKey: bytes.slice(2, 2 + PUBLIC_KEY_BYTES), nonce: bytes.slice(2 + PUBLIC_KEY_BYTES)}
  }
  if (bytes[0] === PROOF) {
    if (bytes.length !== 1 + SIGNATURE_BYTES) throw P2PError.MALFORMED_MESSAGE('proof has the wrong size')
    return {type: 'proof', signature: bytes.slice(1)}
  }
  throw P2PError.MALFORMED_MESSAGE('unknown auth message')
}

/** One end of the handshake: its public key, its nonce and its connection's DTLS fingerprint. */
export interface AuthSide {
  key: Uint8Array
  nonce: Uint8Array
  fingerprint: string
}

/**
 * What a prover signs: both nonces (freshness: no replay), both keys (who to
 * whom), both DTLS fingerprints (this connection and no other). The verifier
 * rebuilds it with the roles swapped.
 */
export function proofTranscript(prover: AuthSide, verifier: AuthSide): Uint8Array {
  return concat([
    DOMAIN, verifier.nonce, prover.nonce, prover.key, verifier.key,
    utf8(prover.fingerprint), Uint8Array.of(0), utf8(verifier.fingerprint),
  ])
}

// ---- rooms sharing a connection (their messages: room-messages.ts) ---------

/** A room's tag: what two pages compare to know they share it, and no one else learns its name from. */
export async function roomTag(room: string): Promise<string> {
  return toHex(await sha256(concat([utf8('p2p-elements/room/v1\0'), utf8(room)])))
}
