import type {Meta, StoryObj} from '@storybook/web-components-vite'
import {html} from 'lit'
import '../src/index.js'
import {KeyPairIdentity} from '../src/index.js'
import {HUB, freshRoom} from './hub.js'

interface DhtArgs {
  hub: string
  room: string
}

/**
 * `<p2p-dht>` runs the page's DHT node for the room of the nearest `<p2p-swarm>`: the
 * page joins the DHT on the same hub, keeps its routing table, and makes the room
 * findable through it. It shows its DHT peers, the table's fill bucket by bucket, the
 * lookups in flight and the page's connections, as text. Needs a hub: `npm start` or
 * `npx p2p-elements hub` runs one at http://127.0.0.1:9000 (the `hub` control points
 * elsewhere).
 */
const meta: Meta<DhtArgs> = {
  title: 'Elements/p2p-dht',
  component: 'p2p-dht',
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

/** Three pages of one room on one page (each with a key of its own, so each with its own DHT node): each fills its table with the others. */
export const ThreeNodes: StoryObj<DhtArgs> = {
  render: ({hub, room}) => html`
    <p style="font: 13px system-ui; opacity: 0.7">
      Needs a hub at ${hub}: <code>npm start</code> or <code>npx p2p-elements hub</code> runs one.
    </p>
    <div style="display: grid; grid-template-columns: repeat(auto-fit, minmax(18rem, 1fr)); gap: 1rem">
      ${['Alice', 'Bob', 'Carol'].map(name => html`
        <section>
          <h3 style="font: 600 14px system-ui; margin: 0 0 0.5rem">${name}</h3>
          <p2p-swarm hub=${hub} room=${room} .identity=${new KeyPairIdentity()}>
            <p2p-dht></p2p-dht>
          </p2p-swarm>
        </section>`)}
    </div>
  `,
}

/** Outside any room: the element says so. */
export const NotInARoom: StoryObj<DhtArgs> = {
  render: () => html`<p2p-dht></p2p-dht>`,
}
