// Starts the signalling hub as a real child process (the CLI), for tests, benchmarks
// and `npm start`. Resolves with its URL once it prints that it listens.
import {spawn} from 'node:child_process'
import {fileURLToPath} from 'node:url'

const cli = fileURLToPath(new URL('../src/server/cli.ts', import.meta.url))

export function startHubProcess({port = 0, host = '127.0.0.1', args = [], stdio = 'pipe', env = {}, bin, onLine} = {}) {
  const hubArgs = ['hub', '--port', String(port), '--host', host, ...args]
  const child = spawn(bin ?? process.execPath, bin ? hubArgs : ['--import', 'tsx', cli, ...hubArgs], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: {...process.env, ...env},
  })
  if (onLine) {
    let partial = ''
    child.stdout.on('data', chunk => {
      const lines = (partial + chunk).split('\n')
      partial = lines.pop()
      for (const line of lines) onLine(line)
    })
  }
  return new Promise((resolve, reject) => {
    let out = ''
    const onData = chunk => {
      out += chunk
      // The text line, or with --json the `listening` object's url.
      const m = out.match(/listening on (http:\/\/\S+)/) ?? out.match(/"event":"listening","url":"(http:\/\/[^"]+)"/)
      if (!m) return
      child.stdout.off('data', onData)
      if (stdio === 'inherit') child.stdout.pipe(process.stdout)
      else child.stdout.resume()
      resolve({
        url: m[1],
        child,
        close: () => new Promise(done => {
          // A child killed by a signal has no exit code, only a signal code.
          if (child.exitCode !== null || child.signalCode !== null) return done()
          child.once('exit', () => done())
          child.kill('SIGTERM')
        }),
      })
    }
    child.stdout.setEncoding('utf8')
    child.stdout.on('data', onData)
    child.once('exit', code => reject(new Error(`hub exited with ${code} before listening: ${out}`)))
  })
}
