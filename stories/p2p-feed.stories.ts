import type {Meta, StoryObj} from '@storybook/web-components-vite'
import {html} from 'lit'
import '../src/index.js'
import {defineTestSource, type MemorySource, type TestSourceElement} from '../test/browser/helpers/memory-source.js'

// <test-source> is the in-memory source the stories render in. Defined by a call: the
// other names are only types, and package.json's `sideEffects` would let the bundler
// drop a module imported for its side effect alone.
defineTestSource()

interface FeedArgs {
  limit: number
  dataKey: string
}

/**
 * `<p2p-feed>` renders the items of the nearest message source through the app's own
 * `<template>`. Here the source lives in memory (no hub needed): the form publishes to
 * it, and the buttons play messages arriving from other peers, a hostile one included.
 */
const meta: Meta<FeedArgs> = {
  title: 'Elements/p2p-feed',
  component: 'p2p-feed',
  argTypes: {
    limit: {control: {type: 'number', min: 1, max: 500}, description: 'Most items shown'},
    dataKey: {control: 'text', name: 'data-key', description: 'Field that identifies an item, so updates patch in place'},
  },
  args: {limit: 100, dataKey: ''},
}

export default meta

const PEERS = ['5eed'.repeat(16), 'cafe'.repeat(16), 'beef'.repeat(16)]
const LINES = ['hello!', 'anyone here?', 'the build is green', 'lunch at noon?', 'shipping it']

/** Plays a message from another peer into the story's source. */
function fromPeer(event: Event, value: unknown) {
  const root = (event.target as Element).closest<TestSourceElement>('test-source')!
  const author = PEERS[Math.floor(Math.random() * PEERS.length)]
  ;(root.source as MemorySource).receive(value, {author})
}

const styles = html`<style>
  .story p2p-feed { height: 16rem; border: 1px solid #ccc; border-radius: 0.5rem; padding: 0.5rem 0.75rem;
    display: flex; flex-direction: column; gap: 0.4rem; font: 14px/1.4 system-ui; }
  .story .message { margin: 0; padding: 0.3rem 0.6rem; border-radius: 0.6rem; background: #f1f1f4; align-self: flex-start; }
  .story .message[data-local] { background: #dde7fb; align-self: flex-end; }
  .story .message b:empty::before { content: "anonymous"; font-weight: 400; font-style: italic; }
  .story .key, .story time { opacity: 0.6; font-size: 0.8em; margin-inline-start: 0.4em; }
  .story form, .story .peers { display: flex; gap: 0.5rem; margin-top: 0.5rem; font: 14px system-ui; }
  .story input[name=text] { flex: 1; }
</style>`

export const ChatTemplate: StoryObj<FeedArgs> = {
  render: ({limit, dataKey}) => html`
    ${styles}
    <test-source class="story">
      <p2p-feed limit=${limit} data-key=${dataKey} aria-label="Messages">
        <template>
          <p class="message">
            <b data-field="name"></b><span class="key" data-field="author"></span><time data-field="time"></time><br>
            <span data-field="text"></span>
          </p>
        </template>
      </p2p-feed>
      <form>
        <input name="name" placeholder="name" aria-label="Your name" data-keep>
        <input name="text" placeholder="message" aria-label="Message" required>
        <button>send</button>
      </form>
      <div class="peers">
        <button @click=${(e: Event) => fromPeer(e, {name: 'a peer', text: LINES[Math.floor(Math.random() * LINES.length)]})}>a peer says something</button>
        <button @click=${(e: Event) => fromPeer(e, {name: '<b>mallory</b>', text: '<img src=x onerror=alert(1)> shows as text'})}>a hostile peer</button>
      </div>
    </test-source>
  `,
}

/** With `data-key="slug"`, a newer item with the same key (from the same author) replaces the old one in place. */
export const LiveUpdatesInPlace: StoryObj<FeedArgs> = {
  args: {dataKey: 'slug'},
  render: ({limit, dataKey}) => html`
    ${styles}
    <test-source class="story">
      <p2p-feed limit=${limit} data-key=${dataKey} aria-label="Scores">
        <template><p class="message"><b data-field="slug"></b>: <span data-field="score"></span></p></template>
      </p2p-feed>
      <form>
        <select name="slug" aria-label="Team"><option>red</option><option>blue</option></select>
        <input name="score" type="number" aria-label="Score" required>
        <button>set</button>
      </form>
    </test-source>
  `,
}

/** Without a template, each item shows its author, time and a short text of its value. */
export const DefaultRendering: StoryObj<FeedArgs> = {
  render: ({limit}) => html`
    ${styles}
    <test-source class="story">
      <p2p-feed limit=${limit} aria-label="Messages"></p2p-feed>
      <div class="peers">
        <button @click=${(e: Event) => fromPeer(e, {name: 'ada', text: 'a text field is shown as is'})}>text</button>
        <button @click=${(e: Event) => fromPeer(e, {x: 1, y: [2, 3]})}>other JSON</button>
      </div>
    </test-source>
  `,
}
