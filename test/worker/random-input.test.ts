// Property-based: random methods, paths, query strings, headers and bodies thrown at every route of the
// app through HTTP. Whatever comes in, the answer is never a 500, every error is problem+json, and no
// answer shows a stack trace, SQL or a driver's message. Every answer also goes through the check
// against the OpenAPI document (helpers.ts `client`). A fixed seed keeps the run reproducible.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { buildApp } from "../../src/app.ts";
import { api } from "./helpers.ts";

const SEED = 20261125;

/** The app's own operations as concrete paths: `{id}` becomes a random segment. */
const templates = buildApp().openAPIRegistry.definitions.flatMap((definition) =>
  definition.type === "route" ? [{ method: definition.route.method.toUpperCase(), path: definition.route.path }] : [],
);

const segment = fc.oneof(
  fc.constantFrom("1", "0", "-1", "999999999999999999999", "me", "..", "%2e%2e", "%00", "%ff", "null", "undefined"),
  fc.uuid(),
  fc.string({ maxLength: 12 }).map((text) => encodeURIComponent(text)),
  fc.string({ unit: "grapheme", maxLength: 6 }).map((text) => encodeURIComponent(text)),
);

const path = fc.oneof(
  fc.tuple(fc.constantFrom(...templates), segment).map(([template, value]) => template.path.replaceAll(/\{[^}]+\}/g, value)),
  fc.array(segment, { minLength: 1, maxLength: 4 }).map((segments) => `/${segments.join("/")}`),
  fc.constantFrom("/auth/", "/users/", "//users", "/users/me/", "/auth/signup/extra", "/docs/../openapi.json", `/${"a".repeat(4000)}`),
);

const query = fc.oneof(
  fc.constant(""),
  fc
    .array(fc.tuple(fc.constantFrom("limit", "cursor", "status", "role", "email", "type", "user_id", "x"), fc.string({ maxLength: 40 })), {
      maxLength: 4,
    })
    .map((pairs) => `?${new URLSearchParams(pairs).toString()}`),
);

const json = fc.jsonValue({ maxDepth: 4 });
const plausible = fc.record(
  {
    email: fc.oneof(fc.emailAddress(), fc.string({ maxLength: 300 }), fc.integer(), fc.constant(null)),
    password: fc.oneof(fc.string({ maxLength: 200 }), fc.integer(), fc.constant(null)),
    code: fc.oneof(fc.stringMatching(/^\d{6}$/), fc.string({ maxLength: 10 })),
    refresh_token: fc.oneof(fc.base64String({ maxLength: 100 }), fc.string({ maxLength: 600 })),
    first_name: fc.oneof(fc.string({ maxLength: 120 }), fc.constant(null)),
    role: fc.oneof(fc.constantFrom("user", "admin", "root"), fc.string()),
    status: fc.oneof(fc.constantFrom("unverified", "verified", "disabled"), fc.string()),
    new_password: fc.string({ maxLength: 200 }),
    current_password: fc.string({ maxLength: 200 }),
  },
  { requiredKeys: [] },
);
const deep = fc.integer({ min: 50, max: 2000 }).map((depth) => `${"[".repeat(depth)}${"]".repeat(depth)}`);
const body = fc.oneof(
  fc.constant(undefined),
  json.map((value) => JSON.stringify(value)),
  plausible.map((value) => JSON.stringify(value)),
  fc.string({ maxLength: 300 }),
  deep,
  fc.constant('{"email": "a@b.co", "password": "x'),
  fc.uint8Array({ maxLength: 64 }),
);

const headers = fc.record(
  {
    "Content-Type": fc.constantFrom("application/json", "application/problem+json", "text/plain", "application/json; charset=utf-16", "multipart/form-data; boundary=x", ""),
    Authorization: fc.oneof(
      fc.constantFrom("Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "bearer a.b.c", `Bearer ${"x".repeat(5000)}`),
      fc.string({ maxLength: 80 }).map((text) => `Bearer ${text}`),
    ),
    "CF-Connecting-IP": fc.oneof(fc.ipV4(), fc.ipV6(), fc.string({ maxLength: 30 })),
    "User-Agent": fc.string({ maxLength: 400 }),
    "X-Request-Id": fc.string({ maxLength: 80 }),
  },
  { requiredKeys: [] },
);

const method = fc.constantFrom("GET", "POST", "PATCH", "DELETE", "PUT", "HEAD", "OPTIONS");

/** Header values fetch accepts: only ISO-8859-1 and no line breaks. */
function sendable(values: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(values).filter(([, value]) => /^[\t\x20-\x7e\x80-\xff]*$/.test(value)));
}

const LEAKS = [/\n\s+at /, /\bselect\b.+\bfrom\b/i, /\binsert into\b/i, /syntax error/i, /\brelation "/i, /NeonDbError/, /node_modules/, /\.ts:\d+/];

describe("random requests to every route", () => {
  it("never get a 500, a stack trace or SQL, and every error is problem+json", async () => {
    await fc.assert(
      fc.asyncProperty(method, path, query, headers, body, async (verb, target, search, headerValues, payload) => {
        const init: RequestInit = { method: verb, headers: sendable(headerValues) };
        if (payload !== undefined && verb !== "GET" && verb !== "HEAD") init.body = payload;
        const response = await api(`${target}${search}`, init);
        const text = verb === "HEAD" ? "" : await response.text();
        expect(response.status, `${verb} ${target}${search}`).not.toBe(500);
        expect(response.status).toBeLessThan(500);
        if (response.status >= 400 && verb !== "HEAD") {
          expect(response.headers.get("Content-Type"), `${verb} ${target}`).toBe("application/problem+json");
        }
        for (const leak of LEAKS) expect(text, `${verb} ${target}${search}`).not.toMatch(leak);
      }),
      { seed: SEED, numRuns: 1000, endOnFailure: true },
    );
  });
});
