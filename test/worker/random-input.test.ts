// Property-based: random methods, paths, query strings, headers and bodies thrown at every route of the
// app through HTTP. Whatever comes in, the answer is never a 500, every error is problem+json, and no
// answer shows a stack trace, SQL or a driver's message. Every answer also goes through the check
// against the OpenAPI document (helpers.ts `client`). A fixed seed keeps the run reproducible. Two requests
// in five carry a valid access token, a verified user's or an admin's, and mostly call an operation that
// needs one, with its own method and a body of its own fields: so their random parts get past the bearer
// check and the body's schema to the handlers.
import { z } from "@hono/zod-openapi";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { buildApp } from "../../src/app.ts";
import { USER_ID_PATTERN } from "../../src/schemas/user.ts";
import { api, login, seededUser, type TestUser } from "./helpers.ts";

const SEED = 20261125;

/**
 * The app's own operations: method and path (`{id}` becomes a random segment), whether they take an access
 * token, and the fields of their JSON body.
 */
const templates = buildApp().openAPIRegistry.definitions.flatMap((definition) => {
  if (definition.type !== "route") return [];
  const { method, path, security, request } = definition.route;
  const media = request?.body?.content["application/json"];
  const schema = media && "schema" in media ? media.schema : undefined;
  return [
    {
      method: method.toUpperCase(),
      path,
      signedIn: (security ?? []).length > 0,
      fields: schema instanceof z.ZodObject ? Object.keys(schema.shape) : [],
    },
  ];
});

const segment = fc.oneof(
  fc.constantFrom("1", "0", "-1", "999999999999999999999", "me", "..", "%2e%2e", "%00", "%ff", "null", "undefined"),
  fc.uuid(),
  fc.string({ maxLength: 12 }).map((text) => encodeURIComponent(text)),
  fc.string({ unit: "grapheme", maxLength: 6 }).map((text) => encodeURIComponent(text)),
);

type Operation = (typeof templates)[number];

function pathOf(operation: Operation, id: string): string {
  return operation.path.replaceAll(/\{[^}]+\}/g, id);
}

/** Paths to one of `operations`, with `{id}` drawn from `id`, or to none at all. */
function pathsTo(operations: Operation[], id: fc.Arbitrary<string>): fc.Arbitrary<string> {
  return fc.oneof(
    fc.tuple(fc.constantFrom(...operations), id).map(([operation, value]) => pathOf(operation, value)),
    fc.array(segment, { minLength: 1, maxLength: 4 }).map((segments) => `/${segments.join("/")}`),
    fc.constantFrom("/auth/", "/users/", "//users", "/users/me/", "/auth/signup/extra", "/docs/../openapi.json", `/${"a".repeat(4000)}`),
  );
}

const query = fc.oneof(
  fc.constant(""),
  fc
    .array(fc.tuple(fc.constantFrom("limit", "cursor", "status", "role", "email", "type", "user_id", "x"), fc.string({ maxLength: 40 })), {
      maxLength: 4,
    })
    .map((pairs) => `?${new URLSearchParams(pairs).toString()}`),
);

const json = fc.jsonValue({ maxDepth: 4 });
const fieldValues: Record<string, fc.Arbitrary<unknown>> = {
  email: fc.oneof(fc.emailAddress(), fc.string({ maxLength: 300 }), fc.integer(), fc.constant(null)),
  password: fc.oneof(fc.string({ maxLength: 200 }), fc.integer(), fc.constant(null)),
  code: fc.oneof(fc.stringMatching(/^\d{6}$/), fc.string({ maxLength: 10 })),
  refresh_token: fc.oneof(fc.base64String({ maxLength: 100 }), fc.string({ maxLength: 600 })),
  first_name: fc.oneof(fc.string({ maxLength: 120 }), fc.constant(null)),
  role: fc.oneof(fc.constantFrom("user", "admin", "root"), fc.string()),
  status: fc.oneof(fc.constantFrom("unverified", "verified", "disabled"), fc.string()),
  new_password: fc.string({ maxLength: 200 }),
  current_password: fc.string({ maxLength: 200 }),
};
const plausible = fc.record(fieldValues, { requiredKeys: [] });
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
    "Content-Type": fc.constantFrom(
      "application/json",
      "application/problem+json",
      "text/plain",
      "application/json; charset=utf-16",
      "multipart/form-data; boundary=x",
      "",
    ),
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

const LEAKS = [
  /\n\s+at /,
  /\bselect\b.+\bfrom\b/i,
  /\binsert into\b/i,
  /syntax error/i,
  /\brelation "/i,
  /NeonDbError/,
  /node_modules/,
  /\.ts:\d+/,
];

/** A path segment as the router hands it to a handler. */
function decoded(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

// A signed-in request must not end its own session: the rest of the run would be anonymous.
const harmless = templates.filter((template) => template.path !== "/auth/logout/all");
const signedInOperations = harmless.filter((template) => template.signedIn);

/** A request's method and path, the access token it carries, and a JSON body that overrides the random one. */
interface RequestLine {
  verb: string;
  target: string;
  token?: string;
  json?: string;
}

function anyLine(operations: Operation[], id: fc.Arbitrary<string>): fc.Arbitrary<RequestLine> {
  return fc.record({ verb: method, target: pathsTo(operations, id) });
}

/**
 * One or two of the operation's own body fields, with plausible or random values: it parses, and often fits the
 * schema. Never `current_password`: each wrong one costs a password hash, and the run's time.
 */
function bodyFor(operation: Operation): fc.Arbitrary<string> {
  const fields = operation.fields.filter((field) => field !== "current_password");
  // an operation whose only field is the password (starting an enrolment) is sent without it
  if (fields.length === 0) return fc.constant("{}");
  return fc
    .subarray(fields, { minLength: 1, maxLength: Math.min(2, fields.length) })
    .chain((chosen) => fc.record(Object.fromEntries(chosen.map((field) => [field, fieldValues[field] ?? json]))))
    .map((value) => JSON.stringify(value));
}

/** Mostly a signed-in operation called with its own method, so its random id, query and body reach the handler. */
function signedInLine(token: string, id: fc.Arbitrary<string>): fc.Arbitrary<RequestLine> {
  const called = fc.constantFrom(...signedInOperations).chain((operation) =>
    fc.record({
      verb: fc.constant(operation.method),
      target: id.map((value) => pathOf(operation, value)),
      json: operation.fields.length > 0 ? fc.option(bodyFor(operation), { nil: undefined }) : fc.constant(undefined),
    }),
  );
  return fc.oneof({ weight: 3, arbitrary: called }, { weight: 1, arbitrary: anyLine(harmless, id) }).map((line) => ({ ...line, token }));
}

let requestLines: fc.Arbitrary<RequestLine>;

beforeAll(async () => {
  const [user, admin, bystander] = await Promise.all([seededUser(), seededUser("admin"), seededUser("user")]);
  const [userTokens, adminTokens] = await Promise.all([login(user), login(admin)]);
  const ids = (...users: TestUser[]) => fc.constantFrom(...users.map((someone) => String(someone.id)));
  // A user can change only themself, so any id is safe in their hands. Other test files share this
  // database, so the admin names no user but the bystander.
  const notAUser = segment.filter((value) => !USER_ID_PATTERN.test(decoded(value)));
  requestLines = fc.oneof(
    { weight: 3, arbitrary: anyLine(templates, segment) },
    { weight: 1, arbitrary: signedInLine(userTokens.access_token, fc.oneof(segment, ids(user, bystander, admin))) },
    { weight: 1, arbitrary: signedInLine(adminTokens.access_token, fc.oneof(notAUser, ids(bystander))) },
  );
});

describe("random requests to every route", () => {
  it("never get a 500, a stack trace or SQL, and every error is problem+json", async () => {
    await fc.assert(
      fc.asyncProperty(requestLines, query, headers, body, async ({ verb, target, token, json: fitted }, search, headerValues, payload) => {
        const init: RequestInit = {
          method: verb,
          headers: {
            ...sendable(headerValues),
            ...(token ? { Authorization: `Bearer ${token}` } : {}),
            ...(fitted !== undefined ? { "Content-Type": "application/json" } : {}),
          },
        };
        if (fitted !== undefined) init.body = fitted;
        else if (payload !== undefined && verb !== "GET" && verb !== "HEAD") init.body = payload;
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
