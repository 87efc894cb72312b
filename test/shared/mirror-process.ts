// The mirror as users run it, for tests and benchmarks: `p2p-elements mirror` as
// a child process (--json), its status lines parsed as they come, and waits
// that end on what it prints (or fail after 90 s saying where it stood).
import {spawn, type ChildProcess} from 'node:child_process'
import {fileURLToPath} from 'node:url'
import type {MirrorStatus} from '../../src/mirror/mirror.js'

const cli = fileURLToPath(new URL('../../src/server/cli.ts', import.meta.url))

/** A mirror process and the JSON status lines it prints. */
export class MirrorProcess {
  readonly child: ChildProcess
  readonly statuses: MirrorStatus[] = []
  stderr = ''
  readonly #waiters = new Set<() => void>()
  readonly exited: Promise<{code: number | null, signal: NodeJS.Signals | null}>

  /** `args` after the CLI's path; MIRROR_NODE_ARGS in the environment adds Node flags (a heap snapshot on a signal, say) when looking into one. */
  constructor(args: string[]) {
    this.child = spawn(process.execPath, [...(process.env.MIRROR_NODE_ARGS ?? '').split(' ').filter(Boolean), '--import', 'tsx', cli, ...args, '--json'], {stdio: ['ignore', 'pipe', 'pipe']})
    let out = ''
    this.child.stdout!.setEncoding('utf8')
    this.child.stdout!.on('data', (chunk: string) => {
      out += chunk
      let newline
      while ((newline = out.indexOf('\n')) !== -1) {
        const line = out.slice(0, newline)
        out = out.slice(newline + 1)
        this.statuses.push(JSON.parse(line) as MirrorStatus)
        for (const wake of this.#waiters) wake()
      }
    })
    this.child.stderr!.setEncoding('utf8')
    this.child.stderr!.on('data', (chunk: string) => {
      this.stderr += chunk
      for (const wake of this.#waiters) wake()
    })
    this.exited = new Promise(resolve => this.child.once('exit', (code, signal) => {
      for (const wake of this.#waiters) wake()
      resolve({code, signal})
    }))
  }

  /** Resolves with the first status (printed from now on or already) that `check` accepts; rejects if the process exits first. */
  status(check: (status: MirrorStatus) => boolean, what: string): Promise<MirrorStatus> {
    return new Promise((resolve, reject) => {
      // Not a timing: a bound that turns a wait that cannot end into a failure that says where it stood.
      const timer = setTimeout(() => {
        this.#waiters.delete(look)
        reject(new Error(`no status showed ${what} in 90 s; the last: ${JSON.stringify(this.statuses.at(-1))}; stderr: ${this.stderr}`))
      }, 90_000)
      const look = (): void => {
        const found = this.statuses.find(check)
        if (found) {
          clearTimeout(timer)
          this.#waiters.delete(look)
          resolve(found)
        } else if (this.child.exitCode !== null || this.child.signalCode !== null) {
          clearTimeout(timer)
          this.#waiters.delete(look)
          reject(new Error(`the mirror exited before ${what}: ${this.stderr}`))
        }
      }
      this.#waiters.add(look)
      look()
    })
  }

  /** Resolves with the first match of `pattern` in what the process wrote to stderr. */
  said(pattern: RegExp): Promise<RegExpMatchArray> {
    return new Promise((resolve, reject) => {
      const look = (): void => {
        const match = this.stderr.match(pattern)
        if (match) {
          this.#waiters.delete(look)
          resolve(match)
        } else if (this.child.exitCode !== null || this.child.signalCode !== null) {
          this.#waiters.delete(look)
          reject(new Error(`the mirror exited before saying ${pattern}: ${this.stderr}`))
        }
      }
      this.#waiters.add(look)
      look()
    })
  }

  stop(signal: NodeJS.Signals = 'SIGTERM') {
    this.child.kill(signal)
    return this.exited
  }
}
