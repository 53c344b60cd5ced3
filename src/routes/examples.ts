// What the document shows as answers: one example of each public shape, shared by every operation
// that returns it.
import type { AuthEvent } from "../schemas/events.ts";
import type { DataExport } from "../schemas/leaving.ts";
import type { SessionView } from "../schemas/sessions.ts";
import type { SignedIn, TokenPair } from "../schemas/tokens.ts";
import type { AdminUser, PublicUser } from "../schemas/user.ts";

export const exampleRequestId = "6b1c0d2e-5f4a-4e8b-9c3d-2a1f0e9d8c7b";

export const exampleUser: PublicUser = {
  id: 42,
  email: "ada@example.com",
  first_name: "Ada",
  last_name: "Lovelace",
  status: "verified",
  role: "user",
  created_at: "2026-11-24T12:00:00.000Z",
  deletion_due_at: null,
};

/** An account locked after a hundred wrong passwords, with its authenticator app on. */
export const exampleAdminUser: AdminUser = {
  ...exampleUser,
  sign_in: {
    password: { standing: "locked", wrong_in_a_row: 100, until: null, blocked_devices: 0 },
    second_factor: { standing: "on", until: null },
    codes_paused: [],
    last: {
      at: "2026-11-30T08:12:40.000Z",
      client: "Safari on iPhone",
      user_agent: "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) Safari/604.1",
      client_address: "203.0.113.9",
    },
  },
};

export const exampleTokens: TokenPair = {
  access_token: "eyJhbGciOiJFZERTQSIsImtpZCI6IjIwMjYtMTEiLCJ0eXAiOiJhdCtqd3QifQ.eyJzdWIiOiI0MiJ9.c2lnbmF0dXJl",
  refresh_token: "kV1o3X0dQm2b9pJw7fE4sTz8yH6aN5cL1uR0gB2iYqM",
  token_type: "bearer",
  expires_in: 900,
};

export const exampleSignIn: SignedIn = { ...exampleTokens, device_token: "3q2-7wE9rKd0Jx1Pq8VbN4mZs6TyUaHf5LcGi2oWnRk" };

export const exampleSession: SessionView = {
  id: "0b9e5e0e-9a4b-4c38-9a55-3c3f4f6f8a11",
  created_at: "2026-11-24T12:00:00.000Z",
  last_refreshed_at: "2026-11-24T12:15:03.000Z",
  user_agent: "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15",
  client_address: "203.0.113.9",
  current: true,
  device: { id: "5d6f0c1a-2b3e-4f5a-8b9c-0d1e2f3a4b5c", known: true, last_sign_in_at: "2026-11-24T12:00:00.000Z" },
};

export const exampleEvent: AuthEvent = {
  id: 1042,
  type: "role_changed",
  user_id: 42,
  actor_id: 7,
  user_email: "ada@example.com",
  actor_email: "grace@example.com",
  user_pseudonym: null,
  actor_pseudonym: null,
  client_address: "203.0.113.9",
  user_agent: "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15",
  request_id: exampleRequestId,
  details: { from: "user", to: "admin" },
  created_at: "2026-11-24T12:20:00.000Z",
};

export const exampleExport: DataExport = {
  exported_at: "2026-11-24T12:30:00.000Z",
  account: {
    ...exampleUser,
    verified_at: "2026-11-24T12:05:00.000Z",
    updated_at: "2026-11-24T12:05:00.000Z",
    last_sign_in: exampleAdminUser.sign_in.last,
  },
  sessions: [
    {
      id: exampleSession.id,
      created_at: exampleSession.created_at,
      last_refreshed_at: exampleSession.last_refreshed_at,
      user_agent: exampleSession.user_agent,
      client_address: exampleSession.client_address,
      amr: ["pwd", "otp"],
      auth_time: exampleSession.created_at,
    },
  ],
  second_factor: { method: "totp", on_since: "2026-11-24T12:10:00.000Z", recovery_codes_left: 9 },
  identities: [
    { provider: "google", email: "ada@gmail.com", linked_at: "2026-11-02T09:14:00.000Z", last_sign_in_at: "2026-12-01T08:02:11.000Z" },
  ],
  passkeys: [
    {
      id: "7c1e2d3f-4a5b-4c6d-8e9f-0a1b2c3d4e5f",
      name: "Ada's phone",
      device_type: "multiDevice",
      backed_up: true,
      transports: ["internal", "hybrid"],
      created_at: "2026-11-24T12:15:00.000Z",
      last_used_at: "2026-12-01T08:00:00.000Z",
    },
  ],
  devices: [
    {
      first_sign_in_at: exampleSession.created_at,
      last_sign_in_at: exampleSession.created_at,
      user_agent: exampleSession.user_agent,
      client_address: exampleSession.client_address,
      country: "GB",
    },
  ],
  codes: [
    {
      purpose: "verify_email",
      address: exampleUser.email,
      created_at: exampleUser.created_at,
      expires_at: "2026-11-24T12:10:00.000Z",
      used_at: "2026-11-24T12:05:00.000Z",
    },
  ],
  mail: [
    {
      to: exampleUser.email,
      subject: "Your Coffee Shop verification code",
      created_at: exampleUser.created_at,
      sent_at: exampleUser.created_at,
    },
  ],
  events: [
    {
      ...exampleEvent,
      id: 1043,
      type: "login_succeeded",
      actor_id: null,
      user_email: null,
      actor_email: null,
      details: { session_id: exampleSession.id },
    },
  ],
};
