import { z } from "zod";

export const LiveSchema = z.object({ status: z.literal("ok"), version: z.string().meta({ example: "0.1.0" }) }).meta({ id: "Live" });

export const HealthSchema = z
  .object({
    status: z.literal("ok"),
    version: z.string().meta({ example: "0.1.0" }),
    database: z.literal("ok"),
  })
  .meta({ id: "Health" });
