// Throughput of one bulk transfer through the mux, against a plain send loop on a
// bare RTCDataChannel, in the same page and run. Each measurement gets a fresh
// connection pair, so one run's SCTP state (congestion window) cannot help the next.
import {Mux, fromDataChannel, type MuxOptions} from '../../src/core/mux/index.js'
import {createDataChannelPair} from '../../test/browser/helpers/rtc-pair.js'
import {rawThroughput} from './raw-channel.js'

/** A stalled transfer fails the run instead of hanging it. */
const TIMEOUT = 180_000

function within<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} did not finish within ${TIMEOUT} ms`)), TIMEOUT)
    }),
  ]).finally(() => clearTimeout(timer))
}

/** MB/s (10^6 bytes) from bytes and milliseconds. */
function rate(bytes: number, ms: number): number {
  return bytes / ms / 1000
}

/** The raw data channel baseline (raw-channel.ts). */
const raw = (total: number, messageSize: number, cap: number): Promise<number> => rawThroughput(total, messageSize, cap)

/** The mux: `total` bytes as `messageSize` messages on one channel, paced by `ready()`. */
async function mux(total: number, messageSize: number, options: MuxOptions = {}): Promise<number> {
  const pair = await createDataChannelPair()
  const a = new Mux(fromDataChannel(pair.a, pair.pcA), options)
  const b = new Mux(fromDataChannel(pair.b, pair.pcB), options)
  try {
    let received = 0
    const done = new Promise<void>(resolve => {
      b.channel('bench/bulk', {
        onmessage: bytes => {
          received += bytes.length
          if (received >= total) resolve()
        },
      })
    })
    const channel = a.channel('bench/bulk', {onmessage: () => {}})
    const chunk = new Uint8Array(messageSize)
    const start = performance.now()
    for (let sent = 0; sent < total; sent += messageSize) {
      channel.send(chunk)
      await channel.ready()
    }
    await within(done, 'mux transfer')
    return rate(total, performance.now() - start)
  } finally {
    a.destroy()
    b.destroy()
    pair.close()
  }
}

Object.assign(window, {muxBench: {raw, mux}})
