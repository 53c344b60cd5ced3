import { z } from "zod";

/** A session as "where am I logged in" shows it. */
export const SessionSchema = z
  .object({
    id: z.uuid().meta({ example: "0b9e5e0e-9a4b-4c38-9a55-3c3f4f6f8a11" }),
    created_at: z.iso.datetime().meta({ description: "When the login that started it happened" }),
    last_refreshed_at: z.iso.datetime().nullable().meta({ description: "The last refresh of its tokens, if any" }),
    user_agent: z.string().meta({ example: "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15" }),
    client_address: z.string().nullable().meta({ description: "The address the login came from", example: "203.0.113.9" }),
    current: z.boolean().meta({ description: "The session of the access token making this request" }),
  })
  .meta({ id: "Session" });
export type SessionView = z.infer<typeof SessionSchema>;
