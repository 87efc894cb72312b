// `npm run test:consumer`: packs the kit once, as publishing would (`npm pack` runs the
// prepack build), then runs test/consumer/*.test.ts with P2P_KIT_TARBALL naming that
// tarball, so each app installs the same package instead of every file packing (and
// building) the kit again: each pack is a full build. The tarball's directory is
// removed afterwards, whatever the tests' outcome, and their exit code is this one's.
import {execFile, spawn} from 'node:child_process'
import {mkdtemp, readdir, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {promisify} from 'node:util'
import {fileURLToPath} from 'node:url'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const CONSUMER_TESTS = join(ROOT, 'test', 'consumer')

const dir = await mkdtemp(join(tmpdir(), 'p2p-elements-pack-'))
let code: number | null = 1
try {
  await promisify(execFile)('npm', ['pack', '--pack-destination', dir], {cwd: ROOT, maxBuffer: 64 << 20})
  const tarball = (await readdir(dir)).find(name => name.endsWith('.tgz'))
  if (tarball === undefined) throw new Error(`npm pack left no tarball in ${dir}`)
  const files = (await readdir(CONSUMER_TESTS)).filter(name => name.endsWith('.test.ts')).sort().map(name => join(CONSUMER_TESTS, name))
  const tests = spawn(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=1', ...files], {
    cwd: ROOT,
    stdio: 'inherit',
    env: {...process.env, P2P_KIT_TARBALL: join(dir, tarball)},
  })
  code = await new Promise<number | null>((resolve, reject) => {
    tests.once('error', reject)
    tests.once('close', resolve)
  })
} finally {
  await rm(dir, {recursive: true, force: true})
}
process.exitCode = code ?? 1
