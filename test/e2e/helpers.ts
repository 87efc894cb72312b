import {startHubProcess, type HubProcess} from '../../scripts/hub-process.js'
import {launchChromium, startDemoServer, type LaunchedChromium} from '../../scripts/browser.js'
import type {DemoServer} from '../../scripts/demo-server.js'

/**
 * What a person meets: a hub process, the demo server and the system Chromium,
 * started one at a time so whatever did start is closed if a later one fails.
 */
export async function startDemoStack({hubArgs = []}: {hubArgs?: string[]} = {}): Promise<{hub: HubProcess, demo: DemoServer, chromium: LaunchedChromium, close(): Promise<void>}> {
  const started: Array<{close(): Promise<void>}> = []
  const close = async () => { await Promise.all(started.map(s => s.close())) }
  try {
    const hub = await startHubProcess({args: hubArgs})
    started.push(hub)
    const demo = await startDemoServer()
    started.push(demo)
    const chromium = await launchChromium()
    started.push(chromium)
    return {hub, demo, chromium, close}
  } catch (err) {
    await close()
    throw err
  }
}
