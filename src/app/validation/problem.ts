// A request that fails its schemas: 422 with an RFC 9457 problem+json body listing every issue with
// where it is (`json.items[2].name`), what is wrong and the validator's code. It is an HTTPException
// (an `UnprocessableEntity`), so `errorHandler(422, …)` or `errorHandler(ValidationError, …)` replaces it.

import type { StandardSchemaV1 } from "@standard-schema/spec";
import { UnprocessableEntity } from "../wrappers/exceptions.ts";
import { Response } from "../wrappers/response.ts";
import type { InputName } from "./types.ts";

/** At most this many issues are listed in one answer (the rest counted in `detail`). */
export const MAX_LISTED_ISSUES = 100;

/** One problem with the request, as listed in the 422 body's `errors`. */
export interface ValidationIssue {
  /** Where, as code would write it: `json.items[2].name`, `query.page`, `headers["x-count"]`. */
  readonly location: string;
  /** Which input: `json`, `query`, `form`, `params`, `headers`, `cookies`. */
  readonly in: InputName;
  /** The path inside that input: `["items", 2, "name"]` (empty for the input as a whole). */
  readonly path: readonly (string | number)[];
  /** The validator's message. */
  readonly message: string;
  /** The validator's code for the issue (zod's `code`, valibot's `type`), else `"invalid"`. */
  readonly code: string;
}

/** The RFC 9457 body of a 422. */
export interface ValidationProblem {
  readonly type: string;
  readonly title: string;
  readonly status: 422;
  readonly detail: string;
  readonly errors: readonly ValidationIssue[];
}

export class ValidationError extends UnprocessableEntity {
  /** Every issue found (all inputs are checked before answering). */
  readonly issues: readonly ValidationIssue[];

  constructor(issues: readonly ValidationIssue[]) {
    const n = issues.length;
    const first = issues[0];
    super(
      n === 0 || first === undefined
        ? "The request is invalid."
        : `The request has ${n} invalid ${n === 1 ? "value" : "values"}: ${first.location}: ${first.message}` +
            (n > 1 ? ` (and ${n - 1} more)` : ""),
    );
    this.issues = issues;
  }

  /** The RFC 9457 problem details object sent as the body. */
  toProblem(): ValidationProblem {
    const listed = this.issues.slice(0, MAX_LISTED_ISSUES);
    const more = this.issues.length - listed.length;
    return {
      type: "about:blank",
      title: "Unprocessable Content",
      status: 422,
      detail:
        more > 0 ? `${this.description} Only the first ${MAX_LISTED_ISSUES} are listed.` : this.description,
      errors: listed,
    };
  }

  /** `application/problem+json`, unless a response was given. */
  override getResponse(): Response {
    if (this.response !== undefined) return this.response;
    return new Response(JSON.stringify(this.toProblem()), {
      status: 422,
      contentType: "application/problem+json",
    });
  }
}

const IDENT = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** `json` + `["items", 2, "name"]` → `json.items[2].name`. */
export function formatLocation(input: string, path: readonly (string | number)[]): string {
  let s = input;
  for (const k of path) {
    if (typeof k === "number") s += `[${k}]`;
    else if (IDENT.test(k)) s += `.${k}`;
    else s += `[${JSON.stringify(k)}]`;
  }
  return s;
}

/** A Standard Schema issue as a ValidationIssue of one input. */
export function toIssue(input: InputName, issue: StandardSchemaV1.Issue): ValidationIssue {
  const path: (string | number)[] = [];
  if (issue.path !== undefined) {
    for (const seg of issue.path) {
      const key = typeof seg === "object" && seg !== null ? (seg as StandardSchemaV1.PathSegment).key : seg;
      path.push(typeof key === "number" ? key : String(key));
    }
  }
  const extra = issue as { code?: unknown; type?: unknown };
  const code =
    typeof extra.code === "string" ? extra.code : typeof extra.type === "string" ? extra.type : "invalid";
  return {
    location: formatLocation(input, path),
    in: input,
    path,
    message: String(issue.message),
    code,
  };
}
