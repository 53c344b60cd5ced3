// The console's places, kept in the URL's fragment (#/users?email=ada), so the back button, reloads of
// a bookmark and links work with nothing but static files: the server never sees the fragment.

export type Route =
  | { view: "users"; query: URLSearchParams }
  | { view: "user"; id: string }
  | { view: "events"; query: URLSearchParams }
  | { view: "account" };

type Query = Record<string, string | undefined>;

/** The route of a fragment; undefined for one that is not a place of the console (e.g. "#main"). */
export function routeOf(hash: string): Route | undefined {
  if (!hash.startsWith("#/")) return undefined;
  const [path = "", search = ""] = hash.slice(1).split("?", 2);
  const query = new URLSearchParams(search);
  const user = /^\/users\/(\d{1,19})$/.exec(path);
  if (user?.[1]) return { view: "user", id: user[1] };
  if (path === "/events") return { view: "events", query };
  if (path === "/account") return { view: "account" };
  return { view: "users", query };
}

function withQuery(path: string, query: Query): string {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) if (value) search.set(name, value);
  const text = search.toString();
  return `#${path}${text ? `?${text}` : ""}`;
}

export const links = {
  users: (query: Query = {}) => withQuery("/users", query),
  user: (id: number | string) => `#/users/${id}`,
  events: (query: Query = {}) => withQuery("/events", query),
  account: () => "#/account",
};

/** Goes to a place; going to the current one again renders it again (a search repeated, a list reloaded). */
export function go(hash: string): void {
  if (hash === location.hash) dispatchEvent(new HashChangeEvent("hashchange"));
  else location.hash = hash;
}

/** Renders the current route now and on every change of the fragment; answers a stop function. */
export function followRoutes(render: (route: Route) => void): () => void {
  const onChange = () => {
    const route = routeOf(location.hash);
    if (route) render(route);
  };
  addEventListener("hashchange", onChange);
  if (routeOf(location.hash)) onChange();
  else location.replace(links.users());
  return () => removeEventListener("hashchange", onChange);
}
