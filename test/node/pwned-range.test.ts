// The local Pwned Passwords range API, which a breached-password check meets offline as it would meet the real one
// (https://haveibeenpwned.com/API/v3#SearchingPwnedPasswordsByRange), and its fault switch.
import { createHash } from "node:crypto";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { KNOWN_BREACHED_PASSWORDS } from "../../tools/local-services/pwned-passwords/range-endpoint.ts";
import { startTestServices, type TestServices } from "./support/test-services.ts";

let env: TestServices;

beforeAll(async () => {
  env = await startTestServices();
});

afterAll(async () => {
  await env?.stop();
});

afterEach(async () => {
  await fetch(`${env.services.url}/range/faults`, { method: "DELETE" });
});

function sha1(password: string): { prefix: string; suffix: string } {
  const hash = createHash("sha1").update(password, "utf8").digest("hex").toUpperCase();
  return { prefix: hash.slice(0, 5), suffix: hash.slice(5) };
}

async function range(prefix: string, headers: Record<string, string> = {}): Promise<{ status: number; lines: string[] }> {
  const response = await fetch(`${env.services.url}/range/${prefix}`, { headers });
  const body = await response.text();
  return { status: response.status, lines: body === "" ? [] : body.split("\r\n") };
}

async function arm(fault: Record<string, unknown>): Promise<void> {
  const response = await fetch(`${env.services.url}/range/faults`, { method: "POST", body: JSON.stringify(fault) });
  expect(response.status).toBe(200);
}

describe("GET /range/{prefix}", () => {
  it.each([...KNOWN_BREACHED_PASSWORDS])("lists %j under the first 5 hex digits of its SHA-1, as SUFFIX:COUNT", async (password, count) => {
    const { prefix, suffix } = sha1(password);
    const answer = await range(prefix);
    expect(answer.status).toBe(200);
    expect(answer.lines).toContain(`${suffix}:${count}`);
  });

  it("knows the passwords the issue names, and not the tests' good password", async () => {
    expect([...KNOWN_BREACHED_PASSWORDS.keys()]).toEqual(expect.arrayContaining(["password", "123456", "P@ssw0rd"]));
    const { prefix, suffix } = sha1("correct horse battery staple");
    const answer = await range(prefix, { "Add-Padding": "true" });
    expect(answer.lines.filter((line) => line.startsWith(`${suffix}:`) && !line.endsWith(":0"))).toEqual([]);
  });

  it("with Add-Padding: true, hides the entries among 800 to 1,000 sorted lines, the padding counted 0", async () => {
    const { prefix, suffix } = sha1("password");
    // the length is drawn for each answer: several answers show the range is held to
    for (let answers = 0; answers < 5; answers++) {
      const answer = await range(prefix, { "Add-Padding": "true" });
      expect(answer.lines.length).toBeGreaterThanOrEqual(800);
      expect(answer.lines.length).toBeLessThanOrEqual(1000);
      for (const line of answer.lines) expect(line).toMatch(/^[0-9A-F]{35}:\d+$/);
      expect(answer.lines.filter((line) => !line.endsWith(":0"))).toEqual([`${suffix}:${KNOWN_BREACHED_PASSWORDS.get("password")}`]);
      expect(answer.lines).toEqual(answer.lines.toSorted());
    }
  });

  it("without padding, answers only the entries: none for a prefix no known password has", async () => {
    const { prefix } = sha1("password");
    expect((await range(prefix)).lines).toHaveLength(1);
    expect(await range("FFFFF")).toEqual({ status: 200, lines: [] });
  });

  it("takes the prefix in either case", async () => {
    const { prefix } = sha1("password");
    expect(await range(prefix.toLowerCase())).toEqual(await range(prefix));
  });

  it.each(["ABCD", "ABCDEF", "GHIJK", "", "faults"])("answers 400 to the prefix %j, as the real service does", async (prefix) => {
    expect((await range(prefix)).status).toBe(400);
  });

  it("is counted in /stats under its route", async () => {
    await fetch(`${env.services.url}/stats`, { method: "DELETE" });
    await range("00000");
    await range("FFFFF");
    const stats = await fetch(`${env.services.url}/stats`);
    expect(await stats.json()).toEqual({ requests: { "GET /range/{prefix}": 2 }, sql_by_user: {} });
  });
});

describe("POST /range/faults", () => {
  const { prefix } = sha1("password");

  it("answers the status asked to the next requests, then disarms", async () => {
    await arm({ mode: "status", status: 503, count: 2 });
    expect((await range(prefix)).status).toBe(503);
    expect((await range(prefix)).status).toBe(503);
    expect((await range(prefix)).status).toBe(200);
  });

  it("holds a request for the time asked, then answers it", async () => {
    await arm({ mode: "hang", ms: 300 });
    const started = Date.now();
    expect((await range(prefix)).lines).toHaveLength(1);
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
  });

  it("drops the connection without an answer", async () => {
    await arm({ mode: "drop" });
    await expect(range(prefix)).rejects.toThrow(/fetch failed/);
  });

  it("with a prefix, meets only requests for that prefix (either case)", async () => {
    await arm({ mode: "status", status: 500, prefix: prefix.toLowerCase() });
    expect((await range("00000")).status).toBe(200);
    expect((await range(prefix)).status).toBe(500);
  });

  it("is cleared by DELETE", async () => {
    await arm({ mode: "status", count: 5 });
    expect((await fetch(`${env.services.url}/range/faults`, { method: "DELETE" })).status).toBe(204);
    expect((await range(prefix)).status).toBe(200);
  });

  it.each([[{ mode: "explode" }], [{ mode: "status", status: 200 }], [{ mode: "status", prefix: "XYZ" }], [{ mode: "hang", ms: -1 }]])(
    "refuses %j",
    async (fault) => {
      const response = await fetch(`${env.services.url}/range/faults`, { method: "POST", body: JSON.stringify(fault) });
      expect(response.status).toBe(422);
    },
  );
});
