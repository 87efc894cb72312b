import {css} from 'lit'

// Loaded with the element's code (mirror-control-body.ts), not with its class: a page that
// loads the whole kit and shows no mirror carries none of it.
// - [part~='state'] keeps the colours of the page: a state is said in words, never by colour alone.
export const styles = css`
  :host {
    display: block;
    font: var(--p2p-font, 14px/1.4 system-ui, sans-serif);
    color: var(--p2p-color, inherit);
  }
  :host([hidden]) { display: none; }
  .key, [part~='id'] { font-family: var(--p2p-mono, ui-monospace, monospace); }
  p, ul { margin: 0 0 0.5em; }
  [part='connection'] { font-weight: 600; }
  [part='connection'][data-connected='false'], [part='empty'], [part='pending'] { opacity: 0.75; }
  table { border-collapse: collapse; width: 100%; margin: 0 0 0.75em; }
  caption { text-align: start; font-weight: 600; padding: 0 0 0.25em; }
  th, td { text-align: start; padding: 0.2em 0.75em 0.2em 0; white-space: nowrap; }
  thead th { font-weight: 500; font-size: 0.85em; opacity: 0.7; }
  td.num { font-variant-numeric: tabular-nums; }
  [part='page'] { opacity: 0.75; font-size: 0.9em; }
  [part='add'] { display: flex; flex-wrap: wrap; gap: 0.5em; }
  .hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip-path: inset(50%); }
  [part='add'] input { flex: 1; min-width: 16em; font-family: var(--p2p-mono, ui-monospace, monospace); }
`
