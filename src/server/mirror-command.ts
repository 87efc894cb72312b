/**
 * `p2p-elements mirror` (alias `bot`): the Mirror in a Node process, its logs and
 * files in LevelDB under `--dir`, its WebRTC node-datachannel's, its key a seed kept
 * beside them, so a restart is the same peer with everything it held.
 * docs/mirror.md.
 */
import {parseArgs} from 'node:util'
import {mkdir, readFile, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {KEY_PATTERN, Mirror, type MirrorStatus} from '../mirror/mirror.js'
import {fileState, logState} from '../mirror/status-text.js'
import {KeyPairIdentity} from '../core/crypto/seed-identity.js'
import {fromHex, randomBytes, toHex} from '../core/bytes.js'
import {loadNodeWebRTC} from '../node/webrtc.js'
import {MIRROR_USAGE, MirrorUsageError} from './mirror-usage.js'
import {listenMirrorHttp} from './mirror-http.js'
import type {Server} from 'node:http'
import {openNodeDatabase} from '../node/level.js'

/** A byte count: digits, or with a unit (k, M, G: 1000s; KiB, MiB, GiB: 1024s). */
function bytesFlag(flag: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined
  const match = /^(\d+(?:\.\d+)?)\s*(k|M|G|KiB|MiB|GiB)?B?$/.exec(text.trim())
  const unit = {k: 1e3, M: 1e6, G: 1e9, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3}[match?.[2] ?? ''] ?? 1
  const bytes = match ? Math.floor(Number(match[1]) * unit) : NaN
  if (!Number.isSafeInteger(bytes)) throw new MirrorUsageError(`${flag} ${text.slice(0, 40)}: a number of bytes, as 500000000, 500M or 2GiB`)
  return bytes
}

/** `HOST:PORT` (`[::1]:PORT` for IPv6), as --http takes it. */
function hostPort(text: string): {host: string, port: number} {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\s]+)):(\d{1,5})$/.exec(text)
  const port = match ? Number(match[3]) : NaN
  if (!match || port > 65535) throw new MirrorUsageError(`--http ${text.slice(0, 80)}: HOST:PORT, as 127.0.0.1:9100 (port 0 picks a free one)`)
  return {host: match[1] ?? match[2], port}
}

/** The mirror's key: a 32-byte seed in `<dir>/mirror-key` (hex), made on the first start, readable by its owner only. */
async function mirrorIdentity(dir: string): Promise<KeyPairIdentity> {
  const path = join(dir, 'mirror-key')
  try {
    return new KeyPairIdentity(fromHex((await readFile(path, 'utf8')).trim()))
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
  }
  const seed = randomBytes(32)
  await writeFile(path, toHex(seed) + '\n', {mode: 0o600, flag: 'wx'})
  return new KeyPairIdentity(seed)
}

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`

/** One line per log and per file: what the mirror holds beside what its peers report. */
export function statusLines(status: MirrorStatus): string[] {
  const rooms = status.rooms.map(r => `${r.room}: ${r.peers} peer${r.peers === 1 ? '' : 's'}`).join(', ')
  const {control} = status
  const lines = control.owners.length === 0 ? [] : [`${control.address.slice(0, 16)} control: ${control.owners.length} owner${control.owners.length === 1 ? '' : 's'}, ` +
    `${control.length} entries, ${control.ignored} ignored, ${control.rejected} rejected` +
    control.refused.map(r => `; refused ${r.kind} ${r.address.slice(0, 16)} (${r.reason})`).join('')]
  return lines.concat(status.logs.map(log => {
    const state = logState(log)
    return `${log.address.slice(0, 16)} ${state}: ${log.length} entries (peers report ${log.remote ?? '-'}), ` +
      `${log.bytes} bytes, ${log.peers} session${log.peers === 1 ? '' : 's'}, ${log.received} received, ` +
      `heads ${log.heads.map(h => h.slice(0, 8)).join(',') || '-'}${log.source === 'control' ? ', asked by an owner' : ''} [${rooms}]`
  }), status.files.map(file => {
    const state = fileState(file)
    return `${file.id.slice(0, 16)} file ${state}: ${file.name === null ? '' : `${JSON.stringify(file.name)}, `}${file.have} of ${file.chunks ?? '?'} chunks, ` +
      `${file.bytes} of ${file.size ?? '?'} bytes, ${plural(file.peers, 'peer')} with it (${file.seeders} complete)${file.source === 'control' ? ', asked by an owner' : ''} [${rooms}]`
  }))
}

export async function runMirror(args: string[]): Promise<void> {
  const {values} = parseArgs({
    args,
    strict: true,
    options: {
      hub: {type: 'string', multiple: true},
      dir: {type: 'string'},
      room: {type: 'string', multiple: true},
      log: {type: 'string', multiple: true},
      file: {type: 'string', multiple: true},
      owner: {type: 'string', multiple: true},
      'max-bytes': {type: 'string'},
      'max-log-bytes': {type: 'string'},
      'max-file-bytes': {type: 'string'},
      json: {type: 'boolean'},
      http: {type: 'string'},
      'no-dht': {type: 'boolean'},
      help: {type: 'boolean', short: 'h'},
    },
  })
  if (values.help) {
    console.log(MIRROR_USAGE)
    return
  }
  const hubs = values.hub ?? []
  const rooms = values.room ?? []
  const logs = (values.log ?? []).map(key => key.trim().toLowerCase())
  const files = (values.file ?? []).map(id => id.trim().toLowerCase())
  const owners = (values.owner ?? []).map(key => key.trim().toLowerCase())
  if (hubs.length === 0) throw new MirrorUsageError('--hub is required')
  if (!values.dir) throw new MirrorUsageError('--dir is required')
  if (rooms.length === 0) throw new MirrorUsageError('--room is required')
  if (logs.length === 0 && files.length === 0 && owners.length === 0) {
    throw new MirrorUsageError('--log, --file or --owner is required (a log or a file to keep, or a key that may ask for them)')
  }
  for (const key of logs) if (!KEY_PATTERN.test(key)) throw new MirrorUsageError(`--log ${key.slice(0, 70)}: a log address is 64 hex characters`)
  for (const id of files) if (!KEY_PATTERN.test(id)) throw new MirrorUsageError(`--file ${id.slice(0, 70)}: a file id is 64 hex characters`)
  for (const key of owners) if (!KEY_PATTERN.test(key)) throw new MirrorUsageError(`--owner ${key.slice(0, 70)}: a public key is 64 hex characters`)
  for (const hub of hubs) {
    try {
      new URL(hub)
    } catch {
      throw new MirrorUsageError(`--hub ${hub}: not a URL`)
    }
  }

  const http = values.http === undefined ? undefined : hostPort(values.http)
  const maxBytes = bytesFlag('--max-bytes', values['max-bytes'])
  const maxLogBytes = bytesFlag('--max-log-bytes', values['max-log-bytes'])
  const maxFileBytes = bytesFlag('--max-file-bytes', values['max-file-bytes'])
  const dir = values.dir
  // Signals are taken from here on: one that comes while the mirror opens closes it once open.
  let stopping: (() => void) | undefined
  const stopped = new Promise<void>(resolve => {
    stopping = resolve
  })
  const stop = (): void => {
    process.off('SIGINT', stop)
    process.off('SIGTERM', stop)
    // A second signal while closing means "now"; the store's writes are atomic batches either way.
    process.once('SIGINT', () => process.exit(130))
    process.once('SIGTERM', () => process.exit(143))
    stopping!()
  }
  process.on('SIGINT', stop)
  process.on('SIGTERM', stop)

  await mkdir(dir, {recursive: true})
  const identity = await mirrorIdentity(dir)
  const webrtc = await loadNodeWebRTC()
  const db = await openNodeDatabase(join(dir, 'store'))
  const mirror = new Mirror({hubs, db, identity, rooms, logs, files, owners, webrtc, maxBytes, maxLogBytes, maxFileBytes, dht: !values['no-dht']})
  const print = (): void => {
    const status = mirror.status
    if (values.json) console.log(JSON.stringify(status))
    else for (const line of statusLines(status)) console.log(line)
  }
  let last = ''
  let timer: ReturnType<typeof setTimeout> | undefined
  const printSoon = (): void => {
    if (timer) return
    timer = setTimeout(() => {
      timer = undefined
      const now = JSON.stringify(mirror.status)
      if (now === last) return
      last = now
      print()
    }, 1000)
  }
  mirror.on('status', printSoon)
  mirror.on('error', err => console.error(`p2p-elements mirror: ${err.code}: ${err.message}`))
  console.error(`p2p-elements mirror ${mirror.key}: keeping ${plural(logs.length, 'log')} and ${plural(files.length, 'file')} in ${dir}, rooms ${rooms.join(', ')}`)
  let server: Server | undefined
  try {
    if (http) {
      const served = await listenMirrorHttp(() => mirror.status, http.host, http.port)
      server = served.server
      console.error(`p2p-elements mirror: status on ${served.url}/status and ${served.url}/metrics`)
    }
    await mirror.open()
    last = JSON.stringify(mirror.status)
    print()
    await stopped
  } finally {
    clearTimeout(timer)
    server?.closeAllConnections()
    server?.close()
    await mirror.close()
    await db.close()
  }
}
