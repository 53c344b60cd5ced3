// The console follows the viewer's system: light or dark. What the browser test checks about its looks, it
// checks in both.
import type { Page } from "playwright-core";

const SCHEMES = ["light", "dark"] as const;
export type Scheme = (typeof SCHEMES)[number];

/** `check` in the light and then the dark scheme; the page is left as the system sets it. */
export async function inEachScheme<T>(page: Page, check: (scheme: Scheme) => Promise<T[]>): Promise<T[]> {
  const found: T[] = [];
  try {
    for (const scheme of SCHEMES) {
      await page.emulateMedia({ colorScheme: scheme });
      found.push(...(await check(scheme)));
    }
  } finally {
    await page.emulateMedia({ colorScheme: null });
  }
  return found;
}
