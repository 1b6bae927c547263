// Blueprints: groups of routes, hooks and error handlers registered on an app under a name and prefix.

import { basename, dirname, isAbsolute, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { currentRequest } from "./context.ts";
import { type SendFromDirectoryOptions, sendFromFolder } from "./files/send-file.ts";
import { type Handler, type RouteOptions, type RouteRecord, Scaffold } from "./scaffold.ts";
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

  /** Nests another blueprint: its endpoints become `parent.child.view`. */
  registerBlueprint(bp: Blueprint, options: RegisterOptions = {}): this {
    if (bp === this) throw new Error("A blueprint can't be registered on itself");
    this.children.push({ blueprint: bp, options });
    return this;
  }
}
