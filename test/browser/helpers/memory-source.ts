import {LitElement, html} from 'lit'
import {provide} from '@lit/context'
import {sourceContext} from '../../../src/context/source-context.js'
import type {MessageSource, SourceItem} from '../../../src/core/source/message-source.js'
import {FormPublisher} from '../../../src/elements/shared/form-publisher.js'

let counter = 0

/**
 * A MessageSource held in memory: what a feed or a form sees from `<p2p-gossip>`,
 * without a hub or peers. `receive` plays an item arriving from the network.
 */
export class MemorySource implements MessageSource {
  readonly items: SourceItem[] = []
  readonly published: unknown[] = []
  readonly #listeners = new Set<(item: SourceItem) => void>()
  /** Set to make the next publish fail, as a destroyed router would. */
  failNext: Error | null = null

  constructor(readonly author = 'a1b2c3d4'.repeat(8)) {}

  async publish(value: unknown): Promise<void> {
    if (this.failNext) {
      const err = this.failNext
      this.failNext = null
      throw err
    }
    this.published.push(value)
    this.#deliver({id: nextId(), value, author: this.author, receivedAt: Date.now(), local: true})
  }

  subscribe(listener: (item: SourceItem) => void): () => void {
    this.#listeners.add(listener)
    return () => this.#listeners.delete(listener)
  }

  /** An item from another peer; fields default to a fresh signed item. */
  receive(value: unknown, fields: Partial<SourceItem> = {}): SourceItem {
    const item = {id: nextId(), value, author: 'f00dfeed'.repeat(8), receivedAt: Date.now(), local: false, ...fields}
    this.#deliver(item)
    return item
  }

  get listenerCount(): number {
    return this.#listeners.size
  }

  #deliver(item: SourceItem): void {
    this.items.push(item)
    for (const listener of [...this.#listeners]) listener(item)
  }
}

function nextId(): string {
  return (++counter).toString(16).padStart(16, '0')
}

/**
 * Provides a MemorySource to its children and publishes their forms, like a source
 * element does: `<test-source .source=${src}><p2p-feed>…</p2p-feed><form>…</form></test-source>`.
 */
export class TestSourceElement extends LitElement {
  @provide({context: sourceContext})
  source: MessageSource | undefined = new MemorySource()

  constructor() {
    super()
    new FormPublisher(this, {source: () => this.source})
  }

  protected override render() {
    return html`<slot></slot>`
  }
}

/** Defines `<test-source>` once; importing this module does it too. */
export function defineTestSource(): void {
  if (!customElements.get('test-source')) customElements.define('test-source', TestSourceElement)
}

defineTestSource()

declare global {
  interface HTMLElementTagNameMap {
    'test-source': TestSourceElement
  }
}
