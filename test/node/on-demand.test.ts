// Code a chat page does not run until it needs it stays out of its first files, read
// from the script-tag build made in memory: the room cipher (only a room with a secret
// runs it), the hub client's wait after a 429 (only a rate-limiting hub asks for it), the
// reader of a hub's refusal (only a refused broadcast or stream reads one),
// rooms sharing connections with their messages (only a page with a second swarm in its
// pool runs them) and the feed's rows made by a template function (a markup page's
// feed has a <template>).
import {test, before} from 'node:test'
import assert from 'node:assert/strict'
import {join} from 'node:path'
import {CHAT_PAGE, ROOT, buildKit, elementFiles, pageFiles, type BuiltFile, type KitBuild} from '../../scripts/kit-build.js'

const ON_DEMAND = [
  'src/core/crypto/room-cipher.ts', 'src/core/hub-client/rate-retry.ts', 'src/core/swarm/rooms.ts', 'src/core/swarm/room-links.ts',
  'src/core/swarm/room-messages.ts', 'src/core/hub-client/refusal.ts',
  'src/elements/p2p-feed/feed-renderer.ts',
]

let kit: KitBuild

before(async () => {
  kit = await buildKit(join(ROOT, 'dist'))
})

/** The files of `first` and every file they may load by `import()`, each once. */
function withLazy(first: BuiltFile[]): BuiltFile[] {
  const seen = new Map(first.map(file => [file.name, file]))
  const visit = (name: string) => {
    if (seen.has(name)) return
    const file = kit.elements.get(name)!
    seen.set(name, file)
    ;[...file.imports, ...file.lazy].forEach(visit)
  }
  for (const file of first) file.lazy.forEach(visit)
  return [...seen.values()]
}

const inputsOf = (files: BuiltFile[]) => new Set(files.flatMap(file => file.inputs))

test('a chat page\'s first files hold neither the room cipher, the wait after a 429 nor rooms sharing connections; it can load them', () => {
  const first = pageFiles(kit.elements, elementFiles(CHAT_PAGE))
  const loaded = inputsOf(first)
  for (const source of ON_DEMAND) assert.ok(!loaded.has(source), `${source} is in the chat page's first files`)
  // Without this the check above would pass with the code gone from the build altogether.
  const reachable = inputsOf(withLazy(first))
  for (const source of ON_DEMAND) assert.ok(reachable.has(source), `${source} cannot be loaded by the chat page`)
})
