// One kit build for a whole test run. Four Node test files (kit-build, size, entry-points,
// on-demand) each called buildKit, about 11 s of esbuild and terser apiece, for the same
// sources. `npm run test:node` (scripts/test-node.ts) names a fresh directory in
// P2P_KIT_BUILD_CACHE: the first buildKit of the run keeps its result there and the
// others read it. The directory lives for that run only and nothing in it edits the
// sources, so what is read back is what a build would give; outside such a run (a file
// run alone, `npm run build`) buildKit builds as ever.
import {mkdir, readFile, rename, writeFile} from 'node:fs/promises'
import {createHash} from 'node:crypto'
import {join} from 'node:path'
import type {BuiltFile, KitBuild} from './kit-build.js'

interface Stored {
  elements: Array<[string, BuiltFile]>
  allInOne: Array<[string, BuiltFile]>
  outputFiles: Array<{path: string, contents: string}>
}

/** Where the build for `outdir` is kept in `cacheDir`: the outdir names it, as it places the files. */
function entryPath(cacheDir: string, outdir: string): string {
  return join(cacheDir, `${createHash('sha256').update(outdir).digest('hex').slice(0, 16)}.json`)
}

/** The build kept for `outdir`, or undefined when none is. */
export async function readCachedBuild(cacheDir: string, outdir: string): Promise<KitBuild | undefined> {
  let text: string
  try {
    text = await readFile(entryPath(cacheDir, outdir), 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw err
  }
  const stored = JSON.parse(text) as Stored
  return {
    elements: new Map(stored.elements),
    allInOne: new Map(stored.allInOne),
    outputFiles: stored.outputFiles.map(({path, contents}) => ({path, contents: new Uint8Array(Buffer.from(contents, 'base64'))})),
  }
}

/** Keeps `kit` as the build for `outdir`; written whole then renamed, so a reader never sees half of it. */
export async function writeCachedBuild(cacheDir: string, outdir: string, kit: KitBuild): Promise<void> {
  const stored: Stored = {
    elements: [...kit.elements],
    allInOne: [...kit.allInOne],
    outputFiles: kit.outputFiles.map(({path, contents}) => ({path, contents: Buffer.from(contents).toString('base64')})),
  }
  await mkdir(cacheDir, {recursive: true})
  const path = entryPath(cacheDir, outdir)
  await writeFile(`${path}.partial`, JSON.stringify(stored))
  await rename(`${path}.partial`, path)
}
