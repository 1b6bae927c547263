// A view's return value as a Response (Flask's `make_response`): strings and bytes are HTML, objects
// JSON, arrays the tuples [body, status, headers], streams streamed. Anything else is a TypeError that
// names the route. Used by the dispatch pipeline and `app.makeResponse`; imports only the wrappers and
// the stream helpers below it.

import type { HandlerResult } from "./scaffold.ts";
import { describeValue } from "./serving/streams.ts";
import { HTTPException } from "./wrappers/exceptions.ts";
import type { Headers } from "./wrappers/headers.ts";
import type { Request } from "./wrappers/request.ts";
import {
  type JsonProvider,
  parseStatus,
  Response,
  updateHeaders,
  valueToResponse,
} from "./wrappers/response.ts";

export function routeName(req: Request | undefined): string {
  if (req === undefined) return "?";
  return req.endpoint === undefined
    ? `${req.method} ${req.path}`
    : `"${req.endpoint}" (${req.urlRule ?? req.path})`;
}

/** Thrown by a handler returning nothing: the message names the route. */
class HandlerReturnedNothing extends TypeError {
  constructor(req: Request | undefined) {
    super(
      `The view function for ${routeName(req)} did not return a valid response: it returned undefined. ` +
        "Return a string, an object (JSON), a Response, or a tuple [body, status, headers].",
    );
  }
}

/**
 * Turns a handler's return value into a Response (Flask's `make_response`): strings and bytes are
 * HTML, objects JSON, arrays tuples, streams streamed. Anything else is a TypeError naming the route.
 */
export function makeViewResponse(
  rv: HandlerResult | undefined,
  req: Request | undefined,
  json: JsonProvider,
): Response {
  if (rv instanceof Response) return rv;
  if (typeof rv === "string") return new Response(rv);
  if (rv === undefined || rv === null) throw new HandlerReturnedNothing(req);
  if (Array.isArray(rv)) return tupleResponse(rv as readonly unknown[], req, json);
  if (rv instanceof HTTPException) return rv.getResponse();
  const res = valueToResponse(rv, json);
  if (res !== undefined) return res;
  throw new TypeError(
    `The view function for ${routeName(req)} returned ${describeValue(rv)}; ` +
      "return a string, bytes, an object (JSON), a Response, a stream, or a tuple [body, status, headers].",
  );
}

function tupleResponse(t: readonly unknown[], req: Request | undefined, json: JsonProvider): Response {
  if (t.length < 2 || t.length > 3) throw badTuple(req, `of length ${t.length}`);
  const body = t[0];
  if (body === undefined || body === null || (typeof body !== "string" && typeof body !== "object")) {
    throw badTuple(req, `whose first item (the body) is ${describeValue(body)}`);
  }
  if (Array.isArray(body)) throw badTuple(req, "whose first item (the body) is an array");
  let status: unknown;
  let headers: unknown;
  if (t.length === 3) {
    status = t[1];
    headers = t[2];
  } else if (typeof t[1] === "number" || typeof t[1] === "string") {
    status = t[1];
  } else {
    headers = t[1];
  }
  if (status !== undefined && status !== null && typeof status !== "number" && typeof status !== "string") {
    throw badTuple(req, `whose status is ${describeValue(status)}`);
  }
  if (headers !== undefined && headers !== null && typeof headers !== "object") {
    throw badTuple(
      req,
      `whose headers are ${describeValue(headers)} (give an object, [name, value] pairs or a Headers)`,
    );
  }
  let code = 0;
  let reason = "";
  if (typeof status === "number" && Number.isInteger(status) && status >= 100 && status <= 999) {
    code = status; // the common case, without parseStatus's pair
  } else if (status !== undefined && status !== null) {
    try {
      [code, reason] = parseStatus(status as number | string);
    } catch (err) {
      throw badTuple(req, `whose status is invalid: ${(err as Error).message}`);
    }
  }
  const res = makeViewResponse(body as HandlerResult, req, json);
  if (code !== 0) {
    res.status = code;
    res.statusText = reason;
  }
  if (headers !== undefined && headers !== null) updateHeaders(res.headers, headers as Headers);
  return res;
}

/** The error for a returned array that is not a valid tuple (a JSON array needs jsonify()). */
function badTuple(req: Request | undefined, what: string): TypeError {
  return new TypeError(
    `The view function for ${routeName(req)} returned an array ${what}. Arrays are tuples: ` +
      "[body, status], [body, headers] or [body, status, headers]. Wrap JSON arrays in jsonify().",
  );
}
