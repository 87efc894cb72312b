import type {ChildProcess} from 'node:child_process'

export interface TurnProcessOptions {
  /** The turnserver binary; default `$TURNSERVER_PATH` or `turnserver` on the PATH. */
  bin?: string
  /** The long-term credential's user name (ignored with `secret`). */
  username?: string
  /** Run with `use-auth-secret` and this secret, for TURN REST API credentials (see `turnCredentials` in src/server/ice.ts). */
  secret?: string
  /** Milliseconds to wait for the server to answer STUN. */
  timeout?: number
}

export interface TurnProcess {
  /** A TURN URL on loopback, e.g. `turn:127.0.0.1:40123?transport=udp`. */
  urls: string
  /** The long-term credential (without `secret`): `username` and a fresh random password per run. */
  username?: string
  credential?: string
  /** The REST API secret (with `secret`). */
  secret?: string
  child: ChildProcess
  /** Sends SIGTERM, waits for the exit and removes the server's temp directory. */
  close(): Promise<void>
}

/** Rejects with the server's output when it is missing or does not answer. */
export function startTurnProcess(options?: TurnProcessOptions): Promise<TurnProcess>
