// LevelDB on disk for Node (a mirror, a bot, a test), loaded when asked for:
// classic-level is a native module, so it is an optional peer dependency that
// a browser-only app never installs, as node-datachannel is.
import type {AbstractLevel} from 'abstract-level'
import {P2PError} from '../core/errors.js'

/** The package a Node program installs to keep logs and files on disk. */
export const NODE_LEVEL_PACKAGE = 'classic-level'

/**
 * Opens (creating it when absent) a LevelDB database in the directory `path`,
 * for a Log's or a ChunkStore's `db`. The caller closes it. Throws
 * ERR_INVALID_ARGUMENT, naming the package to install, when classic-level is
 * missing; a database another process holds open fails with LevelDB's own error.
 */
export async function openNodeDatabase(path: string): Promise<AbstractLevel<any, any, any>> {
  if (typeof path !== 'string' || path === '') throw P2PError.INVALID_ARGUMENT('path must be a directory path')
  let ClassicLevel: typeof import('classic-level').ClassicLevel
  try {
    ({ClassicLevel} = await import('classic-level'))
  } catch (err) {
    throw P2PError.INVALID_ARGUMENT(`a database on disk needs \`npm install ${NODE_LEVEL_PACKAGE}\` (${(err as Error).message})`)
  }
  const db = new ClassicLevel<any, any>(path)
  await db.open()
  return db
}
