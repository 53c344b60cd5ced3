import { buildApp } from "./app.ts";
import { getConfig } from "./config.ts";
import { runMaintenance } from "./cron.ts";
import { getDb } from "./db/client.ts";

const app = buildApp();

export default {
  fetch: app.fetch,
  async scheduled(controller, env, ctx) {
    const config = getConfig(env);
    ctx.waitUntil(runMaintenance(getDb(config.DATABASE_URL), env.REVOCATIONS, config, new Date(controller.scheduledTime)));
  },
} satisfies ExportedHandler<Env>;
