import type {Meta, StoryObj} from '@storybook/web-components-vite'
import {html} from 'lit'
import '../src/index.js'
import {HUB, freshRoom} from './hub.js'

interface PeersArgs {
  hub: string
  room: string
  hidePending: boolean
}

/**
 * `<p2p-peers>` lists the peers of the nearest `<p2p-swarm>`: short key, connection
 * state, round-trip time and bytes in and out, and says in words when the swarm is not
 * online. The stories with peers need a hub: `npm start` or `npx p2p-elements hub` runs
 * one at http://127.0.0.1:9000 (the `hub` control points elsewhere).
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
    hub: HUB,
    room: freshRoom(),
    hidePending: false,
  },
}

export default meta

/** Two swarms on one page join the same room, connect to each other, and each lists the other. */
export const WithPeers: StoryObj<PeersArgs> = {
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

/** Alone in a room of its own: the hub answered and nobody else is there, "Waiting for peers…". */
export const EmptyRoom: StoryObj<PeersArgs> = {
  // Its own room: on the docs page every story renders at once, and this one must stay alone.
  args: {room: freshRoom()},
  render: ({hub, room, hidePending}) => html`
    <p2p-swarm hub=${hub} room=${room}>
      <p2p-peers ?hide-pending=${hidePending}></p2p-peers>
    </p2p-swarm>
  `,
}

/** Nothing listens at this hub URL, so the list says "Can’t reach the hub" (not an empty room). */
export const HubUnreachable: StoryObj<PeersArgs> = {
  args: {hub: 'http://127.0.0.1:9'},
  render: ({hub, room}) => html`
    <p2p-swarm hub=${hub} room=${room}>
      <p2p-peers></p2p-peers>
    </p2p-swarm>
  `,
}

type StubState = 'connecting' | 'offline'

/**
 * A stand-in for a swarm in one state, set as the list's `swarm` property, for the
 * states a real hub cannot hold still: connecting lasts only until the hub answers,
 * and offline needs the browser's network cut.
 */
function stubSwarmIn(state: StubState) {
  return {
    state, destroyed: false, connections: [], publicKey: '5f3a9c0e'.repeat(8),
    on() {}, off() {},
  }
}

function stubbed(state: StubState): StoryObj<PeersArgs> {
  return {
    render: () => html`<p2p-peers .swarm=${stubSwarmIn(state)}></p2p-peers>`,
    parameters: {controls: {disable: true}},
  }
}

/** No hub stream open yet: "Connecting to the hub…". Shown through a stand-in swarm (a real one leaves this state as soon as the hub answers). */
export const Connecting = stubbed('connecting')
/** The browser reports no network: "Offline". Shown through a stand-in swarm (a real one needs the network cut). */
export const Offline = stubbed('offline')
