// A page as an app writes it, for the mirror's end-to-end test: a swarm with a
// log (its own, `<p2p-log name>`, or another's by address, `<p2p-log key>`) with
// a form, and a file drop. The query names the hub, the room and, for a reader,
// the log's address. window.p2pTest drives it.
import '../../../src/index.js'
import type {P2PSwarmElement as P2PSwarm} from '../../../src/elements/p2p-swarm/p2p-swarm.js'
import type {P2PLogElement as P2PLog} from '../../../src/elements/p2p-log/p2p-log.js'
import type {P2PFileDropElement as P2PFileDrop} from '../../../src/elements/p2p-file-drop/p2p-file-drop.js'
import {readValue} from '../../../src/core/log/entry.js'
import {toHex} from '../../../src/core/bytes.js'

const query = new URLSearchParams(location.search)
const swarm = document.createElement('p2p-swarm') as P2PSwarm
swarm.setAttribute('hub', query.get('hub')!)
swarm.setAttribute('room', query.get('room')!)
swarm.setAttribute('ice-servers', '[]')
const logElement = document.createElement('p2p-log') as P2PLog
const key = query.get('key')
if (key) logElement.setAttribute('key', key)
else logElement.setAttribute('name', 'notes')
const form = document.createElement('form')
const input = document.createElement('input')
input.name = 'text'
form.append(input, Object.assign(document.createElement('button'), {textContent: 'Post'}))
logElement.append(form, document.createElement('p2p-feed'))
const drop = document.createElement('p2p-file-drop') as P2PFileDrop
swarm.append(logElement, drop)
document.body.append(swarm)

/**
 * Resolves with what `read` gives once it gives something, looking again every 20 ms
 * (timers, not animation frames: a page in a background context gets no frames).
 */
async function when<T>(read: () => T | undefined): Promise<T> {
  for (;;) {
    const value = read()
    if (value !== undefined) return value
    await new Promise(resolve => setTimeout(resolve, 20))
  }
}

async function sha256(blob: Blob): Promise<string> {
  return toHex(new Uint8Array(await crypto.subtle.digest('SHA-256', await blob.arrayBuffer())))
}

const api = {
  /** The page's log, once open: its address. */
  async address(): Promise<string> {
    return (await when(() => logElement.log)).address
  },
  /** Posts `text` through the log's form, as a person would, and resolves once the entry is stored. */
  async post(text: string): Promise<void> {
    const log = await when(() => logElement.log)
    // The form publishes to the element's source, provided once the room's logs are read:
    // `log` is there a moment before it, and a submit in that moment is refused (the text stays).
    await when(() => logElement.source)
    const before = log.length
    input.value = text
    form.requestSubmit()
    await when(() => log.length > before ? true : undefined)
  },
  /** The log's length, heads and the text of each entry, in the log's order. */
  async summary(): Promise<{length: number, heads: string[], texts: string[]}> {
    const log = await when(() => logElement.log)
    const texts: string[] = []
    for await (const {entry} of log.entries()) {
      const value = readValue(entry) as {text?: unknown} | null
      if (value && typeof value === 'object' && typeof value.text === 'string') texts.push(value.text)
    }
    return {length: log.length, heads: log.heads().map(toHex).sort(), texts}
  },
  /** Resolves once the log holds `length` entries. */
  async lengthAtLeast(length: number): Promise<number> {
    const log = await when(() => logElement.log)
    return when(() => log.length >= length ? log.length : undefined)
  },
  /** Shares a file of `size` random bytes named `name` through the file drop; its id and SHA-256. */
  async share(name: string, size: number): Promise<{id: string, sha256: string}> {
    const share = await when(() => drop.share)
    const bytes = new Uint8Array(size)
    for (let at = 0; at < size; at += 65536) crypto.getRandomValues(bytes.subarray(at, at + 65536))
    const file = new File([bytes], name)
    const {id} = await share.add(file, {name})
    return {id, sha256: await sha256(file)}
  },
  /** Downloads the file `id` once a peer lists it, and resolves with the SHA-256 of what was stored. */
  async download(id: string): Promise<string> {
    const share = await when(() => drop.share)
    await when(() => share.file(id))
    await share.download(id)
    return sha256(await share.blob(id))
  },
  /** The keys of the peers this page is connected to. */
  peers(): string[] {
    return (swarm.swarm?.peers ?? []).map(peer => peer.publicKey).filter((key): key is string => key !== null)
  },
}

;(window as unknown as {p2pTest: typeof api}).p2pTest = api
