// CPU time used by the browser under test, read from /proc (Linux; elsewhere
// `chromiumCpu` returns undefined and benches print no CPU column). Used where a
// bench runs both ends of a transfer on one machine: then the figure that decides
// throughput is CPU seconds per byte, of the renderers and of the network service
// alike, and a ratio of MB/s alone does not say which part is spent where.
import {readFileSync, readdirSync} from 'node:fs'

/** Seconds of CPU (user + system) per kind of Chromium process. */
export interface CpuSample {
  browser: number
  /** The network service, where every WebRTC UDP packet passes (a utility process). */
  network: number
  renderers: number
  other: number
}

const TICKS_PER_SECOND = 100

function kindOf(cmdline: string): keyof CpuSample {
  if (!cmdline.includes('--type=')) return 'browser'
  if (cmdline.includes('--type=renderer')) return 'renderers'
  if (cmdline.includes('--utility-sub-type=network.')) return 'network'
  return 'other'
}

/** Every process below `rootPid` (the browser), itself included. */
function tree(rootPid: number): number[] {
  const children = new Map<number, number[]>()
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
      const list = children.get(ppid) ?? []
      list.push(Number(entry))
      children.set(ppid, list)
    } catch {
      // Gone meanwhile.
    }
  }
  const out: number[] = []
  const stack = [rootPid]
  while (stack.length > 0) {
    const pid = stack.pop() as number
    out.push(pid)
    stack.push(...(children.get(pid) ?? []))
  }
  return out
}

/**
 * CPU seconds used so far by the browser `rootPid` and its processes. Processes
 * that exited are not counted, so take samples around work whose processes live
 * through it (tabs opened before, closed after).
 */
export function chromiumCpu(rootPid: number | undefined): CpuSample | undefined {
  if (rootPid === undefined) return undefined
  try {
    readdirSync('/proc')
  } catch {
    return undefined
  }
  const sample: CpuSample = {browser: 0, network: 0, renderers: 0, other: 0}
  for (const pid of tree(rootPid)) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      // utime and stime are fields 14 and 15 of stat; fields[0] is field 3.
      const ticks = Number(fields[11]) + Number(fields[12])
      sample[kindOf(readFileSync(`/proc/${pid}/cmdline`, 'utf8'))] += ticks / TICKS_PER_SECOND
    } catch {
      // Gone meanwhile.
    }
  }
  return sample
}

/** CPU used between two samples, per kind and in total. */
export function cpuBetween(before: CpuSample | undefined, after: CpuSample | undefined): (CpuSample & {total: number}) | undefined {
  if (!before || !after) return undefined
  const d = {
    browser: after.browser - before.browser,
    network: after.network - before.network,
    renderers: after.renderers - before.renderers,
    other: after.other - before.other,
  }
  return {...d, total: d.browser + d.network + d.renderers + d.other}
}
