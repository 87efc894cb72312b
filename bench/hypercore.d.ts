// The part of hypercore 11's API bench/log.bench.ts uses (the package ships no types).
declare module 'hypercore' {
  import type {Duplex} from 'node:stream'
  export default class Hypercore {
    constructor(storage: string, key?: Uint8Array)
    readonly key: Uint8Array
    readonly contiguousLength: number
    ready(): Promise<void>
    append(blocks: Uint8Array[]): Promise<unknown>
    replicate(isInitiator: boolean): Duplex
    download(range: {start: number, end: number}): {done(): Promise<void>}
    close(): Promise<void>
  }
}
