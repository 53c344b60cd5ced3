import { defineConfig } from "vitest/config";

// `npm run test:browser`: the admin console in Debian's Chromium against `wrangler dev` (test/browser/).
// Apart from `npm test`, which must pass on a machine with no browser.
export default defineConfig({
  test: {
    name: "browser",
    include: ["test/browser/**/*.test.ts"],
    environment: "node",
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
