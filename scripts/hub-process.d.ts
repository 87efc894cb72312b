import type {ChildProcess} from 'node:child_process'

export interface HubProcessOptions {
  /** 0 (the default) lets the system pick a free port. */
  port?: number
  host?: string
  /** More CLI flags, e.g. `['--rate-limit', '100000']`. */
  args?: string[]
  /** 'inherit' forwards the hub's output to this process once it listens. */
  stdio?: 'pipe' | 'inherit'
  /** More environment variables for the hub (added to this process's). */
  env?: Record<string, string>
  /** The `p2p-elements` executable to run (an installed package's bin) instead of this repository's src/server/cli.ts. */
  bin?: string
  /** Called with each line the hub writes to stdout (its log), from its first. */
  onLine?: (line: string) => void
}

export interface HubProcess {
  /** The URL the hub printed, e.g. `http://127.0.0.1:9000`. */
  url: string
  child: ChildProcess
  /** Sends SIGTERM and resolves once the process has exited. */
  close(): Promise<void>
}

export function startHubProcess(options?: HubProcessOptions): Promise<HubProcess>
