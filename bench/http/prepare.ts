// What the load needs, made through the API as clients make it: verified users (signup, the emailed
// code, verify), their sessions, and an admin.
import { z } from "zod";
import { getDb } from "../../src/db/client.ts";
import type { LocalServices } from "../../tools/local-services/server.ts";

export const PASSWORD = "bench passphrase, long enough";

export interface Account {
  id: number;
  email: string;
  accessToken: string;
  refreshToken: string;
}

export interface Fixtures {
  accounts: Account[];
  admin: Account;
}

let nextAddress = 0;

/** A client address of its own for every request: the per-address limit meets only the requests aimed at it. */
export function clientAddress(): string {
  nextAddress += 1;
  return `10.${(nextAddress >> 16) & 255}.${(nextAddress >> 8) & 255}.${nextAddress & 255}`;
}

async function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, {
    method: "POST",
    headers: { "Content-Type": "application/json", "CF-Connecting-IP": clientAddress(), ...headers },
    body: JSON.stringify(body),
  });
}

async function mailedCode(services: LocalServices, email: string): Promise<string> {
  const mails = z.array(z.object({ text: z.string() })).parse(await (await fetch(`${services.url}/emails?to=${encodeURIComponent(email)}`)).json());
  const code = /\b(\d{6})\b/.exec(mails[0]?.text ?? "")?.[1];
  if (!code) throw new Error(`no code mailed to ${email}`);
  return code;
}

async function account(api: string, services: LocalServices, label: string): Promise<Account> {
  const email = `${label}-${crypto.randomUUID().slice(0, 8)}@bench.test`;
  const signup = await post(`${api}/auth/signup`, { email, password: PASSWORD });
  if (signup.status !== 201) throw new Error(`signup: ${signup.status} ${await signup.text()}`);
  const { id } = z.object({ id: z.number() }).parse(await signup.json());
  const verify = await post(`${api}/auth/verify`, { email, code: await mailedCode(services, email) });
  if (verify.status !== 200) throw new Error(`verify: ${verify.status} ${await verify.text()}`);
  return { id, email, ...(await signIn(api, email)) };
}

export async function signIn(api: string, email: string): Promise<{ accessToken: string; refreshToken: string }> {
  const login = await post(`${api}/auth/login`, { email, password: PASSWORD });
  if (login.status !== 200) throw new Error(`login: ${login.status} ${await login.text()}`);
  const tokens = z.object({ access_token: z.string(), refresh_token: z.string() }).parse(await login.json());
  return { accessToken: tokens.access_token, refreshToken: tokens.refresh_token };
}

/** `count` things made `width` at a time: a Worker runs on one thread, and logins are CPU. */
export async function inBatches<T>(count: number, width: number, make: (index: number) => Promise<T>): Promise<T[]> {
  const made: T[] = [];
  for (let start = 0; start < count; start += width) {
    made.push(...(await Promise.all(Array.from({ length: Math.min(width, count - start) }, (_, offset) => make(start + offset)))));
  }
  return made;
}

/** `count` verified users with a session each, and an admin (promoted with SQL: no endpoint makes one). */
export async function prepare(api: string, services: LocalServices, count: number): Promise<Fixtures> {
  const accounts = await inBatches(count, 4, (index) => account(api, services, `bench${index}`));
  const [first] = await inBatches(1, 1, () => account(api, services, "admin"));
  if (!first) throw new Error("no admin");
  const db = getDb(`postgres://bench-setup:bench@127.0.0.1:${services.port}/coffee`);
  await db.updateTable("users").set({ role: "admin" }).where("id", "=", String(first.id)).execute();
  // a token that carries the new role
  return { accounts, admin: { ...first, ...(await signIn(api, first.email)) } };
}
