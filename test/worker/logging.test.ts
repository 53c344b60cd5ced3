import { afterEach, describe, expect, it, vi } from "vitest";
import { api, bearer, json, login, PASSWORD, verifiedUser } from "./helpers.ts";

afterEach(() => {
  vi.restoreAllMocks();
});

describe("request logs", () => {
  it("are one JSON line per request, without tokens, passwords, codes or query strings", async () => {
    const user = await verifiedUser();
    const tokens = await login(user);
    const lines: string[] = [];
    // capture what the Worker prints, in the isolate it shares with the tests
    const capture = (...args: unknown[]) => void lines.push(args.map(String).join(" "));
    vi.spyOn(console, "log").mockImplementation(capture);
    vi.spyOn(console, "error").mockImplementation(capture);
    vi.spyOn(console, "warn").mockImplementation(capture);

    await api("/auth/login", json("POST", { email: user.email, password: PASSWORD }));
    await api(`/users/me?access_token=${tokens.access_token}`, bearer(tokens.access_token));
    await api("/auth/refresh", json("POST", { refresh_token: tokens.refresh_token }));
    await api("/auth/refresh", json("POST", { refresh_token: "not-a-token" }));

    const requests = lines.map((line) => JSON.parse(line)).filter((entry) => entry.msg === "request");
    expect(requests.map((entry) => [entry.method, entry.path, entry.status])).toEqual([
      ["POST", "/auth/login", 200],
      ["GET", "/users/me", 200],
      ["POST", "/auth/refresh", 200],
      ["POST", "/auth/refresh", 401],
    ]);
    for (const entry of requests) expect(entry.request_id).toEqual(expect.any(String));
    const everything = lines.join("\n");
    for (const secret of [PASSWORD, tokens.access_token, tokens.refresh_token, "access_token="]) {
      expect(everything).not.toContain(secret);
    }
  });
});
