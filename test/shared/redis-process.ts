// A real redis-server (Debian's) for the hub fleet's tests and benchmark: started
// on loopback on a free port with no persistence, stopped and started again on
// the same port as an outage would. .ci/run installs redis-server when missing.
import {spawn, type ChildProcess} from 'node:child_process'
import {createServer} from 'node:net'

/** A port nobody listens on now (the kernel's pick, released at once). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const {port} = server.address() as {port: number}
      server.close(() => resolve(port))
    })
  })
}

export class RedisProcess {
  readonly port: number
  #child: ChildProcess | null = null

  private constructor(port: number) {
    this.port = port
  }

  /** Starts redis-server on a free loopback port; resolves once it accepts connections. */
  static async start(): Promise<RedisProcess> {
    const redis = new RedisProcess(await freePort())
    await redis.restart()
    return redis
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`
  }

  /** The running server's process id (for its CPU time); 0 while stopped. */
  get pid(): number {
    return this.#child?.pid ?? 0
  }

  get running(): boolean {
    return this.#child !== null
  }

  /** Starts it again on its port (after `stop`). */
  restart(): Promise<void> {
    if (this.#child) return Promise.resolve()
    const child = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    this.#child = child
    return new Promise((resolve, reject) => {
      let out = ''
      const onData = (chunk: string) => {
        out += chunk
        if (!/Ready to accept connections/.test(out)) return
        child.stdout!.off('data', onData)
        child.stdout!.resume()
        resolve()
      }
      child.stdout!.setEncoding('utf8')
      child.stdout!.on('data', onData)
      child.stderr!.resume()
      child.once('error', reject)
      child.once('exit', code => {
        if (this.#child === child) this.#child = null
        reject(new Error(`redis-server exited with ${code} before it was ready: ${out.slice(-500)}`))
      })
    })
  }

  /**
   * Freezes it (SIGSTOP): its connections stay open and nothing is answered, as a
   * Redis stuck on a long command or behind a network gone silent. `thaw` undoes it.
   */
  freeze(): void {
    this.#child?.kill('SIGSTOP')
  }

  thaw(): void {
    this.#child?.kill('SIGCONT')
  }

  /** Kills it (SIGKILL: an outage, not a clean shutdown); resolves once it has exited. */
  stop(): Promise<void> {
    const child = this.#child
    if (!child) return Promise.resolve()
    this.#child = null
    if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve()
    return new Promise(resolve => {
      child.once('exit', () => resolve())
      child.kill('SIGKILL')
    })
  }
}
