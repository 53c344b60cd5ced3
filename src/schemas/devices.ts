// Known devices: what a sign-in presents and answers, and what the owner sees of them.
import { z } from "zod";

/** Where a device's new-device notice stands: none (an account's first device), sent, or pending (a burst waits for the hour). */
export const DeviceNoticeSchema = z.enum(["none", "pending", "sent"]);
export type DeviceNotice = z.infer<typeof DeviceNoticeSchema>;

/** A device token as a client presents it (ours are 43 characters); one the API does not know is simply not a known device. */
export const DeviceTokenSchema = z.string().min(1).max(128).meta({
  description:
    "The device token the last sign-in on this device answered. It opens nothing by itself: it gives this device a run of wrong passwords of its own, and spares the owner a new-device notice",
  example: "3q2-7wE9rKd0Jx1Pq8VbN4mZs6TyUaHf5LcGi2oWnRk",
});

/** A report of a sign-in its owner did not make: the token of the notice's link. */
export const SignInReportSchema = z.strictObject({ token: z.string().min(1).max(128) }).meta({ id: "SignInReport" });
export type SignInReport = z.infer<typeof SignInReportSchema>;
