import type {Meta, StoryObj} from '@storybook/web-components-vite'
import {html} from 'lit'
import {ifDefined} from 'lit/directives/if-defined.js'
import '../src/index.js'
import type {P2PFileDropElement} from '../src/elements/p2p-file-drop/p2p-file-drop.js'
import {HUB, freshRoom} from './hub.js'

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
 * every peer that has it, checking each chunk against its hash. Needs a hub:
 * `npm start` or `npx p2p-elements hub` runs one at http://127.0.0.1:9000 (the `hub`
 * control points elsewhere).
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
    hub: HUB,
    room: freshRoom(),
    accept: '',
    chunkSize: undefined,
    sequential: false,
    autoDownload: false,
  },
}

export default meta

/** Alice's and Bob's sides of one room, each with a database of its own: they are two peers, not two tabs of one. */
function twoSides({hub, room, accept, chunkSize, sequential, autoDownload}: FileDropArgs, store: string) {
  return html`
    <p style="font: 13px system-ui; opacity: 0.7">
      Needs a hub at ${hub}: <code>npm start</code> or <code>npx p2p-elements hub</code> runs one.
    </p>
    <div style="display: grid; grid-template-columns: repeat(auto-fit, minmax(20rem, 1fr)); gap: 1rem">
      ${['Alice', 'Bob'].map(name => html`
        <section>
          <h3 style="font: 600 14px system-ui; margin: 0 0 0.5rem">${name}</h3>
          <p2p-swarm hub=${hub} room=${room}>
            <p2p-file-drop data-peer=${name} store=${`${store}-${name.toLowerCase()}`} accept=${accept}
              chunk-size=${ifDefined(chunkSize)} ?sequential=${sequential} ?auto-download=${autoDownload}></p2p-file-drop>
          </p2p-swarm>
        </section>`)}
    </div>
  `
}

/** Two swarms on one page join the same room: drop a file on Alice's side, download it on Bob's. */
export const TwoPeersSharing: StoryObj<FileDropArgs> = {
  render: args => twoSides(args, 'storybook-files'),
}

/** Resolves once the element holds its room's share and has read its storage. */
async function shareOf(drop: P2PFileDropElement) {
  // The element has no event for this; a frame is how often it could change.
  while (!drop.share) await new Promise(requestAnimationFrame)
  await drop.share.ready
  return drop.share
}

/** A small PNG drawn here, so the story needs no file from disk. */
function drawing(): Promise<Blob> {
  const canvas = document.createElement('canvas')
  canvas.width = 160
  canvas.height = 90
  const g = canvas.getContext('2d')!
  g.fillStyle = '#dde7fb'
  g.fillRect(0, 0, 160, 90)
  g.fillStyle = '#2b59c3'
  g.beginPath()
  g.arc(80, 45, 30, 0, 2 * Math.PI)
  g.fill()
  return new Promise((resolve, reject) => canvas.toBlob(blob => blob ? resolve(blob) : reject(new Error('no PNG')), 'image/png'))
}

/**
 * Alice shares two files as the story starts (through her element's `share.add`, as a
 * script would); Bob's list shows them as soon as the two connect, ready to download.
 */
export const WithFiles: StoryObj<FileDropArgs> = {
  // Its own room and databases: on the docs page every story renders at once.
  args: {room: freshRoom()},
  render: args => twoSides(args, 'storybook-with-files'),
  play: async ({canvasElement}) => {
    const alice = canvasElement.querySelector<P2PFileDropElement>('p2p-file-drop[data-peer="Alice"]')!
    const share = await shareOf(alice)
    await share.add(new Blob(['Minutes of Monday: ship the file drop.\n'], {type: 'text/plain'}), {name: 'minutes.txt', type: 'text/plain'})
    await share.add(await drawing(), {name: 'drawing.png', type: 'image/png'})
  },
}
