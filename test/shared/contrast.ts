// WCAG 2 contrast, for the tests that hold text colours to 4.5:1 (the badge in a
// browser test, the demo pages in an end-to-end test): one formula for both.

/** WCAG 2 contrast ratio of two opaque `rgb(…)` colours as getComputedStyle gives them. */
export function contrast(a: string, b: string): number {
  const luminance = (css: string) => {
    const [r, g, b] = css.match(/[\d.]+/g)!.slice(0, 3).map(v => {
      const c = Number(v) / 255
      return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4
    })
    return 0.2126 * r + 0.7152 * g + 0.0722 * b
  }
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x)
  return (hi + 0.05) / (lo + 0.05)
}
