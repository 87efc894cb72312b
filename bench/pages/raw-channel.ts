// The baseline every transfer bench compares against, in the same page and run:
// `send()` in a loop on a bare RTCDataChannel while `bufferedAmount` is under
// `cap`, resumed by `bufferedamountlow` at half the cap, timed until the last
// byte arrives. Nothing is framed, hashed or stored. Fresh connection pair per call.
import {createDataChannelPair} from '../../test/browser/helpers/rtc-pair.js'

/** MB/s (10^6 bytes/s); rejects if the transfer takes longer than `timeout` ms. */
export async function rawThroughput(total: number, messageSize: number, cap: number, timeout = 180_000): Promise<number> {
  const pair = await createDataChannelPair({label: 'bench-raw'})
  let timer: ReturnType<typeof setTimeout> | undefined
  try {
    const {a, b} = pair
    b.binaryType = 'arraybuffer'
    let received = 0
    const done = new Promise<void>((resolve, reject) => {
      b.onmessage = e => {
        received += (e.data as ArrayBuffer).byteLength
        if (received >= total) resolve()
      }
      timer = setTimeout(() => reject(new Error(`raw transfer did not finish within ${timeout} ms`)), timeout)
    })
    const start = performance.now()
    sendLoop(a, total, messageSize, cap)
    await done
    return total / (performance.now() - start) / 1000
  } finally {
    clearTimeout(timer)
    pair.close()
  }
}

/**
 * Sends `total` bytes as `messageSize` messages while `bufferedAmount` is under
 * `cap`, resumed by `bufferedamountlow` at half the cap. Returns at once.
 */
export function sendLoop(channel: RTCDataChannel, total: number, messageSize: number, cap: number): void {
  const chunk = new Uint8Array(messageSize)
  let sent = 0
  const pump = () => {
    while (sent < total && channel.bufferedAmount < cap) {
      channel.send(chunk)
      sent += messageSize
    }
  }
  channel.bufferedAmountLowThreshold = cap / 2
  channel.onbufferedamountlow = pump
  pump()
}
