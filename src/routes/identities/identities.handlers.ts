import { getCookie, setCookie } from "hono/cookie";
import type { Context } from "hono";
import type { AppEnv, AppRouteHandler as Handler } from "../../http/router.ts";
import {
  exchangeCode,
  finishSignIn,
  identitiesOf,
  listProviders,
  startLink,
  startSignIn,
  unlinkOwnIdentity,
  unlinkUserIdentity,
} from "../../services/identities.ts";
import { serviceContext } from "../service-context.ts";
import type * as routes from "./identities.routes.ts";

// `__Host-`: only this origin, only over HTTPS (browsers count http://localhost as secure), path /
const FLOW_COOKIE = "oidc-flow";

export const listProvidersHandler: Handler<typeof routes.listProviders> = (c) => c.json(listProviders(c.var.config), 200);

export const startHandler: Handler<typeof routes.start> = async (c) => {
  const { location, cookie } = await startSignIn(serviceContext(c), c.req.valid("param").provider, c.req.valid("query"));
  setCookie(c, FLOW_COOKIE, cookie.value, {
    prefix: "host",
    path: "/",
    secure: true,
    httpOnly: true,
    sameSite: cookie.sameSite,
    maxAge: cookie.maxAgeSeconds,
  });
  return c.redirect(location, 302);
};

/** The provider's answer, from the query or the posted form, whole: the checks read every parameter it sent. */
async function finish(c: Context<AppEnv>, provider: string, answer: URLSearchParams) {
  const { location } = await finishSignIn(serviceContext(c), provider, answer, getCookie(c, FLOW_COOKIE, "host"));
  // the flow is over: its cookie goes
  setCookie(c, FLOW_COOKIE, "", { prefix: "host", path: "/", secure: true, httpOnly: true, maxAge: 0 });
  return c.redirect(location, 303);
}

export const callbackHandler: Handler<typeof routes.callback> = (c) =>
  finish(c, c.req.valid("param").provider, new URL(c.req.url).searchParams);

export const postedCallbackHandler: Handler<typeof routes.postedCallback> = async (c) => {
  const form = c.req.valid("form");
  const answer = new URLSearchParams(Object.entries(form).filter((entry): entry is [string, string] => typeof entry[1] === "string"));
  return finish(c, c.req.valid("param").provider, answer);
};

export const exchangeHandler: Handler<typeof routes.exchange> = async (c) =>
  c.json(await exchangeCode(serviceContext(c), c.req.valid("json")), 200);

export const startLinkHandler: Handler<typeof routes.startLink> = async (c) =>
  c.json({ url: await startLink(serviceContext(c), c.var.auth, c.req.valid("param").provider, c.req.valid("json")) }, 200);

export const listOwnHandler: Handler<typeof routes.listOwn> = async (c) =>
  c.json(await identitiesOf(serviceContext(c), c.var.auth.userId), 200);

export const unlinkOwnHandler: Handler<typeof routes.unlinkOwn> = async (c) => {
  await unlinkOwnIdentity(serviceContext(c), c.var.auth, c.req.valid("param").id);
  return c.body(null, 204);
};

export const listOfUserHandler: Handler<typeof routes.listOfUser> = async (c) =>
  c.json(await identitiesOf(serviceContext(c), c.req.valid("param").id), 200);

export const unlinkOfUserHandler: Handler<typeof routes.unlinkOfUser> = async (c) => {
  const { id, identity_id: identityId } = c.req.valid("param");
  await unlinkUserIdentity(serviceContext(c), c.var.auth, id, identityId);
  return c.body(null, 204);
};
