import {css} from 'lit'

export const styles = css`
  :host { display: block; font: var(--p2p-font, inherit); }
  :host([hidden]) { display: none; }
  table { border-collapse: collapse; width: 100%; }
  th, td { text-align: start; vertical-align: top; padding: 0.25em 0.5em; border-bottom: 1px solid color-mix(in srgb, currentColor 15%, transparent); }
  [part~='conflicted'] { background: var(--p2p-conflict-color, color-mix(in srgb, orange 18%, transparent)); }
  [part='value'] { display: flex; gap: 0.5em; align-items: baseline; flex-wrap: wrap; }
  [part='value'] code { overflow-wrap: anywhere; }
  [part='meta'] { opacity: 0.65; }
  [part='edit'] { display: inline; }
  [part='add'] { display: flex; gap: 0.5em; margin-top: 0.5em; }
  [part='readonly'] { opacity: 0.7; font-style: italic; margin: 0 0 0.5em; }
  .hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip-path: inset(50%); }
`
