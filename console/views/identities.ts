// A user's linked identity providers, on their page: which providers sign them in, since when, and when last.
import { type Identity, read } from "../api.ts";
import { h } from "../dom.ts";
import { when } from "../format.ts";
import { adminApi } from "../session.ts";
import { empty, loading, problem, table } from "./parts.ts";

export function identities(userId: string, signal: AbortSignal): HTMLElement {
  const box = h("div", { "aria-live": "polite" }, loading("Loading identity providers…"));
  void read(adminApi.GET("/users/{id}/identities", { params: { path: { id: userId } }, signal })).then(
    (list) => {
      if (signal.aborted) return;
      box.replaceChildren(
        list.length === 0
          ? empty("No identity provider is linked: they sign in with their password.")
          : table<Identity>(
              "Linked identity providers",
              [
                { label: "Provider", cell: (identity) => identity.provider },
                { label: "Address given", cell: (identity) => identity.email ?? "—" },
                { label: "Linked", cell: (identity) => when(identity.linked_at) },
                { label: "Last sign-in", cell: (identity) => when(identity.last_sign_in_at) },
              ],
              list,
            ),
      );
    },
    (error: unknown) => {
      if (!signal.aborted) box.replaceChildren(problem(error));
    },
  );
  return box;
}
