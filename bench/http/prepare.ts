// What the load needs, made through the API as clients make it: verified users (signup, the emailed
// code, verify), their sessions, and an admin; and, as `npm run users -- import` makes them, accounts
// from the old service still on their bcrypt hash.
import { hash as bcryptHash } from "bcryptjs";
import { setTimeout as delay } from "node:timers/promises";
import { z } from "zod";
import { BCRYPT_CHECK_COST } from "../../src/auth/passwords.ts";
import { type Db, getDb } from "../../src/db/client.ts";
import { type UserPosition, usersPageQuery } from "../../src/db/user-list.ts";
import { encodeUserCursor } from "../../src/routes/cursor.ts";
import { type OldUser, planImport } from "../../tools/import/plan.ts";
import { identityLast, moveIdentityPast, writeUsers } from "../../tools/import/write.ts";
import type { Services } from "./stack.ts";

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
  deepPage: DeepPage;
  /**
   * Addresses of imported accounts, each on its bcrypt hash until its first login (which replaces it): empty
   * until `importAccounts` runs. While any remain, every login's check also runs one bcrypt (the equal-time
   * rule in src/auth/passwords.ts), so they are written only just before the imported logins are measured:
   * the logins measured before them are of the usual state, no imported hash left.
   */
  imported: string[];
  importAccounts: () => Promise<void>;
}

/** One per imported login the bench makes: a default run makes well under a hundred a pass. */
const IMPORTED_ACCOUNTS = 1_000;

/** A page of the user list far from the first, and an email prefix that finds a few users there. */
export interface DeepPage {
  page: number;
  /** The user the page continues after, and the cursor a client following the Link headers holds for it. */
  after: UserPosition;
  cursor: string;
  emailPrefix: string;
}

export const PAGE_SIZE = 50;
const DEEP_PAGE = 10_000;

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

const Mails = z.array(z.object({ text: z.string() }));
const MAIL_WAIT_MS = 10_000;

/** The code in the newest mail to `email`. The API sends it after its answer, so it may take a moment. */
async function mailedCode(services: Services, email: string): Promise<string> {
  for (const started = Date.now(); Date.now() - started < MAIL_WAIT_MS; await delay(100)) {
    const mails = Mails.parse(await (await fetch(`${services.url}/emails?to=${encodeURIComponent(email)}`)).json());
    const code = /\b(\d{6})\b/.exec(mails[0]?.text ?? "")?.[1];
    if (code) return code;
  }
  throw new Error(`no code mailed to ${email} within ${MAIL_WAIT_MS / 1000} s`);
}

async function account(api: string, services: Services, label: string): Promise<Account> {
  const email = `${label}-${crypto.randomUUID().slice(0, 8)}@bench.test`;
  const signup = await post(`${api}/auth/signup`, { email, password: PASSWORD });
  if (signup.status !== 201) throw new Error(`signup: ${signup.status} ${await signup.text()}`);
  const { id } = z.object({ id: z.number() }).parse(await signup.json());
  const verify = await post(`${api}/auth/verify`, { email, code: await mailedCode(services, email), password: PASSWORD });
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
export async function prepare(api: string, services: Services, count: number): Promise<Fixtures> {
  const accounts = await inBatches(count, 4, (index) => account(api, services, `bench${index}`));
  const [first] = await inBatches(1, 1, () => account(api, services, "admin"));
  if (!first) throw new Error("no admin");
  await setupDb(services).updateTable("users").set({ role: "admin" }).where("id", "=", String(first.id)).execute();
  // a token that carries the new role
  const admin = { ...first, ...(await signIn(api, first.email)) };
  const imported: string[] = [];
  const importAccounts = async () => {
    if (imported.length === 0) imported.push(...(await importedAccounts(services, IMPORTED_ACCOUNTS)));
  };
  return { accounts, admin, deepPage: await findDeepPage(services), imported, importAccounts };
}

/**
 * Accounts as the old service left them, put in by the import's own steps: planned, the identity moved past
 * their ids, written in one batch. They share one hash of PASSWORD at the old service's cost.
 */
async function importedAccounts(services: Services, count: number): Promise<string[]> {
  const db = setupDb(services);
  const password = await bcryptHash(PASSWORD, BCRYPT_CHECK_COST);
  const firstId = BigInt(await identityLast(db)) + 1n;
  const label = crypto.randomUUID().slice(0, 8);
  const rows = Array.from({ length: count }, (_, index): OldUser => ({
    id: String(firstId + BigInt(index)),
    email: `Imported${index}-${label}@Bench.test`,
    password,
    first_name: "Imported",
    last_name: null,
    status: "verified",
    role: "user",
    created_at: null,
    updated_at: null,
  }));
  const plan = planImport(rows, new Date());
  if (plan.largestId !== undefined) await moveIdentityPast(db, plan.largestId);
  const written = await writeUsers(db, plan.users, { dryRun: false });
  if (written.imported !== count) throw new Error(`imported ${written.imported} of ${count} bench accounts`);
  return plan.users.map((user) => user.email);
}

/** The bench's own way into the database: through the local services, as the API goes. */
function setupDb(services: Services): Db {
  return getDb(`postgres://bench-setup:bench@127.0.0.1:${services.port}/coffee`);
}

/** Page 10,000 when there are that many users (a million, seeded), else the last full page, newest first. */
export async function findDeepPage(services: Services): Promise<DeepPage> {
  const db = setupDb(services);
  const { count } = await db
    .selectFrom("users")
    .select((eb) => eb.fn.countAll<string>().as("count"))
    .executeTakeFirstOrThrow();
  if (Number(count) <= PAGE_SIZE) throw new Error(`a second page of users needs more than ${PAGE_SIZE} of them (--users)`);
  const page = Math.max(2, Math.min(DEEP_PAGE, Math.floor(Number(count) / PAGE_SIZE)));
  // the last user of the page before, in the list's default order
  const sort = "-created_at";
  const last = await usersPageQuery(db, { filters: {}, sort, limit: 1, now: new Date() })
    .offset((page - 1) * PAGE_SIZE - 1)
    .executeTakeFirstOrThrow();
  const after = { key: last.sort_key, id: last.id };
  return { page, after, cursor: encodeUserCursor({ sort, ...after }), emailPrefix: last.email.slice(0, last.email.indexOf("@")) };
}
