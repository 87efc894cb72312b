import type {Meta, StoryObj} from '@storybook/web-components-vite'
import {html} from 'lit'
import '../src/index.js'
import {KeyPairIdentity} from '../src/core/crypto/seed-identity.js'
import {HUB, freshRoom} from './hub.js'

interface LogArgs {
  hub: string
  room: string
  name: string
}

/**
 * `<p2p-log>` keeps a room's messages in each tab's IndexedDB as signed logs and
 * replicates them with every peer, so a late joiner sees what was said before. A
 * `<p2p-feed>` inside renders the room's logs merged by time; a plain `<form>` appends.
 * Needs a hub: `npm start` or `npx p2p-elements hub` runs one at http://127.0.0.1:9000.
 */
const meta: Meta<LogArgs> = {
  title: 'Elements/p2p-log',
  component: 'p2p-log',
  argTypes: {
    hub: {control: 'text'},
    room: {control: 'text'},
    name: {control: 'text', description: 'Logs of the same name in a room are merged in the feed'},
  },
  args: {
    hub: HUB,
    room: freshRoom(),
    name: 'chat',
  },
}

export default meta

const styles = html`<style>
  .chat p2p-feed { height: 14rem; border: 1px solid #ccc; border-radius: 0.5rem; padding: 0.5rem 0.75rem;
    display: flex; flex-direction: column; gap: 0.4rem; font: 14px/1.4 system-ui; }
  .chat .message { margin: 0; padding: 0.3rem 0.6rem; border-radius: 0.6rem; background: #f1f1f4; align-self: flex-start; }
  .chat .message[data-local] { background: #dde7fb; align-self: flex-end; }
  .chat .key, .chat time { opacity: 0.6; font-size: 0.8em; margin-inline-end: 0.4em; }
  .chat form { display: flex; gap: 0.5rem; margin-top: 0.5rem; }
  .chat input { flex: 1; }
  .chat .sync { font: 12px system-ui; opacity: 0.7; margin: 0.3rem 0 0; }
  .chat p2p-log[synced] .syncing, .chat p2p-log:not([synced]) .synced { display: none; }
</style>`

/**
 * Two peers on one page, each with a key of its own (one page has one page key, so the
 * story hands each element an `identity`). Write in one; the other shows it, and a peer
 * whose swarm is removed and added back gets the history again.
 */
export const TwoPeersWithHistory: StoryObj<LogArgs> = {
  render: ({hub, room, name}) => html`
    ${styles}
    <p style="font: 13px system-ui; opacity: 0.7">
      Needs a hub at ${hub}: <code>npm start</code> or <code>npx p2p-elements hub</code> runs one.
    </p>
    <div style="display: grid; grid-template-columns: repeat(auto-fit, minmax(18rem, 1fr)); gap: 1rem">
      ${['Alice', 'Bob'].map(who => html`
        <section class="chat">
          <h3 style="font: 600 14px system-ui; margin: 0 0 0.5rem">${who}</h3>
          <p2p-swarm hub=${hub} room=${room}>
            <p2p-log name=${name} .identity=${new KeyPairIdentity()}>
              <p2p-feed aria-label="Messages">
                <template>
                  <p class="message"><span class="key" data-field="author"></span><time data-field="time"></time><span data-field="text"></span></p>
                </template>
              </p2p-feed>
              <p class="sync"><span class="synced">Up to date</span><span class="syncing">Syncing…</span></p>
              <form><input name="text" required aria-label="Message" placeholder="Say something"> <button>Send</button></form>
            </p2p-log>
          </p2p-swarm>
        </section>`)}
    </div>`,
}
