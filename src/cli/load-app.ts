// Finds the app to serve the way `flask run` does: an explicit `file[:name]`, else $PHIAL_APP, else a
// file named app.ts / app.js next to where the command runs; inside the module, the named export, else
// the default export, else `app`, else a `createApp()` / `makeApp()` factory, else the only Phial export,
// else the one app whose `app.run()` the module called (which does not serve under the CLI).

import { existsSync } from "node:fs";
import { isAbsolute, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { Phial } from "../app/app.ts";
import { skippedRuns } from "../app/serving/run-guard.ts";

/** Files tried, in order, when no app is named. */
export const DEFAULT_APP_FILES = ["app.ts", "app.mts", "app.js", "app.mjs", "src/app.ts", "src/app.js"];

/** The app could not be found or loaded; the message says where we looked and what to do. */
export class AppNotFoundError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "AppNotFoundError";
  }
}

export interface AppSpec {
  /** Absolute path of the module. */
  file: string;
  /** Export to use (`app`, `createApp()`), or undefined to search. */
  name: string | undefined;
}

/** Splits `path/to/app.ts:name` (a Windows drive letter is not a separator) and resolves the file. */
export function parseAppSpec(spec: string | undefined, cwd: string): AppSpec {
  const given = spec ?? process.env.PHIAL_APP;
  if (given === undefined || given === "") {
    for (const f of DEFAULT_APP_FILES) {
      const p = resolve(cwd, f);
      if (existsSync(p)) return { file: p, name: undefined };
    }
    throw new AppNotFoundError(
      `No app to serve: name one (\`phial run path/to/app.ts\`), set PHIAL_APP, or create one of ` +
        `${DEFAULT_APP_FILES.join(", ")} in ${cwd}.`,
    );
  }
  let file = given;
  let name: string | undefined;
  const colon = given.lastIndexOf(":");
  if (colon > 1 || (colon === 1 && !/^[A-Za-z]$/.test(given[0]!))) {
    file = given.slice(0, colon);
    name = given.slice(colon + 1) || undefined;
  }
  const abs = isAbsolute(file) ? file : resolve(cwd, file);
  if (!existsSync(abs)) {
    throw new AppNotFoundError(
      `Can't find "${file}" (looked at ${abs}). Check the path, or run from its folder.`,
    );
  }
  return { file: abs, name };
}

/** A value that quacks like a Phial app (the user's copy of phial may be another module instance). */
export function isApp(v: unknown): v is Phial {
  if (v instanceof Phial) return true;
  if (typeof v !== "object" || v === null) return false;
  const o = v as { listen?: unknown; wireHandler?: unknown; config?: unknown };
  return (
    typeof o.listen === "function" && typeof o.wireHandler === "function" && typeof o.config === "object"
  );
}

let tsRegistered = false;

/** Makes `import()` of .ts files work when the CLI itself runs as built JavaScript. */
async function ensureTypeScript(file: string): Promise<void> {
  if (tsRegistered || !/\.[cm]?tsx?$/.test(file)) return;
  // Under tsx already (a clone of the repository, or `tsx phial ...`): nothing to do.
  if (process.execArgv.some((a) => a.includes("tsx")) || "tsx" in process.versions) {
    tsRegistered = true;
    return;
  }
  let api: { register(): unknown };
  try {
    api = (await import("tsx/esm/api")) as { register(): unknown };
  } catch {
    throw new AppNotFoundError(
      `${file} is TypeScript, and running it needs tsx: \`npm install --save-dev tsx\`, or build it to JavaScript first.`,
    );
  }
  api.register();
  tsRegistered = true;
}

/** Imports the module and picks the app in it. Factories are called (and awaited). */
export async function loadApp(spec: AppSpec): Promise<Phial> {
  await ensureTypeScript(spec.file);
  let mod: Record<string, unknown>;
  const before = skippedRuns().length;
  try {
    mod = (await import(pathToFileURL(spec.file).href)) as Record<string, unknown>;
  } catch (err) {
    const e = err as Error & { code?: unknown };
    // A missing package or file is one line (what to install); an error in the app keeps its stack.
    if (e.code === "ERR_MODULE_NOT_FOUND") {
      throw new AppNotFoundError(
        `Loading ${spec.file} failed: ${e.message.split("\n")[0]} (run \`npm install\`, or check the import)`,
      );
    }
    throw new AppNotFoundError(`Loading ${spec.file} failed: ${e.stack ?? e.message}`);
  }
  const pick = async (name: string): Promise<Phial | undefined> => {
    const call = name.endsWith("()");
    const key = call ? name.slice(0, -2) : name;
    let v = mod[key];
    if (typeof v === "function" && !isApp(v) && (call || /^(create|make)App$/.test(key))) {
      v = await (v as () => unknown)();
    }
    return isApp(v) ? v : undefined;
  };
  if (spec.name !== undefined) {
    const app = await pick(spec.name);
    if (app !== undefined) return app;
    throw new AppNotFoundError(
      `${spec.file} has no Phial app named "${spec.name}". Its exports: ${Object.keys(mod).join(", ") || "(none)"}.`,
    );
  }
  for (const name of ["default", "app", "application", "createApp", "makeApp"]) {
    const app = await pick(name);
    if (app !== undefined) return app;
  }
  const found = Object.keys(mod).filter((k) => isApp(mod[k]));
  if (found.length === 1) return mod[found[0]!] as Phial;
  // Not exported, but the module called `app.run()` (which leaves serving to us): serve that app.
  const ran = skippedRuns().slice(before).filter(isApp);
  if (found.length === 0 && ran.length === 1) return ran[0]!;
  throw new AppNotFoundError(
    found.length > 1
      ? `${spec.file} exports several apps (${found.join(", ")}): name one, e.g. \`phial run ${spec.file}:${found[0]}\`.`
      : `${spec.file} exports no Phial app and calls no app.run(). Export it (\`export const app = new Phial(import.meta.url)\` ` +
          "or `export default app`), export a `createApp()` factory, or end the module with `await app.run()`.",
  );
}
