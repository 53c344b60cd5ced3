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
    device: z
      .object({
        id: z.uuid().meta({ description: "End every session of the device at once: DELETE /auth/devices/{id}" }),
        known: z.boolean().meta({ description: "The sign-in came from a device the account knew (it presented its device token)" }),
        last_sign_in_at: z.iso.datetime().meta({ description: "The device's last sign-in" }),
      })
      .nullable()
      .meta({ description: "The device it was signed in from, while the account still knows it" }),
  })
  .meta({ id: "Session" });
export type SessionView = z.infer<typeof SessionSchema>;
