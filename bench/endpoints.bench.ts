// What each endpoint costs, inside workerd against the local services (embedded PGlite, or the server
// named by TEST_DATABASE_URL): SQL round trips, the number that matters on the edge, and wall time on
// this machine, which is mostly password hashing and the local database, not network.
import { it } from "vitest";
import {
  api,
  bearer,
  type Call,
  countRoundTrips,
  json,
  latestCode,
  login,
  PASSWORD,
  seededUser,
  type TestUser,
  uniqueEmail,
  verifiedUser,
} from "../test/worker/helpers.ts";
import { measure, type Row } from "./measure.ts";

const RUNS = 10;

interface EndpointRow extends Row {
  roundTrips: number;
}

/**
 * Times RUNS calls (after a warm-up of two), each with an input of its own from `inputs`, and counts
 * the round trips of one more call.
 */
async function endpoint<T>(name: string, inputs: T[], call: (input: T, through?: Call) => Promise<Response>): Promise<EndpointRow> {
  const queue = [...inputs];
  const next = () => {
    const input = queue.shift();
    if (input === undefined) throw new Error(`${name}: ran out of inputs`);
    return input;
  };
  const row = await measure(name, RUNS, async () => {
    const response = await call(next());
    if (!response.ok) throw new Error(`${name}: ${response.status} ${await response.text()}`);
  });
  const { roundTrips } = await countRoundTrips((through) => call(next(), through));
  return { ...row, roundTrips };
}

const CALLS = RUNS + 3;

async function several<T>(make: () => Promise<T>): Promise<T[]> {
  const made: T[] = [];
  for (let index = 0; index < CALLS; index++) made.push(await make());
  return made;
}

function print(rows: EndpointRow[]): void {
  const width = Math.max(...rows.map((row) => row.name.length));
  const header = ["endpoint".padEnd(width), "SQL trips", "median ms", "mean ms", "max ms"].join("  ");
  const lines = rows.map((row) =>
    [
      row.name.padEnd(width),
      String(row.roundTrips).padStart(9),
      ...[row.median, row.mean, row.max].map((ms) => ms.toFixed(1).padStart(9)),
    ].join("  "),
  );
  console.log(`\nEndpoints in workerd, ${RUNS} calls each (SQL trips include work left in waitUntil):\n${[header, ...lines].join("\n")}\n`);
}

it("prints round trips and time per endpoint", { timeout: 300_000 }, async () => {
  const admin = await seededUser("admin");
  const adminToken = (await login(admin)).access_token;
  const user = await verifiedUser();
  const userToken = (await login(user)).access_token;

  const unverified = await several(async () => {
    const email = uniqueEmail("bench");
    await api("/auth/signup", json("POST", { email, password: PASSWORD }));
    return { email, code: await latestCode(email) };
  });
  const accounts: TestUser[] = await several(() => verifiedUser());
  // a fresh account per session: login is rate-limited per email address
  const sessions = await several(async () => login(await verifiedUser()));

  const rows = [
    await endpoint("GET /health", Array<null>(CALLS).fill(null), (_, call = api) => call("/health")),
    await endpoint("POST /auth/signup", Array.from({ length: CALLS }, () => uniqueEmail("bench")), (email, call = api) =>
      call("/auth/signup", json("POST", { email, password: PASSWORD })),
    ),
    await endpoint("POST /auth/verify", unverified, (input, call = api) => call("/auth/verify", json("POST", input))),
    await endpoint("POST /auth/login", accounts, (account, call = api) =>
      call("/auth/login", json("POST", { email: account.email, password: PASSWORD })),
    ),
    await endpoint("POST /auth/refresh", sessions, (session, call = api) =>
      call("/auth/refresh", json("POST", { refresh_token: session.refresh_token })),
    ),
    await endpoint("GET /users/me", Array<null>(CALLS).fill(null), (_, call = api) => call("/users/me", bearer(userToken))),
    await endpoint("GET /users?limit=50", Array<null>(CALLS).fill(null), (_, call = api) =>
      call("/users?limit=50", bearer(adminToken)),
    ),
    await endpoint("POST /auth/logout", await several(async () => login(await verifiedUser())), (session, call = api) =>
      call("/auth/logout", json("POST", { refresh_token: session.refresh_token })),
    ),
  ];
  print(rows);
});
