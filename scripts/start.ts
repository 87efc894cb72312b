// `npm start`: a signalling hub and the demo, both on 127.0.0.1 only.
// HUB_PORT (default 9000) and DEMO_PORT (default: the first free of 8000–8009) pick ports.
import {startHubProcess} from './hub-process.js'
import {startDemoServer, type DemoServer} from './demo-server.js'

function portFromEnv(name: string): number | undefined {
  const value = process.env[name]
  if (value === undefined || value === '') return undefined
  const port = Number(value)
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`${name} must be a port number, got ${JSON.stringify(value)}`)
    process.exit(1)
  }
  return port
}

const hubPort = portFromEnv('HUB_PORT') ?? 9000
const demoPort = portFromEnv('DEMO_PORT')

const hub = await startHubProcess({port: hubPort, host: '127.0.0.1', stdio: 'inherit'}).catch((err: Error) => {
  console.error(`could not start the hub on 127.0.0.1:${hubPort} (HUB_PORT picks another port)\n${err.message}`)
  process.exit(1)
})

let demo: DemoServer | undefined
let stopping = false

async function stop(code: number): Promise<never> {
  if (!stopping) {
    stopping = true
    await Promise.all([hub.close(), demo?.close()])
    process.exit(code)
  }
  // A second signal while stopping waits for the exit the first one started.
  return new Promise<never>(() => {})
}

// A Ctrl-C reaches the hub too (same process group), so a hub that exits while we
// stop is expected; one that exits on its own takes the demo down with it.
hub.child.once('exit', (code, signal) => {
  if (stopping) return
  console.error(`hub exited (${signal ?? `code ${code}`}); stopping the demo`)
  void stop(1)
})
process.once('SIGINT', () => void stop(0))
process.once('SIGTERM', () => void stop(0))

demo = await startDemoServer({port: demoPort, watch: true}).catch((err: Error) => {
  console.error(`could not start the demo server${demoPort === undefined ? '' : ` on 127.0.0.1:${demoPort} (DEMO_PORT picks another port)`}\n${err.message}`)
  return stop(1)
})

console.log(`\ndemo: ${demo.url}/?hub=${hub.url}\n      open it in two tabs and watch them find each other; Ctrl-C stops the hub and the demo\nchat: ${demo.url}/chat.html?hub=${hub.url}\n      a room chat written in markup alone: type in one tab, read in the other\nfiles: ${demo.url}/files.html?hub=${hub.url}\n       drop a file in one tab, download it in the others\n`)
