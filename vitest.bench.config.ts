import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

// `npm run bench`: timings taken inside workerd, the runtime production uses. `vitest bench` does not work in the
// Workers pool (workers-sdk issue 10049), so the bench files are plain test files that print their numbers.
export default defineConfig({
  plugins: [cloudflareTest({ wrangler: { configPath: "./wrangler.toml" } })],
  test: {
    name: "bench",
    include: ["bench/**/*.bench.ts"],
  },
});
