// Time to full mesh, measured in one page: N swarms through a real hub, against the
// baseline of one bare RTCPeerConnection pair signalled directly (no hub, no
// identity proof, no mux) in the same page and run.
import {Swarm} from '../../src/core/swarm/swarm.js'
import {createIdentity} from '../../src/core/crypto/identity.js'

function isFullMesh(swarms: Swarm[]): boolean {
  return swarms.every(s => s.peers.length === swarms.length - 1)
}

async function mesh(hub: string, n: number): Promise<number> {
  const room = `bench-mesh-${n}-${Math.random().toString(36).slice(2)}`
  // Keys are made before the clock starts: a page makes its key once, not per connection.
  const identities = await Promise.all(Array.from({length: n}, () => createIdentity()))
  const start = performance.now()
  const swarms = identities.map(identity => new Swarm({
    hubs: [hub], room, identity, iceServers: [], maxPeers: n, announceInterval: {min: 100, max: 2000},
  }))
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no full mesh of ${n} within 60 s`)), 60_000)
      const check = () => {
        if (!isFullMesh(swarms)) return
        clearTimeout(timer)
        resolve()
      }
      for (const s of swarms) s.on('update', check)
    })
    return performance.now() - start
  } finally {
    for (const s of swarms) s.destroy()
  }
}

async function rawPair(): Promise<number> {
  const start = performance.now()
  const a = new RTCPeerConnection({iceServers: []})
  const b = new RTCPeerConnection({iceServers: []})
  try {
    a.onicecandidate = e => { if (e.candidate) void b.addIceCandidate(e.candidate) }
    b.onicecandidate = e => { if (e.candidate) void a.addIceCandidate(e.candidate) }
    const channel = a.createDataChannel('bench')
    const open = new Promise(resolve => { channel.onopen = resolve })
    const remoteOpen = new Promise(resolve => { b.ondatachannel = e => { e.channel.onopen = resolve } })
    await a.setLocalDescription()
    await b.setRemoteDescription(a.localDescription!)
    await b.setLocalDescription()
    await a.setRemoteDescription(b.localDescription!)
    await Promise.all([open, remoteOpen])
    return performance.now() - start
  } finally {
    a.close()
    b.close()
  }
}

;(window as unknown as {meshBench: unknown}).meshBench = {mesh, rawPair}
