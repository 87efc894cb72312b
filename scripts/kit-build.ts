// The esbuild options and entry points of the browser builds, shared by the script-tag
// bundle (`npm run build`), the demo server (`npm start`) and the size and entry-point
// tests, so the demo and the budget check run exactly what a page gets.
import {build, type BuildOptions, type Metafile, type OutputFile} from 'esbuild'
import {basename, join, relative} from 'node:path'
import {fileURLToPath} from 'node:url'
import {gzipSync} from 'node:zlib'

export const ROOT = fileURLToPath(new URL('..', import.meta.url))
export const ENTRY = fileURLToPath(new URL('../src/index.ts', import.meta.url))
export const PROTOCOL_ENTRY = fileURLToPath(new URL('../src/protocol.ts', import.meta.url))

/** Every element's tag; each has its own entry, src/<tag>.ts, registering it alone. */
export const ELEMENT_TAGS = ['p2p-swarm', 'p2p-peers', 'p2p-gossip', 'p2p-feed', 'p2p-file-drop'] as const
export type ElementTag = typeof ELEMENT_TAGS[number]

/** The source entry that registers `tag` alone. */
export function elementEntry(tag: ElementTag): string {
  return fileURLToPath(new URL(`../src/${tag}.ts`, import.meta.url))
}

/** The elements of the chat page the size budget is set for (issue 16). */
export const CHAT_PAGE: readonly ElementTag[] = ['p2p-swarm', 'p2p-peers', 'p2p-gossip', 'p2p-feed']

/** Gzip budgets in bytes (KB as in the issue: 1000 bytes). */
export const BUDGET = {chatPage: 45_000, wholeKit: 70_000}

export function kitBuildOptions(): BuildOptions {
  return {
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    // The tsconfig carries experimentalDecorators and useDefineForClassFields: false;
    // without it Lit's decorators come out as a SyntaxError.
    tsconfig: fileURLToPath(new URL('../tsconfig.json', import.meta.url)),
    logLevel: 'warning',
    // Metafile paths are relative to it.
    absWorkingDir: ROOT,
  }
}

export interface BuiltFile {
  /** Path relative to the output directory, e.g. `p2p-swarm.js` or `chunks/chunk-X.js`. */
  name: string
  minified: number
  gzip: number
  /** The files this one imports statically (names as above): what loads with it. */
  imports: string[]
}

export interface KitBuild {
  /** One file per element plus the chunks they share, keyed by name. */
  elements: Map<string, BuiltFile>
  /** The all-in-one file. */
  kit: BuiltFile
  /** esbuild's outputs, for writing them out. */
  outputFiles: OutputFile[]
}

const gzipSize = (code: Uint8Array) => gzipSync(code, {level: 9}).length

function describe(outdir: string, outputs: OutputFile[], metafile: Metafile): Map<string, BuiltFile> {
  const files = new Map<string, BuiltFile>()
  for (const file of outputs) {
    if (!file.path.endsWith('.js')) continue
    const name = relative(outdir, file.path)
    const meta = metafile.outputs[relative(ROOT, file.path)]
    const imports = (meta?.imports ?? [])
      .filter(i => i.kind === 'import-statement' && !i.external)
      .map(i => relative(outdir, join(ROOT, i.path)))
    files.set(name, {name, minified: file.contents.length, gzip: gzipSize(file.contents), imports})
  }
  return files
}

/**
 * Builds the script-tag files in memory, placed under `outdir`: one minified ES module
 * per element sharing chunks (esbuild's splitting) in `outdir/browser`, and the
 * all-in-one `outdir/p2p-elements.min.js`.
 */
export async function buildKit(outdir: string): Promise<KitBuild> {
  const elementsDir = `${outdir}/browser`
  const split = await build({
    ...kitBuildOptions(),
    entryPoints: ELEMENT_TAGS.map(tag => ({in: elementEntry(tag), out: tag})),
    outdir: elementsDir,
    splitting: true,
    chunkNames: 'chunks/[name]-[hash]',
    minify: true,
    metafile: true,
    write: false,
  })
  const kitFile = `${outdir}/p2p-elements.min.js`
  const single = await build({
    ...kitBuildOptions(),
    entryPoints: [ENTRY],
    outfile: kitFile,
    minify: true,
    sourcemap: 'linked',
    metafile: true,
    write: false,
  })
  const kit = describe(outdir, single.outputFiles!, single.metafile!).get(basename(kitFile))!
  return {elements: describe(elementsDir, split.outputFiles!, split.metafile!), kit, outputFiles: [...split.outputFiles!, ...single.outputFiles!]}
}

/** The files a page loads for these elements, each once: their entries and every chunk they import. */
export function pageFiles(elements: Map<string, BuiltFile>, tags: readonly ElementTag[]): BuiltFile[] {
  const seen = new Map<string, BuiltFile>()
  const visit = (name: string) => {
    if (seen.has(name)) return
    const file = elements.get(name)
    if (!file) throw new Error(`no built file ${name}`)
    seen.set(name, file)
    file.imports.forEach(visit)
  }
  tags.forEach(tag => visit(`${tag}.js`))
  return [...seen.values()]
}

/** Gzip bytes of a page: each file is served and compressed on its own, so the sizes add. */
export function pageGzip(files: BuiltFile[]): number {
  return files.reduce((sum, file) => sum + file.gzip, 0)
}

export const kib = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`
