import type {Meta, StoryObj} from '@storybook/web-components-vite'
import {html} from 'lit'
import '../src/index.js'
import {KeyPairIdentity} from '../src/core/crypto/seed-identity.js'
import {toHex} from '../src/core/bytes.js'
import {HUB, freshRoom} from './hub.js'

interface KvArgs {
  hub: string
  room: string
}

/**
 * `<p2p-kv>` is a key/value store on a log that keeps concurrent edits side by side
 * instead of dropping one (docs/kv.md). With no children it is an editable table; a key
 * two people changed at once shows both values, highlighted, until someone keeps one.
 * Needs a hub: `npm start` or `npx p2p-elements hub` runs one at http://127.0.0.1:9000.
 */
const meta: Meta<KvArgs> = {
  title: 'Elements/p2p-kv',
  component: 'p2p-kv',
  argTypes: {hub: {control: 'text'}, room: {control: 'text'}},
  args: {hub: HUB, room: freshRoom()},
}

export default meta

// Alice's log, open to every key, so Bob's page writes to it too.
const alice = new KeyPairIdentity()
const bob = new KeyPairIdentity()

const styles = html`<style>
  .kv { font: 14px/1.4 system-ui; display: grid; grid-template-columns: repeat(auto-fit, minmax(22rem, 1fr)); gap: 1rem; }
  .kv p2p-kv::part(conflicted) { background: #fff3d6; }
  .kv p2p-kv[conflicted]::before { content: 'Someone edited the same key at once: keep one value.'; display: block; color: #8a5a00; }
</style>`

/** Alice's and Bob's pages side by side: edit one key in both at once (or with the network cut) to see a conflict. */
export const Table: StoryObj<KvArgs> = {
  render: ({hub, room}) => html`
    ${styles}
    <div class="kv">
      <section><h4>Alice (the log's owner)</h4>
        <p2p-swarm hub=${hub} room=${room}><p2p-log name="settings" open .identity=${alice}><p2p-kv></p2p-kv></p2p-log></p2p-swarm>
      </section>
      <section><h4>Bob</h4>
        <p2p-swarm hub=${hub} room=${room}><p2p-log key=${toHex(alice.publicKey)} .identity=${bob}><p2p-kv></p2p-kv></p2p-log></p2p-swarm>
      </section>
    </div>`,
}
