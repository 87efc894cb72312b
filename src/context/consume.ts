import {ContextEvent, type Context, type ContextType} from '@lit/context'
import type {ReactiveControllerHost} from 'lit'

/**
 * Subscribes `host`, while it is connected, to the nearest provider of `context`
 * above it, calling `callback` with each value it provides: what @lit/context's
 * `new ContextConsumer(host, {context, subscribe: true, callback})` does, and also
 * when that provider's element is defined after `host` connects.
 *
 * A consumer asks its ancestors once, on connecting, by a `context-request` event; an
 * ancestor that is not defined yet (its element file loads later, or a later module
 * script defines it) cannot answer then and would never hear the question. So while
 * no provider has answered, each time one of the host's undefined ancestors is defined
 * the host asks again. Any undefined custom element counts, not only the kit's tags: an
 * app may register a subclass of a provider under a name of its own. @lit/context's
 * ContextRoot would answer for every late provider, but at 633 bytes gzip on every page.
 *
 * Written here rather than around ContextConsumer: every element of the kit that reads
 * a context uses this, so pages no longer carry that class at all.
 */
export function consumeContext<C extends Context<unknown, unknown>>(
  host: ReactiveControllerHost & HTMLElement, context: C, callback: (value: ContextType<C>) => void,
): void {
  let answered = false
  let unsubscribe: (() => void) | undefined
  // One function for every request: a provider keeps one subscription per callback,
  // so asking twice (a wait from an earlier connection ending in this one) is harmless.
  const receive = (value: ContextType<C>, dispose?: () => void) => {
    // Another provider answering means this one is closer: leave the one before.
    if (dispose !== unsubscribe) unsubscribe?.()
    unsubscribe = dispose
    answered = true
    callback(value)
  }
  const ask = () => host.dispatchEvent(new ContextEvent(context, host, receive, true))
  const askAgain = () => {
    if (host.isConnected && !answered) ask()
  }
  host.addController({
    hostConnected() {
      // A defined provider answers at once, within the dispatch.
      ask()
      for (let at = host.parentNode; at && !answered; at = at instanceof ShadowRoot ? at.host : at.parentNode) {
        if (at instanceof Element && !at.matches(':defined')) void customElements.whenDefined(at.localName).then(askAgain)
      }
    },
    hostDisconnected() {
      unsubscribe?.()
      unsubscribe = undefined
      answered = false
    },
  })
}
