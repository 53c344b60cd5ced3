// Typed clients of the API for front ends and other services, two ways, from the same contract:
// - `createApiClient(url)`: hono/client over the app's own type, e.g.
//   `await client.auth.login.$post({ json: { email, password } })`;
// - `paths`: the OpenAPI document as TypeScript (openapi-typescript), for openapi-fetch or any
//   generator, e.g. `createClient<paths>({ baseUrl })` from "openapi-fetch".
import { type ClientRequestOptions, hc } from "hono/client";
import type { AppType } from "../src/app.ts";

export type { AppType };
export type { components, operations, paths } from "./openapi.generated.ts";

export function createApiClient(baseUrl: string, options?: ClientRequestOptions) {
  return hc<AppType>(baseUrl, options);
}
