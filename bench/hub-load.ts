// The load side of the hub benchmarks (bench/hub.bench.ts, bench/hub-fleet.bench.ts):
// subscribers that only count what they get, keep-alive connections that POST a
// prebuilt request one at a time, and a process's CPU time from /proc.
import {request} from 'node:http'
import {connect} from 'node:net'
import type {Socket} from 'node:net'
import type {IncomingMessage} from 'node:http'
import {readFileSync} from 'node:fs'

// The size and shape of a webrtc-swarm signal: an ICE candidate for a peer.
export const PAYLOAD = JSON.stringify({
  from: 'f3c1a8e04b5d4c2a9e7f6b1d0c3a5e8f',
  signal: {
    type: 'candidate',
    candidate: {
      candidate: 'candidate:842163049 1 udp 1677729535 203.0.113.7 54321 typ srflx raddr 192.168.1.20 rport 54321 generation 0 ufrag EsAw network-cost 999',
      sdpMLineIndex: 0,
      sdpMid: '0',
    },
  },
})

/** CPU time (user + system) a process has used, in ms; null off Linux. */
export function cpuMs(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    // utime and stime are fields 14 and 15 of the whole line, in clock ticks (100 per second).
    return (Number(fields[11]) + Number(fields[12])) * 10
  } catch {
    return null
  }
}

const MARK = Buffer.from('data: ')

/** An SSE reader that only counts messages, so the reading side stays cheap. */
export class CountingSubscriber {
  count = 0
  #tail: Buffer = Buffer.alloc(0)
  #target = Infinity
  #done: (() => void) | null = null
  #res: IncomingMessage | null = null

  open(url: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const req = request(url, {agent: false, headers: {accept: 'text/event-stream'}}, res => {
        if (res.statusCode !== 200) reject(new Error(`subscribe answered ${res.statusCode}`))
        this.#res = res
        res.on('data', (chunk: Buffer) => this.#read(chunk))
        resolve()
      })
      req.on('error', reject)
      req.end()
    })
  }

  reach(target: number): Promise<void> {
    this.#target = target
    if (this.count >= target) return Promise.resolve()
    return new Promise(resolve => { this.#done = resolve })
  }

  close(): void {
    this.#res?.destroy()
  }

  #read(chunk: Buffer): void {
    const buffer = this.#tail.length > 0 ? Buffer.concat([this.#tail, chunk]) : chunk
    let at = 0
    while ((at = buffer.indexOf(MARK, at)) !== -1) {
      this.count++
      at += MARK.length
    }
    this.#tail = buffer.subarray(Math.max(0, buffer.length - (MARK.length - 1)))
    if (this.count >= this.#target && this.#done) {
      this.#done()
      this.#done = null
    }
  }
}

/**
 * One keep-alive HTTP/1.1 connection that POSTs one request at a time. Node's
 * own http client spends more CPU per request than either server does to
 * handle it, so with it this bench measured the client; this one writes a
 * prebuilt request and reads the headers-only answer, nothing more.
 */
export class KeepAliveConnection {
  readonly #socket: Socket
  #received: Buffer = Buffer.alloc(0)
  #waiting: {resolve: () => void, reject: (err: Error) => void} | null = null

  constructor(port: number) {
    this.#socket = connect(port, '127.0.0.1')
    this.#socket.setNoDelay(true)
    this.#socket.on('data', (chunk: Buffer) => this.#read(chunk))
    this.#socket.on('error', err => this.#waiting?.reject(err))
  }

  post(request: Buffer): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#waiting = {resolve, reject}
      this.#socket.write(request)
    })
  }

  close(): void {
    this.#socket.destroy()
  }

  #read(chunk: Buffer): void {
    this.#received = this.#received.length === 0 ? chunk : Buffer.concat([this.#received, chunk])
    const end = this.#received.indexOf('\r\n\r\n')
    if (end === -1) return
    const head = this.#received.subarray(0, end).toString('latin1')
    const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? NaN)
    if (!head.startsWith('HTTP/1.1 200') || length !== 0) {
      this.#waiting?.reject(new Error(`unexpected answer: ${head}`))
      return
    }
    this.#received = this.#received.subarray(end + 4)
    const waiting = this.#waiting
    this.#waiting = null
    waiting?.resolve()
  }
}

export function postRequest(url: URL, body: Buffer): Buffer {
  const head = `POST ${url.pathname} HTTP/1.1\r\nHost: ${url.host}\r\nContent-Type: application/json\r\n` +
    `Content-Length: ${body.length}\r\nConnection: keep-alive\r\n\r\n`
  return Buffer.concat([Buffer.from(head, 'latin1'), body])
}
