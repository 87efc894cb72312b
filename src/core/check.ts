import {P2PError} from './errors.js'

/** Misuse throws at once: a numeric option outside [min, max] (NaN and non-numbers included). */
export function checkNumber(name: string, value: number, min: number, max = Infinity): void {
  if (typeof value !== 'number' || !(value >= min && value <= max)) {
    throw P2PError.INVALID_ARGUMENT(`${name} must be a number from ${min} to ${max}`)
  }
}

/** As `checkNumber`, for counts and sizes: a whole number, so 2.5 peers or an infinite cap is misuse too. */
export function checkInteger(name: string, value: number, min: number, max = Number.MAX_SAFE_INTEGER): void {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw P2PError.INVALID_ARGUMENT(`${name} must be an integer ${max === Number.MAX_SAFE_INTEGER ? `of at least ${min}` : `from ${min} to ${max}`}`)
  }
}
