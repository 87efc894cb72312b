/**
 * SHA-512 (FIPS 180-4), synchronous. WebCrypto's digest is async only, and an
 * identity's public key must be known as soon as it is constructed: this hashes
 * the seed of `ed25519PublicKey`. Written for size over speed (64-bit words as
 * BigInt), since it hashes one 32-byte seed per identity.
 */

const MASK = (1n << 64n) - 1n

/** Floor of the k-th root of x (Newton's method from above). */
function root(x: bigint, k: bigint): bigint {
  let r = 1n << BigInt(Math.ceil(x.toString(2).length / Number(k)))
  for (;;) {
    const next = ((k - 1n) * r + x / r ** (k - 1n)) / k
    if (next >= r) return r
    r = next
  }
}

let constants: {k: bigint[], h: bigint[]} | undefined

/**
 * The round constants and initial hash, computed as FIPS 180-4 defines them
 * (sections 4.2.3 and 5.3.5: the first 64 bits of the fractional parts of the
 * cube roots of the first 80 primes, and of the square roots of the first 8)
 * rather than shipped as 1.4 KB of hex.
 */
function sha512Constants(): {k: bigint[], h: bigint[]} {
  if (constants) return constants
  const primes: bigint[] = []
  for (let n = 2n; primes.length < 80; n++) if (primes.every(p => n % p)) primes.push(n)
  constants = {
    k: primes.map(p => root(p << 192n, 3n) & MASK),
    h: primes.slice(0, 8).map(p => root(p << 128n, 2n) & MASK),
  }
  return constants
}

const rotr = (x: bigint, n: bigint) => (x >> n | x << 64n - n) & MASK

export function sha512(data: Uint8Array): Uint8Array {
  const {k, h: initial} = sha512Constants()
  // The message, a 1 bit, zeros, and its length in bits as 128 bits, to whole 128-byte blocks.
  const padded = new Uint8Array(Math.ceil((data.length + 17) / 128) * 128)
  padded.set(data)
  padded[data.length] = 0x80
  const view = new DataView(padded.buffer)
  view.setBigUint64(padded.length - 8, BigInt(data.length) * 8n)
  const h = initial.slice()
  const w: bigint[] = []
  for (let block = 0; block < padded.length; block += 128) {
    for (let t = 0; t < 80; t++) {
      w[t] = t < 16
        ? view.getBigUint64(block + t * 8)
        : (rotr(w[t - 2], 19n) ^ rotr(w[t - 2], 61n) ^ w[t - 2] >> 6n) + w[t - 7] +
          (rotr(w[t - 15], 1n) ^ rotr(w[t - 15], 8n) ^ w[t - 15] >> 7n) + w[t - 16] & MASK
    }
    let [a, b, c, d, e, f, g, hh] = h
    for (let t = 0; t < 80; t++) {
      const t1 = hh + (rotr(e, 14n) ^ rotr(e, 18n) ^ rotr(e, 41n)) + (e & f ^ ~e & g) + k[t] + w[t]
      const t2 = (rotr(a, 28n) ^ rotr(a, 34n) ^ rotr(a, 39n)) + (a & b ^ a & c ^ b & c)
      hh = g
      g = f
      f = e
      e = d + t1 & MASK
      d = c
      c = b
      b = a
      a = t1 + t2 & MASK
    }
    const round = [a, b, c, d, e, f, g, hh]
    for (let i = 0; i < 8; i++) h[i] = h[i] + round[i] & MASK
  }
  const out = new Uint8Array(64)
  const outView = new DataView(out.buffer)
  h.forEach((word, i) => outView.setBigUint64(i * 8, word))
  return out
}
