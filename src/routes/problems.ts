// Each operation's problem responses, declared from the problem table: the document lists, per status,
// exactly the codes the operation can answer with, and a test holds every response the suite receives
// to what its operation declares.
import { type RouteConfig, z } from "@hono/zod-openapi";
import { MfaChallengeSchema } from "../schemas/mfa.ts";
import { type Problem, type ProblemCode, problemTable, ProblemSchema, problemType } from "../schemas/problem.ts";
import { exampleRequestId } from "./examples.ts";

/** A request body: it can be malformed, too large, of another type, or fail its schema. */
export const BODY_PROBLEMS = ["malformed_json", "payload_too_large", "unsupported_media_type", "validation_failed"] as const;
/** Path or query parameters: they can fail their schema. */
export const PARAMETER_PROBLEMS = ["validation_failed"] as const;
/** The operation needs the database, which can be unreachable. */
export const DATABASE_PROBLEMS = ["service_unavailable"] as const;
/** The operation counts requests per client or per address. */
export const LIMITED_PROBLEMS = ["too_many_requests"] as const;
/** The operation needs an access token, checked against the edge's revocation stores (503 when they fail). */
export const SIGNED_IN_PROBLEMS = ["unauthorized", "invalid_token", "service_unavailable"] as const;
/** The operation needs an admin's access token (made with a second factor, where admins must use one). */
export const ADMIN_PROBLEMS = [...SIGNED_IN_PROBLEMS, "forbidden", "mfa_enrollment_required"] as const;
/** The operation is sensitive: the sign-in behind the token must be recent. */
export const STEP_UP_PROBLEMS = ["reauthentication_required"] as const;

type HeaderObjects = Record<string, { description: string; schema: { type: "string" | "integer" } }>;

/** The headers that come with a code, wherever it is answered. */
const HEADERS: Partial<Record<ProblemCode, HeaderObjects>> = {
  unauthorized: { "WWW-Authenticate": { description: "The Bearer challenge (RFC 6750)", schema: { type: "string" } } },
  too_many_requests: { "Retry-After": { description: "Seconds to wait before trying again", schema: { type: "integer" } } },
  service_unavailable: { "Retry-After": { description: "Seconds to wait before trying again", schema: { type: "integer" } } },
};

// The one registration of the Problem schema, through zod-openapi, so that each narrowing below is documented as
// the Problem schema plus its codes. Built here from the contract's fields: schemas/ is plain zod, and a schema
// made before zod-openapi extends zod has no .openapi of its own.
const DocumentedProblem = z
  .object(ProblemSchema.shape)
  .meta(ProblemSchema.meta() ?? {})
  .openapi("Problem");

/** Extension members a code's problem carries (RFC 9457 §3.2): what the client needs to go on. */
const MEMBERS: Partial<Record<ProblemCode, Record<string, z.ZodType>>> = {
  mfa_required: { challenge: MfaChallengeSchema.optional() },
  account_pending_deletion: {
    deletion_due_at: z.iso.datetime().optional().openapi({ description: "When the account's data is erased, unless its owner cancels" }),
  },
};

function problemSchemaFor(codes: ProblemCode[]) {
  const members = codes.reduce<Record<string, z.ZodType>>((all, code) => ({ ...all, ...MEMBERS[code] }), {});
  return DocumentedProblem.extend({ code: z.enum(codes), ...members });
}

/** What the document shows for a status: its first code, as the API answers it. */
function exampleProblem(code: ProblemCode): Problem {
  const { status, title } = problemTable[code];
  const problem: Problem = { type: problemType(code), code, title, status, detail: `${title}.`, request_id: exampleRequestId };
  return code === "validation_failed"
    ? { ...problem, errors: [{ in: "json", field: "email", message: "Not a valid email address" }] }
    : problem;
}

/** The problem+json responses for these codes, one per status, each naming its codes. */
export function problemResponses(...codes: readonly ProblemCode[]): RouteConfig["responses"] {
  const byStatus = new Map<number, [ProblemCode, ...ProblemCode[]]>();
  for (const code of new Set(codes)) {
    const { status } = problemTable[code];
    const sameStatus = byStatus.get(status);
    if (sameStatus) sameStatus.push(code);
    else byStatus.set(status, [code]);
  }
  return Object.fromEntries(
    [...byStatus].map(([status, statusCodes]) => {
      const headers = statusCodes.reduce<HeaderObjects>((all, code) => ({ ...all, ...HEADERS[code] }), {});
      return [
        status,
        {
          description: statusCodes.map((code) => `\`${code}\`: ${problemTable[code].title}`).join("; "),
          ...(Object.keys(headers).length > 0 ? { headers } : {}),
          content: { "application/problem+json": { schema: problemSchemaFor(statusCodes), example: exampleProblem(statusCodes[0]) } },
        },
      ];
    }),
  );
}
