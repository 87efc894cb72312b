import type {Meta, StoryObj} from '@storybook/web-components-vite'
import {html} from 'lit'
import '../src/index.js'
import {KeyPairIdentity} from '../src/core/crypto/seed-identity.js'
import {toHex} from '../src/core/bytes.js'
import {HUB, freshRoom} from './hub.js'

interface KvValueArgs {
  hub: string
  room: string
}

/**
 * `<p2p-kv-value key="…">` binds one key of the enclosing `<p2p-kv>`: as text, or to the
 * `<input>`, `<textarea>` or `<select>` it wraps, written back on change. When two people
 * change the key at once, it gets `conflicted` and shows a picker: one button per value.
 * Needs a hub: `npm start` or `npx p2p-elements hub` runs one at http://127.0.0.1:9000.
 */
const meta: Meta<KvValueArgs> = {
  title: 'Elements/p2p-kv-value',
  component: 'p2p-kv-value',
  argTypes: {hub: {control: 'text'}, room: {control: 'text'}},
  args: {hub: HUB, room: freshRoom()},
}

export default meta

// Alice's log, open to every key, so Bob's page writes to it too.
const alice = new KeyPairIdentity()
const bob = new KeyPairIdentity()

const fields = html`<p2p-kv>
  <p><label>Title <p2p-kv-value key="title"><input></p2p-kv-value></label></p>
  <p><label>Theme <p2p-kv-value key="theme"><select><option>light</option><option>dark</option></select></p2p-kv-value></label></p>
  <p>Title now: <p2p-kv-value key="title"></p2p-kv-value></p>
</p2p-kv>`

/** Alice's and Bob's pages side by side: change the title in both at once to see the picker. */
export const Fields: StoryObj<KvValueArgs> = {
  render: ({hub, room}) => html`
    <style>
      .fields { font: 14px/1.4 system-ui; display: grid; grid-template-columns: repeat(auto-fit, minmax(18rem, 1fr)); gap: 1rem; }
      .fields p2p-kv-value[conflicted] input { outline: 2px solid orange; }
    </style>
    <div class="fields">
      <section><h4>Alice (the log's owner)</h4>
        <p2p-swarm hub=${hub} room=${room}><p2p-log name="settings" open .identity=${alice}>${fields}</p2p-log></p2p-swarm>
      </section>
      <section><h4>Bob</h4>
        <p2p-swarm hub=${hub} room=${room}><p2p-log key=${toHex(alice.publicKey)} .identity=${bob}>${fields}</p2p-log></p2p-swarm>
      </section>
    </div>`,
}
