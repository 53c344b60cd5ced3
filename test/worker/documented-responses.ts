// Holds every response the suite receives to what the OpenAPI document declares for its operation:
// the status, the content type and the body's schema (the same zod schemas the document is made from),
// so the document cannot drift from the API.
import { z } from "zod";
import { buildApp } from "../../src/app.ts";
import { ProblemSchema } from "../../src/schemas/problem.ts";

interface Operation {
  method: string;
  pattern: RegExp;
  template: string;
  responses: Record<string, unknown>;
}

function operations(): Operation[] {
  return buildApp().openAPIRegistry.definitions.flatMap((definition) => {
    if (definition.type !== "route") return [];
    const { method, path, responses } = definition.route;
    // registration order is matching order, as in the router: /users/me comes before /users/{id}
    const pattern = new RegExp(`^${path.replace(/\{[^}]+\}/g, "[^/]+")}$`);
    return [{ method: method.toUpperCase(), pattern, template: path, responses }];
  });
}

let known: Operation[] | undefined;

function operationOf(method: string, path: string): Operation | undefined {
  known ??= operations();
  const lookup = method === "HEAD" ? "GET" : method;
  return known.find((operation) => operation.method === lookup && operation.pattern.test(path));
}

const ResponseConfig = z.object({ content: z.record(z.string(), z.object({ schema: z.unknown() })).optional() });

function mediaTypeOf(response: Response): string {
  return (response.headers.get("Content-Type") ?? "").split(";")[0]?.trim() ?? "";
}

/**
 * Throws when `response` is not one its operation declares. Answers outside any operation (404, 405,
 * the docs page) must still be problem+json when they are errors. A 500 is exempt: it is the answer to
 * a bug of ours, never part of an operation's contract.
 */
export async function expectDocumented(request: Request, response: Response): Promise<void> {
  if (response.status === 500) return;
  const { pathname } = new URL(request.url);
  const operation = operationOf(request.method, pathname);
  const name = `${request.method} ${operation?.template ?? pathname}`;
  // a HEAD answer has no body to hold to a schema
  const body = request.method === "HEAD" ? undefined : await response.clone().text();
  if (!operation) {
    if (response.status >= 400 && body !== undefined) checkBody(name, response, body, ProblemSchema, "application/problem+json");
    return;
  }
  const declared = ResponseConfig.safeParse(operation.responses[String(response.status)]);
  if (!declared.success) {
    throw new Error(`${name} answered ${response.status}, which its operation does not declare:\n${body}`);
  }
  const content = declared.data.content;
  if (body === undefined) return;
  if (!content) {
    if (body !== "") throw new Error(`${name} answered ${response.status} with a body its operation does not declare`);
    return;
  }
  const mediaType = mediaTypeOf(response);
  const schema = content[mediaType]?.schema;
  if (!(schema instanceof z.ZodType)) {
    throw new Error(`${name} answered ${response.status} as "${mediaType}", not as ${Object.keys(content).join(" or ")}`);
  }
  if (body !== "") checkBody(name, response, body, schema, mediaType);
}

function checkBody(name: string, response: Response, body: string, schema: z.ZodType, mediaType: string): void {
  if (mediaTypeOf(response) !== mediaType) {
    throw new Error(`${name} answered ${response.status} as "${mediaTypeOf(response)}", not ${mediaType}`);
  }
  // a JSON body is held to its schema as JSON; any other (a CSV export) as the text it is
  const parsed = schema.safeParse(mediaType.endsWith("json") ? JSON.parse(body) : body);
  if (!parsed.success) {
    throw new Error(
      `${name} answered ${response.status} with a body its operation does not declare: ${z.prettifyError(parsed.error)}\n${body}`,
    );
  }
}
