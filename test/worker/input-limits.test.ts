// Answers and input at their limits: lengths from the RFCs, caching of what must not be kept, and
// the per-client limit of IPv6 clients.
import { describe, expect, it } from "vitest";
import { networkOf } from "../../src/http/client-address.ts";
import { api, bearer, expectProblem, json, PASSWORD, seededUser, uniqueEmail } from "./helpers.ts";

const signup = (email: string) => api("/auth/signup", json("POST", { email, password: PASSWORD }));

describe("email addresses (RFC 5321 §4.5.3.1)", () => {
  it("§4.5.3.1.1: accepts a local part of 64 octets and refuses 65", async () => {
    const domain = `${crypto.randomUUID().slice(0, 8)}.coffee.test`;
    expect((await signup(`${"a".repeat(64)}@${domain}`)).status).toBe(201);
    const problem = await expectProblem(await signup(`${"b".repeat(65)}@${domain}`), 422, "validation_failed");
    expect(problem.errors?.map((error) => error.field)).toEqual(["email"]);
  });

  it("§4.5.3.1.3: accepts an address of 254 octets and refuses 255", async () => {
    /** An address of exactly `length` octets, its domain in labels of at most 60 (RFC 1035 allows 63). */
    const address = (length: number) => {
      const local = crypto.randomUUID().slice(0, 8);
      let room = length - local.length - "@".length - ".test".length;
      const labels: string[] = [];
      while (room > 61) {
        labels.push("d".repeat(60));
        room -= 61;
      }
      labels.push("d".repeat(room));
      return `${local}@${labels.join(".")}.test`;
    };
    const fits = address(254);
    expect(fits).toHaveLength(254);
    expect((await signup(fits)).status).toBe(201);
    const over = address(255);
    expect(over).toHaveLength(255);
    await expectProblem(await signup(over), 422, "validation_failed");
  });

  it("is normalised one way everywhere: the address a user signs up with is the one login and verify match", async () => {
    const email = uniqueEmail("Mixed");
    const user = await seededUser();
    expect((await api("/auth/login", json("POST", { email: `  ${user.email.toUpperCase()}  `, password: PASSWORD }))).status).toBe(200);
    expect((await signup(` ${email.toUpperCase()}`)).status).toBe(201);
  });
});

describe("caching (RFC 6749 §5.1, RFC 9111)", () => {
  it("forbids storing any answer that carries a token, a code or a user", async () => {
    const user = await seededUser();
    const loginResponse = await api("/auth/login", json("POST", { email: user.email, password: PASSWORD }));
    const tokens = await loginResponse.clone().json<{ access_token: string; refresh_token: string }>();
    const answers = [
      loginResponse,
      await api("/auth/refresh", json("POST", { refresh_token: tokens.refresh_token })),
      await api("/users/me", bearer(tokens.access_token)),
      await signup(uniqueEmail()),
      await api("/auth/verify", json("POST", { email: user.email, code: "123456", password: PASSWORD })),
      await api("/users/me"),
      await api("/nowhere"),
    ];
    for (const answer of answers) expect(answer.headers.get("Cache-Control"), answer.url).toBe("no-store");
  });

  it("lets the public keys be cached", async () => {
    expect((await api("/.well-known/jwks.json")).headers.get("Cache-Control")).toBe("public, max-age=300");
  });
});

describe("the per-client limit of IPv6 clients", () => {
  it("reduces an IPv6 address to its /64, and keeps IPv4 whole", () => {
    expect(networkOf("2001:db8:1:2:3:4:5:6")).toBe("2001:db8:1:2::/64");
    expect(networkOf("2001:DB8:0001:0002::ffff")).toBe("2001:db8:1:2::/64");
    expect(networkOf("2001:db8::1")).toBe("2001:db8:0:0::/64");
    expect(networkOf("::1")).toBe("0:0:0:0::/64");
    expect(networkOf("::ffff:192.0.2.7")).toBe("192.0.2.7");
    expect(networkOf("192.0.2.7")).toBe("192.0.2.7");
    expect(networkOf(undefined)).toBe("");
  });

  it("counts every address of one /64 as one client: rotating the low 64 bits does not escape the limit", async () => {
    const prefix = `2001:db8:${Math.floor(Math.random() * 0xffff).toString(16)}:1`;
    const statuses: number[] = [];
    for (let request = 1; request <= 121 && !statuses.includes(429); request++) {
      const address = `${prefix}:${request.toString(16)}::${(request * 7).toString(16)}`;
      statuses.push((await api("/auth/verify/resend", json("POST", { email: uniqueEmail() }, { "CF-Connecting-IP": address }))).status);
    }
    expect(statuses.at(-1)).toBe(429);
    // a fixed one-minute window: a run across its end may get up to twice the limit through
    expect(statuses.length - 1).toBeGreaterThanOrEqual(60);
    const neighbour = `2001:db8:${Math.floor(Math.random() * 0xffff).toString(16)}:2::1`;
    expect((await api("/auth/verify/resend", json("POST", { email: uniqueEmail() }, { "CF-Connecting-IP": neighbour }))).status).toBe(202);
  });
});
