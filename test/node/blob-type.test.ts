import {test} from 'node:test'
import assert from 'node:assert/strict'
import {OPAQUE_TYPE, safeBlobType} from '../../src/core/files/blob-type.js'

test('safeBlobType keeps only image, audio and video types a browser shows without running anything', () => {
  const kept: Record<string, string> = {
    'image/png': 'image/png', 'IMAGE/JPEG': 'image/jpeg', 'image/gif': 'image/gif', 'image/webp': 'image/webp',
    'image/avif': 'image/avif', ' image/png ; charset=x': 'image/png', 'audio/mpeg': 'audio/mpeg', 'audio/ogg': 'audio/ogg',
    'audio/wav': 'audio/wav', 'audio/webm': 'audio/webm', 'video/mp4': 'video/mp4', 'video/webm; codecs="vp9"': 'video/webm',
  }
  for (const [type, safe] of Object.entries(kept)) assert.equal(safeBlobType(type), safe, type)
  const opaque = [
    'text/html', 'TEXT/HTML', 'text/html;charset=utf-8', 'application/xhtml+xml', 'image/svg+xml', 'Image/SVG+XML',
    'text/xml', 'application/xml', 'text/javascript', 'application/javascript', 'application/pdf', 'text/plain',
    'multipart/x-mixed-replace', 'image/png-but-not', 'image/', 'image', '', 'unknown/type', 'image/png,text/html',
  ]
  for (const type of opaque) assert.equal(safeBlobType(type), OPAQUE_TYPE, type)
  assert.equal(OPAQUE_TYPE, 'application/octet-stream')
})
