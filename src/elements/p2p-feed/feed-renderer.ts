/**
 * A `<p2p-feed>` row made by the app's `template` function. Loaded by import() the
 * first time a feed is given one: a page that writes its rows as a `<template>` never
 * runs this.
 */
import {render} from 'lit'
import {isTemplateResult} from 'lit/directive-helpers.js'
import type {SourceItem} from '../../core/source/message-source.js'
import {P2PError} from '../../core/errors.js'
import {hasText} from '../shared/item-template.js'
import type {FeedRenderer} from './p2p-feed.js'

/**
 * The new element `renderer` made for `item`, or the error saying why it made none:
 * the feed reports it (once per template) and shows the default row.
 */
export function renderItem(renderer: FeedRenderer, item: SourceItem): Element | P2PError {
  const failed = (what: string, cause?: unknown) => new P2PError('ERR_INVALID_ARGUMENT',
    `a <p2p-feed> template function ${what}; the item shows the default row`, {cause})
  let node: unknown
  try {
    node = renderer(item)
  } catch (err) {
    return failed('threw', err)
  }
  if (isTemplateResult(node)) {
    const fragment = document.createDocumentFragment()
    render(node, fragment)
    const roots = fragment.children
    const text = hasText(fragment)
    if (roots.length !== 1 || text) return failed(`rendered ${roots.length} root elements${text ? ' and text beside them' : ''}, not one`)
    node = roots[0]
  }
  // An element already in the page would be moved out of its place (or out of
  // another row): the renderer must make a new one per call.
  if (!(node instanceof Element) || node.isConnected) {
    return failed(node instanceof Element ? 'returned an element already in the page' : 'returned no element')
  }
  return node
}
