/**
 * Unsigned LEB128 varints up to 2^53 - 1, for the log's encodings. The mux has
 * its own for 32-bit channel ids; a log's times and lengths need more than 32
 * bits, and bitwise operators stop at 32, so these use arithmetic.
 *
 * Reading is strict: minimal encoding only and at most 8 bytes, so one number
 * has exactly one encoding and a hashed encoding cannot be re-spelled.
 */
import {P2PError} from '../errors.js'

/** 8 bytes carry 56 bits: enough for any safe integer. */
export const MAX_VARINT_BYTES = 8

/** Bytes the varint of `n` (a safe non-negative integer) takes. */
export function varintLength(n: number): number {
  let length = 1
  while (n >= 0x80) {
    n = Math.floor(n / 0x80)
    length++
  }
  return length
}

/** Writes `n` (0 … 2^53 - 1) at `offset`; returns the end offset. */
export function writeVarint(n: number, buf: Uint8Array, offset: number): number {
  while (n >= 0x80) {
    buf[offset++] = (n % 0x80) | 0x80
    n = Math.floor(n / 0x80)
  }
  buf[offset++] = n
  return offset
}

/** Where a read left off: the value and the offset after it (one object reused by a decoder). */
export interface VarintCursor {
  value: number
  offset: number
}

/**
 * Reads the varint at `cursor.offset` into `cursor.value` and moves
 * `cursor.offset` past it. Throws ERR_MALFORMED_MESSAGE on a truncated,
 * non-minimal or over-long varint, or one above 2^53 - 1.
 */
export function readVarint(bytes: Uint8Array, cursor: VarintCursor): void {
  let value = 0
  let scale = 1
  let pos = cursor.offset
  for (let i = 0; i < MAX_VARINT_BYTES; i++) {
    if (pos >= bytes.length) throw P2PError.MALFORMED_MESSAGE('truncated varint')
    const b = bytes[pos++]
    value += (b & 0x7f) * scale
    if (b < 0x80) {
      if (b === 0 && i > 0) throw P2PError.MALFORMED_MESSAGE('non-minimal varint')
      if (value > Number.MAX_SAFE_INTEGER) throw P2PError.MALFORMED_MESSAGE('varint above 2^53 - 1')
      cursor.value = value
      cursor.offset = pos
      return
    }
    scale *= 0x80
  }
  throw P2PError.MALFORMED_MESSAGE(`varint longer than ${MAX_VARINT_BYTES} bytes`)
}
