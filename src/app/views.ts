// biome-ignore-all lint/complexity/noThisInStatic: `this` is the subclass asView is called on (UserApi.asView), as in Flask's classmethod
// Class-based views in Flask's shape: `View` (one `dispatchRequest` for every method) and `MethodView`
// (a method per HTTP verb: `get`, `post`, …). `asView(name, ...args)` makes the view function a rule
// takes: `app.route("/users/<int:id>", UserApi.asView("user"))`; its name is the endpoint and its
// `methods` the rule's methods. A new instance per request (Flask's `init_every_request = True`), or one
// for all with `static initEveryRequest = false`.

import type { Handler, HandlerResult } from "./scaffold.ts";
import type { RouteDocs, RouteSchemas } from "./validation/types.ts";
import type { Request } from "./wrappers/request.ts";

/** What `asView` returns: a view function with Flask's attributes. */
export type ViewFunction = Handler & {
  /** The class it was made from (Flask's `view_class`). */
  readonly viewClass: typeof View;
  /** The methods the rule gets when it names none. */
  readonly methods: readonly string[] | undefined;
  /** The class's `schemas` by upper-case method (the app checks each method's requests by them). */
  readonly methodSchemas: Readonly<Record<string, RouteSchemas & RouteDocs>> | undefined;
};

const VERBS = ["get", "post", "put", "patch", "delete", "head", "options", "trace"] as const;

/** A verb of a MethodView (its method's name). */
export type ViewVerb = (typeof VERBS)[number];

/**
 * Schemas and docs per method of a class-based view: `static override schemas = { post: { json: Item,
 * response: ItemOut, summary: "Add an item" } }`; each method's requests are checked by its own, and
 * the OpenAPI document lists them per operation. The method reads them typed with
 * `post(req: Request<{}, ValidOf<typeof ItemApi.schemas.post>>)`.
 */
export type ViewSchemas = Readonly<Partial<Record<ViewVerb, RouteSchemas & RouteDocs>>>;

export abstract class View {
  /** The HTTP methods of the rule (`undefined`: GET; MethodView: the verbs it implements). */
  static methods: readonly string[] | undefined = undefined;
  /** Wrappers applied to the view function, first innermost (Flask's `decorators`). */
  static decorators: readonly ((view: Handler<never>) => Handler<never>)[] = [];
  /** A new instance for each request (default); false: one instance made by `asView`. */
  static initEveryRequest = true;
  /**
   * Schemas (and OpenAPI docs) per method: `{ post: { json: Item, response: ItemOut } }`. Checked before
   * the view runs (outside its `decorators`), as a route's own schemas are; `head` falls back to `get`'s.
   */
  static schemas: ViewSchemas | undefined = undefined;

  /** Answers a request: the rule's parameters are `req.params`. */
  abstract dispatchRequest(req: Request): HandlerResult | Promise<HandlerResult>;

  /**
   * The view function for `app.route`: its name (the endpoint) is `name`; `args` are given to the
   * constructor.
   */
  static asView<A extends unknown[]>(
    this: { new (...args: A): View; prototype: View } & ViewStatics,
    name: string,
    ...args: A
  ): ViewFunction {
    const methods = this.ruleMethods();
    let view: Handler<never>;
    if (this.initEveryRequest) {
      view = async (req: Request) => new this(...args).dispatchRequest(req);
    } else {
      const one = new this(...args);
      view = async (req: Request) => one.dispatchRequest(req);
    }
    for (const d of this.decorators) view = d(view);
    Object.defineProperty(view, "name", { value: name });
    Object.defineProperty(view, "viewClass", { value: this });
    Object.defineProperty(view, "methods", { value: methods });
    let byMethod: Record<string, RouteSchemas & RouteDocs> | undefined;
    if (this.schemas !== undefined) {
      byMethod = {};
      for (const [verb, s] of Object.entries(this.schemas)) {
        if (s === undefined) continue;
        if (!(VERBS as readonly string[]).includes(verb)) {
          throw new TypeError(
            `${this.name}.schemas has "${verb}", which is not an HTTP verb: use ${VERBS.join(", ")}`,
          );
        }
        byMethod[verb.toUpperCase()] = s;
      }
      if (byMethod.HEAD === undefined && byMethod.GET !== undefined) byMethod.HEAD = byMethod.GET;
    }
    Object.defineProperty(view, "methodSchemas", { value: byMethod });
    return view as unknown as ViewFunction;
  }

  /** @internal the methods a rule of this view takes when it names none. */
  static ruleMethods(): readonly string[] | undefined {
    return this.methods;
  }
}

type ViewStatics = Pick<
  typeof View,
  "methods" | "decorators" | "initEveryRequest" | "schemas" | "ruleMethods"
>;

/**
 * A view with a method per HTTP verb (`get(req)`, `post(req)`, …): the rule takes the methods the
 * class implements (HEAD goes to `get` when there is no `head`).
 */
export abstract class MethodView extends View {
  /** The verbs the class implements, unless `methods` is set. */
  static override ruleMethods(): readonly string[] | undefined {
    if (Object.hasOwn(this, "methods") && this.methods !== undefined) return this.methods;
    const found: string[] = [];
    for (const v of VERBS) {
      if (typeof (this.prototype as unknown as Record<string, unknown>)[v] === "function")
        found.push(v.toUpperCase());
    }
    return found;
  }

  dispatchRequest(req: Request): HandlerResult | Promise<HandlerResult> {
    const self = this as unknown as Record<string, ((req: Request) => HandlerResult) | undefined>;
    let fn = self[req.method.toLowerCase()];
    if (fn === undefined && req.method === "HEAD") fn = self.get;
    if (typeof fn !== "function") {
      throw new TypeError(`${this.constructor.name} has no method for ${req.method}`);
    }
    return fn.call(this, req);
  }
}
