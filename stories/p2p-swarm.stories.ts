import type {Meta, StoryObj} from '@storybook/web-components-vite'
import {html, nothing} from 'lit'
import '../src/index.js'

interface SwarmArgs {
  hub: string
  room: string
  maxPeers: number
  secret: string
}

/**
 * `<p2p-swarm>` joins a room on a signalling hub and connects to the other peers there.
 * These stories need a hub at http://127.0.0.1:9000: `npm start` or
 * `npx p2p-elements hub` runs one. Open the story in a second tab to see a peer join.
 */
const meta: Meta<SwarmArgs> = {
  title: 'Elements/p2p-swarm',
  component: 'p2p-swarm',
  argTypes: {
    hub: {control: 'text', description: 'Hub URL, or several separated by spaces'},
    room: {control: 'text', description: 'Peers in the same room find each other'},
    maxPeers: {control: {type: 'number', min: 1, max: 64}, name: 'max-peers', description: 'Most peers at once'},
    secret: {control: 'text', description: 'Encrypts signalling: only holders of the secret can join'},
  },
  args: {
    hub: 'http://127.0.0.1:9000',
    room: 'storybook',
    maxPeers: 8,
    secret: '',
  },
  render: ({hub, room, maxPeers, secret}) => html`
    <p style="font: 13px system-ui; opacity: 0.7">
      Needs a hub at ${hub}: <code>npm start</code> or <code>npx p2p-elements hub</code> runs one.
      Open this story in a second tab to see a peer join.
    </p>
    <p2p-swarm hub=${hub} room=${room} max-peers=${maxPeers} secret=${secret || nothing}>
      <p2p-peers></p2p-peers>
    </p2p-swarm>
  `,
}

export default meta

export const WithPeerList: StoryObj<SwarmArgs> = {}

/** With a secret, signalling is encrypted and tabs without the same secret never see each other. */
export const WithSecret: StoryObj<SwarmArgs> = {
  args: {room: 'storybook-secret', secret: 'correct horse battery staple'},
}

/**
 * The `state` attribute as a CSS hook: this page greys out its form unless the swarm
 * is online. The hub here is a port where nothing listens, so the swarm shows
 * `state="hub-unreachable"` and the list says it cannot reach the hub; with a hub at
 * 127.0.0.1:9000 the `WithPeerList` story shows `connecting`, then `online`.
 */
export const HubUnreachable: StoryObj<SwarmArgs> = {
  args: {hub: 'http://127.0.0.1:9', room: 'storybook-unreachable'},
  render: ({hub, room}) => html`
    <style>
      .state-demo p2p-swarm:not([state='online']) form { opacity: 0.5; pointer-events: none; }
      .state-demo p2p-swarm::before { content: 'state: ' attr(state); font: 12px ui-monospace, monospace; opacity: 0.7; }
    </style>
    <div class="state-demo">
      <p2p-swarm hub=${hub} room=${room}>
        <p2p-peers></p2p-peers>
        <form><input placeholder="Say something" aria-label="Message"> <button type="button">Send</button></form>
      </p2p-swarm>
    </div>
  `,
}
