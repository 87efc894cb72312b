// Where a benchmark's time goes in the browser (LOG_BENCH_PROFILE,
// VIEW_BENCH_PROFILE): a page's V8 CPU profile over CDP, summed by function, and
// the lengths of its main thread's tasks from a trace.
import type {Page} from 'puppeteer-core'

interface ProfileNode {id: number, callFrame: {functionName: string, url: string, lineNumber: number}, children?: number[]}
export interface Profile {nodes: ProfileNode[], samples: number[], timeDeltas: number[]}

/** Starts the V8 sampling profiler of a page; the function returned stops it and hands over the profile. */
export async function startProfile(page: Page): Promise<() => Promise<Profile>> {
  const client = await page.createCDPSession()
  await client.send('Profiler.enable')
  await client.send('Profiler.setSamplingInterval', {interval: 200})
  await client.send('Profiler.start')
  return async () => {
    const {profile} = await client.send('Profiler.stop') as unknown as {profile: Profile}
    await client.detach()
    return profile
  }
}

/** Self time by function (name, file and line), the largest first. */
export function printProfile(label: string, profile: Profile): void {
  const byId = new Map(profile.nodes.map(node => [node.id, node]))
  const self = new Map<string, number>()
  let total = 0
  profile.samples.forEach((id, i) => {
    const {functionName, url, lineNumber} = byId.get(id)!.callFrame
    const name = `${functionName || '(anonymous)'} ${url.replace(/^.*\/(src|node_modules)\//, '$1/')}:${lineNumber + 1}`
    const ms = (profile.timeDeltas[i] ?? 0) / 1000
    self.set(name, (self.get(name) ?? 0) + ms)
    total += ms
  })
  console.log(`  profile, ${label}: ${Math.round(total)} ms sampled`)
  for (const [name, ms] of [...self].sort((a, b) => b[1] - a[1]).slice(0, 12)) {
    console.log(`    ${String(Math.round(ms)).padStart(6)} ms  ${(100 * ms / total).toFixed(1).padStart(5)}%  ${name}`)
  }
}

/** The page's main-thread tasks: by wall time (what a `longtask` observer sees) and by the thread's own CPU time. */
export interface TaskTimes {
  tasks: number
  longestMs: number
  over50: number
  /** The longest task by CPU time of the thread, and how many used over 50 ms of it. */
  longestCpuMs: number
  cpuOver50: number
}

const MARK = 'bench-trace-page'

/**
 * Starts a trace of the browser's tasks; the function returned stops it and
 * hands over the page's main-thread tasks. On a loaded machine a task's wall
 * time holds the time its thread waited to be scheduled; its CPU time (the
 * trace's `tdur`) is the page's own work.
 */
export async function startTaskTrace(page: Page): Promise<() => Promise<TaskTimes>> {
  await page.tracing.start({categories: ['disabled-by-default-devtools.timeline', 'blink.user_timing']})
  // The mark names the page's renderer process among the browser's.
  await page.evaluate(mark => performance.mark(mark), MARK)
  return async () => {
    const trace = await page.tracing.stop()
    const events = (JSON.parse(Buffer.from(trace!).toString('utf8')) as {traceEvents: TraceEvent[]}).traceEvents
    const mark = events.find(e => e.name === MARK)
    if (!mark) throw new Error('the page\'s mark is not in the trace')
    // Its main thread's tid is its pid.
    const tasks = events.filter(e => e.name === 'RunTask' && e.ph === 'X' && e.pid === mark.pid && e.tid === mark.pid && e.ts >= mark.ts)
    const wall = tasks.map(e => (e.dur ?? 0) / 1000)
    const cpu = tasks.map(e => (e.tdur ?? 0) / 1000)
    // Hundreds of thousands of tasks: too many to spread into Math.max's arguments.
    const longest = (ms: number[]): number => Math.round(ms.reduce((a, b) => Math.max(a, b), 0))
    return {
      tasks: tasks.length,
      longestMs: longest(wall),
      over50: wall.filter(ms => ms > 50).length,
      longestCpuMs: longest(cpu),
      cpuOver50: cpu.filter(ms => ms > 50).length,
    }
  }
}

interface TraceEvent {name: string, ph: string, pid: number, tid: number, ts: number, dur?: number, tdur?: number}
