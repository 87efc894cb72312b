// What the hub fleet's tests and bench read of a hub process: its `GET /` in a
// fleet, and the wait until every process's backplane is up.
import {until} from './until.js'

export interface FleetHubInfo {
  subscribers: number
  backplane: {state: string, published: number, received: number, dropped: number, malformed: number, channels: number, outages: number}
}

/** A hub's `GET /`, with its backplane (the hub was started with `--redis`). */
export async function hubInfo(hub: {url: string}): Promise<FleetHubInfo> {
  return await (await fetch(`${hub.url}/`)).json() as FleetHubInfo
}

/** Resolves once every hub of `hubs` says its backplane is `up`. */
export function backplanesUp(hubs: Array<{url: string}>): Promise<void> {
  return until(async () => (await Promise.all(hubs.map(hubInfo))).every(info => info.backplane.state === 'up'), 'every hub with the backplane up')
}
