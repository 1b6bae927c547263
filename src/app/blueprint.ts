// Blueprints: groups of routes, hooks and error handlers registered on an app under a name and prefix.

import { basename, dirname, isAbsolute, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { Phial } from "./app.ts";
import { currentRequest } from "./context.ts";
import { type SendFromDirectoryOptions, sendFromFolder } from "./files/send-file.ts";
import {
  type AfterRequestHook,
  type BeforeRequestHook,
  type ErrorClass,
  type ErrorHandler,
  type Handler,
  type RouteOptions,
  type RouteRecord,
  Scaffold,
  type TeardownHook,
  type UrlDefaultsFunction,
  type UrlValuePreprocessor,
} from "./scaffold.ts";
import type { TemplateContext } from "./templates/environment.ts";
import type { HTTPException } from "./wrappers/exceptions.ts";
import type { Request } from "./wrappers/request.ts";
import type { Response } from "./wrappers/response.ts";

export interface BlueprintOptions {
  /** Prefix for every rule, e.g. `/admin`. */
  urlPrefix?: string;
  /** Folder for this blueprint's templates (relative to `root`). */
  templateFolder?: string;
  /** Folder for this blueprint's static files (relative to `root`, else to the app's folder). */
  staticFolder?: string;
  /** URL path for the static files under the prefix (default: `/` and the folder's name, as in Flask). */
  staticUrlPath?: string;
  /** The blueprint's folder (e.g. `import.meta.url` or a directory) for relative folders. */
  root?: string;
  /** Default values for the parameters of every rule. */
  urlDefaults?: Readonly<Record<string, unknown>>;
  /** The subdomain of every rule (the app needs `subdomainMatching`); a route's own `subdomain` wins. */
  subdomain?: string;
}

export interface RegisterOptions {
  urlPrefix?: string;
  /** Registers the same blueprint again under another name. */
  name?: string;
  /** The subdomain of the blueprint's rules, instead of its own `subdomain` option. */
  subdomain?: string;
}

/** A nested registration, replayed when the parent is registered on an app. */
export interface ChildRecord {
  blueprint: Blueprint;
  options: RegisterOptions;
}

export class Blueprint extends Scaffold {
  readonly options: BlueprintOptions;
  /** @internal */ readonly records: RouteRecord[] = [];
  /** @internal */ readonly children: ChildRecord[] = [];
  /** @internal set once registered: routes added later would be lost, so they throw. */ registered = false;
  /** @internal what the `app*` methods register on an app, once per app (Flask's `record_once`). */
  readonly appRecords: ((app: Phial) => void)[] = [];
  /** @internal the apps the records ran on. */ readonly recordedOn = new WeakSet<Phial>();

  constructor(name: string, options: BlueprintOptions = {}) {
    if (name.length === 0 || name.includes(".")) {
      throw new TypeError(`Blueprint name ${JSON.stringify(name)} must be non-empty and contain no dot`);
    }
    super(name);
    this.options = options;
    const sf = options.staticFolder;
    if (sf !== undefined) {
      // The `bp.static` endpoint, registered with the blueprint's prefix like its other routes.
      const url = (options.staticUrlPath ?? `/${basename(sf)}`).replace(/\/+$/, "");
      const view = (req: Request<{ filename: string }>) => this.sendStaticFile(req.params.filename);
      this.records.push({
        rule: `${url}/<path:filename>`,
        options: { endpoint: "static" },
        handler: view as Handler<never>,
      });
    }
  }

  /** Sends `filename` from this blueprint's static folder (anything leaving it is a 404). */
  sendStaticFile(filename: string, options: SendFromDirectoryOptions = {}): Promise<Response> {
    const sf = this.options.staticFolder;
    if (sf === undefined)
      throw new Error(`sendStaticFile(): the blueprint "${this.name}" has no staticFolder`);
    const req = currentRequest();
    let folder = sf;
    if (!isAbsolute(sf)) {
      const root = this.options.root;
      const base =
        root === undefined
          ? (req?.app.root ?? process.cwd())
          : root.startsWith("file:")
            ? dirname(fileURLToPath(root))
            : resolve(root);
      folder = resolve(base, sf);
    }
    return sendFromFolder(req, req?.app, folder, filename, options, true);
  }

  protected addRoute(rule: string, options: RouteOptions, handler: Handler<never>): void {
    if (this.registered) {
      throw new Error(
        `The blueprint "${this.name}" was already registered; add the route "${rule}" before registering it`,
      );
    }
    this.records.push({ rule, options, handler });
  }

  /** Keeps a function to run on the app when the blueprint is registered (once per app). */
  private onApp(what: string, fn: (app: Phial) => void): this {
    if (this.registered) {
      throw new Error(
        `The blueprint "${this.name}" was already registered; call ${what}() before registering it`,
      );
    }
    this.appRecords.push(fn);
    return this;
  }

  /** A beforeRequest hook for every request of the app, not only this blueprint's (Flask's `before_app_request`). */
  beforeAppRequest(fn: BeforeRequestHook): this {
    return this.onApp("beforeAppRequest", (app) => app.beforeRequest(fn));
  }

  /** An afterRequest hook for every request of the app (Flask's `after_app_request`). */
  afterAppRequest(fn: AfterRequestHook): this {
    return this.onApp("afterAppRequest", (app) => app.afterRequest(fn));
  }

  /** A teardownRequest hook for every request of the app (Flask's `teardown_app_request`). */
  teardownAppRequest(fn: TeardownHook): this {
    return this.onApp("teardownAppRequest", (app) => app.teardownRequest(fn));
  }

  /** An error handler for the whole app (Flask's `app_errorhandler`). */
  appErrorHandler<E extends HTTPException>(status: number, fn: ErrorHandler<E>): this;
  appErrorHandler<E>(cls: ErrorClass<E>, fn: ErrorHandler<E>): this;
  appErrorHandler(key: number | ErrorClass<unknown>, fn: ErrorHandler<never>): this {
    if (typeof key === "number" && (!Number.isInteger(key) || key < 400 || key > 599)) {
      throw new RangeError(`appErrorHandler(${key}): use an error status from 400 to 599, or an error class`);
    }
    return this.onApp("appErrorHandler", (app) =>
      typeof key === "number" ? app.errorHandler(key, fn) : app.errorHandler(key as ErrorClass<never>, fn),
    );
  }

  /** A template filter for every template of the app (Flask's `app_template_filter`). */
  appTemplateFilter(name: string, fn: (...args: never[]) => unknown): this {
    return this.onApp("appTemplateFilter", (app) => app.templates.addFilter(name, fn));
  }

  /** A template test for every template of the app (Flask's `app_template_test`). */
  appTemplateTest(name: string, fn: (...args: never[]) => boolean): this {
    return this.onApp("appTemplateTest", (app) => app.templates.addTest(name, fn));
  }

  /** A template global for every template of the app (Flask's `app_template_global`). */
  appTemplateGlobal(name: string, value: unknown): this {
    return this.onApp("appTemplateGlobal", (app) => app.templates.addGlobal(name, value));
  }

  /** A context processor for every template of the app (Flask's `app_context_processor`). */
  appContextProcessor(fn: () => TemplateContext): this {
    return this.onApp("appContextProcessor", (app) => app.templates.contextProcessor(fn));
  }

  /** A URL value preprocessor for every request of the app (Flask's `app_url_value_preprocessor`). */
  appUrlValuePreprocessor(fn: UrlValuePreprocessor): this {
    return this.onApp("appUrlValuePreprocessor", (app) => app.urlValuePreprocessor(fn));
  }

  /** A URL defaults function for every endpoint of the app (Flask's `app_url_defaults`). */
  appUrlDefaults(fn: UrlDefaultsFunction): this {
    return this.onApp("appUrlDefaults", (app) => app.urlDefaults(fn));
  }

  /** Nests another blueprint: its endpoints become `parent.child.view`. */
  registerBlueprint(bp: Blueprint, options: RegisterOptions = {}): this {
    if (bp === this) throw new Error("A blueprint can't be registered on itself");
    this.children.push({ blueprint: bp, options });
    return this;
  }
}
