import {P2PError} from '../errors.js'

/**
 * An incremental parser for the `text/event-stream` format, as the HTML
 * standard defines it: lines end in CRLF, LF or CR (a CR may end one chunk
 * and its LF start the next); `data:` lines accumulate, joined by LF; a blank
 * line dispatches; lines starting with `:` are comments; one space after the
 * colon is dropped. Only events of the default type reach `onmessage`, as
 * with `EventSource.onmessage`.
 *
 * A hub is a remote party: a line or an event larger than `maxLength` throws
 * rather than growing without bound.
 */
export class SseParser {
  readonly #onmessage: (data: string) => void
  readonly #maxLength: number
  #line = ''
  #data = ''
  #hasData = false
  #eventType = ''
  #skipLF = false

  constructor(onmessage: (data: string) => void, {maxLength = 1024 * 1024}: {maxLength?: number} = {}) {
    this.#onmessage = onmessage
    this.#maxLength = maxLength
  }

  /** Feeds decoded text; calls `onmessage` for each complete event in it. */
  push(chunk: string): void {
    let start = 0
    if (this.#skipLF && chunk.length > 0) {
      this.#skipLF = false
      if (chunk.charCodeAt(0) === 10) start = 1
    }
    for (let i = start; i < chunk.length; i++) {
      const c = chunk.charCodeAt(i)
      if (c !== 10 && c !== 13) continue
      const line = this.#line + chunk.slice(start, i)
      this.#line = ''
      if (c === 13) {
        if (i + 1 === chunk.length) this.#skipLF = true
        else if (chunk.charCodeAt(i + 1) === 10) i++
      }
      start = i + 1
      this.#processLine(line)
    }
    if (start < chunk.length) {
      this.#line += chunk.slice(start)
      if (this.#line.length > this.#maxLength) throw P2PError.MESSAGE_TOO_LARGE(`event stream line over ${this.#maxLength} characters`)
    }
  }

  #processLine(line: string): void {
    if (line === '') {
      this.#dispatch()
      return
    }
    if (line.charCodeAt(0) === 58) return // ':' starts a comment (the hub's heartbeat)
    const colon = line.indexOf(':')
    const field = colon === -1 ? line : line.slice(0, colon)
    let value = ''
    if (colon !== -1) value = line.slice(line.charCodeAt(colon + 1) === 32 ? colon + 2 : colon + 1)
    if (field === 'data') {
      this.#data = this.#hasData ? `${this.#data}\n${value}` : value
      this.#hasData = true
      if (this.#data.length > this.#maxLength) throw P2PError.MESSAGE_TOO_LARGE(`event over ${this.#maxLength} characters`)
    } else if (field === 'event') {
      this.#eventType = value
    }
    // `id` and `retry` steer EventSource's own reconnection, which the hub
    // client replaces with its own; other fields are ignored by the standard.
  }

  #dispatch(): void {
    const data = this.#data
    const hasData = this.#hasData
    const type = this.#eventType
    this.#data = ''
    this.#hasData = false
    this.#eventType = ''
    if (!hasData) return
    if (type !== '' && type !== 'message') return
    this.#onmessage(data)
  }
}
