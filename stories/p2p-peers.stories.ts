import type {Meta, StoryObj} from '@storybook/web-components-vite'
import {html} from 'lit'
import '../src/index.js'

interface PeersArgs {
  hub: string
  room: string
  hidePending: boolean
}

/**
 * `<p2p-peers>` lists the peers of the nearest `<p2p-swarm>`: short key, connection
 * state, round-trip time and bytes in and out. Needs a hub at http://127.0.0.1:9000:
 * `npm start` or `npx p2p-elements hub` runs one.
 */
const meta: Meta<PeersArgs> = {
  title: 'Elements/p2p-peers',
  component: 'p2p-peers',
  argTypes: {
    hub: {control: 'text'},
    room: {control: 'text'},
    hidePending: {control: 'boolean', name: 'hide-pending', description: 'List only proven peers'},
  },
  args: {
    hub: 'http://127.0.0.1:9000',
    // A room of this page's own, so exactly the two swarms below meet in it.
    room: `storybook-${Math.random().toString(36).slice(2, 8)}`,
    hidePending: false,
  },
}

export default meta

/** Two swarms on one page join the same room, connect to each other, and each lists the other. */
export const TwoSwarmsInOneRoom: StoryObj<PeersArgs> = {
  render: ({hub, room, hidePending}) => html`
    <p style="font: 13px system-ui; opacity: 0.7">
      Needs a hub at ${hub}: <code>npm start</code> or <code>npx p2p-elements hub</code> runs one.
    </p>
    <div style="display: grid; grid-template-columns: repeat(auto-fit, minmax(20rem, 1fr)); gap: 1rem">
      ${['Alice', 'Bob'].map(name => html`
        <section>
          <h3 style="font: 600 14px system-ui; margin: 0 0 0.5rem">${name}</h3>
          <p2p-swarm hub=${hub} room=${room}>
            <p2p-peers ?hide-pending=${hidePending}></p2p-peers>
          </p2p-swarm>
        </section>`)}
    </div>
  `,
}
