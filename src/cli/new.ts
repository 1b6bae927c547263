// `phial new NAME`: writes a new project (from scaffold/ at the package's root) that passes `npm test`
// and serves with `npm start` once `npm install` has run. `--api` (default) is a JSON API; `--full`
// adds templates, static files, a session, a form and a blueprint.

import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { basename, isAbsolute, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import type { Io } from "./io.ts";
import { UsageError } from "./run.ts";

export const NEW_HELP = `Usage: phial new NAME [options]

Writes a new Phial project in the folder NAME (which must not exist, or be empty).

Options:
  --api          a JSON API: app.ts, a test through the test client (the default)
  --full         a web app: templates (a layout and a page), static/, a session, a form, a blueprint
  --phial SPEC   the dependency on Phial written to package.json (default: the one in ./package.json
                 when it names a file or git URL, else ^VERSION of this Phial)
  -h, --help     this help

Then: cd NAME && npm install && npm test && npm start
`;

/** This package's root (src/cli/ or dist/cli/ is two levels down). */
const ROOT = fileURLToPath(new URL("../../", import.meta.url));

interface OwnPackage {
  version: string;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
}

function ownPackage(): OwnPackage {
  return JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as OwnPackage;
}

/**
 * The dependency spec for Phial: a `file:`/git spec the surrounding project installed Phial from (made
 * to work from the new folder), else `^version`.
 */
export function phialSpec(cwd: string, target: string, version: string): string {
  let spec: string | undefined;
  try {
    const pkg = JSON.parse(readFileSync(join(cwd, "package.json"), "utf8")) as {
      dependencies?: Record<string, string>;
      devDependencies?: Record<string, string>;
    };
    spec = pkg.dependencies?.phial ?? pkg.devDependencies?.phial;
  } catch {
    spec = undefined;
  }
  if (spec === undefined) return `^${version}`;
  if (spec.startsWith("file:")) {
    const path = spec.slice(5);
    const abs = isAbsolute(path) ? path : resolve(cwd, path);
    return `file:${relative(target, abs) || "."}`;
  }
  if (/^(git\+|git:|github:|https?:)/.test(spec)) return spec;
  return `^${version}`;
}

function copyTree(from: string, to: string, name: string, written: string[], top: string): void {
  mkdirSync(to, { recursive: true });
  for (const entry of readdirSync(from).sort()) {
    const src = join(from, entry);
    const dest = join(to, entry === "gitignore" ? ".gitignore" : entry);
    if (statSync(src).isDirectory()) {
      copyTree(src, dest, name, written, top);
    } else {
      writeFileSync(dest, readFileSync(src, "utf8").replaceAll("__NAME__", name));
      written.push(relative(top, dest));
    }
  }
}

export async function newCommand(argv: string[], io: Io, cwd = process.cwd()): Promise<number> {
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        api: { type: "boolean" },
        full: { type: "boolean" },
        phial: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const v = parsed.values as Record<string, string | boolean | undefined>;
  if (v.help === true) {
    io.stdout.write(NEW_HELP);
    return 0;
  }
  if (parsed.positionals.length !== 1) {
    throw new UsageError("name the project's folder: `phial new myapp` (see `phial new --help`)");
  }
  if (v.api === true && v.full === true) throw new UsageError("--api or --full, not both");
  const kind = v.full === true ? "full" : "api";
  const target = resolve(cwd, parsed.positionals[0]!);
  const name = basename(target);
  if (!/^[a-z0-9][a-z0-9._-]*$/.test(name) || name.length > 214) {
    throw new UsageError(
      `"${name}" can't be an npm package name: use lowercase letters, digits, ".", "_" and "-" (e.g. my-app)`,
    );
  }
  if (existsSync(target) && (!statSync(target).isDirectory() || readdirSync(target).length > 0)) {
    throw new UsageError(`${target} already exists and is not empty: pick another name, or remove it`);
  }
  const template = join(ROOT, "scaffold", kind);
  if (!existsSync(template)) {
    throw new UsageError(`this copy of Phial (${ROOT}) lacks its scaffold/ folder: reinstall Phial`);
  }
  const own = ownPackage();
  const written: string[] = [];
  copyTree(template, target, name, written, target);
  const pkg = {
    name,
    version: "0.1.0",
    private: true,
    type: "module",
    engines: { node: ">=20" },
    scripts: {
      start: "phial run app.ts",
      dev: "phial run app.ts --debug",
      test: "tsc --noEmit && tsx --test test/*.test.ts",
      build: "tsc -p tsconfig.build.json",
      serve: "node app.js",
    },
    dependencies: { phial: typeof v.phial === "string" ? v.phial : phialSpec(cwd, target, own.version) },
    devDependencies: {
      "@types/node": own.devDependencies?.["@types/node"] ?? "^20.19.0",
      tsx: own.dependencies?.tsx ?? "^4.20.0",
      typescript: own.devDependencies?.typescript ?? "~5.9.3",
    },
  };
  writeFileSync(join(target, "package.json"), `${JSON.stringify(pkg, null, 2)}\n`);
  writeFileSync(join(target, "README.md"), readme(name, kind));
  written.push("package.json", "README.md");
  const shown = relative(cwd, target) || ".";
  io.stdout.write(
    `Created ${kind === "full" ? "a web app" : "a JSON API"} in ${shown}/: ${written.sort().join(", ")}\n\n` +
      `Next:\n  cd ${shown}\n  npm install\n  npm test        # type check and the tests\n` +
      "  npm start       # serves on http://127.0.0.1:5000 (npm run dev: debug mode, reloads)\n",
  );
  return 0;
}

function readme(name: string, kind: string): string {
  return `# ${name}

A ${kind === "full" ? "web app" : "JSON API"} on Phial, made by \`phial new\`.

\`\`\`sh
npm install
npm test          # type check (tsc) and the tests (node:test, through the test client)
npm start         # phial run app.ts: serves on http://127.0.0.1:5000 (--port, $PORT to change)
npm run dev       # the same in debug mode: error pages with the stack, reload on change
npx phial routes  # the URL rules
\`\`\`

\`app.ts\` ends with \`await app.run()\`: it serves when the file is run (\`npx tsx app.ts\`), and does
nothing when the file is imported by a test or by \`phial run\`.

For production, compile to JavaScript next to the sources and run that with plain Node:

\`\`\`sh
npm run build     # tsc: app.ts → app.js
PORT=8000 node app.js
\`\`\`

Set \`SECRET_KEY\` in production if the app uses sessions.
`;
}
