// The esbuild options and entry points of the browser builds, shared by the script-tag
// bundle (`npm run build`), the demo server (`npm start`) and the size and entry-point
// tests, so the demo and the budget check run exactly what a page gets.
import {build, type BuildOptions, type Metafile, type OutputFile} from 'esbuild'
import {join, relative} from 'node:path'
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
  /** Path relative to its build's directory, e.g. `p2p-swarm.js` or `chunks/chunk-X.js`. */
  name: string
  minified: number
  gzip: number
  /** The files this one imports statically (names as above): what loads with it. */
  imports: string[]
  /** The files it may load later by `import()`: code a page fetches only when it needs it. */
  lazy: string[]
  /** The source files bundled in it, relative to the repository (`node_modules/…` for dependencies). */
  inputs: string[]
}

export interface KitBuild {
  /** `outdir/browser`: one file per element plus the chunks they share, keyed by name. */
  elements: Map<string, BuiltFile>
  /** `outdir`: the all-in-one `p2p-elements.min.js` and the chunks it loads on demand. */
  allInOne: Map<string, BuiltFile>
  /** esbuild's outputs, for writing them out. */
  outputFiles: OutputFile[]
}

/** The all-in-one file's name in its build. */
export const ALL_IN_ONE = 'p2p-elements.min.js'

const gzipSize = (code: Uint8Array) => gzipSync(code, {level: 9}).length

function describe(outdir: string, outputs: OutputFile[], metafile: Metafile): Map<string, BuiltFile> {
  const files = new Map<string, BuiltFile>()
  for (const file of outputs) {
    if (!file.path.endsWith('.js')) continue
    const name = relative(outdir, file.path)
    const meta = metafile.outputs[relative(ROOT, file.path)]
    const imports = meta.imports.filter(i => !i.external)
    const named = (kind: string) => imports.filter(i => i.kind === kind).map(i => relative(outdir, join(ROOT, i.path)))
    files.set(name, {
      name, minified: file.contents.length, gzip: gzipSize(file.contents),
      imports: named('import-statement'), lazy: named('dynamic-import'), inputs: Object.keys(meta.inputs),
    })
  }
  return files
}

/** One minified ESM build of `entryPoints` into `outdir`, split so that shared and `import()`ed code are chunks. */
async function splitBuild(outdir: string, entryPoints: Array<{in: string, out: string}>, extra: BuildOptions = {}) {
  const result = await build({
    ...kitBuildOptions(),
    ...extra,
    entryPoints,
    outdir,
    splitting: true,
    chunkNames: 'chunks/[name]-[hash]',
    minify: true,
    metafile: true,
    write: false,
  })
  return {files: describe(outdir, result.outputFiles!, result.metafile!), outputFiles: result.outputFiles!}
}

/**
 * Builds the script-tag files in memory, placed under `outdir`: one minified ES module
 * per element sharing chunks in `outdir/browser`, and the all-in-one
 * `outdir/p2p-elements.min.js`. Both are split builds: code the kit loads by `import()`
 * only when a page needs it (tweetnacl where WebCrypto lacks Ed25519) stays in chunks of
 * its own instead of weighing on every page.
 */
export async function buildKit(outdir: string): Promise<KitBuild> {
  const elements = await splitBuild(`${outdir}/browser`, ELEMENT_TAGS.map(tag => ({in: elementEntry(tag), out: tag})))
  const allInOne = await splitBuild(outdir, [{in: ENTRY, out: ALL_IN_ONE.replace(/\.js$/, '')}], {sourcemap: 'linked'})
  return {elements: elements.files, allInOne: allInOne.files, outputFiles: [...elements.outputFiles, ...allInOne.outputFiles]}
}

/** The files a page loads with these entries (names in their build), each once: the entries and every chunk they import. */
export function pageFiles(files: Map<string, BuiltFile>, entries: readonly string[]): BuiltFile[] {
  const seen = new Map<string, BuiltFile>()
  const visit = (name: string) => {
    if (seen.has(name)) return
    const file = files.get(name)
    if (!file) throw new Error(`no built file ${name}`)
    seen.set(name, file)
    file.imports.forEach(visit)
  }
  entries.forEach(visit)
  return [...seen.values()]
}

/** The entry file of each of these elements in the per-element build. */
export const elementFiles = (tags: readonly ElementTag[]) => tags.map(tag => `${tag}.js`)

/** Gzip bytes of a page: each file is served and compressed on its own, so the sizes add. */
export function pageGzip(files: BuiltFile[]): number {
  return files.reduce((sum, file) => sum + file.gzip, 0)
}

export const kib = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`
