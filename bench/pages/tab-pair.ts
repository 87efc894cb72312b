// One RTCDataChannel between two tabs of one browser (same origin), signalled over
// a BroadcastChannel: the two-tab twin of test/browser/helpers/rtc-pair.ts, with
// iceServers: [] so only host candidates exist. The answering tab calls `listen`
// first (BroadcastChannel keeps nothing for late listeners), then the offering
// tab calls `dial`; both resolve once the channel is open on their side.

export interface TabEnd {
  channel: RTCDataChannel
  pc: RTCPeerConnection
  close(): void
}

type Signal = {type: 'offer' | 'answer', sdp: string}

async function gathered(pc: RTCPeerConnection): Promise<string> {
  while (pc.iceGatheringState !== 'complete') {
    await new Promise(resolve => pc.addEventListener('icegatheringstatechange', resolve, {once: true}))
  }
  const desc = pc.localDescription
  if (!desc) throw new Error('no local description')
  return desc.sdp
}

function opened(channel: RTCDataChannel): Promise<void> {
  if (channel.readyState === 'open') return Promise.resolve()
  return new Promise((resolve, reject) => {
    channel.addEventListener('open', () => resolve(), {once: true})
    channel.addEventListener('close', () => reject(new Error(`data channel ${channel.label} closed before opening`)), {once: true})
  })
}

function timeout<T>(promise: Promise<T>, ms: number, what: string, cleanup: () => void): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined
  return Promise.race([promise, new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} not open within ${ms} ms`)), ms)
  })]).catch(err => {
    cleanup()
    throw err
  }).finally(() => clearTimeout(timer))
}

function end(pc: RTCPeerConnection, channel: RTCDataChannel, bus: BroadcastChannel): TabEnd {
  return {channel, pc, close: () => {
    bus.close()
    pc.close()
  }}
}

/** The answering side: waits for the offer on `session`'s bus. */
export function listen(session: string, ms = 10_000): Promise<TabEnd> {
  const bus = new BroadcastChannel(`bench-signal-${session}`)
  const pc = new RTCPeerConnection({iceServers: []})
  const received = new Promise<RTCDataChannel>(resolve => pc.addEventListener('datachannel', e => resolve(e.channel), {once: true}))
  const connect = new Promise<Signal>(resolve => {
    bus.onmessage = (e: MessageEvent<Signal>) => {
      if (e.data.type === 'offer') resolve(e.data)
    }
  }).then(async offer => {
    await pc.setRemoteDescription(offer)
    await pc.setLocalDescription(await pc.createAnswer())
    bus.postMessage({type: 'answer', sdp: await gathered(pc)} satisfies Signal)
    const channel = await received
    await opened(channel)
    return end(pc, channel, bus)
  })
  return timeout(connect, ms, `tab pair ${session} (answering side)`, () => end(pc, null as never, bus).close())
}

/** The offering side: sends the offer on `session`'s bus (the other tab listens already). */
export function dial(session: string, label = 'p2p-mux/1', ms = 10_000): Promise<TabEnd> {
  const bus = new BroadcastChannel(`bench-signal-${session}`)
  const pc = new RTCPeerConnection({iceServers: []})
  const channel = pc.createDataChannel(label, {ordered: true})
  const connect = (async () => {
    const answer = new Promise<Signal>(resolve => {
      bus.onmessage = (e: MessageEvent<Signal>) => {
        if (e.data.type === 'answer') resolve(e.data)
      }
    })
    await pc.setLocalDescription(await pc.createOffer())
    bus.postMessage({type: 'offer', sdp: await gathered(pc)} satisfies Signal)
    await pc.setRemoteDescription(await answer)
    await opened(channel)
    return end(pc, channel, bus)
  })()
  return timeout(connect, ms, `tab pair ${session} (offering side)`, () => end(pc, channel, bus).close())
}
