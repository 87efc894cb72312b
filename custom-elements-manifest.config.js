// Settings for the manifest analyzer, read by `npm run analyze` and by
// `npm run check:manifest`, so both describe the same files the same way.
import {readFileSync} from 'node:fs'

export default {
  globs: ['src/**/*.ts'],
  // The manifest describes what markup can use: elements, their events and contexts.
  // Core objects and the Node-only server have no tags and would only make the file
  // churn with every internal change (src/protocol.ts only re-exports core pieces;
  // src/node is the Node-only WebRTC entry; src/mirror, the mirror's code, has no element).
  // Tests and .d.ts files are skipped by the analyzer.
  exclude: ['src/core/**', 'src/server/**', 'src/node/**', 'src/mirror/**', 'src/protocol.ts'],
  litelement: true,
  // package.json already names the manifest; the analyzer must not rewrite that file.
  packagejson: false,
  // The analyzer keeps the file system's listing order, which differs between
  // machines; sorted paths make the output identical everywhere, so the committed
  // file can be checked byte for byte.
  plugins: [documentedEventsOnly(), publicMembersOnly()],
  overrideModuleCreation: ({ts, globs}) => [...globs].sort().map(path =>
    ts.createSourceFile(path, readFileSync(path, 'utf8'), ts.ScriptTarget.ES2015, true)),
}

/**
 * The analyzer also guesses events from `dispatchEvent(new SomeEvent(…))` calls,
 * which it cannot name (and mistakes a constructor argument for a name). The
 * elements document every event in their JSDoc (`@event p2p-…`), so those stay
 * and the guesses go.
 */
function documentedEventsOnly() {
  return {
    name: 'p2p-documented-events-only',
    packageLinkPhase({customElementsManifest}) {
      for (const mod of customElementsManifest.modules ?? []) {
        for (const decl of mod.declarations ?? []) {
          if (!decl.events) continue
          decl.events = decl.events.filter(event => typeof event.name === 'string' && event.name.startsWith('p2p-'))
          if (decl.events.length === 0) delete decl.events
        }
      }
    },
  }
}

/**
 * The analyzer lists every member of a class, `#private` fields and TypeScript
 * `private`/`protected` ones included (with their `privacy`). Storybook, editors and
 * generated framework types read the members as the element's API, so the file drop
 * listed 53 members where 9 are for users: the manifest keeps the public ones only.
 */
function publicMembersOnly() {
  return {
    name: 'p2p-public-members-only',
    packageLinkPhase({customElementsManifest}) {
      for (const mod of customElementsManifest.modules ?? []) {
        for (const decl of mod.declarations ?? []) {
          if (!decl.members) continue
          decl.members = decl.members.filter(member => member.privacy !== 'private' && member.privacy !== 'protected')
          if (decl.members.length === 0) delete decl.members
        }
      }
    },
  }
}
