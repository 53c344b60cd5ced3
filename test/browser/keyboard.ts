// The console from the keyboard: Tab from control to control, with a focus ring at every stop that stands out
// from whatever it is drawn on (WCAG 2.4.7, and 1.4.11's 3:1), in the light and the dark scheme.
import type { Locator, Page } from "playwright-core";
import { expect } from "vitest";
import { compositeBackground, contrastRatio, parseColour } from "./contrast.ts";
import { inEachScheme } from "./schemes.ts";

const RING_CONTRAST = 3;
const RING_MIN_WIDTH_PX = 2;
// more than any page of the console has, so a target that is never reached fails instead of looping
const MAX_TAB_STOPS = 60;

interface Focus {
  /** The element's tag and name, or "body" when nothing has the focus. */
  element: string;
  outline: { style: string; width: number; colour: string };
  /** For each side of the element in view: the backgrounds under the middle of its ring, topmost first. */
  under: { side: string; stack: string[] }[];
}

/** Runs in the page: the focused element (or `element`), its outline, and what the outline is drawn on. */
function readFocus(element: Element | null = document.activeElement): Focus {
  const style = getComputedStyle(element ?? document.body);
  const width = Number.parseFloat(style.outlineWidth);
  const outline = { style: style.outlineStyle, width, colour: style.outlineColor };
  if (!(element instanceof HTMLElement) || element === document.body) return { element: "body", outline, under: [] };
  const name = element.getAttribute("aria-label") ?? (element.matches("input, select") ? `#${element.id}` : element.textContent);
  // the middle of the ring's stroke, outward from the border box (inward for a negative offset)
  const middle = Number.parseFloat(style.outlineOffset) + width / 2;
  const box = element.getBoundingClientRect();
  const [x, y] = [box.left + box.width / 2, box.top + box.height / 2];
  const sides: [string, number, number][] = [
    ["left", box.left - middle, y],
    ["right", box.right + middle, y],
    ["top", x, box.top - middle],
    ["bottom", x, box.bottom + middle],
  ];
  const under = sides
    .filter(([, left, top]) => left >= 0 && top >= 0 && left < innerWidth && top < innerHeight)
    .map(([side, left, top]) => {
      const stack: string[] = [];
      for (let layer = document.elementFromPoint(left, top); layer; layer = layer.parentElement)
        stack.push(getComputedStyle(layer).backgroundColor);
      // the page's own background shows through <html>, which has none of its own
      return { side, stack: [...stack, getComputedStyle(document.body).backgroundColor] };
    });
  return { element: `${element.localName} "${name.trim().slice(0, 60)}"`, outline, under };
}

/** What has the focus now. */
const focused = (page: Page) => page.evaluate(readFocus, undefined);

function ringFaults({ element, outline, under }: Focus): string[] {
  if (element === "body") return [];
  if (outline.style === "none" || outline.width < RING_MIN_WIDTH_PX) return [`${element} shows no focus ring`];
  const ring = parseColour(outline.colour);
  return under.flatMap(({ side, stack }) => {
    const background = compositeBackground(stack);
    const ratio = contrastRatio(ring, background);
    if (ratio >= RING_CONTRAST) return [];
    const shown = `rgb(${[background.red, background.green, background.blue].map(Math.round).join(", ")})`;
    return [`${element}: its focus ring ${outline.colour} on ${shown}, ${side} of it, is ${ratio.toFixed(2)}:1`];
  });
}

/** The focused element shows a ring of 3:1 or more against every background it is drawn on, in light and dark. */
export async function expectFocusVisible(page: Page): Promise<void> {
  const faults = await inEachScheme(page, async (scheme) => ringFaults(await focused(page)).map((fault) => `${scheme}: ${fault}`));
  expect(faults, "focus rings under 3:1").toEqual([]);
}

/** Presses Tab until `target` has the focus, checking the focus ring at every stop on the way and there. */
export async function tabTo(page: Page, target: Locator): Promise<void> {
  await target.waitFor();
  const wanted = (await target.evaluate(readFocus)).element;
  for (let stop = 0; stop < MAX_TAB_STOPS; stop++) {
    await page.keyboard.press("Tab");
    await expectFocusVisible(page);
    if ((await focused(page)).element === wanted) return;
  }
  throw new Error(`${MAX_TAB_STOPS} presses of Tab did not reach ${wanted}`);
}

/** Waits for `target` to have the focus: a dialog gives it back as it closes. */
export async function expectFocused(page: Page, target: Locator): Promise<void> {
  const wanted = (await target.evaluate(readFocus)).element;
  await expect.poll(async () => (await focused(page)).element, { timeout: 5_000 }).toBe(wanted);
}
