import {LitElement} from 'lit'
import {ContextProvider} from '@lit/context'
import {logContext} from '../../../src/context/log-context.js'
import type {Log} from '../../../src/core/log/log.js'

/** Provides a log by context, as <p2p-log> does once its log is open: `<test-log-holder .log=${log}>`. */
export class TestLogHolder extends LitElement {
  readonly #provider = new ContextProvider(this, {context: logContext})
  set log(log: Log | undefined) {
    this.#provider.setValue(log)
  }

  // No shadow root: its children show as they are.
  protected override createRenderRoot(): HTMLElement {
    return this
  }
}

if (!customElements.get('test-log-holder')) customElements.define('test-log-holder', TestLogHolder)

declare global {
  interface HTMLElementTagNameMap {
    'test-log-holder': TestLogHolder
  }
}
