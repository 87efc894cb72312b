// Firefox ESR for end-to-end tests, beside scripts/browser.ts's Chromium: puppeteer-core
// drives it over WebDriver BiDi. Each launch gets a fresh profile, and the preferences
// keep it on a closed network and let two tabs of one machine meet over WebRTC.
import type {LaunchOptions} from 'puppeteer-core'
import {launchWithProfile, type LaunchedChromium} from './browser.js'

export const FIREFOX_PATH = process.env.FIREFOX_PATH ?? '/usr/bin/firefox-esr'

/** A launched browser and how to close it; the same shape as a launched Chromium. */
export type LaunchedBrowser = LaunchedChromium

export const FIREFOX_PREFS: Record<string, unknown> = {
  // Host candidates as plain addresses: Firefox hides them behind mDNS names by
  // default, which nothing resolves on a closed network (Chromium's
  // WebRtcHideLocalIpsWithMdns flag, for Firefox).
  'media.peerconnection.ice.obfuscate_host_addresses': false,
  // Loopback addresses as candidates and TURN servers: Firefox leaves them out by
  // default, and the tests' coturns listen on 127.0.0.1 (ICE error 701 without it).
  'media.peerconnection.ice.loopback': true,
  // Nothing but the pages under test may reach the network.
  'app.update.enabled': false,
  'browser.safebrowsing.malware.enabled': false,
  'browser.safebrowsing.phishing.enabled': false,
  'datareporting.policy.dataSubmissionEnabled': false,
  'toolkit.telemetry.enabled': false,
  'network.captive-portal-service.enabled': false,
  'network.connectivity-service.enabled': false,
  'extensions.getAddons.cache.enabled': false,
  // Background tabs keep their timers: both tabs of a test run at once.
  'dom.min_background_timeout_value': 4,
  'dom.timeout.enable_budget_timer_throttling': false,
  // Camera, microphone and WebRTC without a permission prompt, which nobody would
  // answer headless; fake devices, so no test depends on the machine's hardware.
  'media.navigator.permission.disabled': true,
  'media.navigator.streams.fake': true,
}

/** puppeteer-core's options for Firefox ESR headless with the prefs above (the browser tests' launcher uses them too). */
export const FIREFOX_LAUNCH_OPTIONS: LaunchOptions = {browser: 'firefox', executablePath: FIREFOX_PATH, headless: true, extraPrefsFirefox: FIREFOX_PREFS}

/** Launches Firefox ESR (FIREFOX_PATH, default /usr/bin/firefox-esr) headless with a throw-away profile. */
export function launchFirefox(): Promise<LaunchedBrowser> {
  return launchWithProfile('firefox', FIREFOX_LAUNCH_OPTIONS)
}
