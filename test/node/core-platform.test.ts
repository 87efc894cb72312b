// The core's "no DOM" rule is a build check (`npm run typecheck` runs tsconfig.core.json):
// code under src/core that reaches for `document` or `window` does not compile, while the
// platform APIs the core does use (WebRTC types, fetch, EventSource, BroadcastChannel,
// Web Locks, WebCrypto, timers) do.
import {test, after} from 'node:test'
import assert from 'node:assert/strict'
import {execFile} from 'node:child_process'
import {mkdtemp, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join, resolve} from 'node:path'
import {promisify} from 'node:util'

const root = resolve(import.meta.dirname, '../..')
const dir = await mkdtemp(join(tmpdir(), 'core-platform-'))
// ES modules, as under the project's own package.json.
await writeFile(join(dir, 'package.json'), '{"type": "module"}')
after(() => rm(dir, {recursive: true, force: true}))

/** Compiles `source` with the core's compiler options and platform types; the diagnostics, if any. */
async function compileAsCore(name: string, source: string): Promise<string> {
  await writeFile(join(dir, `${name}.ts`), source)
  await writeFile(join(dir, `${name}.json`), JSON.stringify({
    extends: join(root, 'tsconfig.core.json'),
    compilerOptions: {rootDir: '/'},
    include: [join(dir, `${name}.ts`), join(root, 'src/core/platform.d.ts')],
  }))
  try {
    await promisify(execFile)(join(root, 'node_modules/.bin/tsc'), ['-p', join(dir, `${name}.json`)])
    return ''
  } catch (err) {
    return String((err as {stdout?: string}).stdout ?? err)
  }
}

test('document and window in the core fail to compile', async () => {
  const output = await compileAsCore('dom', `
    export const body = document.body
    export const online = window.navigator.onLine
  `)
  assert.match(output, /Cannot find name 'document'/)
  assert.match(output, /Cannot find name 'window'/)
})

test('the platform APIs the core uses compile', async () => {
  const output = await compileAsCore('platform', `
    export function use(pc: RTCPeerConnection, config: RTCConfiguration): unknown {
      pc.setConfiguration(config)
      const channel = new BroadcastChannel('x')
      const timer = setTimeout(() => channel.close(), 1)
      clearTimeout(timer)
      return [pc.sctp?.maxMessageSize, fetch, EventSource, navigator.locks, crypto.subtle, new TextEncoder(), performance.now()]
    }
  `)
  assert.equal(output, '')
})
