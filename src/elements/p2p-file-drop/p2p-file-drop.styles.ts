import {css} from 'lit'

// The rendering's rules (file-drop-renderer.ts), adopted beside the element's own :host rules once
// that code is in.
// The why of some rules lives here, not in CSS comments, which every page would download.
// - :where(button, a[part~='button']): :where keeps these below the part rules that colour some buttons.
// - [part='drop-label']: drag events must reach the button itself, or leaving a child would end the highlight.
export const styles = css`
  :where(button, a[part~='button']) { font: inherit; color: inherit; }
  :focus-visible {
    outline: 2px solid var(--p2p-focus-color, var(--_accent));
    outline-offset: 2px;
  }
  [part~='drop-zone'] {
    display: block;
    box-sizing: border-box;
    width: 100%;
    padding: 1.5em 1em;
    border: 2px dashed var(--_line);
    border-radius: 0.75em;
    background: var(--p2p-drop-background, transparent);
    text-align: center;
    cursor: pointer;
    transition: background-color 0.15s, border-color 0.15s;
  }
  [part~='drop-zone']:hover:not(:disabled) { border-color: var(--_accent); }
  [part~='drop-zone']:disabled { cursor: default; opacity: 0.6; }
  [part~='drop-zone-active'] {
    border-color: var(--_accent);
    background: var(--p2p-drop-active-background, color-mix(in srgb, var(--_accent) 12%, transparent));
  }
  [part='drop-label'] { pointer-events: none; }
  [part='list'] {
    list-style: none;
    margin: 0.75em 0 0;
    padding: 0;
  }
  [part~='file'] {
    display: grid;
    gap: 0.35em;
    padding: 0.6em 0;
    border-top: 1px solid var(--_line);
  }
  [part~='file']:first-child { border-top: 0; }
  .line {
    display: flex;
    flex-wrap: wrap;
    gap: 0.25em 0.75em;
    align-items: baseline;
  }
  [part='name'] {
    font-weight: 600;
    overflow-wrap: anywhere;
  }
  [part='size'], [part='holders'], [part='transfer-text'] {
    font-size: 0.85em;
    opacity: 0.75;
    font-variant-numeric: tabular-nums;
  }
  [part='holders'] { margin-inline-start: auto; }
  [part='transfer'] {
    display: flex;
    gap: 0.75em;
    align-items: center;
  }
  [part='progress'] {
    flex: 1;
    min-width: 4em;
    accent-color: var(--_accent);
  }
  [part='error'] {
    margin: 0;
    font-size: 0.85em;
    color: var(--p2p-error-color, #c62828);
  }
  [part='preview'] {
    display: block;
    max-width: 100%;
    max-height: var(--p2p-preview-max-height, 16em);
    border-radius: 0.5em;
  }
  audio[part='preview'] { width: 100%; }
  [part='actions'] {
    display: flex;
    flex-wrap: wrap;
    gap: 0.5em;
  }
  [part~='button'] {
    padding: 0.25em 0.8em;
    border: 1px solid var(--_line);
    border-radius: 0.4em;
    background: transparent;
    cursor: pointer;
    text-decoration: none;
  }
  [part~='download'], [part~='resume'], [part~='save'] {
    border-color: transparent;
    background: var(--_accent);
    color: white;
  }
  [part='empty'] { opacity: 0.7; font-style: italic; margin: 0.75em 0 0; }
  .visually-hidden {
    position: absolute;
    width: 1px;
    height: 1px;
    margin: 0;
    overflow: hidden;
    clip-path: inset(50%);
    white-space: nowrap;
  }
`
