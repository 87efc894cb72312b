// Two browsers on two hubs of a fleet (docs/hub-fleet.md): two real hub
// processes sharing a real redis-server (`--redis`), a Chromium page with a
// `<p2p-swarm>` on each hub, in one room. The hubs share the room's signalling
// through Redis, and the pages connect over WebRTC. Loopback only
// (`iceServers: []`).
import {after, before, test} from 'node:test'
import {callElementApi, openTestPage, useChromiumHubs} from './helpers.js'
import {RedisProcess} from '../shared/redis-process.js'
import {startHubProcess, type HubProcess} from '../../scripts/hub-process.js'
import {until} from '../shared/until.js'
import {backplanesUp} from '../shared/fleet.js'

// The hubs start once Redis is up, so they are this file's own; the helper gives the server and Chromium.
const stack = useChromiumHubs(0)
let redis: RedisProcess
let hubs: HubProcess[] = []
before(async () => {
  redis = await RedisProcess.start()
  hubs = await Promise.all([0, 1].map(() => startHubProcess({args: ['--redis', redis.url]})))
})
after(async () => {
  await Promise.all(hubs.map(hub => hub.close()))
  await redis?.stop()
})

test('two browsers whose swarms use different hubs of the fleet find each other and connect', {timeout: 120_000}, async () => {
  await backplanesUp(hubs)
  const room = `fleet-e2e-${Date.now()}`
  const pages = await Promise.all(hubs.map(async () => openTestPage(await stack.context(), `${stack.server.url}/test/e2e/pages/swarm-element.html`, 'p2pElement')))
  const keys = await Promise.all(pages.map((page, i) => callElementApi(page, 'add', hubs[i].url, room)))
  await until(async () => (await callElementApi(pages[0], 'peers')).includes(keys[1]) && (await callElementApi(pages[1], 'peers')).includes(keys[0]),
    'each page a peer of the other')
})
