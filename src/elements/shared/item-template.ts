import type {SourceItem} from '../../core/source/message-source.js'
import {shortId} from '../../core/debug.js'

/**
 * Filling the app's `<template>` markup with a peer's data, safely. Everything in an
 * item came from a peer and is hostile: values only ever become text (`textContent`)
 * or the value of an attribute the template itself names, checked by the rules below.
 * No HTML is parsed from data, and no attribute or handler name is taken from it.
 *
 * `data-field` holds one or more bindings separated by spaces:
 * - `text` — the field `text` becomes the element's text (its children are replaced);
 * - `href:url` — the field `url` becomes the `href` attribute (URL attributes take
 *   absolute http:, https: and blob: URLs only);
 * - paths reach into objects: `user.name`.
 *
 * Special fields come from the item's metadata, never from its value, so a peer
 * cannot forge them by publishing `{author: …}`: `author` (the signer's short key),
 * `time` (when this peer received it) and `id`.
 */

/** Attributes whose value is a URL: set only for absolute http:, https: and blob: URLs. */
const URL_ATTRIBUTES = new Set([
  'href', 'xlink:href', 'src', 'action', 'formaction', 'poster', 'cite', 'data', 'background',
  'codebase', 'longdesc', 'manifest', 'usemap', 'icon', 'lowsrc', 'dynsrc', 'classid', 'profile',
])

/** "url 2x, url 640w": the URL is the first word of each comma-separated candidate. */
const candidateUrls = (value: string): string[] => value.split(',').map(candidate => candidate.trim().split(/\s+/)[0])

/** Attributes that hold several URLs; each one must pass. */
const URL_LIST_ATTRIBUTES: Record<string, (value: string) => string[]> = {
  srcset: candidateUrls,
  imagesrcset: candidateUrls,
  ping: value => value.split(/\s+/).filter(Boolean),
  archive: value => value.split(/[\s,]+/).filter(Boolean),
}

const SAFE_PROTOCOLS = new Set(['http:', 'https:', 'blob:'])

/**
 * Attributes a binding may never set, whatever the template says: event handlers run
 * script; `srcdoc` is a whole HTML document; `style` lets a peer lay a fake dialog over
 * the page or fetch tracking URLs through `url()`; `id` and `name` let it shadow the
 * page's globals (`window.config`, `document.forms`: DOM clobbering); `form` would tie a
 * button in the item to another form of the page.
 */
const FORBIDDEN_ATTRIBUTES = new Set(['srcdoc', 'style', 'id', 'name', 'form'])

function isForbiddenAttribute(name: string): boolean {
  return name.startsWith('on') || FORBIDDEN_ATTRIBUTES.has(name)
}

/**
 * SVG animation elements write *other* attributes (`<set attributeName="href" to=…>`),
 * which would carry a `javascript:` URL past the checks above: no bindings on them.
 */
const ANIMATION_ELEMENTS = new Set(['set', 'animate', 'animatemotion', 'animatetransform'])

const ATTRIBUTE_NAME = /^[a-z_][-a-z0-9_.:]*$/

export interface Binding {
  readonly el: Element
  /** Field whose text replaces the element's content, if any. */
  readonly text: string | null
  /** [attribute, field] pairs, already checked against the rules above. */
  readonly attributes: ReadonlyArray<readonly [string, string]>
}

/**
 * Reads the `data-field` bindings of a freshly cloned item: on its root and every
 * descendant. Done once per clone, so patching an item only assigns values.
 */
export function collectBindings(root: Element): Binding[] {
  const bindings: Binding[] = []
  for (const el of [root, ...root.querySelectorAll('[data-field]')]) {
    const spec = el.getAttribute('data-field')
    if (spec === null) continue
    let text: string | null = null
    const attributes: Array<[string, string]> = []
    for (const token of spec.split(/\s+/).filter(Boolean)) {
      const colon = token.lastIndexOf(':')
      if (colon === -1) {
        text = token
        continue
      }
      const name = token.slice(0, colon).toLowerCase()
      const field = token.slice(colon + 1)
      if (!field || !ATTRIBUTE_NAME.test(name) || isForbiddenAttribute(name)) continue
      if (ANIMATION_ELEMENTS.has(el.localName.toLowerCase())) continue
      attributes.push([name, field])
    }
    bindings.push({el, text, attributes})
  }
  return bindings
}

/** Writes an item's fields into its bound elements; a missing field empties the text or removes the attribute. */
export function applyBindings(bindings: readonly Binding[], item: SourceItem): void {
  bindFields(bindings, path => fieldValue(item, path))
}

/**
 * Writes the fields `read` gives by path into the bound elements, by the rules above:
 * for rows that are not a source's items (a view's rows have no author or time of
 * their own, and a field of that name is theirs).
 */
export function bindFields(bindings: readonly Binding[], read: (path: string) => unknown): void {
  for (const {el, text, attributes} of bindings) {
    if (text !== null) {
      const value = read(text)
      el.textContent = toText(value)
      // A <time> tells machines the exact instant, and people the local time.
      if (value instanceof Date && el.localName === 'time') el.setAttribute('datetime', value.toISOString())
    }
    for (const [name, field] of attributes) {
      const value = toAttribute(name, read(field))
      if (value === null) el.removeAttribute(name)
      else el.setAttribute(name, value)
    }
  }
}

/**
 * An item's field by name or dotted path. Only the value's own properties are read,
 * so `constructor` or `__proto__` never reach into prototypes.
 */
export function fieldValue(item: SourceItem, path: string): unknown {
  switch (path) {
    case 'author': return item.author ? shortId(item.author) : ''
    case 'time': return new Date(item.receivedAt)
    case 'id': return item.id
  }
  return pathValue(item.value, path)
}

/** The field of `value` at a name or dotted path, reading own properties only (see fieldValue). */
export function pathValue(value: unknown, path: string): unknown {
  for (const part of path.split('.')) {
    if (value === null || typeof value !== 'object' || !Object.hasOwn(value, part)) return undefined
    value = (value as Record<string, unknown>)[part]
  }
  return value
}

const today = new Intl.DateTimeFormat(undefined, {hour: '2-digit', minute: '2-digit'})
const earlier = new Intl.DateTimeFormat(undefined, {dateStyle: 'medium', timeStyle: 'short'})

/** The local time for today's items, the date too for older ones. */
export function formatTime(date: Date): string {
  // toDateString is the local calendar day: equal strings, same day.
  return (date.toDateString() === new Date().toDateString() ? today : earlier).format(date)
}

function toText(value: unknown): string {
  if (value === undefined || value === null) return ''
  if (typeof value === 'string') return value
  if (value instanceof Date) return formatTime(value)
  if (Array.isArray(value)) return value.map(toText).join(', ')
  if (typeof value === 'object') return JSON.stringify(value)
  return String(value)
}

/** An attribute's value, or `null` to remove it: absent, false, or refused. */
function toAttribute(name: string, value: unknown): string | null {
  if (value === undefined || value === null || value === false) return null
  let text: string
  if (value === true) text = ''
  else if (typeof value === 'string') text = value
  else if (typeof value === 'number') text = String(value)
  else if (value instanceof Date) text = value.toISOString()
  // Several form values under one name, e.g. classes or tags.
  else if (Array.isArray(value) && value.every(v => typeof v === 'string' || typeof v === 'number')) text = value.join(' ')
  else return null
  if (URL_ATTRIBUTES.has(name)) return safeUrl(text)
  const list = URL_LIST_ATTRIBUTES[name]
  if (list) return list(text).every(url => safeUrl(url) !== null) ? text : null
  return text
}

/**
 * The URL if it is an absolute `http:`, `https:` or `blob:` URL, else `null`. Nothing
 * is resolved against the page: an empty or relative value would become a link to the
 * app itself (`''` is the page's own URL, `/admin` a same-origin path), so a peer
 * could point a click at the app. The URL parser decides (it strips the tabs and
 * newlines that hide `java\tscript:` from naive checks, and refuses `//host`, which
 * needs a base), and its serialisation is what gets set, so the browser reads exactly
 * what was checked.
 */
export function safeUrl(text: string): string | null {
  let url: URL
  try {
    url = new URL(text)
  } catch {
    return null
  }
  return SAFE_PROTOCOLS.has(url.protocol) ? url.href : null
}

/** A short text for an item when the app gave no template: its `text` field, or the value itself. */
export function summarize(value: unknown, max = 500): string {
  let text: string
  if (typeof value === 'string') text = value
  else if (value !== null && typeof value === 'object' && typeof (value as {text?: unknown}).text === 'string') {
    const {text: body, name} = value as {text: string, name?: unknown}
    text = typeof name === 'string' && name.trim() ? `${name}: ${body}` : body
  } else {
    text = JSON.stringify(value) ?? String(value)
  }
  return text.length > max ? `${text.slice(0, max - 1)}…` : text
}

/** Whether text other than whitespace sits beside the elements of `parent`: a template's roots must stand alone. */
export function hasText(parent: ParentNode): boolean {
  return [...parent.childNodes].some(n => n.nodeType === Node.TEXT_NODE && n.textContent!.trim() !== '')
}

/**
 * Where a `<template>`'s roots are: its content, or the element itself, since React
 * and Vue create a `<template>` with createElement and append its children to it, not
 * to its content fragment. With `observer` (an element that is connected), both are
 * watched, so an edit of the template renders the rows again.
 */
export function templateHolder(template: HTMLTemplateElement, observer?: MutationObserver): ParentNode {
  if (observer) {
    const what = {childList: true, subtree: true, attributes: true, characterData: true}
    observer.observe(template, what)
    observer.observe(template.content, what)
  }
  return template.content.firstElementChild || !template.hasChildNodes() ? template.content : template
}
