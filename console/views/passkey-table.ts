// A list of passkeys, as the owner's account page and a user's page show it: its name, when it was added and last
// used, and whether it is synced (backed up) or bound to one device; the user's page adds a Remove button to each.
import type { Passkey } from "../api.ts";
import type { Child } from "../dom.ts";
import { when } from "../format.ts";
import { type Column, table } from "./parts.ts";

function kind(passkey: Passkey): string {
  if (passkey.device_type === "singleDevice") return "This device only";
  return passkey.backed_up ? "Synced" : "Can sync, not yet backed up";
}

export function passkeyTable(caption: string, passkeys: Passkey[], action?: Column<Passkey>): HTMLDivElement {
  const columns: Column<Passkey>[] = [
    { label: "Name", cell: (passkey): Child => passkey.name },
    { label: "Added", cell: (passkey) => when(passkey.created_at) },
    { label: "Last used", cell: (passkey) => when(passkey.last_used_at) },
    { label: "Kept", cell: kind },
  ];
  return table(caption, action ? [...columns, action] : columns, passkeys);
}
