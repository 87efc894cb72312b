/**
 * The type a Blob made of a peer's file may carry. A file's type is the sharer's
 * claim, and a blob: URL runs in the origin that made it: a `text/html` (or SVG, or
 * XML) blob opened as a page ("open link in new tab" on a Save link) runs the peer's
 * script as the app. So only types a browser shows without running anything are kept
 * (images it decodes, audio and video it plays); everything else becomes
 * `application/octet-stream`, which a browser downloads instead of rendering.
 */

/** What every type outside the allow-list becomes. */
export const OPAQUE_TYPE = 'application/octet-stream'

/** SVG is a document that may hold script: never a Blob type, previewed only through an `<img>`. */
export const SVG_TYPE = 'image/svg+xml'

// Raster images, audio and video: Chromium renders these as an image or media
// document, with no script. SVG, HTML, XML and anything unknown are not here.
const PREVIEWABLE = new Set([
  'image/png', 'image/jpeg', 'image/gif', 'image/webp', 'image/avif', 'image/bmp',
  'audio/mpeg', 'audio/mp4', 'audio/aac', 'audio/ogg', 'audio/opus', 'audio/wav', 'audio/wave', 'audio/x-wav',
  'audio/webm', 'audio/flac',
  'video/mp4', 'video/webm', 'video/ogg',
])

/** A MIME type's essence: lower case, parameters and spaces dropped (`Image/PNG; q=1` → `image/png`). */
export function mimeEssence(type: string): string {
  return type.split(';', 1)[0].trim().toLowerCase()
}

/** The type to give a Blob or object URL of a peer's file of claimed type `type`. */
export function safeBlobType(type: string): string {
  const essence = mimeEssence(type)
  return PREVIEWABLE.has(essence) ? essence : OPAQUE_TYPE
}
