// A load balancer for the hub fleet's tests: one loopback address in front of
// several hubs, each new TCP connection sent to the next hub in turn (layer 4,
// round robin, no stickiness: the least a real balancer does). A client's event
// stream and its POSTs may land on different hubs, which is what a fleet must
// take (docs/hub-fleet.md: sticky sessions are not needed).
import {connect, createServer, type Server, type Socket} from 'node:net'

export class RoundRobinProxy {
  /** Connections sent to each target so far, in the targets' order. */
  readonly connections: number[]
  readonly #server: Server
  readonly #targets: URL[]
  readonly #sockets = new Set<Socket>()
  #next = 0

  private constructor(targets: string[]) {
    this.#targets = targets.map(target => new URL(target))
    this.connections = targets.map(() => 0)
    this.#server = createServer(client => this.#forward(client))
  }

  /** Listens on a free loopback port in front of `targets` (`http://host:port`). */
  static async start(targets: string[]): Promise<RoundRobinProxy> {
    const proxy = new RoundRobinProxy(targets)
    await new Promise<void>((resolve, reject) => {
      proxy.#server.once('error', reject)
      proxy.#server.listen(0, '127.0.0.1', resolve)
    })
    return proxy
  }

  get url(): string {
    const {port} = this.#server.address() as {port: number}
    return `http://127.0.0.1:${port}`
  }

  /** Stops listening and cuts every connection through it. */
  close(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy()
    return new Promise(resolve => this.#server.close(() => resolve()))
  }

  #forward(client: Socket): void {
    const index = this.#next
    this.#next = (this.#next + 1) % this.#targets.length
    this.connections[index]++
    const target = this.#targets[index]
    const upstream = connect(Number(target.port), target.hostname)
    for (const socket of [client, upstream]) {
      this.#sockets.add(socket)
      // Either end closing or failing closes the other: a balancer holds no half-open pair.
      socket.once('close', () => {
        this.#sockets.delete(socket)
        client.destroy()
        upstream.destroy()
      })
      socket.on('error', () => {})
    }
    client.pipe(upstream)
    upstream.pipe(client)
  }
}
