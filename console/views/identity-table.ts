// A list of linked identity providers, as a user's page shows it: which provider, the address it gave, since when and
// when it last signed them in; for another admin's user, each row gets an Unlink button.
import type { Identity } from "../api.ts";
import { when } from "../format.ts";
import { type Column, table } from "./parts.ts";

export function identityTable(caption: string, identities: Identity[], action?: Column<Identity>): HTMLDivElement {
  const columns: Column<Identity>[] = [
    { label: "Provider", cell: (identity) => identity.provider },
    { label: "Address given", cell: (identity) => identity.email ?? "—" },
    { label: "Linked", cell: (identity) => when(identity.linked_at) },
    { label: "Last sign-in", cell: (identity) => when(identity.last_sign_in_at) },
  ];
  return table(caption, action ? [...columns, action] : columns, identities);
}
