// Starts coturn's turnserver on loopback as a child process, for the TURN tests:
// long-term credentials (a fresh random password each run) or, given a secret,
// time-limited TURN REST API credentials (minted by src/server/ice.ts's
// turnCredentials, the hub's own); plain UDP/TCP only, relaying between
// loopback addresses. Resolves once the server answers a STUN Binding request,
// which is the one sure sign that it listens.
import {spawn} from 'node:child_process'
import {createSocket} from 'node:dgram'
import {createServer} from 'node:net'
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {randomBytes} from 'node:crypto'

const HOST = '127.0.0.1'
const BINDING_REQUEST = 0x0001
const BINDING_SUCCESS = 0x0101
const MAGIC_COOKIE = 0x2112a442

/** A UDP port nobody holds right now (coturn listens on UDP and TCP at the same number). */
/** True if `port` can be bound on HOST for UDP and for TCP (coturn listens on both). */
async function bindable(port) {
  const udp = await new Promise(resolve => {
    const socket = createSocket('udp4')
    socket.once('error', () => resolve(false))
    socket.bind(port, HOST, () => socket.close(() => resolve(true)))
  })
  if (!udp) return false
  return new Promise(resolve => {
    const server = createServer()
    server.once('error', () => resolve(false))
    server.listen(port, HOST, () => server.close(() => resolve(true)))
  })
}

/**
 * A port free for UDP and TCP, below Linux's ephemeral range (32768 and up): a
 * port the kernel hands out may meanwhile become the local end of one of the
 * many loopback TCP connections a test run makes, and coturn's TCP listener
 * then fails to bind (seen in a CI run).
 */
async function freePort() {
  for (let i = 0; i < 50; i++) {
    const port = 20000 + Math.floor(Math.random() * 12000)
    if (await bindable(port)) return port
  }
  throw new Error('no free port for turnserver between 20000 and 32000')
}

function stunAnswers(port, timeout) {
  return new Promise(resolve => {
    const socket = createSocket('udp4')
    const request = Buffer.alloc(20)
    request.writeUInt16BE(BINDING_REQUEST, 0)
    request.writeUInt32BE(MAGIC_COOKIE, 4)
    randomBytes(12).copy(request, 8)
    const done = ok => {
      clearInterval(timer)
      clearTimeout(deadline)
      socket.close()
      resolve(ok)
    }
    socket.on('message', msg => {
      if (msg.length >= 20 && msg.readUInt16BE(0) === BINDING_SUCCESS && msg.subarray(8, 20).equals(request.subarray(8, 20))) done(true)
    })
    // Nothing listening yet answers with ICMP port unreachable, seen here as an error: keep trying.
    socket.on('error', () => {})
    const send = () => socket.send(request, port, HOST)
    const timer = setInterval(send, 100)
    const deadline = setTimeout(() => done(false), timeout)
    send()
  })
}

export async function startTurnProcess(options = {}) {
  // A port taken between the check and coturn's bind is a lost race, not a broken server: try another.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(options)
    } catch (err) {
      if (attempt >= 3 || !/Address already in use/.test(err.message)) throw err
    }
  }
}

async function startOnce({bin = process.env.TURNSERVER_PATH ?? 'turnserver', username = 'p2p', secret, timeout = 10_000} = {}) {
  const port = await freePort()
  const credential = secret === undefined ? randomBytes(12).toString('hex') : undefined
  const auth = secret === undefined
    ? ['--lt-cred-mech', `--user=${username}:${credential}`]
    : ['--use-auth-secret', `--static-auth-secret=${secret}`]
  // coturn writes a pid file and opens a user database; both go in a private
  // directory, so it runs the same as root or not and leaves nothing behind.
  const dir = mkdtempSync(join(tmpdir(), 'p2p-turn-'))
  const cleanup = () => rmSync(dir, {recursive: true, force: true})
  const child = spawn(bin, [
    '-n', '--no-cli', '--no-tls', '--no-dtls',
    `--listening-ip=${HOST}`, `--relay-ip=${HOST}`, `--listening-port=${port}`,
    '--allow-loopback-peers', ...auth, '--realm=test',
    `--pidfile=${join(dir, 'turnserver.pid')}`, `--userdb=${join(dir, 'turndb')}`,
    '--log-file=stdout', '--simple-log',
  ], {stdio: ['ignore', 'pipe', 'pipe']})
  let out = ''
  const collect = chunk => { if (out.length < 64 * 1024) out += chunk }
  child.stdout.setEncoding('utf8').on('data', collect)
  child.stderr.setEncoding('utf8').on('data', collect)
  const exited = new Promise(resolve => {
    child.once('exit', (code, signal) => resolve(`exited with ${signal ?? code}`))
    child.once('error', err => resolve(err.code === 'ENOENT' ? `${bin} not found (install coturn: apt-get install coturn)` : err.message))
  })
  const why = await Promise.race([
    stunAnswers(port, timeout).then(ok => ok ? null : `no STUN answer on ${HOST}:${port} within ${timeout} ms`),
    exited,
  ])
  const close = () => new Promise(done => {
    const finish = () => { cleanup(); done() }
    if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return finish()
    child.once('exit', finish)
    child.kill('SIGTERM')
  })
  if (why) {
    await close()
    throw new Error(`turnserver did not start: ${why}${out ? `\n${out.slice(-2000)}` : ''}`)
  }
  // Its log is only wanted when it fails to start; past that, let it drain.
  child.stdout.off('data', collect).resume()
  child.stderr.off('data', collect).resume()
  const urls = `turn:${HOST}:${port}?transport=udp`
  return secret === undefined ? {urls, username, credential, child, close} : {urls, secret, child, close}
}
