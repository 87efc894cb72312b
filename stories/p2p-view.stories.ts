import type {Meta, StoryObj} from '@storybook/web-components-vite'
import {html} from 'lit'
import '../src/index.js'
import {defineView} from '../src/index.js'
import {readValue, type Entry} from '../src/core/log/entry.js'
import {KeyPairIdentity} from '../src/core/crypto/seed-identity.js'
import {HUB, freshRoom} from './hub.js'

interface ViewArgs {
  hub: string
  room: string
  reverse: boolean
  limit: number
}

/** Notes by tag: an entry {title, tags} puts one row per tag, keyed tag/time/title. */
defineView({
  name: 'story-by-tag',
  version: 1,
  map(entry: Entry) {
    const note = readValue(entry) as {title?: unknown, tags?: unknown}
    if (typeof note?.title !== 'string' || typeof note.tags !== 'string') return []
    return note.tags.split(/[\s,]+/).filter(Boolean).map(tag => ({
      type: 'put' as const, key: `${tag}/${String(entry.time).padStart(15, '0')}/${note.title}`, value: {tag, title: note.title},
    }))
  },
})

/**
 * `<p2p-view>` shows the rows of a view of the log around it: a fold of the log's
 * entries into ordered rows (docs/views.md), here notes by tag. Rows enter, change and
 * leave live; `gte`/`lt` give a range of keys, `reverse` and `limit` the order and how
 * many. Needs a hub: `npm start` or `npx p2p-elements hub` runs one at http://127.0.0.1:9000.
 */
const meta: Meta<ViewArgs> = {
  title: 'Elements/p2p-view',
  component: 'p2p-view',
  argTypes: {
    hub: {control: 'text'},
    room: {control: 'text'},
    reverse: {control: 'boolean', description: 'Last key first'},
    limit: {control: 'number', description: 'Most rows shown'},
  },
  args: {hub: HUB, room: freshRoom(), reverse: false, limit: 100},
}

export default meta

/** Every tag's notes, and the notes tagged `news` alone, side by side; the form appends a note to the log (as any form in a `<p2p-log>` does). */
export const NotesByTag: StoryObj<ViewArgs> = {
  render: ({hub, room, reverse, limit}) => html`
    <style>
      .notes { font: 14px/1.4 system-ui; display: grid; grid-template-columns: 1fr 1fr; gap: 1rem; }
      .notes p2p-view[indexing] { opacity: 0.5; }
      .notes .tag { display: inline-block; min-width: 4rem; opacity: 0.6; }
      .notes form { grid-column: 1 / -1; display: flex; gap: 0.5rem; }
    </style>
    <p2p-swarm hub=${hub} room=${room}>
      <p2p-log name="notes" .identity=${new KeyPairIdentity()}>
        <div class="notes">
          <section><h4>All tags</h4>
            <p2p-view name="story-by-tag" ?reverse=${reverse} limit=${limit}>
              <template><div><span class="tag" data-field="tag"></span> <span data-field="title"></span></div></template>
            </p2p-view>
          </section>
          <section><h4>news</h4>
            <p2p-view name="story-by-tag" gte="news/" lt="news0">
              <template><div data-field="title"></div></template>
              <p slot="empty">No news yet.</p>
            </p2p-view>
          </section>
          <form><input name="title" required placeholder="Title" aria-label="Title">
            <input name="tags" placeholder="news, ideas" aria-label="Tags"> <button>Add</button></form>
        </div>
      </p2p-log>
    </p2p-swarm>`,
}
