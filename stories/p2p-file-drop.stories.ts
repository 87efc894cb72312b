import type {Meta, StoryObj} from '@storybook/web-components-vite'
import {html} from 'lit'
import {ifDefined} from 'lit/directives/if-defined.js'
import '../src/index.js'

interface FileDropArgs {
  hub: string
  room: string
  accept: string
  chunkSize: number | undefined
  sequential: boolean
  autoDownload: boolean
}

/**
 * `<p2p-file-drop>` shares files in the room of the nearest `<p2p-swarm>`: drop a file
 * (or choose one with the keyboard) and every peer lists it; Download fetches it from
 * every peer that has it, checking each chunk against its hash. Needs a hub at
 * http://127.0.0.1:9000: `npm start` or `npx p2p-elements hub` runs one.
 */
const meta: Meta<FileDropArgs> = {
  title: 'Elements/p2p-file-drop',
  component: 'p2p-file-drop',
  argTypes: {
    hub: {control: 'text'},
    room: {control: 'text'},
    accept: {control: 'text', description: 'File types the picker offers (image/*,.pdf)'},
    chunkSize: {
      control: 'select', name: 'chunk-size', options: [undefined, 16384, 65536, 262144, 1048576],
      description: 'Chunk size of files added here (default 256 KiB)',
    },
    sequential: {control: 'boolean', description: 'Download chunks in order (media)'},
    autoDownload: {control: 'boolean', name: 'auto-download', description: 'Download every announced file at once'},
  },
  args: {
    hub: 'http://127.0.0.1:9000',
    // A room of this page's own, so exactly the two swarms below meet in it.
    room: `storybook-${Math.random().toString(36).slice(2, 8)}`,
    accept: '',
    chunkSize: undefined,
    sequential: false,
    autoDownload: false,
  },
}

export default meta

/** Two swarms on one page join the same room: drop a file on Alice's side, download it on Bob's. */
export const TwoPeersSharing: StoryObj<FileDropArgs> = {
  render: ({hub, room, accept, chunkSize, sequential, autoDownload}) => html`
    <p style="font: 13px system-ui; opacity: 0.7">
      Needs a hub at ${hub}: <code>npm start</code> or <code>npx p2p-elements hub</code> runs one.
    </p>
    <div style="display: grid; grid-template-columns: repeat(auto-fit, minmax(20rem, 1fr)); gap: 1rem">
      ${['Alice', 'Bob'].map(name => html`
        <section>
          <h3 style="font: 600 14px system-ui; margin: 0 0 0.5rem">${name}</h3>
          <p2p-swarm hub=${hub} room=${room}>
            <!-- A database per side: they are two peers, not two tabs of one. -->
            <p2p-file-drop store=${`storybook-files-${name.toLowerCase()}`} accept=${accept}
              chunk-size=${ifDefined(chunkSize)} ?sequential=${sequential} ?auto-download=${autoDownload}></p2p-file-drop>
          </p2p-swarm>
        </section>`)}
    </div>
  `,
}
