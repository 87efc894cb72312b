/** Byte helpers that behave the same in Chromium and Node (no Buffer in core). */

const encoder = new TextEncoder()
const decoder = new TextDecoder('utf-8', {fatal: true})

export function utf8(text: string): Uint8Array {
  return encoder.encode(text)
}

/** Decodes UTF-8; throws on invalid sequences (peer input must not be silently mangled). */
export function fromUtf8(bytes: Uint8Array): string {
  return decoder.decode(bytes)
}

export function randomBytes(n: number): Uint8Array {
  const out = new Uint8Array(n)
  globalThis.crypto.getRandomValues(out)
  return out
}

const HEX = encoder.encode('0123456789abcdef')

/**
 * Lowercase hex, as one flat string: built with `+=` it was a chain of 2-character
 * pieces that every long-lived key (a cache's, a map's) kept, about 8× its size
 * (a log store's recent-entries cache: 26 MB of a mirror's heap instead of 3).
 */
export function toHex(bytes: Uint8Array): string {
  const out = new Uint8Array(bytes.length * 2)
  for (let i = 0; i < bytes.length; i++) {
    out[2 * i] = HEX[bytes[i] >> 4]
    out[2 * i + 1] = HEX[bytes[i] & 15]
  }
  return decoder.decode(out)
}

export function fromHex(hex: string): Uint8Array {
  if (hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) throw new TypeError('invalid hex string')
  const out = new Uint8Array(hex.length / 2)
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16)
  return out
}

export function toBase64(bytes: Uint8Array): string {
  let bin = ''
  for (let i = 0; i < bytes.length; i += 0x8000) {
    bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000))
  }
  return btoa(bin)
}

export function fromBase64(text: string): Uint8Array {
  const bin = atob(text)
  const out = new Uint8Array(bin.length)
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i)
  return out
}

export function concat(parts: Uint8Array[]): Uint8Array {
  let size = 0
  for (const p of parts) size += p.length
  const out = new Uint8Array(size)
  let offset = 0
  for (const p of parts) {
    out.set(p, offset)
    offset += p.length
  }
  return out
}

export function equal(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  let diff = 0
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i]
  return diff === 0
}
