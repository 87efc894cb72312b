// Starts scripts/swarm-peer.ts as a child process: a peer of the kit that a test or a
// benchmark can kill outright. Resolves once the child listens on the hub.
import {spawn, type ChildProcess} from 'node:child_process'
import {createInterface} from 'node:readline'
import {fileURLToPath} from 'node:url'

const program = fileURLToPath(new URL('./swarm-peer.ts', import.meta.url))

export interface PeerProcess {
  /** The child swarm's public key (hex). */
  key: string
  child: ChildProcess
  /** Keys of the peers the child is connected to now. */
  peers: Set<string>
  /** Resolves once the process has exited. */
  exited: Promise<void>
  /** SIGKILL if still running (nothing is said to anyone), then waits for the exit. */
  close(): Promise<void>
}

export function startPeerProcess(hub: string, room: string): Promise<PeerProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', program, hub, room], {stdio: ['ignore', 'pipe', 'inherit']})
  const exited = new Promise<void>(resolve => {
    if (child.exitCode !== null || child.signalCode !== null) resolve()
    else child.once('exit', () => resolve())
  })
  const peers = new Set<string>()
  return new Promise((resolve, reject) => {
    const onExit = (code: number | null, signal: string | null) => reject(new Error(`swarm-peer exited with ${signal ?? code} before joining`))
    child.once('exit', onExit)
    createInterface({input: child.stdout!}).on('line', line => {
      let msg: {key?: string, connect?: string, disconnect?: string}
      try {
        msg = JSON.parse(line)
      } catch {
        return // not ours: a debug line
      }
      if (msg.connect) peers.add(msg.connect)
      if (msg.disconnect) peers.delete(msg.disconnect)
      if (msg.key) {
        child.off('exit', onExit)
        resolve({
          key: msg.key,
          child,
          peers,
          exited,
          close: async () => {
            if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
            await exited
          },
        })
      }
    })
  })
}
