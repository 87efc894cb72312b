// <p2p-file-drop> in browser tests: each element's IndexedDB database is deleted
// after the test that opened it (once the elements, removed, have closed them).
import type {P2PFileDropElement} from '../../../src/elements/p2p-file-drop/p2p-file-drop.js'
import type {FileShare} from '../../../src/core/files/share.js'
import {until} from '../../shared/until.js'

let opened: string[] = []

afterEach(async () => {
  await Promise.all(opened.map(name => new Promise(resolve => {
    const req = indexedDB.deleteDatabase(`level-js-${name}`)
    req.onsuccess = req.onerror = resolve
  })))
  opened = []
})

/** The element's share once its storage is open and its files listed; its database goes after the test. */
export async function openedShare(el: P2PFileDropElement): Promise<FileShare> {
  await until(() => el.share !== undefined, 'the element opened its share')
  await el.share!.ready
  opened.push(el.database!)
  return el.share!
}
