import type {Meta, StoryObj} from '@storybook/web-components-vite'
import {html} from 'lit'
import '../src/index.js'
import {HUB, freshRoom} from './hub.js'

interface GossipArgs {
  hub: string
  room: string
  topic: string
}

/**
 * `<p2p-gossip>` sends messages to every peer of the room on one topic and provides them
 * to a `<p2p-feed>`; a plain `<form>` inside publishes with no script. Needs a hub:
 * `npm start` or `npx p2p-elements hub` runs one at http://127.0.0.1:9000 (the `hub`
 * control points elsewhere).
 */
const meta: Meta<GossipArgs> = {
  title: 'Elements/p2p-gossip',
  component: 'p2p-gossip',
  argTypes: {
    hub: {control: 'text'},
    room: {control: 'text'},
    topic: {control: 'text', description: 'Only elements with the same topic see each other\'s messages'},
  },
  args: {
    hub: HUB,
    room: freshRoom(),
    topic: 'chat',
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
</style>`

/** Two swarms on one page join the same room and chat: type in either, both feeds show it. */
export const TwoPeersChatting: StoryObj<GossipArgs> = {
  render: ({hub, room, topic}) => html`
    ${styles}
    <p style="font: 13px system-ui; opacity: 0.7">
      Needs a hub at ${hub}: <code>npm start</code> or <code>npx p2p-elements hub</code> runs one.
    </p>
    <div style="display: grid; grid-template-columns: repeat(auto-fit, minmax(18rem, 1fr)); gap: 1rem">
      ${['Alice', 'Bob'].map(name => html`
        <section class="chat">
          <h3 style="font: 600 14px system-ui; margin: 0 0 0.5rem">${name}</h3>
          <p2p-swarm hub=${hub} room=${room}>
            <p2p-gossip topic=${topic}>
              <p2p-feed aria-label="Messages">
                <template>
                  <p class="message">
                    <span class="key" data-field="author"></span><time data-field="time"></time><br>
                    <span data-field="text"></span>
                  </p>
                </template>
              </p2p-feed>
              <form>
                <input name="text" placeholder="message from ${name}" aria-label="Message" required>
                <button>send</button>
              </form>
            </p2p-gossip>
          </p2p-swarm>
        </section>`)}
    </div>
  `,
}
