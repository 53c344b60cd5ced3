import { buildApp } from "./app.ts";
import { getConfig } from "./config.ts";
import { runMaintenance } from "./cron.ts";
import { getDb } from "./db/client.ts";
import { createLogger } from "./log.ts";
import { productionEdge } from "./edge/revocations.ts";

const app = buildApp();

export default {
  fetch: app.fetch,
  async scheduled(controller, env, ctx) {
    const config = getConfig(env);
    const log = createLogger({ cron: controller.cron });
    const now = new Date(controller.scheduledTime);
    ctx.waitUntil(runMaintenance(getDb(config.DATABASE_URL, config.DATABASE_TIMEOUT_MS), productionEdge(env), config, now, log));
  },
} satisfies ExportedHandler<Env>;
