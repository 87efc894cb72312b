// One swarm peer as a process of its own, started by scripts/peer-process.ts so that a
// test or benchmark can make a peer vanish (SIGKILL: no goodbye, no closed socket
// either, as when a machine dies) or leave (SIGTERM: `swarm.destroy()` says GOODBYE).
//
//   node --import tsx scripts/swarm-peer.ts <hub url> <room>
//
// Prints one JSON object a line: {"key"} once it listens on the hub, then
// {"connect": key} and {"disconnect": key, "code"} as peers come and go.
import {Swarm} from '../src/core/swarm/swarm.js'
import {createIdentity} from '../src/core/crypto/identity.js'
import {loadNodeWebRTC} from '../src/node/index.js'

const [hub, room] = process.argv.slice(2)
if (!hub || !room) {
  console.error('usage: swarm-peer.ts <hub url> <room>')
  process.exit(2)
}

// No STUN: nothing leaves the machine, host candidates find each other on loopback.
// Node has no WebRTC of its own: node-datachannel through the kit's Node entry, as an app would.
const swarm = new Swarm({hubs: [hub], room, identity: await createIdentity(), iceServers: [], announceInterval: {min: 100, max: 1000}, webrtc: await loadNodeWebRTC()})
const print = (line: object) => process.stdout.write(`${JSON.stringify(line)}\n`)
swarm.on('connect', peer => print({connect: peer.publicKey}))
swarm.on('disconnect', (peer, err) => print({disconnect: peer.publicKey, code: err?.code ?? null}))
swarm.on('error', err => console.error(`swarm-peer: ${err.message}`))

process.once('SIGTERM', () => {
  try {
    swarm.destroy()
  } catch (err) {
    // In Node the GOODBYE is out by then, but the connection may close under the mux
    // (node-datachannel throws where Chromium does not): say so, and still leave.
    console.error(`swarm-peer: destroy threw: ${(err as Error).message}`)
  }
  // The mux closes a data channel once its GOODBYE has left (closeLinger, 1 s at most).
  setTimeout(() => process.exit(0), 1500)
})

await swarm.ready()
print({key: swarm.publicKey})
