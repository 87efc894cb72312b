import type {Meta, StoryObj} from '@storybook/web-components-vite'
import {html, nothing} from 'lit'
import '../src/index.js'
import {HUB, freshRoom} from './hub.js'

interface SwarmArgs {
  hub: string
  room: string
  maxPeers: number
  secret: string
}

/**
 * `<p2p-swarm>` joins a room on a signalling hub and connects to the other peers there.
 * These stories need a hub: `npm start` or `npx p2p-elements hub` runs one at
 * http://127.0.0.1:9000 (the `hub` control points elsewhere).
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
    hub: HUB,
    room: freshRoom(),
    maxPeers: 8,
    secret: '',
  },
}

export default meta

const hint = (hub: string) => html`
  <p style="font: 13px system-ui; opacity: 0.7">
    Needs a hub at ${hub}: <code>npm start</code> or <code>npx p2p-elements hub</code> runs one.
  </p>`

/** The state attribute, shown above each swarm: a CSS hook an app can style on. */
const stateLabel = html`<style>
  .swarm-story p2p-swarm::before { content: 'state: ' attr(state); display: block; font: 12px ui-monospace, monospace; opacity: 0.7; }
</style>`

/** Alone in a room of its own: the swarm is `online` and the list waits for peers. */
export const EmptyRoom: StoryObj<SwarmArgs> = {
  // Its own room: on the docs page every story renders at once, and this one must stay alone.
  args: {room: freshRoom()},
  render: ({hub, room, maxPeers, secret}) => html`
    ${hint(hub)}${stateLabel}
    <div class="swarm-story">
      <p2p-swarm hub=${hub} room=${room} max-peers=${maxPeers} secret=${secret || nothing}>
        <p2p-peers></p2p-peers>
      </p2p-swarm>
    </div>
  `,
}

/** Two swarms on this page join one room through the hub and connect: each lists the other. */
export const WithPeers: StoryObj<SwarmArgs> = {
  render: ({hub, room, maxPeers, secret}) => html`
    ${hint(hub)}${stateLabel}
    <div class="swarm-story" style="display: grid; grid-template-columns: repeat(auto-fit, minmax(20rem, 1fr)); gap: 1rem">
      ${['Alice', 'Bob'].map(name => html`
        <section>
          <h3 style="font: 600 14px system-ui; margin: 0 0 0.5rem">${name}</h3>
          <p2p-swarm hub=${hub} room=${room} max-peers=${maxPeers} secret=${secret || nothing}>
            <p2p-peers></p2p-peers>
          </p2p-swarm>
        </section>`)}
    </div>
  `,
}

/** With a secret, signalling is encrypted: these two share it and meet; a swarm without it would never see them. */
export const WithSecret: StoryObj<SwarmArgs> = {
  ...WithPeers,
  args: {room: freshRoom(), secret: 'correct horse battery staple'},
}

/**
 * The hub here is a port where nothing listens, so the swarm reflects
 * `state="hub-unreachable"` and the list says it cannot reach the hub, rather than
 * looking like an empty room. This page greys out its form unless the swarm is online.
 */
export const HubUnreachable: StoryObj<SwarmArgs> = {
  args: {hub: 'http://127.0.0.1:9', room: 'storybook-unreachable'},
  render: ({hub, room}) => html`
    ${stateLabel}
    <style>
      .swarm-story p2p-swarm:not([state='online']) form { opacity: 0.5; pointer-events: none; }
    </style>
    <div class="swarm-story">
      <p2p-swarm hub=${hub} room=${room}>
        <p2p-peers></p2p-peers>
        <form><input placeholder="Say something" aria-label="Message"> <button type="button">Send</button></form>
      </p2p-swarm>
    </div>
  `,
}
