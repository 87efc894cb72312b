// Which browser runs the page, for the few tests that hold in one browser only by
// nature (a limit or a statistic only that browser has). They are skipped elsewhere
// with their reason in the test's title and in the run's log, never silently.

export type BrowserName = 'chromium' | 'firefox'

/** The browser running this page, from its user agent (Firefox names itself; Chromium's names Chrome). */
export const browserName: BrowserName = navigator.userAgent.includes('Firefox/') ? 'firefox' : 'chromium'

/**
 * Mocha's `it` where the page runs in `browser`; elsewhere `it.skip`, the title
 * saying why, and the reason logged once so the run's output shows it.
 */
export function onlyIn(browser: BrowserName, reason: string): Mocha.TestFunction | Mocha.PendingTestFunction {
  if (browserName === browser) return it
  return ((title: string, fn?: Mocha.Func) => {
    const skipped = `${title} [${browser} only: ${reason}]`
    console.warn(`skipped in ${browserName}: ${skipped}`)
    return it.skip(skipped, fn)
  }) as Mocha.PendingTestFunction
}
