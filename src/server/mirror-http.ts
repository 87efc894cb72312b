/**
 * The mirror's HTTP status (`--http HOST:PORT`): `GET /status` answers the
 * status as JSON, `GET /metrics` in Prometheus' text format. Nothing else: other
 * paths are 404, other methods 405, and Node's parser answers a request it
 * cannot read with 400. Bind it to loopback unless the status is for everyone.
 */
import {createServer, type IncomingMessage, type Server, type ServerResponse} from 'node:http'
import type {MirrorStatus} from '../mirror/mirror.js'

/** A label value as Prometheus' text format writes it: backslash, quote and newline escaped. */
function label(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')
}

/** The status as Prometheus metrics: per log (labelled by its address), per file (by its id) and per room. */
export function metricsText(status: MirrorStatus): string {
  const out: string[] = []
  const metric = (name: string, type: 'gauge' | 'counter', help: string, rows: Array<[string, number]>): void => {
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`)
    for (const [labels, value] of rows) out.push(`${name}{${labels}} ${value}`)
  }
  const logs = status.logs.map(log => [`log="${label(log.address)}"`, log] as const)
  metric('p2p_mirror_log_entries', 'gauge', 'Entries of the log stored by the mirror.', logs.map(([l, log]) => [l, log.length]))
  metric('p2p_mirror_log_remote_entries', 'gauge', 'The most entries a connected peer says it holds (absent before any said).',
    logs.filter(([, log]) => log.remote !== null).map(([l, log]) => [l, log.remote!]))
  metric('p2p_mirror_log_behind_entries', 'gauge', 'Entries connected peers hold that the mirror lacks.', logs.map(([l, log]) => [l, log.behind]))
  metric('p2p_mirror_log_bytes', 'gauge', 'Bytes of the log\'s entries stored.', logs.map(([l, log]) => [l, log.bytes]))
  metric('p2p_mirror_log_sessions', 'gauge', 'Replication sessions of the log open now.', logs.map(([l, log]) => [l, log.peers]))
  metric('p2p_mirror_log_received_total', 'counter', 'Entries stored from peers since the mirror started.', logs.map(([l, log]) => [l, log.received]))
  metric('p2p_mirror_log_duplicates_total', 'counter', 'Entries peers sent since the mirror started that it held already.', logs.map(([l, log]) => [l, log.duplicates]))
  metric('p2p_mirror_log_paused', 'gauge', '1 while storage is full and replication of the log is paused.', logs.map(([l, log]) => [l, log.paused ? 1 : 0]))
  metric('p2p_mirror_log_over_quota', 'gauge', '1 once the log reached its quota and stopped growing.', logs.map(([l, log]) => [l, log.overQuota ? 1 : 0]))
  const files = status.files.map(file => [`file="${label(file.id)}"`, file] as const)
  metric('p2p_mirror_file_bytes', 'gauge', 'Bytes of the file\'s chunks stored by the mirror.', files.map(([l, file]) => [l, file.bytes]))
  metric('p2p_mirror_file_size_bytes', 'gauge', 'The file\'s size, from its manifest (absent before a peer gave it).',
    files.filter(([, file]) => file.size !== null).map(([l, file]) => [l, file.size!]))
  metric('p2p_mirror_file_chunks', 'gauge', 'Chunks of the file stored by the mirror.', files.map(([l, file]) => [l, file.have]))
  metric('p2p_mirror_file_peers', 'gauge', 'Connected peers that hold a chunk of the file or more.', files.map(([l, file]) => [l, file.peers]))
  metric('p2p_mirror_file_complete', 'gauge', '1 once every chunk of the file is stored.', files.map(([l, file]) => [l, file.state === 'complete' ? 1 : 0]))
  metric('p2p_mirror_file_over_quota', 'gauge', '1 once the file reached its quota and stopped growing.', files.map(([l, file]) => [l, file.overQuota ? 1 : 0]))
  metric('p2p_mirror_room_peers', 'gauge', 'Peers connected in the room.', status.rooms.map(room => [`room="${label(room.room)}"`, room.peers]))
  return out.join('\n') + '\n'
}

function answer(res: ServerResponse, code: number, type: string, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(code, {'content-type': type, 'cache-control': 'no-store', 'x-content-type-options': 'nosniff', ...headers})
  res.end(body)
}

/** The handler alone, for a server of the caller's. */
export function mirrorHttpHandler(status: () => MirrorStatus): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    let path: string
    try {
      path = new URL(req.url ?? '', 'http://mirror.invalid').pathname
    } catch {
      answer(res, 400, 'text/plain; charset=utf-8', 'bad request\n')
      return
    }
    if (path !== '/status' && path !== '/metrics') {
      answer(res, 404, 'text/plain; charset=utf-8', 'not found: GET /status or GET /metrics\n')
      return
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      answer(res, 405, 'text/plain; charset=utf-8', 'method not allowed\n', {allow: 'GET, HEAD'})
      return
    }
    // What comes with a GET is not read: the status takes no input.
    req.resume()
    if (path === '/status') answer(res, 200, 'application/json', JSON.stringify(status()) + '\n')
    else answer(res, 200, 'text/plain; version=0.0.4; charset=utf-8', metricsText(status()))
  }
}

/** Listens on `host:port` (port 0: a free one); resolves with the server and its URL. */
export async function listenMirrorHttp(status: () => MirrorStatus, host: string, port: number): Promise<{server: Server, url: string}> {
  const server = createServer(mirrorHttpHandler(status))
  // A client that sends nothing does not hold a socket for long.
  server.headersTimeout = 10_000
  server.requestTimeout = 10_000
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  const address = server.address()
  const bound = typeof address === 'object' && address ? address.port : port
  return {server, url: `http://${host.includes(':') ? `[${host}]` : host}:${bound}`}
}
