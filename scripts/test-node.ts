// `npm run test:node`: test/node/*.test.ts one file at a time, with P2P_KIT_BUILD_CACHE
// naming a directory made for this run, so the files that build the kit share one build
// (scripts/kit-build-cache.ts). The directory is removed afterwards, whatever the tests'
// outcome, and their exit code is this one's.
import {spawn} from 'node:child_process'
import {mkdtemp, readdir, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const NODE_TESTS = join(ROOT, 'test', 'node')

const cache = await mkdtemp(join(tmpdir(), 'p2p-elements-kit-build-'))
let code: number | null = 1
try {
  const files = (await readdir(NODE_TESTS)).filter(name => name.endsWith('.test.ts')).sort().map(name => join('test', 'node', name))
  const tests = spawn(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=1', ...files], {
    cwd: ROOT,
    stdio: 'inherit',
    env: {...process.env, P2P_KIT_BUILD_CACHE: cache},
  })
  code = await new Promise<number | null>((resolve, reject) => {
    tests.once('error', reject)
    tests.once('close', resolve)
  })
} finally {
  await rm(cache, {recursive: true, force: true})
}
process.exitCode = code ?? 1
