// A peer's file never acts in the app's origin: its Save link (a blob: URL) opened
// as a page runs nothing, whatever type the peer claimed, and an SVG is previewed
// only through an <img>.
import {expect, fixture, html} from '@open-wc/testing'
import '../../src/index.js'
import type {P2PFileDropElement} from '../../src/elements/p2p-file-drop/p2p-file-drop.js'
import {freshRoom, hubUrl} from './helpers/swarm.js'
import {until} from '../shared/until.js'
import {openedShare} from './helpers/file-drop.js'

/** Two peers of one room in one page: `peer` shares, `app` downloads and shows. */
async function twoPeers() {
  const room = freshRoom('peer-data')
  const store = (label: string) => `peer-data-${label}-${Math.random().toString(36).slice(2, 8)}`
  const root = await fixture<HTMLDivElement>(html`
    <div>
      <p2p-swarm hub=${hubUrl()} room=${room}><p2p-file-drop store=${store('peer')}></p2p-file-drop></p2p-swarm>
      <p2p-swarm hub=${hubUrl()} room=${room}><p2p-file-drop store=${store('app')}></p2p-file-drop></p2p-swarm>
    </div>`)
  const [peer, app] = root.querySelectorAll('p2p-file-drop')
  await Promise.all([openedShare(peer), openedShare(app)])
  return {root, peer, app}
}

function row(el: P2PFileDropElement, id: string): HTMLElement | null {
  return el.shadowRoot!.querySelector<HTMLElement>(`[part~=file][data-id="${id}"]`)
}

/** The peer shares `bytes` as `name` of type `type`; the app downloads it. Resolves with the app's row once it shows a Save link. */
async function shareAndDownload(peer: P2PFileDropElement, app: P2PFileDropElement, name: string, type: string, bytes: BlobPart) {
  const added = await peer.share!.add(new Blob([bytes]), {name, type})
  expect(added.type).to.equal(type)
  await until(() => app.share!.file(added.id) !== undefined, `the app hears of ${name}`)
  await app.share!.download(added.id)
  await until(() => row(app, added.id)?.querySelector('[part~=save]') != null, `a Save link for ${name}`)
  const shown = row(app, added.id)!
  return {id: added.id, shown, save: shown.querySelector<HTMLAnchorElement>('[part~=save]')!}
}

declare global {
  interface Window {
    __peerRan?: boolean
  }
}

// The peer's files: each sets a flag on the document that frames it, if it ever runs.
const HOSTILE_HTML = '<!doctype html><title>peer</title><script>parent.__peerRan = true</script><p>peer page'
const HOSTILE_SVG = '<svg xmlns="http://www.w3.org/2000/svg" width="12" height="8"><script>parent.__peerRan = true</script>' +
  '<rect width="12" height="8" fill="red"/></svg>'
// A 1×1 PNG.
const PNG = Uint8Array.from(atob('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=='), c => c.charCodeAt(0))

/**
 * Opens `url` as a page of its own, as "open link in new tab" would, and reports whether
 * its script ran. The page is framed by a sentinel document of the test's own whose load
 * event waits for that frame's navigation to end, whichever way it ends (a document, or a
 * download the sandbox refuses, so nothing is saved to disk); the sentinel then posts
 * what the frame left behind. `allow-scripts allow-same-origin` run a framed page's
 * script in the app's origin, as a tab would.
 */
async function openAsPage(url: string): Promise<{ran: boolean}> {
  const sentinel = URL.createObjectURL(new Blob([
    `<!doctype html><iframe sandbox="allow-scripts allow-same-origin" src="${url}"></iframe>` +
    `<script>addEventListener('load', () => parent.postMessage({ran: window.__peerRan === true}, '*'))</` + 'script>',
  ], {type: 'text/html'}))
  const frame = document.createElement('iframe')
  try {
    const reported = new Promise<{ran: boolean}>(resolve => {
      const listener = (e: MessageEvent) => {
        if (e.source !== frame.contentWindow) return
        removeEventListener('message', listener)
        resolve(e.data as {ran: boolean})
      }
      addEventListener('message', listener)
    })
    frame.src = sentinel
    document.body.append(frame)
    return await reported
  } finally {
    frame.remove()
    URL.revokeObjectURL(sentinel)
  }
}

describe('peer files never act in the app\'s origin', () => {
  it('the detector sees a page that runs: an HTML blob of its own type runs its script', async () => {
    const own = URL.createObjectURL(new Blob([HOSTILE_HTML], {type: 'text/html'}))
    expect(await openAsPage(own)).to.deep.equal({ran: true})
    URL.revokeObjectURL(own)
  })

  it('a peer\'s text/html file: its Save link is application/octet-stream, keeps the name, and opened as a page runs nothing', async () => {
    const {root, peer, app} = await twoPeers()
    const {id, save, shown} = await shareAndDownload(peer, app, 'invite.html', 'text/html', HOSTILE_HTML)
    expect(await openAsPage(save.href)).to.deep.equal({ran: false})
    expect(save.getAttribute('download')).to.equal('invite.html')
    expect(save.href).to.match(/^blob:/)
    expect((await (await fetch(save.href)).blob()).type).to.equal('application/octet-stream')
    expect((await app.share!.blob(id)).type).to.equal('application/octet-stream')
    expect(app.share!.file(id)!.type, 'the claimed type is still listed').to.equal('text/html')
    expect(shown.querySelector('[part~=preview]')).to.equal(null)
    root.remove()
  })

  it('a peer\'s SVG with script: previewed in an <img> only, its Save link opened as a page runs nothing', async () => {
    const {root, peer, app} = await twoPeers()
    const {id, save, shown} = await shareAndDownload(peer, app, 'logo.svg', 'image/svg+xml', HOSTILE_SVG)
    expect(await openAsPage(save.href)).to.deep.equal({ran: false})
    expect(save.getAttribute('download')).to.equal('logo.svg')
    expect((await (await fetch(save.href)).blob()).type).to.equal('application/octet-stream')
    expect((await app.share!.blob(id)).type).to.equal('application/octet-stream')

    const previews = shown.querySelectorAll('[part~=preview]')
    expect(previews.length).to.equal(1)
    const img = previews[0] as HTMLImageElement
    expect(img.localName).to.equal('img')
    expect(img.getAttribute('src')).to.match(/^data:image\/svg\+xml;base64,/)
    img.loading = 'eager'
    await img.decode()
    expect([img.naturalWidth, img.naturalHeight]).to.deep.equal([12, 8])
    // What the preview shows, opened as a page, is not in the app's origin either.
    expect(await openAsPage(img.src)).to.deep.equal({ran: false})
    root.remove()
  })

  it('a previewable type keeps its type: a PNG\'s blob is image/png and its preview uses the Save link\'s URL', async () => {
    const {root, peer, app} = await twoPeers()
    const {id, save, shown} = await shareAndDownload(peer, app, 'dot.png', 'Image/PNG', PNG)
    expect((await app.share!.blob(id)).type).to.equal('image/png')
    const img = shown.querySelector<HTMLImageElement>('img[part~=preview]')!
    expect(img.getAttribute('src')).to.equal(save.href)
    img.loading = 'eager'
    await img.decode()
    expect(img.naturalWidth).to.equal(1)
    root.remove()
  })
})
