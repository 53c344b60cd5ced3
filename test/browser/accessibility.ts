// WCAG 2.1 A and AA, as axe-core checks them, over whatever the console shows now, in both colour schemes.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import type { CDPSession, Page } from "playwright-core";
import { expect } from "vitest";
import { inEachScheme } from "./schemes.ts";

const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");
const RUN_OPTIONS = {
  runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] },
  // only what fails is needed: leaving out the passes keeps each run short
  resultTypes: ["violations"],
};
// each violation in a line: the rule, the element (its CSS selector) and axe's account of what is wrong
const RUN_AXE = `axe.run(document, ${JSON.stringify(RUN_OPTIONS)}).then((results) =>
  results.violations.flatMap((rule) =>
    rule.nodes.map((node) => rule.id + " (" + rule.impact + ") at " + node.target.join(" ") + ": " + node.failureSummary.replace(/\\s+/g, " ")),
  ),
)`;

function isTextList(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === "string");
}

const sessions = new WeakMap<Page, Promise<CDPSession>>();

/**
 * The page's DevTools session for axe, one for as long as the page lives: detaching a session ends the page's WebAuthn
 * environment, and with it the virtual authenticator (and its passkeys) of the passkey tests.
 */
function devtoolsOf(page: Page): Promise<CDPSession> {
  let session = sessions.get(page);
  if (!session) {
    session = page.context().newCDPSession(page);
    sessions.set(page, session);
  }
  return session;
}

/**
 * axe, loaded into the page as it is, and a way to run it. axe's source is evaluated through the DevTools protocol
 * in an isolated world of its own, which leaves the page's policy as strict as it is served: no bypassCSP, no
 * rewritten headers, no script element (which script-src 'self' would refuse anyway). The isolated world shares
 * the page's DOM, so the page's Trusted Types rule still guards every write axe makes to it (and reports a
 * violation to the page, where the test's CSP listener would count it), while `axe` itself stays out of the
 * console's own world, where the console's script never sees it. (`page.evaluate` of the source runs too, an
 * evaluation being no script load, but it would leave `axe` in the console's world for the rest of the test.)
 */
async function loadAxe(page: Page) {
  const devtools = await devtoolsOf(page);
  const { frameTree } = await devtools.send("Page.getFrameTree");
  const { executionContextId: contextId } = await devtools.send("Page.createIsolatedWorld", {
    frameId: frameTree.frame.id,
    worldName: "axe",
  });
  const loaded = await devtools.send("Runtime.evaluate", { expression: AXE_SOURCE, contextId });
  if (loaded.exceptionDetails) throw new Error(`axe-core did not load: ${loaded.exceptionDetails.text}`);
  return {
    /** axe's violations on the page as it is now, each in a line. */
    violations: async (): Promise<string[]> => {
      const run = await devtools.send("Runtime.evaluate", { expression: RUN_AXE, contextId, awaitPromise: true, returnByValue: true });
      if (run.exceptionDetails || !isTextList(run.result.value)) throw new Error(`axe-core did not run: ${run.exceptionDetails?.text}`);
      return run.result.value;
    },
  };
}

/** Fails with each violation of WCAG 2.1 A and AA axe finds, in light or dark: the rule and the element. */
export async function expectAccessible(page: Page, state: string): Promise<void> {
  const axe = await loadAxe(page);
  const violations = await inEachScheme(page, async (scheme) => (await axe.violations()).map((line) => `${scheme}: ${line}`));
  expect(violations, `axe-core on ${state}`).toEqual([]);
}
