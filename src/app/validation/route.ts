// A route with schemas: its handler wrapped, once, at registration. The wrapper reads each declared
// input, checks it with its schema, fills `req.valid` (or throws a ValidationError: 422), calls the
// handler, and writes a `response`-schema'd body through the compiled serializer. Routes without
// schemas are registered as they were: they pay nothing.

import type { StandardSchemaV1 } from "@standard-schema/spec";
import { runWithRequest } from "../context.ts";
import { HTTPException } from "../wrappers/exceptions.ts";
import type { Request } from "../wrappers/request.ts";
import { Response } from "../wrappers/response.ts";
import { type FieldPlan, pairsToObject, planFor } from "./coerce.ts";
import { type JsonSchema, jsonSchemaOf } from "./json-schema.ts";
import { formatLocation, toIssue, ValidationError, type ValidationIssue } from "./problem.ts";
import { compileSerializer, type Serializer } from "./serialize.ts";
import { INPUTS, type InputName, type RouteSchemas } from "./types.ts";

type AnyHandler = (req: Request) => unknown;

interface Step {
  readonly name: InputName;
  readonly schema: StandardSchemaV1;
  readonly plan: FieldPlan;
}

/** True when the options declare any schema (else the route is registered untouched). */
export function hasSchemas(options: RouteSchemas): boolean {
  for (const k of INPUTS) if (options[k] !== undefined) return true;
  return options.response !== undefined;
}

function checkSchema(rule: string, name: string, s: unknown): StandardSchemaV1 {
  const std = (s as { "~standard"?: { validate?: unknown } } | null)?.["~standard"];
  if (typeof std?.validate !== "function") {
    throw new TypeError(
      `The route "${rule}": \`${name}\` is not a Standard Schema (zod 4, valibot, arktype, …); ` +
        "pass the schema object itself, e.g. z.object({...})",
    );
  }
  return s as StandardSchemaV1;
}

/** The handler wrapped with its schemas' checks and response writer. */
export function validatedHandler<H extends AnyHandler>(
  rule: string,
  options: RouteSchemas & { streamBody?: boolean },
  handler: H,
): AnyHandler {
  const steps: Step[] = [];
  for (const name of INPUTS) {
    const s = options[name];
    if (s === undefined) continue;
    const schema = checkSchema(rule, name, s);
    if ((name === "json" || name === "form") && options.streamBody === true) {
      throw new TypeError(
        `The route "${rule}" has a \`${name}\` schema and streamBody: true; a streamed body can't be checked before the handler`,
      );
    }
    const textual = name === "query" || name === "form" || name === "headers" || name === "cookies";
    steps.push({ name, schema, plan: textual ? planFor(inputJsonSchema(schema)) : undefined });
  }
  const writer = options.response === undefined ? undefined : responseWriter(rule, options.response);
  const n = steps.length;

  const finish = (req: Request, rv: unknown): unknown => {
    if (writer === undefined) return rv;
    return isThenable(rv) ? rv.then((v) => writer(req, v)) : writer(req, rv);
  };

  const afterAsync = async (req: Request, valid: Record<string, unknown>, pending: Promise<unknown>[]) => {
    const results = (await Promise.all(pending)) as [InputName, StandardSchemaV1.Result<unknown>][];
    const issues: ValidationIssue[] = [];
    for (const [name, r] of results) collect(name, r, valid, issues);
    if (issues.length > 0) throw new ValidationError(issues);
    req.valid = valid;
    // Outside the sync call now: the request context goes with the handler explicitly.
    return runWithRequest(req, () => finish(req, handler(req)));
  };

  const validated = function validated(req: Request): unknown {
    const valid: Record<string, unknown> = {};
    let issues: ValidationIssue[] | undefined;
    let pending: Promise<unknown>[] | undefined;
    for (let i = 0; i < n; i++) {
      const step = steps[i]!;
      const r = step.schema["~standard"].validate(readInput(req, step));
      if (isThenable(r)) {
        pending ??= [];
        pending.push(r.then((x) => [step.name, x]));
      } else if (r.issues !== undefined) {
        issues ??= [];
        collect(step.name, r, valid, issues);
      } else {
        valid[step.name] = r.value;
      }
    }
    if (pending !== undefined) {
      if (issues !== undefined) {
        // Report every input's issues at once: wait for the rest too.
        const sync = issues;
        return afterAsync(req, valid, pending).catch((err: unknown) => {
          if (err instanceof ValidationError) throw new ValidationError([...sync, ...err.issues]);
          throw new ValidationError(sync);
        });
      }
      return afterAsync(req, valid, pending);
    }
    if (issues !== undefined) throw new ValidationError(issues);
    req.valid = valid;
    return finish(req, handler(req));
  };
  // The view the wrapper calls, for whoever marked it (a Limiter's per-view limit, limiter.exempt).
  Object.defineProperty(validated, WRAPPED, { value: handler });
  return validated;
}

/** The property of a wrapping handler that holds the view it wraps. */
const WRAPPED = Symbol.for("phial.wrappedHandler");

function collect(
  name: InputName,
  r: StandardSchemaV1.Result<unknown>,
  valid: Record<string, unknown>,
  issues: ValidationIssue[],
): void {
  if (r.issues === undefined) {
    valid[name] = r.value;
    return;
  }
  for (const issue of r.issues) issues.push(toIssue(name, issue));
}

function inputJsonSchema(s: StandardSchemaV1): JsonSchema | undefined {
  return jsonSchemaOf(s, "input");
}

function readInput(req: Request, step: Step): unknown {
  switch (step.name) {
    case "json":
      return req.json;
    case "params":
      return req.params;
    case "query":
      return pairsToObject(req.args.entries(), step.plan);
    case "form": {
      const form = req.form;
      const files = req.files;
      return pairsToObject(
        files.size === 0
          ? form.entries()
          : [...form.entries(), ...(files.entries() as Iterable<[string, unknown]>)],
        step.plan,
      );
    }
    case "cookies":
      return pairsToObject(req.cookies.entries(), step.plan);
    case "headers": {
      const raw = req.source.rawHeaders;
      const pairs: [string, string][] = [];
      for (let i = 0; i < raw.length; i += 2) pairs.push([raw[i]!.toLowerCase(), raw[i + 1]!]);
      return pairsToObject(pairs, step.plan, ", ");
    }
  }
}

function isThenable(v: unknown): v is Promise<unknown> {
  return v !== null && typeof v === "object" && typeof (v as PromiseLike<unknown>).then === "function";
}

/**
 * Turns a returned body (alone or in a tuple) into a JSON Response written by the schema: the compiled
 * serializer when the schema gives JSON Schema it supports, else the validator's output (which drops
 * undeclared fields for zod/valibot objects) through the app's JSON provider.
 */
function responseWriter(rule: string, s: unknown): (req: Request, rv: unknown) => unknown {
  const schema = checkSchema(rule, "response", s);
  const js = jsonSchemaOf(schema, "output");
  const serialize: Serializer | undefined = js === undefined ? undefined : compileSerializer(js);
  const isArray = js?.type === "array";

  const bodyResponse = (req: Request, body: unknown): Response | Promise<Response> => {
    if (serialize !== undefined) return jsonBody(req, serialize(body));
    const r = schema["~standard"].validate(body);
    return isThenable(r) ? r.then((x) => checked(req, x)) : checked(req, r);
  };

  const checked = (req: Request, r: StandardSchemaV1.Result<unknown>): Response => {
    if (r.issues !== undefined) {
      const where = r.issues.map((i) => {
        const loc = formatLocation("", toIssue("json", i).path);
        return `${loc.startsWith(".") ? loc.slice(1) : loc || "(body)"}: ${i.message}`;
      });
      throw new TypeError(
        `The response of "${rule}" does not match its schema: ${where.slice(0, 5).join("; ")}. ` +
          "Fix the handler's return value or the route's `response` schema.",
      );
    }
    return jsonBody(req, req.app.json.dumps(r.value));
  };

  return (req, rv) => {
    if (rv === null || typeof rv !== "object" || rv instanceof Response || rv instanceof HTTPException)
      return rv;
    if (Array.isArray(rv) && !isArray) {
      // A tuple [body, status?, headers?]: write the body, keep the rest.
      const body = rv[0] as unknown;
      if (body === null || typeof body !== "object" || body instanceof Response) return rv;
      const res = bodyResponse(req, body);
      if (isThenable(res)) return res.then((r) => [r, ...rv.slice(1)]);
      return [res, ...rv.slice(1)];
    }
    if (!Array.isArray(rv) && !isPlain(rv)) return rv; // a stream, a Map, bytes: not a schema'd body
    return bodyResponse(req, rv);
  };
}

function isPlain(v: object): boolean {
  const p = Object.getPrototypeOf(v);
  return p === Object.prototype || p === null;
}

function jsonBody(req: Request, text: string): Response {
  const res = new Response(null);
  res.body = text;
  res.headers.resetUnchecked("Content-Type", req.app.json.mimetype);
  return res;
}
