import {css} from 'lit'

// The why of some rules lives here, not in CSS comments, which every page would download.
// - overflow-anchor: none: the feed keeps the reader's place itself (see p2p-feed.ts); the
//   browser's own scroll anchoring would move it a second time.
// - ::slotted([slot='empty']): the page's own empty state (often a <p>) sits where the default text would.
// - ::slotted(.p2p-feed-item): the default rendering, used when the app gives no template.
export const styles = css`
  :host {
    display: block;
    overflow-y: auto;
    overflow-anchor: none;
    overscroll-behavior: contain;
    font: var(--p2p-font, inherit);
  }
  :host([hidden]) { display: none; }
  :host(:focus-visible) {
    outline: 2px solid var(--p2p-focus-color, Highlight);
    outline-offset: -2px;
  }
  [part='empty'] {
    margin: 0;
    padding: 0.5em 0;
    opacity: 0.7;
    font-style: italic;
  }
  [part='empty'][hidden] { display: none; }
  ::slotted([slot='empty']) { margin: 0; }
  ::slotted(.p2p-feed-item) {
    margin: 0.25em 0;
    overflow-wrap: anywhere;
  }
`
