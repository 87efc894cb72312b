// What the log tests of node and browser alike ask of a Log: wait for it, compare two,
// read it whole.
import type {Entry} from '../../src/core/log/entry.js'
import type {Log} from '../../src/core/log/log.js'
import type {ReplicaLog} from '../../src/core/log/replicate.js'

/** Resolves once `check` holds, checking again on each of the log's updates. */
export function whenLog(log: Log, check: () => boolean): Promise<void> {
  return new Promise(resolve => {
    const test = (): void => {
      if (!check()) return
      log.off('update', test)
      resolve()
    }
    log.on('update', test)
    test()
  })
}

/** The two logs hold as many entries of every author. */
export function same(a: Log, b: Log): boolean {
  return a.length === b.length && [...a.lengths()].every(([author, n]) => b.lengths().get(author) === n)
}

/** Every entry, read from storage in the log's order (`options` as `entries` takes them). */
export async function all(log: Log, options: Parameters<Log['entries']>[0] = {}): Promise<Entry[]> {
  const out: Entry[] = []
  for await (const {entry} of log.entries(options)) out.push(entry)
  return out
}

/** `log` as a replication session sees it: every call passed on, but those in `overrides`. */
export function replicaOf(log: Log, overrides: Partial<ReplicaLog> = {}): ReplicaLog {
  return {
    key: log.key,
    get length() { return log.length },
    ready: () => log.ready(),
    lengths: () => log.lengths(),
    get: hash => log.get(hash),
    add: (entries, source) => log.add(entries, source),
    missing: (lengths, limit, cursor) => log.missing(lengths, limit, cursor),
    indexOf: (author, seq) => log.indexOf(author, seq),
    forks: () => log.forks(),
    dropPending: source => log.dropPending(source),
    sessionOpened: () => log.sessionOpened(),
    sessionClosed: () => log.sessionClosed(),
    sessionProgress: progress => log.sessionProgress(progress),
    on: (event: 'update' | 'conflict' | 'resume', listener: never) => log.on(event, listener),
    off: (event: 'update' | 'conflict' | 'resume', listener: never) => log.off(event, listener),
    ...overrides,
  }
}
