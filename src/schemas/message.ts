import { z } from "zod";

/** An answer that only says what happened. */
export const MessageSchema = z.object({ message: z.string() }).meta({ id: "Message" });
export type Message = z.infer<typeof MessageSchema>;
