import type {Meta, StoryObj} from '@storybook/web-components-vite'
import {html} from 'lit'
import '../src/index.js'
import {KeyPairIdentity} from '../src/core/crypto/seed-identity.js'
import {toHex} from '../src/core/bytes.js'
import {pageIdentity} from '../src/core/swarm/page-identity.js'
import {HUB, freshRoom} from './hub.js'
import {startFakeMirror} from './fake-mirror.js'

interface MirrorControlArgs {
  hub: string
  room: string
}

/**
 * `<p2p-mirror-control mirror="…">` shows what an always-on mirror (`npx p2p-elements
 * mirror`) keeps for the room, as the mirror tells it: each log's state and length beside
 * what its peers report, each file's chunks, its owners, the requests it refused and why.
 * On an owner's page it adds a form to ask for a log or a file, and a Remove button per
 * entry an owner asked for. The stories' mirror is a stand-in in the page (stories/fake-mirror.ts)
 * with a made-up status. Needs a hub: `npm start` or `npx p2p-elements hub` runs one at
 * http://127.0.0.1:9000.
 */
const meta: Meta<MirrorControlArgs> = {
  title: 'Elements/p2p-mirror-control',
  component: 'p2p-mirror-control',
  argTypes: {
    hub: {control: 'text'},
    room: {control: 'text'},
  },
  args: {
    hub: HUB,
    room: freshRoom(),
  },
}

export default meta

const hint = (hub: string) => html`<p style="font: 13px system-ui; opacity: 0.7">
  Needs a hub at ${hub}: <code>npm start</code> or <code>npx p2p-elements hub</code> runs one.
</p>`

// A key per story, made here so the markup can name it before the stand-in starts.
const watched = new KeyPairIdentity()
const owned = new KeyPairIdentity()

/** A visitor's view: logs in sync, behind and over quota, a complete file, a refused request; no form. */
export const KeptLogsAndFiles: StoryObj<MirrorControlArgs> = {
  args: {room: freshRoom()},
  beforeEach: ({args}) => startFakeMirror(watched, {hub: args.hub, room: args.room, owners: [toHex(new KeyPairIdentity().publicKey)]}),
  render: ({hub, room}) => html`${hint(hub)}
    <p2p-swarm hub=${hub} room=${room}>
      <p2p-mirror-control mirror=${toHex(watched.publicKey)}></p2p-mirror-control>
    </p2p-swarm>`,
}

/**
 * The owner's view: the page's key is among the mirror's owners, so a form asks it to keep
 * a log or a file (try `ab…` 64 hex characters), and what an owner asked for has a Remove button.
 */
export const Owner: StoryObj<MirrorControlArgs> = {
  args: {room: freshRoom()},
  beforeEach: async ({args}) => startFakeMirror(owned, {hub: args.hub, room: args.room, owners: [toHex((await pageIdentity()).publicKey)]}),
  render: ({hub, room}) => html`${hint(hub)}
    <p2p-swarm hub=${hub} room=${room}>
      <p2p-mirror-control mirror=${toHex(owned.publicKey)}></p2p-mirror-control>
    </p2p-swarm>`,
}
