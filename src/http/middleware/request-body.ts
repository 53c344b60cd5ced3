import type { MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import type { AppEnv } from "../router.ts";
import { HttpProblem } from "../problem-response.ts";

const JSON_MEDIA_TYPE = /^application\/([\w.-]+\+)?json$/i;

function hasBody(request: Request): boolean {
  const length = request.headers.get("Content-Length");
  if (length !== null) return Number(length) > 0;
  return request.body !== null;
}

const FORM_MEDIA_TYPE = "application/x-www-form-urlencoded";

/**
 * The API speaks JSON (and takes a form only where an operation declares one: a provider posting its answer back).
 * A body of another type is refused (415) instead of being silently ignored by validation, and a JSON body that
 * does not parse is a 400 before any route sees it. The parsed body is cached by Hono, so the route's validator
 * reuses it.
 */
export function declaredTypesOnly(mediaTypes: string[]): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const mediaType = (c.req.header("Content-Type") ?? "").split(";")[0]?.trim() ?? "";
    // nothing sent at all: the route's validation names the fields that are missing (422). A type
    // announced without a body is still judged by that type: 415, or for JSON an empty document (400).
    if (mediaType === "" && !hasBody(c.req.raw)) return next();
    if (mediaType.toLowerCase() === FORM_MEDIA_TYPE && mediaTypes.includes(FORM_MEDIA_TYPE)) return next();
    if (!JSON_MEDIA_TYPE.test(mediaType) || !mediaTypes.includes("application/json")) {
      const wanted = mediaTypes.includes(FORM_MEDIA_TYPE) ? mediaTypes.join(" or ") : "JSON (Content-Type: application/json)";
      throw new HttpProblem("unsupported_media_type", `Request bodies must be ${wanted}.`, {
        headers: { "Accept-Post": mediaTypes.join(", "), "Accept-Patch": mediaTypes.join(", ") },
      });
    }
    try {
      await c.req.json();
    } catch {
      throw new HttpProblem("malformed_json", "The request body is not valid JSON.");
    }
    return next();
  };
}

/** Refuses bodies over the configured size (413), counting the bytes even when no length is declared. */
export function bodySizeLimit(): MiddlewareHandler<AppEnv> {
  return (c, next) => {
    const maxSize = c.var.config.MAX_BODY_BYTES;
    return bodyLimit({
      maxSize,
      onError: () => {
        throw new HttpProblem("payload_too_large", `Request bodies are limited to ${maxSize} bytes.`);
      },
    })(c, next);
  };
}

/** The rules for a request body of one of `mediaTypes`: its size first (413), then its type and syntax (415, 400). */
export function requestBodyRules(mediaTypes: string[]): MiddlewareHandler<AppEnv> {
  const sizeLimit = bodySizeLimit();
  const typed = declaredTypesOnly(mediaTypes);
  return (c, next) =>
    sizeLimit(c, async () => {
      await typed(c, next);
    });
}
