// Small helpers for the hub tests: a hub on a free loopback port, raw HTTP
// requests, and an event-stream reader that keeps the exact bytes it received.
import {after} from 'node:test'
import {request} from 'node:http'
import type {Agent, IncomingHttpHeaders, IncomingMessage} from 'node:http'
import assert from 'node:assert/strict'
import {createHub} from '../../src/server/hub.js'
import {P2PError} from '../../src/core/errors.js'
import type {Hub, HubOptions} from '../../src/server/hub.js'

export interface StartedHub {
  hub: Hub
  url: string
  port: number
  close(): Promise<void>
}

/** A hub on 127.0.0.1; port 0 (the default) picks a free one. */
export async function startHub(options: HubOptions = {}, port = 0): Promise<StartedHub> {
  const hub = createHub(options)
  const address = await hub.listen(port, '127.0.0.1')
  return {hub, ...address, close: () => hub.close()}
}

/** For a test file: starts hubs as `startHub` does, and closes every one it started after the file's tests. */
export function hubsClosedAfter(): (options?: HubOptions) => Promise<StartedHub> {
  const started: StartedHub[] = []
  after(() => Promise.all(started.map(hub => hub.close())))
  return async (options = {}) => {
    const hub = await startHub(options)
    started.push(hub)
    return hub
  }
}

export interface Answer {
  status: number
  headers: IncomingHttpHeaders
  text: string
  json(): unknown
}

export interface RequestOptions {
  method?: string
  headers?: Record<string, string | number>
  body?: string | Buffer
  agent?: Agent | false
}

/** One HTTP request, answer read in full. A fresh connection unless an agent is given. */
export function send(url: string, {method = 'GET', headers = {}, body, agent = false}: RequestOptions = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(url, {method, headers, agent}, res => {
      const chunks: Buffer[] = []
      res.on('data', (chunk: Buffer) => chunks.push(chunk))
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8')
        resolve({status: res.statusCode ?? 0, headers: res.headers, text, json: () => JSON.parse(text)})
      })
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end(body)
  })
}

export function post(url: string, body: unknown, options: RequestOptions = {}): Promise<Answer> {
  const text = typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body)
  return send(url, {...options, method: 'POST', body: text})
}

export type Frame = {type: 'data', data: string} | {type: 'comment', text: string}

/**
 * An open event stream read as the hub wrote it. Frames are split on blank
 * lines; `raw` keeps every byte so tests can check the exact wire format.
 */
export class SseReader {
  readonly res: IncomingMessage
  readonly frames: Frame[] = []
  raw = ''
  ended = false
  #pending = ''
  #waiters: Array<() => void> = []

  constructor(res: IncomingMessage) {
    this.res = res
    res.setEncoding('utf8')
    res.on('data', (chunk: string) => {
      this.raw += chunk
      this.#pending += chunk
      let end: number
      while ((end = this.#pending.indexOf('\n\n')) !== -1) {
        const block = this.#pending.slice(0, end)
        this.#pending = this.#pending.slice(end + 2)
        this.frames.push(parseFrame(block))
      }
      this.#wake()
    })
    const finish = () => {
      this.ended = true
      this.#wake()
    }
    res.on('end', finish)
    res.on('close', finish)
    res.on('error', finish)
  }

  get status(): number {
    return this.res.statusCode ?? 0
  }

  get headers(): IncomingHttpHeaders {
    return this.res.headers
  }

  /** Data frames' payloads, parsed as JSON. */
  get messages(): unknown[] {
    return this.frames.flatMap(frame => frame.type === 'data' ? [JSON.parse(frame.data)] : [])
  }

  get dataFrames(): string[] {
    return this.frames.flatMap(frame => frame.type === 'data' ? [frame.data] : [])
  }

  /** Resolves once `count` data frames have arrived. */
  messagesAtLeast(count: number, timeout = 5000): Promise<unknown[]> {
    return this.until(() => this.dataFrames.length >= count, timeout, `${count} messages`).then(() => this.messages)
  }

  /** Resolves once the server has ended the stream. */
  end(timeout = 5000): Promise<void> {
    return this.until(() => this.ended, timeout, 'the end of the stream')
  }

  until(predicate: () => boolean, timeout: number, what: string): Promise<void> {
    if (predicate()) return Promise.resolve()
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters = this.#waiters.filter(waiter => waiter !== check)
        reject(new Error(`timed out after ${timeout} ms waiting for ${what}; got ${JSON.stringify(this.raw.slice(-500))}`))
      }, timeout)
      const check = () => {
        if (!predicate()) return
        clearTimeout(timer)
        this.#waiters = this.#waiters.filter(waiter => waiter !== check)
        resolve()
      }
      this.#waiters.push(check)
    })
  }

  close(): void {
    this.res.destroy()
  }

  #wake(): void {
    for (const waiter of [...this.#waiters]) waiter()
  }
}

function parseFrame(block: string): Frame {
  if (block.startsWith(':')) return {type: 'comment', text: block.slice(1)}
  const data = block.split('\n').map(line => {
    if (!line.startsWith('data: ')) throw new Error(`unexpected line in event stream: ${JSON.stringify(line)}`)
    return line.slice(6)
  })
  return {type: 'data', data: data.join('\n')}
}

/** Opens an event stream; resolves once the response headers are in (whatever the status). */
export function openSse(url: string, headers: Record<string, string> = {}): Promise<SseReader> {
  return new Promise((resolve, reject) => {
    const req = request(url, {headers: {accept: 'text/event-stream', ...headers}, agent: false}, res => resolve(new SseReader(res)))
    req.on('error', reject)
    req.end()
  })
}

/** Rejects if `promise` takes longer than `ms`. */
export function within<T>(promise: Promise<T>, ms: number, what = 'operation'): Promise<T> {
  let timer: ReturnType<typeof setTimeout>
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} took over ${ms} ms`)), ms)
    }),
  ]).finally(() => clearTimeout(timer))
}

/** An `assert.throws`/`rejects` matcher: a P2PError with this code (and a message matching `what`). */
export function isCode(code: string, what?: RegExp) {
  return (err: unknown) => {
    assert.ok(err instanceof P2PError, `expected a P2PError, got ${String(err)}`)
    assert.equal(err.code, code)
    if (what) assert.match(err.message, what)
    return true
  }
}
