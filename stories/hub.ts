/// <reference types="vite/client" />

/**
 * The hub the stories meet through. Storybook has no hub of its own: `npm start` or
 * `npx p2p-elements hub` runs one at the default URL, and a build made with
 * `STORYBOOK_HUB=<url>` in its environment (the Storybook test's) uses that one.
 */
export const HUB: string = import.meta.env.STORYBOOK_HUB || 'http://127.0.0.1:9000'

/** A room of this page's own, so exactly the swarms of one story meet in it. */
export function freshRoom(): string {
  return `storybook-${Math.random().toString(36).slice(2, 8)}`
}
