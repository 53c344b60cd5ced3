// What `npm run users -- import` prints when it is done: one line of outcome, then every row left out and why.
import { BCRYPT_CHECK_COST } from "../../src/auth/passwords.ts";
import type { ImportPlan } from "./plan.ts";
import type { Written } from "./write.ts";

export interface ImportRun {
  plan: ImportPlan;
  written: Written;
  dryRun: boolean;
  /** Where from and where to, as the operator may see them (no password). */
  from: string;
  into: string;
  /** The last id the target's identity had handed out before, and after (in a dry run: would have). */
  identity: { before: string; after: string };
}

const count = (n: number) => n.toLocaleString("en");
const users = (n: number) => `${count(n)} user${n === 1 ? "" : "s"}`;

function headline({ plan, written, dryRun, from, into, identity }: ImportRun): string {
  const moved = BigInt(identity.after) > BigInt(identity.before);
  const ids = moved ? `; new accounts ${dryRun ? "would start" : "now start"} after #${identity.after}` : "";
  const what = `${users(written.imported)} of the ${count(plan.read)} read from ${from} into ${into}, ids kept${ids}`;
  if (dryRun) return `Dry run, nothing written: would import ${what}.`;
  if (written.imported === 0 && !moved) {
    return `Nothing to import: every importable user read from ${from} was imported into ${into} before; nothing changed.`;
  }
  return `Imported ${what}.`;
}

/** The lines to print, the headline first. */
export function summary(run: ImportRun): string[] {
  const { plan, written } = run;
  const lines = [headline(run), `  imported before (left as they are; one deleted since stays deleted): ${count(written.alreadyThere)}`];
  const colliding = plan.collisions.reduce((total, collision) => total + collision.ids.length, 0);
  lines.push(
    `  collisions, none of them imported (one address once normalised): ${count(plan.collisions.length)} address${plan.collisions.length === 1 ? "" : "es"}, ${users(colliding)}`,
    ...plan.collisions.map((collision) => `    ${collision.email}: ${collision.ids.map((id) => `#${id}`).join(", ")}`),
    `  invalid, not imported: ${count(plan.invalid.length)}`,
    ...plan.invalid.map((row) => `    #${row.id} ${row.reasons.join("; ")}`),
    `  taken in the target by another account, not imported: ${count(written.taken.length)}`,
    ...written.taken.map((user) => `    #${user.id} <${user.email}>`),
  );
  const unverified = plan.users.filter((user) => user.status === "unverified").length;
  if (unverified > 0) {
    lines.push(
      `  never verified: ${count(unverified)}; the cron deletes accounts still unverified 48 h after they were made (from their old creation time); their owners can sign up again, which takes over a never-verified address`,
    );
  }
  if (plan.otherBcryptCost > 0) {
    lines.push(
      `  importable rows whose bcrypt cost is not ${BCRYPT_CHECK_COST}: ${count(plan.otherBcryptCost)}; their logins take a different time from everyone else's until the first`,
    );
  }
  return lines;
}
