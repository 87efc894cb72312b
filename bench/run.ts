// `npm run bench`: runs every bench/*.bench.ts in its own Node process, one after
// another so they do not compete for the machine, streams their output, and gathers
// the result lines they print:
//
//   BENCH {"name": "mux throughput", "value": 9.8, "unit": "MB/s", "baseline": 10.4, "ratio": 0.94}
//
// one flat JSON object per measurement, with whatever fields a benchmark finds
// telling (nested values print as JSON in the table). The summary
// table and bench-results/latest.json hold every result; a benchmark that exits
// non-zero or prints a malformed BENCH line fails the run.
import {spawn} from 'node:child_process'
import {access, mkdir, readdir, writeFile} from 'node:fs/promises'
import {createInterface} from 'node:readline'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const BENCH_DIR = fileURLToPath(new URL('.', import.meta.url))
const RESULTS_DIR = fileURLToPath(new URL('../bench-results/', import.meta.url))
const PREFIX = 'BENCH '

type Result = {bench: string} & Record<string, unknown>

interface Failure {
  bench: string
  reason: string
}

function runBench(file: string, results: Result[], failures: Failure[]): Promise<void> {
  const bench = file.replace(/\.bench\.ts$/, '')
  // From the repository root, as npm scripts run, so relative paths mean the same.
  const child = spawn(process.execPath, ['--import', 'tsx', join(BENCH_DIR, file)], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  createInterface({input: child.stdout}).on('line', line => {
    console.log(line)
    if (!line.startsWith(PREFIX)) return
    try {
      const value: unknown = JSON.parse(line.slice(PREFIX.length))
      if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('not a JSON object')
      results.push({bench, ...value})
    } catch (err) {
      failures.push({bench, reason: `malformed BENCH line (${(err as Error).message}): ${line}`})
    }
  })
  return new Promise(resolve => {
    child.once('error', err => {
      failures.push({bench, reason: err.message})
      resolve()
    })
    child.once('close', (code, signal) => {
      if (code !== 0) failures.push({bench, reason: `exited with ${signal ?? `code ${code}`}`})
      resolve()
    })
  })
}

function formatCell(value: unknown): string {
  // Four significant digits: run-to-run noise is far larger than that.
  if (typeof value === 'number') return Math.abs(value) >= 1000 ? String(Math.round(value)) : String(Number(value.toPrecision(4)))
  if (typeof value === 'string') return value
  return value === undefined ? '' : JSON.stringify(value)
}

/** Nested objects become dotted columns (`ours.broadcastsPerSecond`); arrays stay whole. */
function flatten(value: Record<string, unknown>, prefix = ''): Record<string, unknown> {
  const flat: Record<string, unknown> = {}
  for (const [key, v] of Object.entries(value)) {
    if (typeof v === 'object' && v !== null && !Array.isArray(v)) Object.assign(flat, flatten(v as Record<string, unknown>, `${prefix}${key}.`))
    else flat[`${prefix}${key}`] = v
  }
  return flat
}

/** A plain text table: one row per result, one column per field any of them has. */
function table(rows: Record<string, unknown>[]): string {
  const columns = [...new Set(rows.flatMap(r => Object.keys(r)))]
  const cells = [columns, ...rows.map(r => columns.map(c => formatCell(r[c])))]
  const widths = columns.map((_, i) => Math.max(...cells.map(row => row[i].length)))
  const line = (row: string[]) => row.map((cell, i) => cell.padEnd(widths[i])).join('  ').trimEnd()
  return [line(cells[0]), widths.map(w => '-'.repeat(w)).join('  '), ...cells.slice(1).map(line)].join('\n')
}

/**
 * hypercore, log.bench.ts's baseline, is the bench's own dependency (bench/package.json,
 * bench/package-lock.json), not the kit's: with its RocksDB binaries it is about 185 MB
 * that every `npm ci` of the kit, CI's included, would otherwise install and never use.
 * Node finds bench/node_modules first from a file in bench/, so the import stays plain.
 */
async function installBenchDependencies(): Promise<void> {
  try {
    await access(join(BENCH_DIR, 'node_modules', 'hypercore', 'package.json'))
    return
  } catch {
    console.log('bench/node_modules is missing: installing the bench\'s own dependencies (hypercore, bench/package.json) with npm ci --prefix bench')
  }
  const npm = spawn('npm', ['ci', '--prefix', 'bench', '--no-audit', '--no-fund'], {cwd: ROOT, stdio: 'inherit'})
  const code = await new Promise<number | null>((resolve, reject) => {
    npm.once('error', reject)
    npm.once('close', resolve)
  })
  if (code !== 0) throw new Error(`npm ci --prefix bench exited with code ${code}: bench/log.bench.ts cannot import hypercore without it`)
}

await installBenchDependencies()

const files = (await readdir(BENCH_DIR)).filter(f => f.endsWith('.bench.ts')).sort()
const results: Result[] = []
const failures: Failure[] = []

for (const file of files) {
  console.log(`\n== ${file}`)
  await runBench(file, results, failures)
}

console.log(`\n== summary: ${files.length} benchmark${files.length === 1 ? '' : 's'}, ${results.length} result${results.length === 1 ? '' : 's'}`)
// One table per benchmark: their fields differ, and a shared table would be mostly empty.
for (const bench of new Set(results.map(r => r.bench))) {
  console.log(`\n${bench}`)
  console.log(table(results.filter(r => r.bench === bench).map(({bench: _, ...fields}) => flatten(fields))))
}
for (const {bench, reason} of failures) console.error(`FAILED ${bench}: ${reason}`)

await mkdir(RESULTS_DIR, {recursive: true})
await writeFile(`${RESULTS_DIR}latest.json`, `${JSON.stringify({
  date: new Date().toISOString(),
  node: process.version,
  platform: `${process.platform} ${process.arch}`,
  results,
  failures,
}, null, 2)}\n`)
console.log('written to bench-results/latest.json')

if (failures.length) process.exitCode = 1
