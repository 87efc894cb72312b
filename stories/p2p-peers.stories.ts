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

type StoryState = 'connecting' | 'online' | 'hub-unreachable' | 'offline'

/**
 * A stand-in for a swarm in one state, set as the list's `swarm` property: what
 * `<p2p-peers>` shows in each state, without a hub or a network to break.
 */
function swarmIn(state: StoryState) {
  return {
    state, destroyed: false, connections: [], publicKey: '5f3a9c0e'.repeat(8),
    on() {}, off() {},
  }
}

function inState(state: StoryState): StoryObj<PeersArgs> {
  return {
    render: () => html`<p2p-peers .swarm=${swarmIn(state)}></p2p-peers>`,
    parameters: {controls: {disable: true}},
  }
}

/** No hub stream open yet: "Connecting to the hub…". */
export const Connecting = inState('connecting')
/** The hub answered and nobody else is in the room: "Waiting for peers…". */
export const OnlineEmptyRoom = inState('online')
/** Nothing listens at the hub URL, or it is not a hub: "Can’t reach the hub" (not an empty room). */
export const HubUnreachable = inState('hub-unreachable')
/** The browser reports no network: "Offline". */
export const Offline = inState('offline')
