// One kit build per test run (scripts/kit-build-cache.ts): what buildKit keeps reads back
// whole, and a kept build is what buildKit returns, without building.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {mkdtemp, readdir, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {buildKit, type KitBuild} from '../../scripts/kit-build.js'
import {readCachedBuild, writeCachedBuild} from '../../scripts/kit-build-cache.js'

/** A made-up build: no esbuild, and nothing a real build could return. */
function fakeBuild(outdir: string): KitBuild {
  const file = (name: string) => ({name, minified: 1234, gzip: 567, imports: ['chunks/core.js'], lazy: ['chunks/storage-X.js'], inputs: ['src/made-up.ts']})
  return {
    elements: new Map([['p2p-made-up.js', file('p2p-made-up.js')]]),
    allInOne: new Map([['made-up.min.js', file('made-up.min.js')]]),
    outputFiles: [{path: join(outdir, 'made-up.min.js'), contents: new Uint8Array([0, 1, 2, 253, 254, 255])}],
  }
}

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'p2p-kit-build-cache-test-'))
  try {
    await fn(dir)
  } finally {
    await rm(dir, {recursive: true, force: true})
  }
}

test('a kept build reads back whole (maps, file facts, bytes), per outdir, and none is there before', () => withDir(async dir => {
  const kit = fakeBuild('/x/dist')
  assert.equal(await readCachedBuild(dir, '/x/dist'), undefined)
  await writeCachedBuild(dir, '/x/dist', kit)
  assert.deepEqual(await readCachedBuild(dir, '/x/dist'), kit)
  assert.equal(await readCachedBuild(dir, '/y/dist'), undefined)
  assert.deepEqual((await readdir(dir)).filter(name => name.endsWith('.partial')), [])
}))

test('buildKit returns the build kept in P2P_KIT_BUILD_CACHE for its outdir, without building', () => withDir(async dir => {
  const outdir = join(dir, 'dist')
  const kit = fakeBuild(outdir)
  await writeCachedBuild(dir, outdir, kit)
  const before = process.env.P2P_KIT_BUILD_CACHE
  process.env.P2P_KIT_BUILD_CACHE = dir
  try {
    assert.deepEqual(await buildKit(outdir), kit)
  } finally {
    if (before === undefined) delete process.env.P2P_KIT_BUILD_CACHE
    else process.env.P2P_KIT_BUILD_CACHE = before
  }
}))
