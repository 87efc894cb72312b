// The browser tests again in Firefox ESR (FIREFOX_PATH, default /usr/bin/firefox-esr):
// @web/test-runner-chrome's launcher takes a custom puppeteer, and puppeteer-core
// drives Firefox over WebDriver BiDi (@web/test-runner-puppeteer would pull the full
// `puppeteer`, which downloads a browser). Puppeteer gives each launch a fresh
// profile with the closed-network prefs of scripts/firefox.ts.
import * as puppeteerCore from 'puppeteer-core'
import {chromeLauncher} from '@web/test-runner-chrome'
import {tsImport} from 'tsx/esm/api'
import {sharedConfig} from './scripts/wtr-shared.js'

const {FIREFOX_LAUNCH_OPTIONS} = await tsImport('./scripts/firefox.ts', import.meta.url)

export default {
  ...sharedConfig,
  browsers: [chromeLauncher({puppeteer: puppeteerCore, launchOptions: FIREFOX_LAUNCH_OPTIONS})],
}
