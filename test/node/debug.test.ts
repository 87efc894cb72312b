import {test} from 'node:test'
import assert from 'node:assert/strict'
import {createDebug} from '../../src/core/debug.js'

function enabledUnder(pattern: string, namespace: string): boolean {
  const before = process.env.DEBUG
  process.env.DEBUG = pattern
  try {
    return createDebug(namespace).enabled
  } finally {
    if (before === undefined) delete process.env.DEBUG
    else process.env.DEBUG = before
  }
}

test('DEBUG turns on the namespaces its globs match, and no others', () => {
  assert.equal(enabledUnder('p2p:*', 'p2p:swarm'), true)
  assert.equal(enabledUnder('p2p:mux, p2p:sw*', 'p2p:swarm'), true, 'parts split on commas and spaces')
  assert.equal(enabledUnder('p2p:mux', 'p2p:swarm'), false)
  assert.equal(enabledUnder('p2p:swarm', 'p2p:swarm-extra'), false, 'a glob matches the whole name')
  assert.equal(enabledUnder('p2p.swarm', 'p2pxswarm'), false, 'other characters match only themselves')
  assert.equal(enabledUnder('-p2p:swarm', 'p2p:swarm'), false, 'a -name part turns nothing on')
  assert.equal(enabledUnder('', 'p2p:swarm'), false)
})
