// Browser tests in the system Chromium (no downloaded browser); the hub, TURN servers
// and test page are shared with the Firefox config (scripts/wtr-shared.js).
import {chromeLauncher} from '@web/test-runner-chrome'
import {CHROMIUM_ARGS, CHROMIUM_PATH} from './scripts/dev-plugins.js'
import {sharedConfig} from './scripts/wtr-shared.js'

export default {
  ...sharedConfig,
  browsers: [chromeLauncher({launchOptions: {executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS}})],
}
