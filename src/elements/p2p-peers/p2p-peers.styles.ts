import {css} from 'lit'

export const styles = css`
  :host {
    display: block;
    font: var(--p2p-font, 14px/1.4 system-ui, sans-serif);
    color: var(--p2p-color, inherit);
  }
  :host([hidden]) { display: none; }
  [part='header'] {
    display: flex;
    gap: 0.5em;
    align-items: baseline;
    margin: 0 0 0.5em;
    font-weight: 600;
  }
  [part='self'] { font-weight: 400; opacity: 0.75; }
  table { border-collapse: collapse; width: 100%; }
  th, td { text-align: start; padding: 0.25em 0.75em 0.25em 0; white-space: nowrap; }
  th { font-weight: 500; font-size: 0.85em; opacity: 0.7; }
  td.num { font-variant-numeric: tabular-nums; }
  [part~='key'] {
    font-family: var(--p2p-mono, ui-monospace, monospace);
  }
  [part~='swatch'] {
    display: inline-block;
    width: 0.7em;
    height: 0.7em;
    border-radius: 50%;
    margin-inline-end: 0.4em;
    vertical-align: baseline;
  }
  [part~='state'] {
    font-size: 0.85em;
    padding: 0.05em 0.5em;
    border-radius: 1em;
    background: var(--p2p-state-background, #eef);
  }
  [part~='state-connected'] { background: var(--p2p-connected-background, #dfd); }
  [part='empty'] { opacity: 0.7; font-style: italic; margin: 0; }
`
