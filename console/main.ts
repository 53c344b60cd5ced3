// The admin console's entry point: the page's shell (header, navigation, main area), signing in and
// out, and which view the URL's fragment shows.
import type { User } from "./api.ts";
import { confirmIdentity } from "./confirm-identity.ts";
import { byId, fill } from "./dom.ts";
import { viewerTimeZone } from "./format.ts";
import { followRoutes, type Route } from "./router.ts";
import { onReauthenticationRequired, onSessionEnd, signOut } from "./session.ts";
import { renderSignIn, takeProviderCode } from "./sign-in.ts";
import { renderAccount } from "./views/account.ts";
import { renderEvents } from "./views/events.ts";
import { renderUser } from "./views/user.ts";
import { renderUsers } from "./views/users.ts";

const main = byId("main", HTMLElement);
const nav = byId("nav", HTMLElement);
const account = byId("account", HTMLDivElement);
const signedInAs = byId("signed-in-as", HTMLSpanElement);
byId("time-zone", HTMLSpanElement).textContent = viewerTimeZone;
byId("sign-out", HTMLButtonElement).addEventListener("click", () => void signOut());

let stopRoutes: (() => void) | undefined;
// the view on screen; replaced (and its requests abandoned) on every move and at sign-out
let current = new AbortController();

function show(route: Route, me: User): void {
  current.abort();
  current = new AbortController();
  const { signal } = current;
  for (const link of nav.querySelectorAll("a")) {
    const here = link.hash === `#/${route.view === "user" ? "users" : route.view}`;
    if (here) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  switch (route.view) {
    case "users":
      void renderUsers(main, route.query, signal);
      return;
    case "user":
      void renderUser({ main, id: route.id, me, signal });
      return;
    case "events":
      void renderEvents(main, route.query, signal);
      return;
    case "account":
      renderAccount(main, signal);
      return;
  }
}

function signedIn(me: User): void {
  fill(signedInAs, me.email);
  nav.hidden = false;
  account.hidden = false;
  stopRoutes = followRoutes((route) => show(route, me));
}

function signIn(reason?: string): void {
  current.abort();
  stopRoutes?.();
  stopRoutes = undefined;
  nav.hidden = true;
  account.hidden = true;
  fill(signedInAs);
  // nothing an admin saw stays on the page once the session is over
  renderSignIn(main, { reason, providerCode: takeProviderCode(), onSignedIn: signedIn });
}

onSessionEnd(signIn);
onReauthenticationRequired(confirmIdentity);
signIn();
