import {fromHex, toHex} from '../bytes.js'
import {sha512} from './sha512.js'

/**
 * The Ed25519 public key of a 32-byte seed (RFC 8032, section 5.1.5), synchronous.
 *
 * WebCrypto has no synchronous call, yet an identity's public key is read as
 * soon as it is made (a swarm names itself by it in its constructor). Only
 * signing and verifying need a full Ed25519, and those are async: WebCrypto,
 * or tweetnacl loaded on demand (identity.ts).
 *
 * BigInt arithmetic is neither fast nor constant-time. Neither matters here: a
 * key is derived once per identity, locally, so no peer can time it.
 */

const P = 2n ** 255n - 19n

const mod = (x: bigint) => (x % P + P) % P

function pow(base: bigint, exponent: bigint): bigint {
  let result = 1n
  for (base = mod(base); exponent > 0n; exponent >>= 1n) {
    if (exponent & 1n) result = result * base % P
    base = base * base % P
  }
  return result
}

const inverse = (x: bigint) => pow(x, P - 2n)

/** A point in extended coordinates (X, Y, Z, T) with x = X/Z, y = Y/Z, xy = T/Z. */
type Point = [bigint, bigint, bigint, bigint]

/** Point addition (RFC 8032, section 5.1.4); complete, so it doubles too. */
function add([x1, y1, z1, t1]: Point, [x2, y2, z2, t2]: Point, d2: bigint): Point {
  const a = (y1 - x1) * (y2 - x2) % P
  const b = (y1 + x1) * (y2 + x2) % P
  const c = t1 * d2 % P * t2 % P
  const d = z1 * 2n * z2 % P
  const e = b - a
  const f = d - c
  const g = d + c
  const h = b + a
  return [e * f % P, g * h % P, f * g % P, e * h % P]
}

let curve: {d2: bigint, base: Point} | undefined

/** 2d and the base point, worked out on first use (most of a derivation's time otherwise). */
function curveConstants(): {d2: bigint, base: Point} {
  if (curve) return curve
  const d = mod(-121665n * inverse(121666n))
  // The base point: y = 4/5 and the even x (section 5.1), recovered as in section 5.1.3.
  const y = 4n * inverse(5n) % P
  const xx = mod((y * y - 1n) * inverse(d * y * y + 1n))
  let x = pow(xx, (P + 3n) / 8n)
  if ((x * x - xx) % P !== 0n) x = x * pow(2n, (P - 1n) / 4n) % P
  if (x & 1n) x = P - x
  curve = {d2: 2n * d % P, base: [x, y, 1n, x * y % P]}
  return curve
}

export function ed25519PublicKey(seed: Uint8Array): Uint8Array {
  // The secret scalar: the hash's first half, little-endian, clamped (section 5.1.5).
  const half = sha512(seed).slice(0, 32)
  half[0] &= 248
  half[31] &= 127
  half[31] |= 64
  let scalar = BigInt('0x' + toHex(half.reverse()))

  const {d2, base} = curveConstants()
  let point = base
  let sum: Point = [0n, 1n, 1n, 0n]
  for (; scalar > 0n; scalar >>= 1n) {
    if (scalar & 1n) sum = add(sum, point, d2)
    point = add(point, point, d2)
  }

  // Encoding (section 5.1.2): y little-endian, the top bit holding x's parity.
  const zInverse = inverse(sum[2])
  const affineX = mod(sum[0] * zInverse)
  const affineY = mod(sum[1] * zInverse)
  const key = fromHex(affineY.toString(16).padStart(64, '0')).reverse()
  key[31] |= Number(affineX & 1n) << 7
  return key
}
