/**
 * Polls `check` until it holds (a page's state can only be read by asking it),
 * failing with `what` after `timeout` ms.
 */
export async function until(check: () => boolean | Promise<boolean>, what: string, timeout = 30_000, every = 100): Promise<void> {
  const deadline = Date.now() + timeout
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, every))
  }
}
