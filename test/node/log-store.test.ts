import {describe, test} from 'node:test'
import assert from 'node:assert/strict'
import {mkdtemp, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {openNodeDatabase} from '../../src/node/level.js'

describe('openNodeDatabase', () => {
  test('opens LevelDB in a directory, and what was written is there after a reopen', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'p2p-level-'))
    try {
      const db = await openNodeDatabase(dir)
      const sub = db.sublevel<string, Uint8Array>('s', {keyEncoding: 'utf8', valueEncoding: 'view'})
      await sub.put('k', Uint8Array.of(1, 2, 3))
      await db.close()
      const again = await openNodeDatabase(dir)
      const value = await again.sublevel<string, Uint8Array>('s', {keyEncoding: 'utf8', valueEncoding: 'view'}).get('k')
      assert.deepEqual([...value!], [1, 2, 3])
      await again.close()
    } finally {
      await rm(dir, {recursive: true, force: true})
    }
  })

  test('an empty path is misuse', async () => {
    await assert.rejects(openNodeDatabase(''), {code: 'ERR_INVALID_ARGUMENT'})
  })
})
