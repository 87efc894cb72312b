import {expect, fixture, html, oneEvent} from '@open-wc/testing'
import {sendKeys} from '@web/test-runner-commands'
import '../../src/index.js'
import type {P2PSwarmElement} from '../../src/elements/p2p-swarm/p2p-swarm.js'
import type {P2PFileDropElement} from '../../src/elements/p2p-file-drop/p2p-file-drop.js'
import type {FileInfo, FileShare} from '../../src/core/files/share.js'
import {FileAddEvent} from '../../src/events/file-add-event.js'
import {FileProgressEvent} from '../../src/events/file-progress-event.js'
import {FileCompleteEvent} from '../../src/events/file-complete-event.js'
import {P2PErrorEvent} from '../../src/events/error-event.js'
import {freshRoom, hubUrl} from './helpers/swarm.js'
import {until} from '../shared/until.js'
import {openedShare} from './helpers/file-drop.js'

/** A store name no other test or run uses. */
function freshStore(label: string): string {
  return `file-drop-test-${label}-${Math.random().toString(36).slice(2, 8)}`
}

/** The element's share once its storage is open and its files listed. */
async function ready(el: P2PFileDropElement): Promise<FileShare> {
  const share = await openedShare(el)
  // Covers the element's rendering, loaded on demand.
  await el.updateComplete
  await until(() => !el.shadowRoot!.querySelector<HTMLButtonElement>('[part~=drop-zone]')!.disabled, 'the drop zone enabled')
  return share
}

/** Two peers of one room in one page, each with a file drop over a database of its own; a adds in 64 KiB chunks. */
async function twoPeers() {
  const room = freshRoom('files')
  const root = await fixture<HTMLDivElement>(html`
    <div>
      <p2p-swarm id="a" hub=${hubUrl()} room=${room}>
        <p2p-file-drop store=${freshStore('a')} chunk-size="65536"></p2p-file-drop>
      </p2p-swarm>
      <p2p-swarm id="b" hub=${hubUrl()} room=${room}>
        <p2p-file-drop store=${freshStore('b')}></p2p-file-drop>
      </p2p-swarm>
    </div>`)
  const a = root.querySelector<P2PSwarmElement>('#a')!
  const b = root.querySelector<P2PSwarmElement>('#b')!
  const dropA = a.querySelector('p2p-file-drop')!
  const dropB = b.querySelector('p2p-file-drop')!
  await Promise.all([ready(dropA), ready(dropB)])
  return {root, a, b, dropA, dropB}
}

/** Bytes that differ from chunk to chunk, so a chunk in the wrong place would show. */
function randomBytes(size: number): Uint8Array {
  const out = new Uint8Array(size)
  for (let i = 0; i < size; i += 65536) crypto.getRandomValues(out.subarray(i, Math.min(size, i + 65536)))
  return out
}

function fileOf(bytes: Uint8Array, name: string, type = 'application/octet-stream'): File {
  return new File([bytes as BlobPart], name, {type})
}

/** Chooses files in the element's picker, as the browser does once the user confirms. */
function pick(el: P2PFileDropElement, files: File[]): void {
  const input = el.shadowRoot!.querySelector<HTMLInputElement>('input[type=file]')!
  const transfer = new DataTransfer()
  for (const f of files) transfer.items.add(f)
  input.files = transfer.files
  input.dispatchEvent(new Event('change', {bubbles: true}))
}

function dragEvent(type: string, files: File[]): DragEvent {
  const dataTransfer = new DataTransfer()
  for (const f of files) dataTransfer.items.add(f)
  return new DragEvent(type, {dataTransfer, bubbles: true, cancelable: true, composed: true})
}

function zone(el: P2PFileDropElement): HTMLButtonElement {
  return el.shadowRoot!.querySelector<HTMLButtonElement>('[part~=drop-zone]')!
}

function row(el: P2PFileDropElement, id: string): HTMLElement | null {
  return el.shadowRoot!.querySelector<HTMLElement>(`[part~=file][data-id="${id}"]`)
}

function button(el: P2PFileDropElement, id: string, name: string): HTMLElement | null {
  return row(el, id)?.querySelector<HTMLElement>(`[part~=${name}]`) ?? null
}

/** Resolves with the first file listed by `el` under `name`. */
async function listed(el: P2PFileDropElement, name: string): Promise<FileInfo> {
  let info: FileInfo | undefined
  await until(() => {
    info = el.share?.files().find(f => f.name === name)
    return info !== undefined && row(el, info.id) !== null
  }, `${el.database} lists ${name}`)
  return info!
}

async function sameBytes(blob: Blob, bytes: Uint8Array): Promise<boolean> {
  const got = new Uint8Array(await blob.arrayBuffer())
  return got.length === bytes.length && got.every((b, i) => b === bytes[i])
}

/** Resolves with the next `p2p-file-complete` on `target` for the file `id`. */
function completed(target: EventTarget, id: string): Promise<FileCompleteEvent> {
  return new Promise(resolve => {
    const listener = (event: Event) => {
      const e = event as FileCompleteEvent
      if (e.detail.file.id !== id) return
      target.removeEventListener('p2p-file-complete', listener)
      resolve(e)
    }
    target.addEventListener('p2p-file-complete', listener)
  })
}

describe('<p2p-file-drop>', () => {
  it('a file chosen in one peer appears in the other\'s list, and Download fetches the same bytes', async () => {
    const {root, a, dropA, dropB} = await twoPeers()
    const bytes = randomBytes(600 * 1024 + 17)
    pick(dropA, [fileOf(bytes, 'report.bin')])
    const local = await listed(dropA, 'report.bin')
    expect(local.state).to.equal('complete')
    expect(local.local).to.equal(true)
    // chunk-size="65536" on the element that added it.
    expect(local.chunkSize).to.equal(65536)
    expect(local.chunks).to.equal(10)

    const remote = await listed(dropB, 'report.bin')
    expect(remote.id).to.equal(local.id)
    expect(remote.size).to.equal(bytes.length)
    expect(remote.state).to.equal('remote')
    await dropB.updateComplete
    const shown = row(dropB, remote.id)!
    expect(shown.querySelector('[part=name]')!.textContent).to.equal('report.bin')
    expect(shown.querySelector('[part=size]')!.textContent).to.equal('600 KiB')
    const holders = shown.querySelector('[part=holders]')!
    expect(holders.textContent).to.equal('1 peer')
    expect(holders.getAttribute('title')).to.equal(a.swarm!.publicKey.slice(0, 8))

    const done = completed(dropB, remote.id)
    button(dropB, remote.id, 'download')!.click()
    const event = await done
    expect(event.detail.file.state).to.equal('complete')
    expect(await sameBytes(await dropB.share!.blob(remote.id), bytes)).to.equal(true)

    // Once complete: a Save link with the file's name, and Remove instead of Download.
    await until(() => button(dropB, remote.id, 'save') !== null, 'a Save link')
    const save = button(dropB, remote.id, 'save') as HTMLAnchorElement
    expect(save.getAttribute('download')).to.equal('report.bin')
    expect(save.href).to.match(/^blob:/)
    expect(await sameBytes(await (await fetch(save.href)).blob(), bytes)).to.equal(true)
    expect(button(dropB, remote.id, 'remove')).to.exist
    expect(button(dropB, remote.id, 'download')).to.equal(null)
    root.remove()
  })

  it('takes dropped files, and highlights the zone while files are dragged over it', async () => {
    const {root, dropA, dropB} = await twoPeers()
    const file = fileOf(randomBytes(1000), 'dropped.txt', 'text/plain')
    zone(dropA).dispatchEvent(dragEvent('dragenter', [file]))
    const over = dragEvent('dragover', [file])
    zone(dropA).dispatchEvent(over)
    expect(over.defaultPrevented, 'dragover accepts the drop').to.equal(true)
    await dropA.updateComplete
    expect(zone(dropA).getAttribute('part')).to.equal('drop-zone drop-zone-active')
    zone(dropA).dispatchEvent(dragEvent('dragleave', [file]))
    await dropA.updateComplete
    expect(zone(dropA).getAttribute('part')).to.equal('drop-zone')

    zone(dropA).dispatchEvent(dragEvent('dragenter', [file]))
    const drop = dragEvent('drop', [file])
    zone(dropA).dispatchEvent(drop)
    expect(drop.defaultPrevented, 'the browser does not open the file').to.equal(true)
    await dropA.updateComplete
    expect(zone(dropA).getAttribute('part')).to.equal('drop-zone')
    const there = await listed(dropB, 'dropped.txt')
    expect(there.type).to.equal('text/plain')
    expect(there.size).to.equal(1000)
    root.remove()
  })

  it('the drop zone is a focusable button: Enter and Space open the file picker', async () => {
    const {root, dropA} = await twoPeers()
    const input = dropA.shadowRoot!.querySelector<HTMLInputElement>('input[type=file]')!
    expect(input.multiple).to.equal(true)
    let opened = 0
    input.click = () => { opened++ }
    zone(dropA).focus()
    expect(dropA.shadowRoot!.activeElement).to.equal(zone(dropA))
    await sendKeys({press: 'Enter'})
    expect(opened).to.equal(1)
    // The key by its value: Firefox's WebDriver BiDi keyboard knows no 'Space' (Chromium's knows both).
    await sendKeys({press: ' '})
    expect(opened).to.equal(2)
    await expect(dropA).to.be.accessible()
    root.remove()
  })

  it('fires p2p-file-add, p2p-file-progress and p2p-file-complete, bubbling and composed, out of the swarm', async () => {
    const {root, a, b, dropA, dropB} = await twoPeers()
    const seen: string[] = []
    root.addEventListener('p2p-file-add', e => seen.push(`add ${(e.target as Element).closest('p2p-swarm')!.id} ${e.detail.file.name}`))
    const addedHere = oneEvent(a, 'p2p-file-add') as Promise<FileAddEvent>
    const addedThere = oneEvent(b, 'p2p-file-add') as Promise<FileAddEvent>
    const bytes = randomBytes(300 * 1024)
    pick(dropA, [fileOf(bytes, 'events.bin')])
    const [here, there] = await Promise.all([addedHere, addedThere])
    for (const event of [here, there]) {
      expect(event).to.be.instanceOf(FileAddEvent)
      expect(event.bubbles && event.composed).to.equal(true)
      expect(event.detail.file.name).to.equal('events.bin')
    }
    expect(here.detail.file.local).to.equal(true)
    expect(there.detail.file.local).to.equal(false)

    const progress: FileProgressEvent[] = []
    b.addEventListener('p2p-file-progress', e => progress.push(e))
    const done = completed(root, there.detail.file.id)
    await listed(dropB, 'events.bin')
    button(dropB, there.detail.file.id, 'download')!.click()
    const complete = await done
    expect(complete).to.be.instanceOf(FileCompleteEvent)
    expect(complete.bubbles && complete.composed).to.equal(true)
    expect(complete.target).to.equal(dropB)
    // 300 KiB in 64 KiB chunks: five chunks, each one progress event with more bytes.
    expect(progress.map(e => e.detail.file.have)).to.deep.equal([1, 2, 3, 4, 5])
    expect(progress.every(e => e instanceof FileProgressEvent && e.bubbles && e.composed)).to.equal(true)
    expect(progress.at(-1)!.detail.file.bytes).to.equal(bytes.length)
    // Once in each peer, whichever hears of it first.
    expect(seen.sort()).to.deep.equal(['add a events.bin', 'add b events.bin'])
    root.remove()
  })

  it('a double click on Download fetches the file once', async () => {
    const {root, dropA, dropB} = await twoPeers()
    const bytes = randomBytes(256 * 1024)
    pick(dropA, [fileOf(bytes, 'twice.bin')])
    const info = await listed(dropB, 'twice.bin')
    const progress: number[] = []
    dropB.addEventListener('p2p-file-progress', e => progress.push(e.detail.file.have))
    const done = completed(dropB, info.id)
    const download = button(dropB, info.id, 'download')!
    download.click()
    download.click()
    await done
    expect(progress).to.deep.equal([1, 2, 3, 4])
    expect(dropB.share!.file(info.id)!.state).to.equal('complete')
    expect(await sameBytes(await dropB.share!.blob(info.id), bytes)).to.equal(true)
    root.remove()
  })

  it('downloads every announced file at once with auto-download', async () => {
    const room = freshRoom('files')
    const root = await fixture<HTMLDivElement>(html`
      <div>
        <p2p-swarm hub=${hubUrl()} room=${room}><p2p-file-drop store=${freshStore('a')}></p2p-file-drop></p2p-swarm>
        <p2p-swarm hub=${hubUrl()} room=${room}><p2p-file-drop store=${freshStore('b')} auto-download></p2p-file-drop></p2p-swarm>
      </div>`)
    const [dropA, dropB] = root.querySelectorAll('p2p-file-drop')
    await Promise.all([ready(dropA), ready(dropB)])
    const bytes = randomBytes(70 * 1024)
    const done = new Promise<FileCompleteEvent>(resolve => dropB.addEventListener('p2p-file-complete', resolve, {once: true}))
    pick(dropA, [fileOf(bytes, 'auto.bin')])
    const {detail: {file}} = await done
    expect(file.name).to.equal('auto.bin')
    expect(await sameBytes(await dropB.share!.blob(file.id), bytes)).to.equal(true)
    root.remove()
  })

  it('previews a complete image in place, and revokes its object URL once it is removed', async () => {
    const {root, dropA} = await twoPeers()
    const canvas = document.createElement('canvas')
    canvas.width = canvas.height = 8
    canvas.getContext('2d')!.fillRect(0, 0, 8, 8)
    const png = await new Promise<Blob>(resolve => canvas.toBlob(b => resolve(b!), 'image/png'))
    pick(dropA, [new File([png], 'dot.png', {type: 'image/png'})])
    const info = await listed(dropA, 'dot.png')
    await until(() => row(dropA, info.id)?.querySelector('img[part=preview]') != null, 'an image preview')
    const img = row(dropA, info.id)!.querySelector<HTMLImageElement>('img[part=preview]')!
    expect(img.alt).to.equal('dot.png')
    // Its load, not decode(): Firefox rejects decode() on a lazy image whose load has not
    // started yet (EncodingError, seen when the row had only just rendered).
    if (!img.complete) {
      await new Promise((resolve, reject) => {
        img.addEventListener('load', resolve, {once: true})
        img.addEventListener('error', () => reject(new Error('the preview did not load')), {once: true})
      })
    }
    expect(img.naturalWidth).to.equal(8)
    const url = img.src
    button(dropA, info.id, 'remove')!.click()
    await until(() => row(dropA, info.id) === null, 'the removed file leaves the list')
    const refused = await fetch(url).then(() => false, () => true)
    expect(refused, 'the object URL was revoked').to.equal(true)
    root.remove()
  })

  it('two elements with the same store in one page hold different databases, and a freed name is taken again', async () => {
    const store = freshStore('same')
    const swarm = await fixture<P2PSwarmElement>(html`
      <p2p-swarm hub=${hubUrl()} room=${freshRoom('files')}>
        <p2p-file-drop store=${store}></p2p-file-drop>
      </p2p-swarm>`)
    const first = swarm.querySelector('p2p-file-drop')!
    await ready(first)
    const second = document.createElement('p2p-file-drop')
    second.store = store
    swarm.append(second)
    await ready(second)
    expect(first.database).to.equal(store)
    expect(second.database).to.equal(`${store}-2`)
    // A file in one is not in the other: they are separate stores.
    pick(first, [fileOf(randomBytes(100), 'only-first.bin')])
    await listed(first, 'only-first.bin')
    expect(second.share!.files().filter(f => f.local)).to.deep.equal([])

    // The first lets its name go once removed (after closing its database); an element added later takes it.
    first.remove()
    await until(async () => !(await navigator.locks.query()).held!.some(l => l.name === `p2p-elements-files:${store}`),
      'the first element\'s lock released')
    const third = document.createElement('p2p-file-drop')
    third.store = store
    swarm.append(third)
    await ready(third)
    expect(third.database).to.equal(store)
    // ...with what the first stored there.
    expect(third.share!.files().map(f => f.name)).to.include('only-first.bin')
    swarm.remove()
  })

  it('removing a downloaded copy takes this peer off the other side\'s holders', async () => {
    const {root, a, b, dropA, dropB} = await twoPeers()
    const keyB = b.swarm!.publicKey
    pick(dropA, [fileOf(randomBytes(200 * 1024), 'shared.bin')])
    const info = await listed(dropB, 'shared.bin')
    const done = completed(dropB, info.id)
    button(dropB, info.id, 'download')!.click()
    await done
    await until(() => dropA.share!.file(info.id)!.holders.includes(keyB), 'a counts b as a holder')
    await until(() => row(dropA, info.id)!.querySelector('[part=holders]')!.textContent === 'you and 1 peer', 'a shows b as a holder')

    await until(() => button(dropB, info.id, 'remove') !== null, 'a Remove button')
    button(dropB, info.id, 'remove')!.click()
    await until(() => !dropA.share!.file(info.id)!.holders.includes(keyB), 'a no longer counts b')
    await until(() => row(dropA, info.id)!.querySelector('[part=holders]')!.textContent === 'only you', 'a shows nobody else')
    // b lists it still, as a file it can fetch again from a.
    const after = dropB.share!.file(info.id)!
    expect(after.state).to.equal('remote')
    expect(after.holders).to.deep.equal([a.swarm!.publicKey])
    await until(() => button(dropB, info.id, 'download') !== null, 'b offers Download again')
    root.remove()
  })

  it('a download that runs out of storage pauses, says why, and resumes or cancels on request', async () => {
    const {root, dropA, dropB} = await twoPeers()
    // IndexedDB's own quota error, from every chunk write while the disk is "full".
    const db = dropB.share!.store.db as unknown as {batch(ops: Array<{key: string}>): Promise<void>}
    const batch = db.batch.bind(db)
    let full = false
    db.batch = ops => full && ops.some(op => /^\d{10}$/.test(op.key))
      ? Promise.reject(new DOMException('disk full', 'QuotaExceededError'))
      : batch(ops)
    const bytes = randomBytes(256 * 1024)
    pick(dropA, [fileOf(bytes, 'big.bin')])
    const info = await listed(dropB, 'big.bin')
    const errors: string[] = []
    dropB.addEventListener('p2p-error', e => errors.push(e.detail.error.code))
    full = true
    button(dropB, info.id, 'download')!.click()
    await until(() => row(dropB, info.id)?.dataset.state === 'paused', 'the download paused')
    expect(row(dropB, info.id)!.querySelector('[part=error]')!.textContent).to.match(/^ERR_STORAGE_FULL: /)
    expect(errors).to.deep.equal(['ERR_STORAGE_FULL'])

    // Cancel discards it: Download again, and a cancel is no error.
    button(dropB, info.id, 'cancel')!.click()
    await until(() => row(dropB, info.id)?.dataset.state === 'remote', 'the download cancelled')
    expect(dropB.share!.file(info.id)!.have).to.equal(0)
    expect(errors).to.deep.equal(['ERR_STORAGE_FULL'])

    button(dropB, info.id, 'download')!.click()
    await until(() => row(dropB, info.id)?.dataset.state === 'paused', 'the download paused again')
    full = false
    const done = completed(dropB, info.id)
    button(dropB, info.id, 'resume')!.click()
    await done
    expect(await sameBytes(await dropB.share!.blob(info.id), bytes)).to.equal(true)
    expect(errors).to.deep.equal(['ERR_STORAGE_FULL', 'ERR_STORAGE_FULL'])
    root.remove()
  })

  it('reports a file it cannot add with p2p-error', async () => {
    const {root, dropA} = await twoPeers()
    dropA.chunkSize = 1000
    const error = oneEvent(dropA, 'p2p-error') as Promise<P2PErrorEvent>
    pick(dropA, [fileOf(randomBytes(10), 'odd.bin')])
    expect((await error).detail.error.code).to.equal('ERR_INVALID_ARGUMENT')
    expect(dropA.share!.files()).to.deep.equal([])
    root.remove()
  })

  it('does not fire events when properties are set from code', async () => {
    const {root, dropA, dropB} = await twoPeers()
    // Something to fire about: a file listed in both (complete in A, remote in B).
    pick(dropA, [fileOf(randomBytes(100 * 1024), 'listed.bin')])
    const listedAtB = await listed(dropB, 'listed.bin')
    await listed(dropA, 'listed.bin')
    const fired: string[] = []
    for (const type of ['p2p-file-add', 'p2p-file-progress', 'p2p-file-complete', 'p2p-error']) {
      root.addEventListener(type, e => fired.push(`${type} ${(e as FileAddEvent).detail.file?.name ?? ''}`))
    }
    for (const drop of [dropA, dropB]) {
      drop.sequential = true
      drop.accept = 'image/*'
      drop.chunkSize = 16384
    }
    // In A only: in B it would start downloading the listed file, which is news.
    dropA.autoDownload = true
    await Promise.all([dropA.updateComplete, dropB.updateComplete])
    expect(dropA.shadowRoot!.querySelector('input[type=file]')!.getAttribute('accept')).to.equal('image/*')
    // The sentinel: a file added after the sets reaches B's list and its event; any event the
    // sets caused in either element came before it.
    const sentinelAtB = new Promise<void>(resolve => dropB.addEventListener('p2p-file-add', e => {
      if (e.detail.file.name === 'sentinel.bin') resolve()
    }))
    pick(dropA, [fileOf(randomBytes(10), 'sentinel.bin')])
    await sentinelAtB
    expect(fired).to.deep.equal(['p2p-file-add sentinel.bin', 'p2p-file-add sentinel.bin'])
    expect(dropB.share!.file(listedAtB.id)!.state).to.equal('remote')
    root.remove()
  })

  it('follows the swarm: a new room means a new share over the same database', async () => {
    const {root, a, dropA} = await twoPeers()
    const before = dropA.share!
    const database = dropA.database
    a.room = freshRoom('files')
    await a.updateComplete
    await until(() => dropA.share !== undefined && dropA.share !== before, 'a new share')
    expect(before.destroyed).to.equal(true)
    await dropA.share!.ready
    // Its own name again: the old share let the lock go before the new one asked.
    expect(dropA.database).to.equal(database)
    root.remove()
  })

  it('outside a swarm it has no share, says so, and its drop zone is disabled', async () => {
    const el = await fixture<P2PFileDropElement>(html`<p2p-file-drop></p2p-file-drop>`)
    expect(el.share).to.equal(undefined)
    expect(el.database).to.equal(undefined)
    expect(zone(el).disabled).to.equal(true)
    expect(el.shadowRoot!.querySelector('[part=empty]')!.textContent).to.equal('Not in a room.')
    el.remove()
  })
})
