import {css} from 'lit'

// The why of some rules lives here, not in CSS comments, which every page would download.
// - [part~='state']: a badge sets its text colour as well as its background: text inherited
//   from a dark page was white on the pale badge (1.1:1). Both pairs keep at least 4.5:1
//   (WCAG AA) in either colour scheme.
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
    color: var(--p2p-state-color, #1f2340);
    background: var(--p2p-state-background, #eef);
  }
  [part~='state-connected'] {
    color: var(--p2p-connected-color, #14421d);
    background: var(--p2p-connected-background, #dfd);
  }
  @media (prefers-color-scheme: dark) {
    [part~='state'] {
      color: var(--p2p-state-color, #e4e6ff);
      background: var(--p2p-state-background, #2e3150);
    }
    [part~='state-connected'] {
      color: var(--p2p-connected-color, #dcffe0);
      background: var(--p2p-connected-background, #1d4a27);
    }
  }
  [part='status'] { margin: 0 0 0.5em; }
  [part='empty'] { opacity: 0.7; font-style: italic; margin: 0; }
`
