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

/**
 * The API speaks only JSON. A body of any other type is refused (415) instead of being silently
 * ignored by validation, and a JSON body that does not parse is a 400 before any route sees it.
 * The parsed body is cached by Hono, so the route's validator reuses it.
 */
export function jsonOnly(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const mediaType = (c.req.header("Content-Type") ?? "").split(";")[0]?.trim() ?? "";
    // nothing sent at all: the route's validation names the fields that are missing (422). A type
    // announced without a body is still judged by that type: 415, or for JSON an empty document (400).
    if (mediaType === "" && !hasBody(c.req.raw)) return next();
    if (!JSON_MEDIA_TYPE.test(mediaType)) {
      throw new HttpProblem("unsupported_media_type", "Request bodies must be JSON (Content-Type: application/json).", {
        headers: { "Accept-Post": "application/json", "Accept-Patch": "application/json" },
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

/** The rules for a request body: its size first (413), then its type and syntax (415, 400). */
export function requestBodyRules(): MiddlewareHandler<AppEnv> {
  const sizeLimit = bodySizeLimit();
  const json = jsonOnly();
  return (c, next) =>
    sizeLimit(c, async () => {
      await json(c, next);
    });
}
