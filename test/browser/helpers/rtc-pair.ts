// Two RTCPeerConnections in one page joined by one data channel, signalled
// directly (no hub) with `iceServers: []`, so only host candidates exist and
// nothing leaves the machine. Used by the mux tests and the mux benchmark.

export interface DataChannelPair {
  /** The channel as the offering side created it. */
  a: RTCDataChannel
  /** The same channel as the answering side received it. */
  b: RTCDataChannel
  pcA: RTCPeerConnection
  pcB: RTCPeerConnection
  /** Closes both connections. */
  close(): void
}

/**
 * Waits for the complete SDP instead of trickling candidates: with no STUN
 * server, gathering ends within milliseconds, and there is no window where a
 * candidate arrives before the remote description it belongs to.
 */
async function gathered(pc: RTCPeerConnection): Promise<RTCSessionDescriptionInit> {
  if (pc.iceGatheringState !== 'complete') {
    await new Promise<void>(resolve => {
      const check = () => {
        if (pc.iceGatheringState !== 'complete') return
        pc.removeEventListener('icegatheringstatechange', check)
        resolve()
      }
      pc.addEventListener('icegatheringstatechange', check)
    })
  }
  const desc = pc.localDescription
  if (!desc) throw new Error('no local description')
  return {type: desc.type, sdp: desc.sdp}
}

function opened(channel: RTCDataChannel): Promise<void> {
  if (channel.readyState === 'open') return Promise.resolve()
  return new Promise((resolve, reject) => {
    channel.addEventListener('open', () => resolve(), {once: true})
    channel.addEventListener('close', () => reject(new Error(`data channel ${channel.label} closed before opening`)), {once: true})
  })
}

export interface DataChannelPairOptions {
  label?: string
  timeout?: number
  /**
   * Rewrites the answer's SDP before the offering side applies it, as a remote
   * with other settings would have written it (e.g. a lower `a=max-message-size`).
   */
  transformAnswer?: (sdp: string) => string
}

export async function createDataChannelPair(
  {label = 'p2p-mux/1', timeout = 10000, transformAnswer = sdp => sdp}: DataChannelPairOptions = {},
): Promise<DataChannelPair> {
  const pcA = new RTCPeerConnection({iceServers: []})
  const pcB = new RTCPeerConnection({iceServers: []})
  const close = () => {
    pcA.close()
    pcB.close()
  }
  let timer: ReturnType<typeof setTimeout> | undefined
  try {
    const a = pcA.createDataChannel(label, {ordered: true})
    const received = new Promise<RTCDataChannel>(resolve => {
      pcB.addEventListener('datachannel', e => resolve(e.channel), {once: true})
    })
    const connect = async () => {
      await pcA.setLocalDescription(await pcA.createOffer())
      await pcB.setRemoteDescription(await gathered(pcA))
      await pcB.setLocalDescription(await pcB.createAnswer())
      const answer = await gathered(pcB)
      await pcA.setRemoteDescription({type: answer.type, sdp: transformAnswer(answer.sdp ?? '')})
      const b = await received
      await Promise.all([opened(a), opened(b)])
      return b
    }
    const b = await Promise.race([
      connect(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`data channel pair not open within ${timeout} ms`)), timeout)
      }),
    ])
    return {a, b, pcA, pcB, close}
  } catch (err) {
    close()
    throw err
  } finally {
    clearTimeout(timer)
  }
}
